//! The subscribing side of a topic: the type, its builder and its public reads. Attaching to
//! the topic file is in [`attach`], one read in [`read`], and the blocking wait's step next to
//! [`Wait`](crate::wait::Wait) in `wait.rs`.

mod attach;
mod read;
mod sample;

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{IoFailure, RecvError, SubscribeError};
use crate::message::ShmMessage;
use crate::name::{TopicName, default_root};
use crate::owner::TopicOwner;
use crate::segment::Cursor;
use crate::sys;
use crate::wait::{DEFAULT_SPIN, Wait, WaitStep};

pub(crate) use attach::Attach;
use attach::Watch;
pub(crate) use read::Mode;
use read::{Last, Recheck};
pub use sample::{Sample, Timestamp};

/// Reads values of `T` from one topic.
///
/// A subscriber can be created before its publisher exists; reads report "no data yet"
/// (`Ok(None)`) until the first value is published. A read sees every value published before it
/// began, in any process: while the topic file does not exist, a read costs one atomic load (of
/// a counter that topic creation moves, see `docs/FORMAT.md`), and it opens the file as soon as
/// it exists. Once attached, reads make no syscall (except a check, at most every 10 ms, that
/// the file was not removed or replaced by hand). It maps the topic read-only; only a blocking
/// wait ([`recv_timeout`](Subscriber::recv_timeout)) maps the first page writable too, to ask
/// the publisher for a wake-up (if the file's permissions allow it). It follows the topic when
/// it is recreated, and reports a type mismatch when the topic carries another type.
///
/// By default it reads only topic files of its own user ([`SubscriberBuilder::owner`]).
///
/// ```no_run
/// let mut subscriber = shm::Subscriber::<f64>::new("sensors/temperature")?;
/// if let Some(sample) = subscriber.latest()? {
///     println!("{} (#{}, {:?} ago)", sample.value, sample.seq, sample.published.elapsed());
/// }
/// # Ok::<(), shm::SubscribeError>(())
/// ```
pub struct Subscriber<T: ShmMessage> {
    topic: TopicName,
    root: PathBuf,
    path: PathBuf,
    /// Whose files it reads, as asked (for messages) and as a uid (`None`: anyone), resolved
    /// once: a later `seteuid` does not change whom it trusts or which counter it watches.
    trusted: TopicOwner,
    trusted_uid: Option<u32>,
    pub(crate) state: Attach,
    /// How a detached subscriber notices the topic's creation.
    watch: Watch,
    /// The last value returned.
    last: Last,
    retries: u64,
    recheck: Recheck,
    /// Where this subscriber last found the newest value in the attached file.
    pub(crate) cursor: Option<Cursor>,
    /// Values published longer ago than this (ns) are not returned.
    max_age_ns: Option<u64>,
    pub(crate) spin_ns: u64,
    _type: PhantomData<fn() -> T>,
}

/// Options for opening a [`Subscriber`]; see [`Subscriber::builder`].
#[must_use = "call .open() to open the subscriber"]
pub struct SubscriberBuilder<T: ShmMessage> {
    topic: String,
    root: Option<PathBuf>,
    owner: TopicOwner,
    max_age: Option<Duration>,
    spin: Duration,
    _type: PhantomData<fn() -> T>,
}

impl<T: ShmMessage> fmt::Debug for SubscriberBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriberBuilder")
            .field("topic", &self.topic)
            .field("type", &T::SCHEMA.type_name())
            .field("root", &self.root)
            .field("owner", &self.owner)
            .field("max_age", &self.max_age)
            .field("spin", &self.spin)
            .finish()
    }
}

impl<T: ShmMessage> SubscriberBuilder<T> {
    /// Values published longer ago than `age` count as no value: reads return `Ok(None)` and
    /// blocking waits wait for a fresher one (like the original library's expiry time). A
    /// publisher that stops publishing thus reads as "no data" after `age`.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// How long a blocking wait spins (polling the topic) before it sleeps (default 20 µs).
    /// Spinning answers a value that arrives within that time fastest; a sleep is woken by the
    /// publisher through a futex, in some microseconds more. The spin yields the CPU every few
    /// polls, so a process this one just woke on the same CPU (the other side of a
    /// request/reply exchange) runs at once. Zero sleeps at once.
    pub fn spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// Whose topic files to read (default [`TopicOwner::Me`]: this process's effective user).
    ///
    /// Topic files live in a directory every user may write (`/dev/shm`), so anyone can create
    /// a topic's file before its real publisher does and decide what subscribers read. By
    /// default a subscriber therefore reads only files of its own user, and refuses others with
    /// [`SubscribeError::UntrustedOwner`] naming the owner; a topic another user publishes for
    /// this one (created with a mode that lets it read, such as `0o644`) is read after
    /// `.owner(TopicOwner::Uid(uid))`. Files that users other than their owner may write are
    /// always refused.
    pub fn owner(mut self, owner: TopicOwner) -> Self {
        self.owner = owner;
        self
    }

    /// Directory of topic files (default: `$SHM_ROOT`, else `/dev/shm`).
    pub fn root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.root = Some(dir.into());
        self
    }

    /// Opens the subscriber. Fails if the topic exists with another type, is not a valid topic
    /// file, or cannot be read, or if the root directory does not exist; succeeds (with no data
    /// yet) if the topic does not exist.
    pub fn open(self) -> Result<Subscriber<T>, SubscribeError> {
        let topic = TopicName::new(&self.topic).map_err(SubscribeError::InvalidName)?;
        let root = self.root.unwrap_or_else(default_root);
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
        let mut sub = Subscriber {
            topic,
            path,
            trusted: self.owner,
            trusted_uid: self.owner.uid(),
            state: Attach::Detached,
            watch: Watch::new(&root, self.owner.uid()),
            last: Last::default(),
            retries: 0,
            recheck: Recheck::default(),
            cursor: None,
            max_age_ns: self
                .max_age
                .map(|a| u64::try_from(a.as_nanos()).unwrap_or(u64::MAX)),
            spin_ns: u64::try_from(self.spin.as_nanos()).unwrap_or(u64::MAX),
            root,
            _type: PhantomData,
        };
        sub.attach()?;
        if let Attach::Mismatch(_, m) = &sub.state {
            return Err(SubscribeError::SchemaMismatch(m.clone()));
        }
        Ok(sub)
    }
}

impl<T: ShmMessage> Subscriber<T> {
    /// Opens `topic` in `$SHM_ROOT` or `/dev/shm`.
    pub fn new(topic: &str) -> Result<Subscriber<T>, SubscribeError> {
        Subscriber::builder(topic).open()
    }

    /// Options for opening a subscriber.
    pub fn builder(topic: &str) -> SubscriberBuilder<T> {
        SubscriberBuilder {
            topic: topic.to_owned(),
            root: None,
            owner: TopicOwner::Me,
            max_age: None,
            spin: DEFAULT_SPIN,
            _type: PhantomData,
        }
    }

    /// The newest value, whether or not it was read before; `Ok(None)` if nothing was
    /// published yet (or the topic does not exist). Never returns a torn value, and never an
    /// older value after a newer one.
    pub fn latest(&mut self) -> Result<Option<Sample<T>>, SubscribeError> {
        Ok(self.read(Mode::Latest)?.sample)
    }

    /// As [`latest`](Subscriber::latest), but copies the value into `out` and returns the
    /// rest of the sample: for large messages, which then cross memory once, straight from the
    /// topic into `out`, instead of through the stack. When it returns `Ok(None)` or an error,
    /// `out` may have been overwritten (with a valid value: a stale or torn copy of plain data,
    /// never invalid bytes).
    pub fn latest_into(&mut self, out: &mut T) -> Result<Option<Sample<()>>, SubscribeError> {
        if T::SCHEMA.needs_validation() || std::mem::needs_drop::<T>() {
            // Bytes that may fail validation (a `bool` that is neither 0 nor 1) must never
            // reach `out`, and a value with a destructor must be replaced by assignment: read
            // into a local copy first.
            let mut buf = MaybeUninit::<T>::uninit();
            // SAFETY: `buf` is a process-local `MaybeUninit`.
            let meta = unsafe { self.read_raw(Mode::Latest, &mut buf)? }.sample;
            if meta.is_some() {
                // SAFETY: `read_raw` returned a sample, so `buf` holds a valid `T`.
                *out = unsafe { buf.assume_init() };
            }
            return Ok(meta);
        }
        // SAFETY: `out` is process-local (a `&mut T` cannot point into the read-only topic
        // mapping, which is never handed out), and `T` accepts every bit pattern: a torn or
        // stale copy left behind is still a valid `T`.
        let dst = unsafe { &mut *(out as *mut T).cast::<MaybeUninit<T>>() };
        // SAFETY: as above.
        Ok(unsafe { self.read_raw(Mode::Latest, dst)? }.sample)
    }

    /// The newest value if it is newer than the last one this subscriber returned; `Ok(None)`
    /// otherwise. Values published in between are skipped (this is a "latest value" topic,
    /// not a queue).
    pub fn try_recv(&mut self) -> Result<Option<Sample<T>>, SubscribeError> {
        Ok(self.read(Mode::Next)?.sample)
    }

    /// Waits for a value newer than the last one this subscriber returned, and returns it. See
    /// [`recv_timeout`](Subscriber::recv_timeout); this one has no deadline (it still ends if
    /// the publisher dies).
    pub fn recv(&mut self) -> Result<Sample<T>, RecvError> {
        self.wait_until(Wait::for_next(None))
    }

    /// Waits up to `timeout` for a value newer than the last one this subscriber returned, and
    /// returns it (at once if there already is one).
    ///
    /// Spins briefly (see [`SubscriberBuilder::spin`]), then sleeps on a futex in the topic
    /// header that the publisher wakes when it publishes; a publisher nobody waits for makes no
    /// syscall. The wait ends with
    /// - [`RecvError::Timeout`] at the deadline (not before);
    /// - [`RecvError::PublisherGone`] as soon as the publisher, seen alive when the wait went
    ///   to sleep (after its spin), has exited or been killed (noticed at once for a clean
    ///   exit, within [`CHECK_INTERVAL`](crate::wait::CHECK_INTERVAL) for a killed one). A wait
    ///   that finds no live publisher waits for one to take the topic over;
    /// - [`RecvError::Subscribe`] if the topic is recreated with another type.
    ///
    /// A topic that is removed, recreated or replaced during the wait is followed. A value
    /// older than the subscriber's [`max_age`](SubscriberBuilder::max_age) does not end it.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Sample<T>, RecvError> {
        self.wait_until(Wait::for_next(Some(timeout)))
    }

    /// As [`recv_timeout`](Subscriber::recv_timeout), until `deadline`.
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<Sample<T>, RecvError> {
        self.recv_timeout(deadline.saturating_duration_since(Instant::now()))
    }

    fn wait_until(&mut self, mut wait: Wait) -> Result<Sample<T>, RecvError> {
        loop {
            match self.wait_step(&mut wait)? {
                WaitStep::Ready(sample) => return Ok(sample),
                WaitStep::Block(sleeper) => sleeper.block(),
            }
        }
    }

    /// Whether a live publisher holds the topic right now. Asks the kernel about the
    /// publisher's lock (one syscall), so it does not depend on pids, which are reused.
    pub fn publisher_alive(&mut self) -> Result<bool, SubscribeError> {
        // A syscall anyway: look for a topic file now.
        if matches!(self.state, Attach::Detached) {
            self.attach()?;
        } else {
            self.attach_if_needed()?;
        }
        match &self.state {
            Attach::Ready(seg) | Attach::Mismatch(seg, _) => sys::publisher_lock_held(seg.file())
                .map_err(|e| IoFailure::new(&self.path, "query the lock of", e).into()),
            Attach::Detached => Ok(false),
        }
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        self.topic.as_str()
    }

    /// The topic file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sequence number of the last value returned (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.last.seq
    }

    /// How many reads had to be retried because the publisher was writing the same slot. A
    /// steadily growing count means the ring is too small for this reader.
    pub fn retries(&self) -> u64 {
        self.retries
    }

    /// Whether the subscriber is attached to a topic file of its type.
    pub fn is_attached(&self) -> bool {
        matches!(self.state, Attach::Ready(_))
    }
}

impl<T: ShmMessage> fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("topic", &self.topic.as_str())
            .field("type", &T::SCHEMA.type_name())
            .field("attached", &self.is_attached())
            .field("last_seq", &self.last.seq)
            .field("path", &self.path)
            .finish()
    }
}
