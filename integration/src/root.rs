//! Isolated topic directories: one per test, removed when the test ends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

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

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
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
