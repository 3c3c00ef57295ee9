//! The machinery behind every subscriber, typed or not: the topic's path, what it is attached to,
//! what it returned last, and what it expects of the topic's type. [`Subscriber<T>`] expects one
//! Rust type; [`AnySubscriber`](crate::dynamic::AnySubscriber) one described type, or whatever
//! the topic carries.
//!
//! [`Subscriber<T>`]: crate::Subscriber

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::attach::{Attach, Watch};
use super::read::{Last, Recheck};
use crate::error::{IoFailure, SubscribeError};
use crate::name::{TopicName, default_root};
use crate::owner::TopicOwner;
use crate::schema::TopicSchema;
use crate::segment::Cursor;
use crate::sys;

/// What a subscriber expects of the topic's type.
#[derive(Debug, Clone)]
pub(crate) enum Expect {
    /// This type: a topic of another type is a mismatch.
    Exactly(Arc<TopicSchema>),
    /// Whatever the topic carries (tools, bridges): the schema stored in the file.
    Any,
    /// A bounded sequence of these elements, of any room (a slice subscriber).
    SequenceOf(Arc<TopicSchema>),
}

/// The options every subscriber builder has.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) topic: String,
    pub(crate) root: Option<PathBuf>,
    pub(crate) owner: TopicOwner,
    pub(crate) max_age: Option<Duration>,
    pub(crate) spin: Duration,
    /// Values held at once on a lending topic (its pins).
    pub(crate) max_borrowed: u32,
    /// Only follows the topic file and looks at its header words (a [`WaitSet`]'s watcher):
    /// takes no pin entry on a lending topic, reads no value.
    ///
    /// [`WaitSet`]: crate::WaitSet
    pub(crate) watch_only: bool,
    /// Files of these users are read too, besides `owner`'s (a server's clients); `owner` is
    /// then [`TopicOwner::Anyone`], for the counter it watches.
    pub(crate) admit: Option<Arc<crate::owner::Admission>>,
    /// A file this process may not open is taken for no file yet (a service's reply topic
    /// still made for another user, until its server makes it anew for this one).
    pub(crate) denied_is_absent: bool,
}

impl Options {
    pub(crate) fn new(topic: &str) -> Options {
        Options {
            topic: topic.to_owned(),
            root: None,
            owner: TopicOwner::Me,
            max_age: None,
            spin: crate::wait::DEFAULT_SPIN,
            max_borrowed: 1,
            watch_only: false,
            admit: None,
            denied_is_absent: false,
        }
    }
}

/// The last value a subscriber returned, shared with the [`WaitSet`](crate::WaitSet)s it is
/// attached to (which report only values newer than it). Made on the first `attach`. A
/// seqlock: the subscriber (one writer: reads take `&mut self`) stores, wait sets load.
#[derive(Debug, Default)]
pub(crate) struct SharedLast {
    version: AtomicU64,
    seq: AtomicU64,
    lineage: AtomicU64,
}

impl SharedLast {
    /// The last value returned: its sequence number and lineage (0, 0 before the first).
    pub(crate) fn get(&self) -> (u64, u64) {
        loop {
            let v = self.version.load(Ordering::Acquire);
            let (seq, lineage) = (
                self.seq.load(Ordering::Relaxed),
                self.lineage.load(Ordering::Relaxed),
            );
            std::sync::atomic::fence(Ordering::Acquire);
            if v & 1 == 0 && self.version.load(Ordering::Relaxed) == v {
                return (seq, lineage);
            }
            std::hint::spin_loop();
        }
    }

    fn set(&self, seq: u64, lineage: u64) {
        let v = self.version.load(Ordering::Relaxed);
        self.version.store(v.wrapping_add(1), Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
        self.seq.store(seq, Ordering::Relaxed);
        self.lineage.store(lineage, Ordering::Relaxed);
        self.version.store(v.wrapping_add(2), Ordering::Release);
    }
}

/// A subscriber without its value type.
pub(crate) struct Core {
    pub(super) topic: TopicName,
    pub(super) root: PathBuf,
    pub(super) path: PathBuf,
    /// Whose files it reads, as asked (for messages) and as a uid (`None`: anyone), resolved
    /// once: a later `seteuid` does not change whom it trusts or which counter it watches.
    pub(super) trusted: TopicOwner,
    pub(super) trusted_uid: Option<u32>,
    /// See [`Options::admit`].
    pub(super) admit: Option<Arc<crate::owner::Admission>>,
    /// The owner of the file last attached (the one values are read from while attached).
    pub(super) file_uid: Option<u32>,
    /// See [`Options::denied_is_absent`].
    pub(super) denied_is_absent: bool,
    pub(super) expect: Expect,
    pub(super) state: Attach,
    /// How a detached subscriber notices the topic's creation.
    pub(super) watch: Watch,
    /// The last value returned.
    pub(super) last: Last,
    pub(super) retries: u64,
    pub(super) recheck: Recheck,
    /// Where this subscriber last found the newest value in the attached file.
    pub(super) cursor: Option<Cursor>,
    /// Values published longer ago than this (ns) are not returned.
    pub(super) max_age_ns: Option<u64>,
    pub(super) spin_ns: u64,
    /// Pins to reserve on a lending topic.
    pub(super) max_borrowed: u32,
    /// See [`Options::watch_only`].
    pub(super) watch_only: bool,
    /// The last value returned, for wait sets (once one asked).
    pub(super) shared_last: std::sync::OnceLock<Arc<SharedLast>>,
}

impl Core {
    /// Opens the subscriber. Fails if the topic exists with another type than expected, is not
    /// a valid topic file, or cannot be read, or if the root directory does not exist; succeeds
    /// (with no data yet) if the topic does not exist.
    pub(crate) fn open(options: Options, expect: Expect) -> Result<Core, SubscribeError> {
        let topic = TopicName::new(&options.topic).map_err(SubscribeError::InvalidName)?;
        if !(1..=crate::segment::PINS_PER_ENTRY).contains(&options.max_borrowed) {
            return Err(SubscribeError::InvalidMaxBorrowed {
                requested: options.max_borrowed,
                max: crate::segment::PINS_PER_ENTRY,
            });
        }
        let root = options.root.unwrap_or_else(default_root);
        // A mistyped root would otherwise look like a topic nobody publishes, forever.
        match std::fs::metadata(&root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(IoFailure::new(
                    &root,
                    "use the topic directory",
                    io::Error::from_raw_os_error(libc::ENOTDIR),
                )
                .into());
            }
            Err(e) => return Err(IoFailure::new(&root, "find the topic directory", e).into()),
        }
        let path = root.join(topic.file_name());
        let (trusted, trusted_uid) = match &options.admit {
            Some(_) => (TopicOwner::Anyone, None),
            None => (options.owner, options.owner.uid()),
        };
        let mut core = Core {
            topic,
            path,
            trusted,
            trusted_uid,
            admit: options.admit,
            file_uid: None,
            denied_is_absent: options.denied_is_absent,
            expect,
            state: Attach::Detached,
            watch: Watch::new(&root, trusted_uid),
            last: Last::default(),
            retries: 0,
            recheck: Recheck::default(),
            cursor: None,
            max_age_ns: options
                .max_age
                .map(|a| u64::try_from(a.as_nanos()).unwrap_or(u64::MAX)),
            spin_ns: u64::try_from(options.spin.as_nanos()).unwrap_or(u64::MAX),
            max_borrowed: options.max_borrowed,
            watch_only: options.watch_only,
            shared_last: std::sync::OnceLock::new(),
            root,
        };
        core.attach()?;
        if let Attach::Mismatch(_, m) = &core.state {
            return Err(SubscribeError::SchemaMismatch(m.clone()));
        }
        Ok(core)
    }

    /// Whether a live publisher holds the topic right now (one syscall).
    pub(crate) fn publisher_alive(&mut self) -> Result<bool, SubscribeError> {
        // A syscall anyway: look for a topic file now.
        if matches!(self.state, Attach::Detached) {
            self.attach()?;
        } else {
            self.attach_if_needed()?;
        }
        match &self.state {
            Attach::Ready(seg, _) | Attach::Mismatch(seg, _) => {
                sys::publisher_lock_held(seg.file())
                    .map_err(|e| IoFailure::new(&self.path, "query the lock of", e).into())
            }
            Attach::Detached => Ok(false),
        }
    }

    /// The schema of the attached topic (`None` while detached or of another type).
    pub(crate) fn schema(&self) -> Option<&Arc<TopicSchema>> {
        match &self.state {
            Attach::Ready(_, schema) => Some(schema),
            _ => None,
        }
    }

    pub(crate) fn topic(&self) -> &str {
        self.topic.as_str()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Values published longer ago than this (ns) are not returned (`max_age`).
    pub(crate) fn max_age_ns(&self) -> Option<u64> {
        self.max_age_ns
    }

    pub(crate) fn last_seq(&self) -> u64 {
        self.last.seq
    }

    pub(crate) fn retries(&self) -> u64 {
        self.retries
    }

    /// Whether the topic attached to is a lending one.
    pub(crate) fn is_lending(&self) -> bool {
        matches!(&self.state, Attach::Ready(seg, _) if seg.is_lending())
    }

    pub(crate) fn is_attached(&self) -> bool {
        matches!(self.state, Attach::Ready(..))
    }

    /// Records the last value returned (and shares it with wait sets, if any watch).
    #[inline]
    pub(super) fn set_last(&mut self, last: Last) {
        self.last = last;
        self.share_last();
    }

    /// Shares the last value returned with wait sets, if any watch.
    #[inline]
    pub(super) fn share_last(&self) {
        if let Some(shared) = self.shared_last.get() {
            shared.set(self.last.seq, self.last.lineage);
        }
    }

    /// The user owning the attached topic file (`None` while detached): whose values the
    /// reads since the last attach returned.
    pub(crate) fn file_uid(&self) -> Option<u32> {
        match self.state {
            Attach::Detached => None,
            _ => self.file_uid,
        }
    }

    /// What a [`WaitSet`](crate::WaitSet) needs to watch this subscriber's topic: the options
    /// of a watcher of the same file (and the same type check and `max_age`), what it
    /// expects, and the last value returned, shared.
    pub(crate) fn watch_source(&self) -> (Options, Expect, Arc<SharedLast>) {
        let shared = Arc::clone(self.shared_last.get_or_init(|| {
            let s = SharedLast::default();
            s.set(self.last.seq, self.last.lineage);
            Arc::new(s)
        }));
        let options = Options {
            topic: self.topic.as_str().to_owned(),
            root: Some(self.root.clone()),
            owner: self.trusted,
            max_age: self.max_age_ns.map(Duration::from_nanos),
            spin: Duration::ZERO,
            max_borrowed: 1,
            watch_only: true,
            admit: self.admit.clone(),
            denied_is_absent: self.denied_is_absent,
        };
        (options, self.expect.clone(), shared)
    }
}
