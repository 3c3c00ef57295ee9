//! Isolated topic directories: one per test, removed when the test ends, with the publishers,
//! subscribers and helper processes of that directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use shm::{CreateError, Publisher, ShmMessage, SubscribeError, Subscriber};

use crate::process::{Proc, helper_exe};

/// A fresh directory under `/dev/shm` (tmpfs, like real topics), removed on drop.
pub struct TempRoot {
    path: PathBuf,
}

impl TempRoot {
    /// A new empty directory whose name includes `label`, the pid and a counter.
    pub fn new(label: &str) -> TempRoot {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = PathBuf::from(format!(
            "/dev/shm/shm-test.{}.{}.{label}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&path).expect("create test root");
        TempRoot { path }
    }

    /// A new empty directory that every user may write, with the sticky bit, like `/dev/shm`
    /// itself: for tests of what one user can do to another's topics.
    pub fn shared(label: &str) -> TempRoot {
        use std::os::unix::fs::PermissionsExt;
        let root = TempRoot::new(label);
        std::fs::set_permissions(&root.path, std::fs::Permissions::from_mode(0o1777))
            .expect("chmod 1777 test root");
        root
    }

    /// Waits until some process sleeps on `topic`: the `sleeping` word of its header
    /// (docs/FORMAT.md) is set only right before a futex sleep. Panics after the tests'
    /// timeout.
    pub fn until_asleep(&self, topic: &str) {
        let path = self.topic_file(topic);
        let deadline = std::time::Instant::now() + crate::process::TIMEOUT;
        loop {
            let bytes = std::fs::read(&path).expect("read the topic file");
            if u32::from_ne_bytes(bytes[260..264].try_into().expect("4 bytes")) != 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nobody went to sleep on {topic}"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A publisher of `topic` in this root (default options).
    pub fn publisher<T: ShmMessage>(&self, topic: &str) -> Publisher<T> {
        self.try_publisher(topic)
            .unwrap_or_else(|e| panic!("publisher of {topic}: {e}"))
    }

    /// Creating a publisher of `topic` in this root, for tests of refusals.
    pub fn try_publisher<T: ShmMessage>(&self, topic: &str) -> Result<Publisher<T>, CreateError> {
        Publisher::builder(topic).root(&self.path).create()
    }

    /// A subscriber of `topic` in this root (default options).
    pub fn subscriber<T: ShmMessage>(&self, topic: &str) -> Subscriber<T> {
        self.try_subscriber(topic)
            .unwrap_or_else(|e| panic!("subscriber of {topic}: {e}"))
    }

    /// Opening a subscriber of `topic` in this root, for tests of refusals.
    pub fn try_subscriber<T: ShmMessage>(
        &self,
        topic: &str,
    ) -> Result<Subscriber<T>, SubscribeError> {
        Subscriber::builder(topic).root(&self.path).open()
    }

    /// The helper binary (`shm-test-helper args...`) as another process on this root.
    pub fn helper(&self, args: &[&str]) -> Proc {
        Proc::spawn(&helper_exe(), &self.path, args)
    }

    /// As [`helper`](Self::helper), with extra environment variables.
    pub fn helper_with(&self, args: &[&str], env: &[(&str, &str)]) -> Proc {
        Proc::spawn_with(&helper_exe(), &self.path, args, None, env)
    }

    /// The file of a topic in this root.
    pub fn topic_file(&self, topic: &str) -> PathBuf {
        self.path
            .join(shm::TopicName::new(topic).expect("valid topic").file_name())
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
