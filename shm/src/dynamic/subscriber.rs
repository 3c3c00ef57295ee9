//! Reading a topic whose type is known only at run time.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::Value;
use crate::error::{RecvError, SubscribeError};
use crate::schema::TopicSchema;
use crate::subscriber::{
    BatchDst, Core, Dst, Expect, Mode, Options, Sample, Timestamp, subscriber_options,
};
use crate::wait::{Step, Wait, WaitStep};

/// A value read by an [`AnySubscriber`]: its bytes, the schema they are a value of, and the
/// sample data of a typed read.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RawSample {
    /// The value's bytes (native byte order; `bool`s validated).
    pub bytes: Vec<u8>,
    /// Its type: the topic's schema when it was read.
    pub schema: Arc<TopicSchema>,
    /// Its sequence number.
    pub seq: u64,
    /// When it was published.
    pub published: Timestamp,
    /// Whether this subscriber had not returned this value before.
    pub is_new: bool,
    /// Values published before it that this subscriber never saw.
    pub missed: u64,
}

impl RawSample {
    fn new(bytes: Vec<u8>, s: Sample<()>, schema: Arc<TopicSchema>) -> RawSample {
        RawSample {
            bytes,
            schema,
            seq: s.seq,
            published: s.published,
            is_new: s.is_new,
            missed: s.missed,
        }
    }

    /// The value as a tree, with field names.
    pub fn value(&self) -> Value {
        Value::decode(&self.schema, &self.bytes)
    }

    /// Its sample data (sequence number, publish time, freshness) without the value.
    pub fn sample(&self) -> Sample<()> {
        Sample {
            value: (),
            seq: self.seq,
            published: self.published,
            is_new: self.is_new,
            missed: self.missed,
        }
    }
}

/// A value [`AnySubscriber::latest_into`] copied into the caller's buffer: its sample data (the
/// `value` is in the buffer) and its type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Copied {
    /// Sequence number, publish time and freshness.
    pub sample: Sample<()>,
    /// The type of the bytes copied.
    pub schema: Arc<TopicSchema>,
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

    /// Reads only topics of this type (a topic of another type is
    /// [`SubscribeError::SchemaMismatch`], as for a typed subscriber); by default, any type.
    pub fn expect(mut self, schema: Arc<TopicSchema>) -> Self {
        self.expect = Expect::Exactly(schema);
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
    out: &'a mut Vec<RawSample>,
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
        self.out
            .push(RawSample::new(self.buf.clone(), s, schema.clone()));
    }
}

impl AnySubscriber {
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

    fn read(&mut self, mode: Mode) -> Result<Option<RawSample>, SubscribeError> {
        let read = self.core.read_raw(mode, &mut self.buf)?;
        Ok(read
            .sample
            .map(|s| RawSample::new(self.buf.clone(), s, self.read_schema())))
    }

    /// The schema a read that returned a sample just used (the core is attached with it).
    fn read_schema(&self) -> Arc<TopicSchema> {
        self.core
            .schema()
            .cloned()
            .expect("a read returned a value, so the subscriber is attached")
    }

    /// The newest value, whether or not it was read before; see
    /// [`Subscriber::latest`](crate::Subscriber::latest).
    pub fn latest(&mut self) -> Result<Option<RawSample>, SubscribeError> {
        self.read(Mode::Latest)
    }

    /// The newest value if it is newer than the last one returned; see
    /// [`Subscriber::try_recv`](crate::Subscriber::try_recv).
    pub fn try_recv(&mut self) -> Result<Option<RawSample>, SubscribeError> {
        self.read(Mode::Next)
    }

    /// As [`latest`](AnySubscriber::latest), copying the value into `out` (which must be one
    /// value's size: [`SubscribeError::WrongBufferSize`] otherwise, nothing read) instead of
    /// allocating; returns the sample data and the schema. For large values read often.
    pub fn latest_into(&mut self, out: &mut [u8]) -> Result<Option<Copied>, SubscribeError> {
        let read = self.core.read_raw(Mode::Latest, &mut Exact(out))?;
        Ok(read.sample.map(|sample| Copied {
            sample,
            schema: self.read_schema(),
        }))
    }

    /// Every value newer than the last one returned that the ring still holds, oldest first;
    /// see [`Subscriber::try_recv_all`](crate::Subscriber::try_recv_all).
    pub fn try_recv_all(&mut self) -> Result<Vec<RawSample>, SubscribeError> {
        let mut out = Vec::new();
        let mut batch = RawBatch {
            out: &mut out,
            buf: Vec::new(),
        };
        self.core.read_all(&mut batch)?;
        Ok(out)
    }

    /// Waits for a value newer than the last one returned; see
    /// [`Subscriber::recv_timeout`](crate::Subscriber::recv_timeout) (`None`: no deadline).
    pub fn recv_timeout(&mut self, timeout: Option<Duration>) -> Result<RawSample, RecvError> {
        let mut wait = Wait::for_next(timeout);
        loop {
            match self.wait_step(&mut wait)? {
                WaitStep::Ready(sample) => return Ok(sample.value),
                WaitStep::Block(sleeper) => sleeper.block(),
            }
        }
    }

    /// Waits for a new value, then returns every new value still in the ring; see
    /// [`Subscriber::recv_all_timeout`](crate::Subscriber::recv_all_timeout).
    pub fn recv_all_timeout(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Vec<RawSample>, RecvError> {
        let mut wait = Wait::for_available(timeout);
        loop {
            match self.wait_step(&mut wait)? {
                WaitStep::Ready(_) => {
                    let all = self.try_recv_all()?;
                    if !all.is_empty() {
                        return Ok(all);
                    }
                }
                WaitStep::Block(sleeper) => sleeper.block(),
            }
        }
    }

    /// One step of a blocking wait; see [`crate::wait`]. The sample's `value` is the
    /// [`RawSample`].
    pub fn wait_step(&mut self, wait: &mut Wait) -> Result<WaitStep<RawSample>, RecvError> {
        Ok(match self.core.wait_step(wait, &mut self.buf)? {
            Step::Ready(s) => {
                let raw = RawSample::new(self.buf.clone(), s, self.read_schema());
                WaitStep::Ready(Sample {
                    seq: raw.seq,
                    published: raw.published,
                    is_new: raw.is_new,
                    missed: raw.missed,
                    value: raw,
                })
            }
            Step::Block(sleeper) => WaitStep::Block(sleeper),
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

    /// Whether the subscriber is attached to a topic file (of the expected type).
    pub fn is_attached(&self) -> bool {
        self.core.is_attached()
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
