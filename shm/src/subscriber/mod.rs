//! The subscribing side of a topic. [`Subscriber<T>`] is the typed face of an untyped core
//! (`core.rs`) that [`AnySubscriber`](crate::dynamic::AnySubscriber) shares: attaching to the
//! topic file is in `attach.rs`, reading in `read.rs`, and the blocking wait (its step and
//! [`Wait`](crate::wait::Wait)) in `wait.rs`.

mod attach;
mod borrow;
mod core;
mod read;
mod sample;
mod slice;
pub(crate) mod wait;

use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{RecvError, SubscribeError};
use crate::message::{ShmMessage, TopicType};
use crate::schema::TopicSchema;
use wait::{Step, Wait, WaitStep, Waits};

pub(crate) use self::core::{Core, Expect, Options, SharedLast};
use attach::Attach;
pub use borrow::Borrowed;
pub(crate) use read::{BatchDst, Dst, Lent, Mode};
pub use sample::{Sample, Timestamp};
pub(crate) use wait::{recv_all_until, recv_until};

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
///
/// `Subscriber<[T]>` reads slice topics ([`Publisher<[T]>`](crate::Publisher), or any bounded
/// sequence of `T`, whatever its room) into a `Vec<T>` it reuses.
pub struct Subscriber<T: ?Sized> {
    core: Core,
    /// `T`'s schema (the one the core expects; a slice subscriber's element type).
    schema: Arc<TopicSchema>,
    /// A slice subscriber's copy of the last value read (empty for other types).
    words: Vec<u64>,
    _type: PhantomData<fn() -> Box<T>>,
}

/// Options for opening a [`Subscriber`]; see [`Subscriber::builder`].
#[must_use = "call .open() to open the subscriber"]
pub struct SubscriberBuilder<T: ?Sized> {
    options: Options,
    _type: PhantomData<fn() -> Box<T>>,
}

impl<T: ?Sized> fmt::Debug for SubscriberBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriberBuilder")
            .field("options", &self.options)
            .field("type", &std::any::type_name::<T>())
            .finish()
    }
}

/// The builder methods both subscriber builders have (this one and
/// [`AnySubscriberBuilder`](crate::dynamic::AnySubscriberBuilder)), written once.
macro_rules! subscriber_options {
    () => {
        /// Values published longer ago than `age` count as no value: reads return `Ok(None)`
        /// and blocking waits wait for a fresher one.
        /// A publisher that stops publishing thus reads as "no data" after `age`.
        pub fn max_age(mut self, age: std::time::Duration) -> Self {
            self.options.max_age = Some(age);
            self
        }

        /// How long a blocking wait spins (polling the topic) before it sleeps (default
        /// 20 µs). Spinning answers a value that arrives within that time fastest; a sleep is
        /// woken by the publisher through a futex, in some microseconds more. The spin yields
        /// the CPU every few polls, so a process this one just woke on the same CPU (the other
        /// side of a request/reply exchange) runs at once. Zero sleeps at once.
        pub fn spin(mut self, spin: std::time::Duration) -> Self {
            self.options.spin = spin;
            self
        }

        /// Whose topic files to read (default [`TopicOwner::Me`](crate::TopicOwner::Me): this
        /// process's effective user).
        ///
        /// Topic files live in a directory every user may write (`/dev/shm`), so anyone can
        /// create a topic's file before its real publisher does and decide what subscribers
        /// read. By default a subscriber therefore reads only files of its own user, and
        /// refuses others with [`SubscribeError::UntrustedOwner`](crate::SubscribeError)
        /// naming the owner; a topic another user publishes for this one (created with a mode
        /// that lets it read, such as `0o644`) is read after `.owner(TopicOwner::Uid(uid))`.
        /// Files that users other than their owner may write are always refused.
        pub fn owner(mut self, owner: crate::TopicOwner) -> Self {
            self.options.owner = owner;
            self
        }

        /// Directory of topic files (default: `$SHM_ROOT`, else `/dev/shm`).
        pub fn root(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
            self.options.root = Some(dir.into());
            self
        }

        /// On a lending topic: the most values this subscriber holds at once, borrowed or being
        /// copied (default 1, at most 7). Each is a slot its publisher does not write while it
        /// is held, reserved when the subscriber attaches: a topic refuses a subscriber its
        /// slots cannot serve ([`SubscribeError::TooManyBorrowers`](crate::SubscribeError)).
        /// No effect on a copying topic.
        pub fn max_borrowed(mut self, n: u32) -> Self {
            self.options.max_borrowed = n;
            self
        }
    };
}
pub(crate) use subscriber_options;

impl<T: ?Sized + TopicType> SubscriberBuilder<T> {
    subscriber_options!();

    /// Opens the subscriber. Fails if the topic exists with another type, is not a valid topic
    /// file, or cannot be read, or if the root directory does not exist; succeeds (with no data
    /// yet) if the topic does not exist. A slice subscriber (`Subscriber<[T]>`) accepts a
    /// bounded sequence of `T` of any room.
    pub fn open(self) -> Result<Subscriber<T>, SubscribeError> {
        T::open_subscriber(self)
    }
}

impl<T: ShmMessage> SubscriberBuilder<T> {
    pub(crate) fn open_typed(self) -> Result<Subscriber<T>, SubscribeError> {
        let schema = Arc::new(TopicSchema::of(T::SCHEMA));
        Ok(Subscriber {
            core: Core::open(self.options, Expect::Exactly(schema.clone()))?,
            schema,
            words: Vec::new(),
            _type: PhantomData,
        })
    }
}

// SAFETY: a typed subscriber expects exactly `T`'s schema, so a value of the schema it reads
// with is `size_of::<T>()` bytes (asserted); a `MaybeUninit<T>` accepts any bytes.
unsafe impl<T: ShmMessage> Dst for MaybeUninit<T> {
    #[inline]
    fn room(&mut self, size: usize) -> *mut u8 {
        assert_eq!(size, size_of::<T>());
        self.as_mut_ptr().cast()
    }

    #[inline]
    fn needs_validation(&self, _: &TopicSchema) -> bool {
        T::SCHEMA.needs_validation()
    }
}

/// Above this size (bytes), a read's own copy of a value goes on the heap, not the stack.
const LARGE: usize = 64 * 1024;

/// Room for a value read into: zeroed when the type holds bounded sequences or strings, whose
/// room past their length a read leaves as it was (and a returned value holds zeros there).
#[inline(always)]
fn room<T: ShmMessage>() -> MaybeUninit<T> {
    if T::SCHEMA.has_bounded() {
        MaybeUninit::zeroed()
    } else {
        MaybeUninit::uninit()
    }
}

/// The values of a typed batch read.
struct TypedBatch<'a, T> {
    out: &'a mut Vec<Sample<T>>,
    buf: MaybeUninit<T>,
}

// SAFETY: as the `Dst` of `MaybeUninit<T>`.
unsafe impl<T: ShmMessage> Dst for TypedBatch<'_, T> {
    fn room(&mut self, size: usize) -> *mut u8 {
        self.buf.room(size)
    }
}

// SAFETY: as above; `commit` is called after a consistent, validated copy into `room`.
unsafe impl<T: ShmMessage> BatchDst for TypedBatch<'_, T> {
    fn commit(&mut self, s: Sample<()>, _: &Arc<TopicSchema>) {
        // SAFETY: the caller copied a valid value of `T`'s schema into `buf`, so it holds a `T`
        // (ShmMessage's contract).
        self.out
            .push(s.map(|()| unsafe { self.buf.assume_init_read() }));
    }
}

impl<T: ?Sized + TopicType> Subscriber<T> {
    /// Opens `topic` in `$SHM_ROOT` or `/dev/shm`.
    pub fn new(topic: &str) -> Result<Subscriber<T>, SubscribeError> {
        Subscriber::<T>::builder(topic).open()
    }

    /// Options for opening a subscriber.
    pub fn builder(topic: &str) -> SubscriberBuilder<T> {
        SubscriberBuilder {
            options: Options::new(topic),
            _type: PhantomData,
        }
    }
}

impl<T: ?Sized + TopicType> Subscriber<T> {
    /// The newest value, whether or not it was read before; `Ok(None)` if nothing was
    /// published yet (or the topic does not exist). Never returns a torn value, and never an
    /// older value after a newer one. (A slice subscriber returns a new `Vec`; see
    /// [`latest_into`](Subscriber::latest_into) to reuse one.)
    pub fn latest(&mut self) -> Result<Option<Sample<T::Owned>>, SubscribeError> {
        T::read(self, false)
    }

    /// As [`latest`](Subscriber::latest), but copies the value into `out` and returns the
    /// rest of the sample: for large messages, which then cross memory once, straight from the
    /// topic into `out`, instead of through the stack (a slice subscriber's `Vec` keeps its
    /// allocation). When it returns `Ok(None)` or an error, `out` may have been overwritten
    /// (with a valid value: a stale or torn copy of plain data, or zeros, never invalid bytes).
    pub fn latest_into(
        &mut self,
        out: &mut T::Owned,
    ) -> Result<Option<Sample<()>>, SubscribeError> {
        T::read_into(self, false, out)
    }

    /// The newest value if it is newer than the last one this subscriber returned; `Ok(None)`
    /// otherwise. Values published in between are skipped (this is a "latest value" topic,
    /// not a queue; [`try_recv_all`](Subscriber::try_recv_all) returns them while the ring
    /// still holds them).
    pub fn try_recv(&mut self) -> Result<Option<Sample<T::Owned>>, SubscribeError> {
        T::read(self, true)
    }

    /// As [`try_recv`](Subscriber::try_recv), into `out` (as
    /// [`latest_into`](Subscriber::latest_into)). When the newest value is one this subscriber
    /// returned already, nothing is copied and `out` is left as it was: polling a large topic
    /// costs a few loads until something new arrives.
    pub fn try_recv_into(
        &mut self,
        out: &mut T::Owned,
    ) -> Result<Option<Sample<()>>, SubscribeError> {
        T::read_into(self, true, out)
    }

    /// Every value newer than the last one this subscriber returned that the ring still holds
    /// (at most `buffer_num`), oldest first; empty if there is none. For a reader slower than
    /// its publisher that must see every value it can (an IMU at 1 kHz read by a 100 Hz loop,
    /// with `buffer_num` ≥ 10): values overwritten before this call are counted in the next
    /// returned value's [`missed`](Sample::missed), never returned torn or out of order. The
    /// first call returns whatever the ring holds.
    pub fn try_recv_all(&mut self) -> Result<Vec<Sample<T::Owned>>, SubscribeError> {
        let mut out = Vec::new();
        self.try_recv_all_into(&mut out)?;
        Ok(out)
    }

    /// As [`try_recv_all`](Subscriber::try_recv_all), appending to `out` (no allocation while
    /// it has room); returns how many values it appended.
    pub fn try_recv_all_into(
        &mut self,
        out: &mut Vec<Sample<T::Owned>>,
    ) -> Result<usize, SubscribeError> {
        T::read_all_into(self, out)
    }

    /// Waits up to `timeout` for a value newer than the last one returned, as
    /// [`recv_timeout`](Subscriber::recv_timeout), then returns every such value still in the
    /// ring, as [`try_recv_all`](Subscriber::try_recv_all) (at least one).
    pub fn recv_all_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<Sample<T::Owned>>, RecvError> {
        recv_all_until(self, Wait::for_available(Some(timeout)))
    }

    /// Waits for a value newer than the last one this subscriber returned, and returns it. See
    /// [`recv_timeout`](Subscriber::recv_timeout); this one has no deadline (it still ends if
    /// the publisher dies).
    pub fn recv(&mut self) -> Result<Sample<T::Owned>, RecvError> {
        recv_until(self, Wait::for_next(None))
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
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Sample<T::Owned>, RecvError> {
        recv_until(self, Wait::for_next(Some(timeout)))
    }

    /// As [`recv_timeout`](Subscriber::recv_timeout), until `deadline`.
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<Sample<T::Owned>, RecvError> {
        self.recv_timeout(deadline.saturating_duration_since(Instant::now()))
    }

    /// As [`recv`](Subscriber::recv), into `out` (as [`latest_into`](Subscriber::latest_into)):
    /// the value crosses memory once, from the topic into `out`, however long the wait, and a
    /// large one needs no room on the stack.
    pub fn recv_into(&mut self, out: &mut T::Owned) -> Result<Sample<()>, RecvError> {
        self.recv_wait_into(Wait::for_next(None), out)
    }

    /// As [`recv_timeout`](Subscriber::recv_timeout), into `out` (see
    /// [`recv_into`](Subscriber::recv_into)). While it waits it copies nothing: `out` is written
    /// once, with the value the wait returns (on an error it may hold a valid value the wait
    /// looked at, as after [`latest_into`](Subscriber::latest_into)).
    pub fn recv_timeout_into(
        &mut self,
        out: &mut T::Owned,
        timeout: Duration,
    ) -> Result<Sample<()>, RecvError> {
        self.recv_wait_into(Wait::for_next(Some(timeout)), out)
    }

    /// As [`recv_timeout_into`](Subscriber::recv_timeout_into), until `deadline`.
    pub fn recv_deadline_into(
        &mut self,
        out: &mut T::Owned,
        deadline: Instant,
    ) -> Result<Sample<()>, RecvError> {
        self.recv_timeout_into(out, deadline.saturating_duration_since(Instant::now()))
    }

    fn recv_wait_into(
        &mut self,
        mut wait: Wait,
        out: &mut T::Owned,
    ) -> Result<Sample<()>, RecvError> {
        loop {
            match T::wait_step_into(self, &mut wait, out)? {
                WaitStep::Ready(sample) => return Ok(sample),
                WaitStep::Block(sleeper) => sleeper.block(),
            }
        }
    }

    /// One step of a blocking wait; see [`crate::wait`].
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
    pub fn wait_step(&mut self, wait: &mut Wait) -> Result<WaitStep<T::Owned>, RecvError> {
        T::wait_step(self, wait)
    }
}

/// The reads of a typed subscriber, behind the API above ([`TopicType`]'s implementation for
/// messages).
impl<T: ShmMessage> Subscriber<T> {
    /// One read: the newest value, or (`next`) one newer than the last one returned.
    #[inline]
    pub(crate) fn read_typed(&mut self, next: bool) -> Result<Option<Sample<T>>, SubscribeError> {
        let mode = if next { Mode::Next } else { Mode::Latest };
        let mut buf = room::<T>();
        let read = self.core.read_raw(mode, &mut buf)?;
        Ok(read.sample.map(|s| {
            // SAFETY: `read_raw` returned a sample, so it left a valid `T` in `buf`.
            s.map(|()| unsafe { buf.assume_init() })
        }))
    }

    /// As [`read_typed`](Self::read_typed), into `out`.
    pub(crate) fn read_into_typed(
        &mut self,
        next: bool,
        out: &mut T,
    ) -> Result<Option<Sample<()>>, SubscribeError> {
        let mode = if next { Mode::Next } else { Mode::Latest };
        let read = self.read_through_out(
            out,
            |core, dst| core.read_raw(mode, dst),
            |r| r.sample.is_some(),
        )?;
        Ok(read.sample)
    }

    /// One step of a blocking wait, into `out`.
    pub(crate) fn wait_step_into_typed(
        &mut self,
        wait: &mut Wait,
        out: &mut T,
    ) -> Result<WaitStep<()>, RecvError> {
        let step = self.read_through_out(
            out,
            |core, dst| core.wait_step(wait, dst),
            |step| matches!(step, Step::Ready(_)),
        )?;
        Ok(match step {
            Step::Ready(sample) => WaitStep::Ready(sample),
            Step::Block(sleeper) => WaitStep::Block(sleeper),
        })
    }

    /// Runs `op`, a read of the core into a destination, so that its value ends up in `out`
    /// when `got` says it read one; `out` stays a valid `T` whatever happens.
    fn read_through_out<R, E>(
        &mut self,
        out: &mut T,
        op: impl FnOnce(&mut Core, &mut MaybeUninit<T>) -> Result<R, E>,
        got: impl Fn(&R) -> bool,
    ) -> Result<R, E> {
        if T::SCHEMA.has_bounded() && !std::mem::needs_drop::<T>() {
            // Straight into `out`, only as far as each bounded part is filled (the point of
            // `latest_into` for them: a 1 MiB sequence holding 1,000 values costs 1,000
            // values). The bytes may fail validation while the read is under way; `out` is
            // made a valid `T` again (zeros) before it is handed back if they still do.
            let ptr = (out as *mut T).cast::<MaybeUninit<T>>();
            // SAFETY: `out` is process-local (a `&mut T` cannot point into the read-only topic
            // mapping), and only this view of it is used until it is valid again below.
            let dst = unsafe { &mut *ptr };
            let read = op(&mut self.core, dst);
            if !matches!(&read, Ok(r) if got(r)) {
                // SAFETY: `dst` holds `size_of::<T>()` initialised bytes: `out`'s, some of
                // them overwritten by copies from the topic.
                let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), size_of::<T>()) };
                if !self.schema.is_valid(bytes) {
                    // SAFETY: zeros are a valid `T` (ShmMessage's contract); written in place
                    // (no temporary of `T`'s size on the stack), no destructor runs.
                    unsafe { std::ptr::write_bytes(ptr, 0, 1) };
                }
            }
            return read;
        }
        if T::SCHEMA.needs_validation() || std::mem::needs_drop::<T>() {
            return self.read_through_copy(out, op, got);
        }
        // SAFETY: `out` is process-local (a `&mut T` cannot point into the read-only topic
        // mapping, which is never handed out), and `T` accepts every bit pattern: a torn or
        // stale copy left behind is still a valid `T`.
        let dst = unsafe { &mut *(out as *mut T).cast::<MaybeUninit<T>>() };
        op(&mut self.core, dst)
    }

    /// [`read_through_out`](Self::read_through_out) for values that may fail validation (a
    /// `bool` that is neither 0 nor 1), which must never reach `out`, and values with a
    /// destructor, which must be replaced by assignment: read into a copy first (zeroed for a
    /// type with bounded parts, whose room past their lengths a read leaves as it was), on the
    /// heap for a large type. A function of its own, so that other reads' stack frames have no
    /// room for the copy (unoptimised builds keep every local's slot).
    #[inline(never)]
    fn read_through_copy<R, E>(
        &mut self,
        out: &mut T,
        op: impl FnOnce(&mut Core, &mut MaybeUninit<T>) -> Result<R, E>,
        got: impl Fn(&R) -> bool,
    ) -> Result<R, E> {
        if size_of::<T>() > LARGE {
            let mut buf = if T::SCHEMA.has_bounded() {
                Box::<T>::new_zeroed()
            } else {
                Box::<T>::new_uninit()
            };
            let read = op(&mut self.core, &mut buf)?;
            if got(&read) {
                // SAFETY: the read returned a value, so `buf` holds a valid `T`; moved into
                // `out` without a temporary of `T`'s size on the stack (swap of the boxes'
                // contents would need one, `clone_from` of a `Copy` type is a copy).
                unsafe { std::ptr::swap(out, buf.as_mut_ptr()) };
                // SAFETY: `buf` now holds `out`'s old value, which is dropped with it.
                drop(unsafe { buf.assume_init() });
            }
            return Ok(read);
        }
        let mut buf = room::<T>();
        let read = op(&mut self.core, &mut buf)?;
        if got(&read) {
            // SAFETY: the read returned a value, so `buf` holds a valid `T`.
            *out = unsafe { buf.assume_init() };
        }
        Ok(read)
    }

    /// Every new value the ring holds, appended to `out`.
    pub(crate) fn read_all_typed(
        &mut self,
        out: &mut Vec<Sample<T>>,
    ) -> Result<usize, SubscribeError> {
        let mut batch = TypedBatch { out, buf: room() };
        self.core.read_all(&mut batch)
    }

    /// One step of a blocking wait.
    pub(crate) fn wait_step_typed(&mut self, wait: &mut Wait) -> Result<WaitStep<T>, RecvError> {
        let mut buf = room::<T>();
        Ok(match self.core.wait_step(wait, &mut buf)? {
            // SAFETY: the step read a value, so it left a valid `T` in `buf`.
            Step::Ready(s) => WaitStep::Ready(s.map(|()| unsafe { buf.assume_init() })),
            Step::Block(sleeper) => WaitStep::Block(sleeper),
        })
    }
}

impl<T: ?Sized> Subscriber<T> {
    /// The untyped core (for wait sets).
    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// Whether a live publisher holds the topic right now. Asks the kernel about the
    /// publisher's lock (one syscall), so it does not depend on pids, which are reused.
    pub fn publisher_alive(&mut self) -> Result<bool, SubscribeError> {
        self.core.publisher_alive()
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        self.core.topic()
    }

    /// The topic file.
    pub fn path(&self) -> &Path {
        self.core.path()
    }

    /// Sequence number of the last value returned (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.core.last_seq()
    }

    /// How many reads had to be retried because the publisher was writing the same slot. A
    /// steadily growing count means the ring is too small for this reader.
    pub fn retries(&self) -> u64 {
        self.core.retries()
    }

    /// Whether the subscriber is attached to a topic file of its type.
    pub fn is_attached(&self) -> bool {
        self.core.is_attached()
    }
}

impl<T: ?Sized + TopicType> Waits for Subscriber<T> {
    type Value = T::Owned;

    fn step(&mut self, wait: &mut Wait) -> Result<WaitStep<T::Owned>, RecvError> {
        self.wait_step(wait)
    }

    fn all(&mut self) -> Result<Vec<Sample<T::Owned>>, SubscribeError> {
        self.try_recv_all()
    }
}

impl<T: ?Sized> fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("topic", &self.topic())
            .field("type", &std::any::type_name::<T>())
            .field("attached", &self.is_attached())
            .field("last_seq", &self.last_seq())
            .field("path", &self.path())
            .finish()
    }
}
