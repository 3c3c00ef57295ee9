//! The subscribing side of a topic.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{FormatError, IoFailure, RecvError, SchemaMismatch, SubscribeError};
use crate::message::ShmMessage;
use crate::name::{TopicName, default_root};
use crate::schema::SchemaDesc;
use crate::segment::{Cursor, OpenFailure, ReadOnly, STATE_RETIRED, Segment, SlotRead};
use crate::sys;
use crate::wait::{DEFAULT_SPIN, DETACHED_POLL_NS, Sleeper, Wait, WaitStep, check_interval_ns};

/// Read attempts before [`SubscribeError::Contended`]. A publisher has to lap the whole ring
/// while one copy is in flight to force a retry, so more than a few in a row is rare.
const MAX_ATTEMPTS: u32 = 1000;
/// How often a subscriber checks whether the topic file was removed or replaced behind its back
/// (by hand, not by this library, whose replacements are noticed at once): at most every 10 ms,
/// looking at the clock only on every 16th read so that reads stay cheap. (A subscriber that
/// reads once a second notices such a change within 16 reads.)
const REVALIDATE_EVERY_NS: u64 = 10_000_000;
const REVALIDATE_CLOCK_EVERY: u32 = 16;
/// While the topic file does not exist, a read tries to open it at most this often, so that
/// polling a topic nobody publishes yet costs no syscall per read; a publisher that appears is
/// seen within this delay.
const ATTACH_RETRY_NS: u64 = 1_000_000;

/// A point on `CLOCK_MONOTONIC`, the clock shared by all processes of the machine (the clock of
/// Python's `time.monotonic_ns()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// Now.
    pub fn now() -> Timestamp {
        Timestamp(sys::monotonic_ns())
    }

    /// Nanoseconds on `CLOCK_MONOTONIC`.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since this timestamp (zero if it lies in the future).
    pub fn elapsed(self) -> Duration {
        Duration::from_nanos(sys::monotonic_ns().saturating_sub(self.0))
    }
}

/// A value read from a topic, with its sequence number, publish time and freshness.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Sample<T> {
    /// The value.
    pub value: T,
    /// Its sequence number: 1 for a topic's first value, +1 per publish, continued by a
    /// publisher that takes the topic over. Restarts only when the topic file is removed.
    pub seq: u64,
    /// When it was published.
    pub published: Timestamp,
    /// Whether this subscriber had not returned this value before. Always true from
    /// [`try_recv`](Subscriber::try_recv) and the blocking waits; [`latest`](Subscriber::latest)
    /// returns the same value again (with `is_new == false`) until a newer one is published.
    pub is_new: bool,
    /// How many values were published between the previous new value this subscriber returned
    /// and this one, which it never saw (0 for the first value it reads, and when not new). This
    /// is a latest-value topic, not a queue: a slow reader skips values, and this says how many.
    pub missed: u64,
}

impl<T> Sample<T> {
    /// Time since the value was published.
    pub fn age(&self) -> Duration {
        self.published.elapsed()
    }
}

/// What a read asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The newest value, new or not.
    Latest,
    /// A value newer than the last one returned, marked as returned.
    Next,
    /// Such a value, left unmarked.
    Peek,
}

/// Reads values of `T` from one topic.
///
/// A subscriber can be created before its publisher exists; reads report "no data yet"
/// (`Ok(None)`) until the first value is published. While the topic file does not exist, reads
/// look for it at most once per millisecond, so a new publisher's first value shows up within
/// about a millisecond of its creation; once attached, reads make no syscall (except a check,
/// at most every 10 ms, that the file was not removed or replaced by hand). It maps the topic
/// read-only; only a blocking wait ([`recv_timeout`](Subscriber::recv_timeout)) maps the first
/// page writable too, to ask the publisher for a wake-up (if the file's permissions allow it).
/// It follows the topic when it is recreated, and reports a type mismatch when the topic
/// carries another type.
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
    path: PathBuf,
    state: Attach,
    last_seq: u64,
    last_segment: u64,
    retries: u64,
    recheck: Recheck,
    /// While detached: the earliest time (CLOCK_MONOTONIC ns) of the next attempt to open.
    next_attach_ns: u64,
    /// Where this subscriber last found the newest value in the attached file.
    cursor: Cursor,
    /// Values published longer ago than this (ns) are not returned.
    max_age_ns: Option<u64>,
    spin_ns: u64,
    _type: PhantomData<fn() -> T>,
}

/// Rate limit of the "was the file replaced?" check.
#[derive(Default)]
struct Recheck {
    next_ns: u64,
    reads: u32,
}

impl Recheck {
    /// Whether it is time to check that the file being read is still the topic's file.
    #[inline]
    fn due(&mut self) -> bool {
        self.reads = self.reads.wrapping_add(1);
        if self.reads % REVALIDATE_CLOCK_EVERY != 1 {
            return false;
        }
        let now = sys::monotonic_ns();
        if now >= self.next_ns {
            self.next_ns = now + REVALIDATE_EVERY_NS;
            true
        } else {
            false
        }
    }
}

enum Attach {
    /// No topic file (yet), or it was removed.
    Detached,
    /// The topic carries another type; kept to notice when it is replaced.
    Mismatch(Arc<Segment<ReadOnly>>, Box<SchemaMismatch>),
    /// Attached to a topic of our type (shared with the sleepers of blocking waits).
    Ready(Arc<Segment<ReadOnly>>),
}

/// Options for opening a [`Subscriber`]; see [`Subscriber::builder`].
#[must_use = "call .open() to open the subscriber"]
pub struct SubscriberBuilder<T: ShmMessage> {
    topic: String,
    root: Option<PathBuf>,
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

    /// How long a blocking wait spins (polling the topic, no syscall) before it sleeps
    /// (default 20 µs). Spinning answers a value that arrives within that time fastest; a
    /// sleep is woken by the publisher through a futex, in some microseconds more. Zero sleeps
    /// at once.
    pub fn spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
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
            state: Attach::Detached,
            last_seq: 0,
            last_segment: 0,
            retries: 0,
            recheck: Recheck::default(),
            next_attach_ns: 0,
            cursor: Cursor::default(),
            max_age_ns: self
                .max_age
                .map(|a| u64::try_from(a.as_nanos()).unwrap_or(u64::MAX)),
            spin_ns: u64::try_from(self.spin.as_nanos()).unwrap_or(u64::MAX),
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
            max_age: None,
            spin: DEFAULT_SPIN,
            _type: PhantomData,
        }
    }

    /// The newest value, whether or not it was read before; `Ok(None)` if nothing was
    /// published yet (or the topic does not exist). Never returns a torn value, and never an
    /// older value after a newer one.
    pub fn latest(&mut self) -> Result<Option<Sample<T>>, SubscribeError> {
        Ok(self.read(Mode::Latest)?.0)
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
            let (meta, _) = unsafe { self.read_raw(Mode::Latest, &mut buf)? };
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
        Ok(unsafe { self.read_raw(Mode::Latest, dst)? }.0)
    }

    /// The newest value if it is newer than the last one this subscriber returned; `Ok(None)`
    /// otherwise. Values published in between are skipped (this is a "latest value" topic,
    /// not a queue).
    pub fn try_recv(&mut self) -> Result<Option<Sample<T>>, SubscribeError> {
        Ok(self.read(Mode::Next)?.0)
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

    /// One step of a blocking wait: looks at the topic and either ends the wait (a new value,
    /// or an error such as [`RecvError::Timeout`]) or returns a [`Sleeper`] to block on before
    /// the next step. [`recv_timeout`](Subscriber::recv_timeout) is this in a loop; a caller
    /// that must not hold the subscriber while blocked (a language binding releasing its
    /// interpreter lock, a thread that checks a stop flag between steps) writes the loop itself.
    ///
    /// ```no_run
    /// use shm::wait::{Wait, WaitStep};
    /// # let mut subscriber = shm::Subscriber::<u64>::new("ticks")?;
    /// let mut wait = Wait::for_next(Some(std::time::Duration::from_secs(1)));
    /// let sample = loop {
    ///     match subscriber.wait_step(&mut wait)? {
    ///         WaitStep::Ready(sample) => break sample,
    ///         WaitStep::Block(sleeper) => sleeper.block(), // at most 50 ms at a time
    ///     }
    /// };
    /// # Ok::<(), shm::RecvError>(())
    /// ```
    pub fn wait_step(&mut self, wait: &mut Wait) -> Result<WaitStep<T>, RecvError> {
        // Read before looking at the topic: a wake-up after this point is not lost.
        let ticket = match &self.state {
            Attach::Ready(seg) => Some((Arc::clone(seg), seg.wake_ticket())),
            _ => None,
        };
        let mode = if wait.consume { Mode::Next } else { Mode::Peek };
        let (sample, seen) = self.read(mode)?;
        if let Some(sample) = sample {
            return Ok(WaitStep::Ready(sample));
        }
        if let Attach::Ready(seg) = &self.state
            && seg.publish_seq() > seen
        {
            // The header names a newer value than following the stamps found (a moment ago
            // it was being written, or the stamps have a gap): look it up from the header.
            self.cursor = Cursor::default();
        }
        let now = sys::monotonic_ns();
        if now >= wait.deadline_ns {
            return Err(RecvError::Timeout {
                topic: self.topic.as_str().to_owned(),
                waited: Duration::from_nanos(now.saturating_sub(wait.start_ns)),
            });
        }
        // (A topic of another type made `read` fail above.)
        let Attach::Ready(seg) = &self.state else {
            return Ok(WaitStep::Block(Sleeper::pause(
                wait.deadline_ns.min(now + DETACHED_POLL_NS),
            )));
        };
        let ticket = match ticket {
            Some((before, ticket)) if Arc::ptr_eq(&before, seg) => ticket,
            // Attached to another file during this step: look at it again at once.
            _ => return Ok(WaitStep::Block(Sleeper::pause(now))),
        };
        if wait.spin_pending {
            wait.spin_pending = false;
            if self.spin_ns > 0 {
                let spin = self.spin_ns.min(check_interval_ns());
                let until = wait.deadline_ns.min(now.saturating_add(spin));
                return Ok(WaitStep::Block(Sleeper::spin(seg.clone(), seen, until)));
            }
        }
        let woken = wait.last_ticket.is_some_and(|t| t != ticket);
        if now >= wait.next_check_ns || woken {
            wait.next_check_ns = now.saturating_add(check_interval_ns());
            // Removed or replaced by hand: nothing in the mapping says so, and nobody will
            // wake this file's sleepers. Look at the path again at once.
            if seg.replaced_at(&self.path) {
                self.state = Attach::Detached;
                self.next_attach_ns = 0;
                return Ok(WaitStep::Block(Sleeper::pause(now)));
            }
            let alive = sys::publisher_lock_held(seg.file()).map_err(|e| {
                SubscribeError::from(IoFailure::new(&self.path, "query the lock of", e))
            })?;
            if alive {
                wait.saw_alive = true;
            } else if wait.saw_alive {
                return Err(RecvError::PublisherGone {
                    topic: self.topic.as_str().to_owned(),
                    owner: seg.owner(),
                });
            }
        }
        wait.last_ticket = Some(ticket);
        let until = wait.deadline_ns.min(wait.next_check_ns);
        Ok(WaitStep::Block(Sleeper::futex(
            seg.clone(),
            ticket,
            seen,
            until,
        )))
    }

    /// Whether a live publisher holds the topic right now. Asks the kernel about the
    /// publisher's lock (one syscall), so it does not depend on pids, which are reused.
    pub fn publisher_alive(&mut self) -> Result<bool, SubscribeError> {
        // A syscall anyway: look for a topic file now, not after the read rate limit.
        if matches!(self.state, Attach::Detached) {
            self.next_attach_ns = 0;
        }
        self.attach_if_needed()?;
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
        self.last_seq
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

    fn attach_if_needed(&mut self) -> Result<(), SubscribeError> {
        match &self.state {
            // No file when last looked: look again only now and then (a clock read, no syscall).
            Attach::Detached => {
                if sys::monotonic_ns() >= self.next_attach_ns {
                    self.attach()
                } else {
                    Ok(())
                }
            }
            // Replaced by the library: the new file is already in place.
            Attach::Ready(seg) | Attach::Mismatch(seg, _) if seg.state() == STATE_RETIRED => {
                self.attach()
            }
            Attach::Ready(_) | Attach::Mismatch(..) => Ok(()),
        }
    }

    /// (Re)opens the topic file, replacing the current state.
    fn attach(&mut self) -> Result<(), SubscribeError> {
        self.state = Attach::Detached;
        self.cursor = Cursor::default();
        let file = match sys::open_existing(&self.path, false) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.next_attach_ns = sys::monotonic_ns() + ATTACH_RETRY_NS;
                return Ok(());
            }
            Err(e) => return Err(IoFailure::new(&self.path, "open", e).into()),
        };
        let seg = match Segment::<ReadOnly>::open(file, &self.path) {
            Ok(seg) => seg,
            Err(OpenFailure::Format(source)) => {
                return Err(SubscribeError::Format {
                    path: self.path.clone(),
                    source,
                });
            }
            Err(OpenFailure::Io(e)) => return Err(e.into()),
        };
        if seg.state() == STATE_RETIRED {
            // Retired but still named: a removal between its unlink and this open, or one that
            // was interrupted. As good as absent.
            self.next_attach_ns = sys::monotonic_ns() + ATTACH_RETRY_NS;
            return Ok(());
        }
        if seg.schema_hash() != T::SCHEMA.hash() {
            let mismatch = self.mismatch(&seg)?;
            self.state = Attach::Mismatch(Arc::new(seg), Box::new(mismatch));
            return Ok(());
        }
        let l = seg.layout();
        if l.elem_size != size_of::<T>() as u64 || l.elem_align != align_of::<T>() as u64 {
            return Err(SubscribeError::Format {
                path: self.path.clone(),
                source: FormatError::Inconsistent {
                    field: "elem_size",
                    detail: format!(
                        "{} bytes aligned to {} for a schema that needs {} aligned to {}",
                        l.elem_size,
                        l.elem_align,
                        size_of::<T>(),
                        align_of::<T>()
                    ),
                },
            });
        }
        self.state = Attach::Ready(Arc::new(seg));
        Ok(())
    }

    fn mismatch(&self, seg: &Segment<ReadOnly>) -> Result<SchemaMismatch, SubscribeError> {
        let topic_desc = seg.schema_desc().map_err(|source| SubscribeError::Format {
            path: self.path.clone(),
            source,
        })?;
        let ours = SchemaDesc::from_schema(T::SCHEMA);
        Ok(SchemaMismatch {
            topic: self.topic.as_str().to_owned(),
            topic_type: topic_desc.type_name(),
            topic_hash: seg.schema_hash(),
            expected_type: ours.type_name(),
            expected_hash: T::SCHEMA.hash(),
            differences: topic_desc.differences(&ours),
        })
    }

    /// One read in `mode`, and the publish sequence it saw (0: none), which a wait sleeps on.
    #[inline]
    fn read(&mut self, mode: Mode) -> Result<(Option<Sample<T>>, u64), SubscribeError> {
        let mut buf = MaybeUninit::<T>::uninit();
        // SAFETY: `buf` is process-local and has room for a `T`.
        let (meta, seen) = unsafe { self.read_raw(mode, &mut buf)? };
        Ok((
            meta.map(|m| Sample {
                // SAFETY: `read_raw` returned a sample, so it left a valid `T` in `buf`.
                value: unsafe { buf.assume_init() },
                seq: m.seq,
                published: m.published,
                is_new: m.is_new,
                missed: m.missed,
            }),
            seen,
        ))
    }

    /// One read in `mode` into `dst`; on `Some`, `dst` holds a valid `T` (on `None` or an
    /// error it may hold a torn or stale copy). Also returns the publish sequence it saw.
    ///
    /// # Safety
    /// Writing any bytes to `dst` must be sound: `dst` is process-local, and either a
    /// `MaybeUninit` or `T` accepts every bit pattern (`!T::SCHEMA.needs_validation()`).
    unsafe fn read_raw(
        &mut self,
        mode: Mode,
        dst: &mut MaybeUninit<T>,
    ) -> Result<(Option<Sample<()>>, u64), SubscribeError> {
        let mut reattached = false;
        loop {
            self.attach_if_needed()?;
            let (found, segment, seq_base) = match &self.state {
                Attach::Detached => return Ok((None, 0)),
                Attach::Mismatch(seg, m) => {
                    if !reattached && self.recheck.due() && seg.replaced_at(&self.path) {
                        reattached = true;
                        self.state = Attach::Detached;
                        continue;
                    }
                    return Err(SubscribeError::SchemaMismatch(m.clone()));
                }
                Attach::Ready(seg) => {
                    // A file removed or replaced by hand gives no sign inside the mapping:
                    // compare the path with the mapping now and then.
                    if !reattached && self.recheck.due() && seg.replaced_at(&self.path) {
                        reattached = true;
                        self.state = Attach::Detached;
                        continue;
                    }
                    (
                        read_consistent::<T>(
                            seg,
                            &mut self.cursor,
                            dst,
                            &mut self.retries,
                            &self.topic,
                        )?,
                        seg.segment_id(),
                        seg.seq_base(),
                    )
                }
            };
            let Some(mut sample) = found else {
                return Ok((None, 0));
            };
            let seen = sample.seq;
            if let Some(max_age) = self.max_age_ns
                && sys::monotonic_ns().saturating_sub(sample.published.0) > max_age
            {
                return Ok((None, seen));
            }
            // New: a later sequence number in the same file; in another file, any value
            // published there (not one carried over from the file it replaced, which this
            // subscriber may already have returned).
            sample.is_new = sample.seq > self.last_seq
                || (segment != self.last_segment && sample.seq > seq_base);
            if !sample.is_new {
                return Ok(((mode == Mode::Latest).then_some(sample), seen));
            }
            if self.last_segment != 0 {
                // Numbering continues in the same file and through takeovers (a new file's
                // `seq_base` is the last number of the one it replaced); a file made anew
                // starts again at 1, and then only its own skipped values are known.
                let previous = if segment == self.last_segment || seq_base >= self.last_seq {
                    self.last_seq
                } else {
                    seq_base
                };
                sample.missed = sample.seq.saturating_sub(previous).saturating_sub(1);
            }
            if mode != Mode::Peek {
                self.last_seq = sample.seq;
                self.last_segment = segment;
            }
            return Ok((Some(sample), seen));
        }
    }
}

/// Copies the newest value into `dst` with the seqlock protocol, retrying a bounded number of
/// times, and validates it; on `Some`, `dst` holds a valid `T`.
#[inline]
fn read_consistent<T: ShmMessage>(
    seg: &Segment<ReadOnly>,
    cursor: &mut Cursor,
    dst: &mut MaybeUninit<T>,
    retries: &mut u64,
    topic: &TopicName,
) -> Result<Option<Sample<()>>, SubscribeError> {
    for attempt in 0..MAX_ATTEMPTS {
        // SAFETY: `dst` has `size_of::<T>()` writable bytes, which `attach` checked equals the
        // segment's element size, and is process-local.
        match unsafe { seg.read_next(cursor, dst.as_mut_ptr().cast::<u8>()) } {
            SlotRead::Empty => return Ok(None),
            SlotRead::Retry => {
                *retries += 1;
                if attempt < 16 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            SlotRead::Done { seq, time_ns } => {
                if T::SCHEMA.needs_validation() {
                    // SAFETY: `read_next` initialised all `size_of::<T>()` bytes of `dst`;
                    // this slice is over process-local memory.
                    let bytes = unsafe {
                        std::slice::from_raw_parts(dst.as_ptr().cast::<u8>(), size_of::<T>())
                    };
                    if !T::SCHEMA.bytes_valid(bytes) {
                        return Err(SubscribeError::InvalidValue {
                            topic: topic.as_str().to_owned(),
                            seq,
                        });
                    }
                }
                // All bytes of `dst` are initialised, form a consistent copy of a published
                // value, and passed `T`'s validation: ShmMessage guarantees they are a `T`.
                return Ok(Some(Sample {
                    value: (),
                    seq,
                    published: Timestamp(time_ns),
                    is_new: false,
                    missed: 0,
                }));
            }
        }
    }
    Err(SubscribeError::Contended {
        topic: topic.as_str().to_owned(),
        attempts: MAX_ATTEMPTS,
    })
}

impl<T: ShmMessage> fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("topic", &self.topic.as_str())
            .field("type", &T::SCHEMA.type_name())
            .field("attached", &self.is_attached())
            .field("last_seq", &self.last_seq)
            .field("path", &self.path)
            .finish()
    }
}
