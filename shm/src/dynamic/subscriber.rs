//! Reading a topic whose type is known only at run time.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Value;
use crate::error::{RecvError, SubscribeError};
use crate::schema::TopicSchema;
use crate::subscriber::wait::{Step, Wait, WaitStep, Waits};
use crate::subscriber::{
    BatchDst, Core, Dst, Expect, Lent, Mode, Options, Sample, subscriber_options,
};
use crate::subscriber::{recv_all_until, recv_until};

/// A value of a type known at run time, as an [`AnySubscriber`] reads it: its bytes and the
/// schema they are a value of (the topic's schema when it was read).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RawValue {
    /// The value's bytes (native byte order; `bool`s validated).
    pub bytes: Vec<u8>,
    /// Its type.
    pub schema: Arc<TopicSchema>,
}

impl RawValue {
    /// The value as a tree, with field names.
    pub fn decode(&self) -> Value {
        Value::decode(&self.schema, &self.bytes)
    }
}

/// Reads one topic without its Rust type: by default whatever type the topic carries (the
/// schema stored in its file, which may change when the topic is recreated: each sample carries
/// the schema it was read with), or one type given at run time
/// ([`AnySubscriberBuilder::expect`]), refused like a typed subscriber refuses another type.
///
/// Everything else is the typed [`Subscriber`](crate::Subscriber)'s: the same reads, waits,
/// freshness, ownership rules and guarantees.
pub struct AnySubscriber {
    core: Core,
    buf: Vec<u8>,
}

/// Options for opening an [`AnySubscriber`]; see [`AnySubscriber::builder`].
#[must_use = "call .open() to open the subscriber"]
#[derive(Debug)]
pub struct AnySubscriberBuilder {
    options: Options,
    expect: Expect,
}

impl AnySubscriberBuilder {
    subscriber_options!();

    /// Takes a file this process may not open for no file yet; see
    /// [`Options::denied_is_absent`](crate::subscriber::Options).
    pub(crate) fn denied_is_absent(mut self) -> Self {
        self.options.denied_is_absent = true;
        self
    }

    /// Reads files of these users too (and of this one): a server's clients.
    pub(crate) fn admit(mut self, admission: Arc<crate::owner::Admission>) -> Self {
        self.options.admit = Some(admission);
        self
    }

    /// Reads only topics of this type (a topic of another type is
    /// [`SubscribeError::SchemaMismatch`], as for a typed subscriber); by default, any type.
    pub fn expect(mut self, schema: Arc<TopicSchema>) -> Self {
        self.expect = Expect::Exactly(schema);
        self
    }

    /// Reads only bounded sequences of these elements, of any room (as `Subscriber<[T]>`
    /// does): a slice topic whose publisher grows it is followed.
    pub fn sequence_of(mut self, elem: Arc<TopicSchema>) -> Self {
        self.expect = Expect::SequenceOf(elem);
        self
    }

    /// Opens the subscriber; see [`SubscriberBuilder::open`](crate::SubscriberBuilder::open).
    pub fn open(self) -> Result<AnySubscriber, SubscribeError> {
        Ok(AnySubscriber {
            core: Core::open(self.options, self.expect)?,
            buf: Vec::new(),
        })
    }
}

/// The values of an untyped batch read.
struct RawBatch<'a> {
    out: &'a mut Vec<Sample<RawValue>>,
    buf: Vec<u8>,
}

// SAFETY: as the `Dst` of `Vec<u8>`.
unsafe impl Dst for RawBatch<'_> {
    fn room(&mut self, size: usize) -> *mut u8 {
        self.buf.room(size)
    }
}

// SAFETY: as above.
unsafe impl BatchDst for RawBatch<'_> {
    fn commit(&mut self, s: Sample<()>, schema: &Arc<TopicSchema>) {
        let value = RawValue {
            bytes: self.buf.clone(),
            schema: Arc::clone(schema),
        };
        self.out.push(s.map(|()| value));
    }
}

impl AnySubscriber {
    /// The core (for wait sets).
    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// Follows the topic's file if it was removed or replaced by hand (one `stat`); whether
    /// it did. A subscriber that watches no counter and is read only now and then (a server's
    /// request topic of another user) would otherwise notice only after many reads.
    pub(crate) fn follow_replaced(&mut self) -> bool {
        self.core.follow_replaced()
    }

    /// Opens `topic` (any type) in `$SHM_ROOT` or `/dev/shm`.
    pub fn new(topic: &str) -> Result<AnySubscriber, SubscribeError> {
        AnySubscriber::builder(topic).open()
    }

    /// Options for opening a subscriber.
    pub fn builder(topic: &str) -> AnySubscriberBuilder {
        AnySubscriberBuilder {
            options: Options::new(topic),
            expect: Expect::Any,
        }
    }

    fn read(&mut self, mode: Mode) -> Result<Option<Sample<RawValue>>, SubscribeError> {
        let read = self.core.read_raw(mode, &mut self.buf)?;
        Ok(read.sample.map(|s| s.map(|()| self.just_read())))
    }

    /// The value a read that returned a sample just left in `buf`, with the schema it used
    /// (the core is attached with it).
    fn just_read(&self) -> RawValue {
        RawValue {
            bytes: self.buf.clone(),
            schema: self
                .core
                .schema()
                .cloned()
                .expect("a read returned a value, so the subscriber is attached"),
        }
    }

    /// The newest value, whether or not it was read before; see
    /// [`Subscriber::latest`](crate::Subscriber::latest).
    pub fn latest(&mut self) -> Result<Option<Sample<RawValue>>, SubscribeError> {
        self.read(Mode::Latest)
    }

    /// The newest value if it is newer than the last one returned; see
    /// [`Subscriber::try_recv`](crate::Subscriber::try_recv).
    pub fn try_recv(&mut self) -> Result<Option<Sample<RawValue>>, SubscribeError> {
        self.read(Mode::Next)
    }

    /// As [`try_recv`](AnySubscriber::try_recv), copying the value into `out` (which must be
    /// one value's size: [`SubscribeError::WrongBufferSize`] otherwise, nothing read) instead
    /// of allocating; returns the rest of the sample. What the C API's `try_recv` uses.
    pub fn try_recv_into(&mut self, out: &mut [u8]) -> Result<Option<Sample<()>>, SubscribeError> {
        Ok(self.core.read_raw(Mode::Next, &mut Exact(out))?.sample)
    }

    /// As [`latest`](AnySubscriber::latest), copying the value into `out` (which must be one
    /// value's size: [`SubscribeError::WrongBufferSize`] otherwise, nothing read) instead of
    /// allocating; returns the rest of the sample. The bytes are a value of
    /// [`schema`](AnySubscriber::schema) (the schema this read used). For large values read
    /// often.
    #[inline]
    pub fn latest_into(&mut self, out: &mut [u8]) -> Result<Option<Sample<()>>, SubscribeError> {
        Ok(self.core.read_raw(Mode::Latest, &mut Exact(out))?.sample)
    }

    /// Every value newer than the last one returned that the ring still holds, oldest first;
    /// see [`Subscriber::try_recv_all`](crate::Subscriber::try_recv_all).
    pub fn try_recv_all(&mut self) -> Result<Vec<Sample<RawValue>>, SubscribeError> {
        let mut out = Vec::new();
        self.try_recv_all_into(&mut out)?;
        Ok(out)
    }

    /// As [`try_recv_all`](AnySubscriber::try_recv_all), appending to `out`; returns how many
    /// values it appended.
    pub fn try_recv_all_into(
        &mut self,
        out: &mut Vec<Sample<RawValue>>,
    ) -> Result<usize, SubscribeError> {
        let mut batch = RawBatch {
            out,
            buf: Vec::new(),
        };
        self.core.read_all(&mut batch)
    }

    /// Waits up to `timeout` for a new value, then returns every new value still in the ring;
    /// see [`Subscriber::recv_all_timeout`](crate::Subscriber::recv_all_timeout).
    pub fn recv_all_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<Sample<RawValue>>, RecvError> {
        recv_all_until(self, Wait::for_available(Some(timeout)))
    }

    /// Waits for a value newer than the last one returned, without a deadline; see
    /// [`Subscriber::recv`](crate::Subscriber::recv).
    pub fn recv(&mut self) -> Result<Sample<RawValue>, RecvError> {
        recv_until(self, Wait::for_next(None))
    }

    /// Waits up to `timeout` for a value newer than the last one returned; see
    /// [`Subscriber::recv_timeout`](crate::Subscriber::recv_timeout).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Sample<RawValue>, RecvError> {
        recv_until(self, Wait::for_next(Some(timeout)))
    }

    /// As [`recv_timeout`](AnySubscriber::recv_timeout), until `deadline`.
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<Sample<RawValue>, RecvError> {
        self.recv_timeout(deadline.saturating_duration_since(Instant::now()))
    }

    /// One step of a blocking wait; see [`Subscriber::wait_step`](crate::Subscriber::wait_step).
    pub fn wait_step(&mut self, wait: &mut Wait) -> Result<WaitStep<RawValue>, RecvError> {
        Ok(match self.core.wait_step(wait, &mut self.buf)? {
            Step::Ready(s) => WaitStep::Ready(s.map(|()| self.just_read())),
            Step::Block(sleeper) => WaitStep::Block(sleeper),
        })
    }

    /// The newest value of a lending topic, in place (as
    /// [`Subscriber::borrow`](crate::Subscriber::borrow)): its bytes stay unchanged until the
    /// [`BorrowedBytes`] is dropped.
    pub fn borrow(&mut self) -> Result<Option<BorrowedBytes>, SubscribeError> {
        self.lend(Mode::Latest)
    }

    /// The newest value of a lending topic, in place, if it is newer than the last one
    /// returned (as [`Subscriber::try_borrow`](crate::Subscriber::try_borrow)).
    pub fn try_borrow(&mut self) -> Result<Option<BorrowedBytes>, SubscribeError> {
        self.lend(Mode::Next)
    }

    fn lend(&mut self, mode: Mode) -> Result<Option<BorrowedBytes>, SubscribeError> {
        let (read, lent) = self.core.borrow_raw(mode)?;
        Ok(read
            .sample
            .zip(lent)
            .map(|(info, lent)| self.borrowed(info, lent)))
    }

    fn borrowed(&self, info: Sample<()>, lent: Lent) -> BorrowedBytes {
        BorrowedBytes {
            lent,
            info,
            schema: self
                .core
                .schema()
                .cloned()
                .expect("a borrow returned a value, so the subscriber is attached"),
        }
    }

    /// One step of a blocking wait that ends with a borrowed value (as
    /// [`wait_step`](AnySubscriber::wait_step), for a lending topic).
    pub fn wait_step_borrow(
        &mut self,
        wait: &mut Wait,
    ) -> Result<WaitStep<BorrowedBytes>, RecvError> {
        let mut lent = None;
        let step = self.core.wait_step_by(wait, |core, mode| {
            let (read, l) = core.borrow_raw(mode)?;
            lent = l;
            Ok(read)
        })?;
        Ok(match (step, lent) {
            (Step::Ready(info), Some(lent)) => {
                WaitStep::Ready(info.map(|()| self.borrowed(info, lent)))
            }
            (Step::Ready(_), None) => WaitStep::Block(crate::wait::Sleeper::pause(0)),
            (Step::Block(sleeper), _) => WaitStep::Block(sleeper),
        })
    }

    /// The schema of the topic as last attached (`None` before the topic exists, or while it
    /// carries another type than expected).
    pub fn schema(&self) -> Option<&Arc<TopicSchema>> {
        self.core.schema()
    }

    /// Whether a live publisher holds the topic right now (one syscall).
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

    /// How many reads had to be retried; see [`Subscriber::retries`](crate::Subscriber::retries).
    pub fn retries(&self) -> u64 {
        self.core.retries()
    }

    /// Whether the subscriber is attached to a topic file (of the expected type).
    pub fn is_attached(&self) -> bool {
        self.core.is_attached()
    }
}

impl Waits for AnySubscriber {
    type Value = RawValue;

    fn step(&mut self, wait: &mut Wait) -> Result<WaitStep<RawValue>, RecvError> {
        self.wait_step(wait)
    }

    fn all(&mut self) -> Result<Vec<Sample<RawValue>>, SubscribeError> {
        self.try_recv_all()
    }
}

/// A value of a lending topic read in place by an [`AnySubscriber`]: its bytes, unchanged until
/// this is dropped (see [`Borrowed`](crate::Borrowed)). Keeps the topic file mapped and the
/// slot pinned by itself.
pub struct BorrowedBytes {
    lent: Lent,
    info: Sample<()>,
    schema: Arc<TopicSchema>,
}

impl BorrowedBytes {
    /// The value's first byte: `len()` bytes, aligned for its type, unchanged while this lives.
    pub fn as_ptr(&self) -> *const u8 {
        self.lent.data()
    }

    /// The value's size in bytes.
    pub fn len(&self) -> usize {
        self.lent.size()
    }

    /// Whether the value has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the slot is pinned by `lent` for as long as `self` lives, so no process
        // writes it; the mapping is kept alive by `lent`; the value's `len()` bytes lie in it.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len()) }
    }

    /// Its sequence number, publish time and freshness.
    pub fn sample(&self) -> Sample<()> {
        self.info
    }

    /// The schema it was read with.
    pub fn schema(&self) -> &Arc<TopicSchema> {
        &self.schema
    }
}

impl fmt::Debug for BorrowedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BorrowedBytes")
            .field("type", &self.schema.type_name())
            .field("seq", &self.info.seq)
            .field("len", &self.len())
            .finish()
    }
}

impl fmt::Debug for AnySubscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnySubscriber")
            .field("topic", &self.topic())
            .field("type", &self.schema().map(|s| s.type_name()))
            .field("last_seq", &self.last_seq())
            .field("path", &self.path())
            .finish()
    }
}

/// A caller's buffer, used only if it is exactly one value's size.
struct Exact<'a>(&'a mut [u8]);

// SAFETY: `out` is process-local bytes, and reads of a value of another size than its own are
// refused before `room` is asked (`fixed_len`).
unsafe impl Dst for Exact<'_> {
    fn room(&mut self, size: usize) -> *mut u8 {
        assert_eq!(self.0.len(), size, "refused before the read (fixed_len)");
        self.0.as_mut_ptr()
    }

    fn fixed_len(&self) -> Option<usize> {
        Some(self.0.len())
    }
}
