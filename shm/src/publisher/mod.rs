//! The publishing side of a topic: the type and its publish path. Options and creation are in
//! `builder.rs`; what creation does to the topic file (create, take over, replace) in
//! `create.rs`.

mod builder;
mod core;
mod create;
mod loan;
mod slice;

pub use loan::Loan;

pub(crate) use slice::grown_room;

pub(crate) use self::core::{PubOptions, PublisherCore};
pub use builder::PublisherBuilder;
pub(crate) use builder::publisher_options;

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use crate::error::{CreateError, PublishError};
use crate::message::{ShmMessage, TopicType};
use crate::owner::PublisherProcess;
use crate::segment::MAX_SLOTS;

/// Default number of slots in a copying topic's ring (Python's `buffer_num=3`).
pub const DEFAULT_BUFFER_NUM: usize = 3;
/// Default number of slots of a lending topic: room for 8 values pinned by its subscribers.
pub const DEFAULT_LENDING_BUFFER_NUM: usize = 10;
/// Smallest `buffer_num` of a lending topic: the newest value, the one being written, and one
/// pinned by a subscriber.
pub const MIN_LENDING_BUFFER_NUM: usize = 3;
/// Largest `buffer_num` accepted.
pub const MAX_BUFFER_NUM: usize = MAX_SLOTS as usize;
/// Smallest `buffer_num` accepted: with two slots the publisher always writes a slot readers
/// are not reading, so a publisher killed mid-write can never take the last value with it.
pub const MIN_BUFFER_NUM: usize = 2;
/// Default permission mode of a new topic file: owner read/write only.
pub const DEFAULT_MODE: u32 = 0o600;

/// Publishes values of `T` on one topic. One live publisher per topic.
///
/// Creating a publisher creates the topic's file, or takes it over when its previous publisher
/// is gone (exited, crashed or killed). When the previous file has the same type and slot
/// count it is reused in place, so subscribers keep the last value and see sequence numbers
/// continue; otherwise a new file replaces it atomically (carrying the last value over when the
/// type is the same) and attached subscribers reattach to it.
///
/// ```no_run
/// let mut publisher = shm::Publisher::<f64>::new("sensors/temperature")?;
/// publisher.publish(&21.5)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// `Publisher<[T]>` publishes slices of `T` whose room is chosen at run time
/// ([`PublisherBuilder::max_len`]), and may grow.
pub struct Publisher<T: ?Sized> {
    core: PublisherCore,
    /// A slice publisher's room and growth (`None` for other types).
    slice: Option<Box<slice::SliceState>>,
    _type: PhantomData<fn(&T)>,
}

/// How a publisher stamps its values with their publish time ([`Sample::published`]).
///
/// [`Sample::published`]: crate::Sample::published
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PublishClock {
    /// `CLOCK_MONOTONIC` to the nanosecond (the default): about 20 ns of each publish.
    #[default]
    Precise,
    /// The same clock as of the kernel's last timer tick (`CLOCK_MONOTONIC_COARSE`, 1–4 ms
    /// resolution; never ahead of the precise clock): a few ns. For publishers whose rate
    /// matters more than their subscribers' view of a value's age, which then reads up to a
    /// tick too old (so `max_age` expires values up to a tick early).
    Coarse,
}

/// What a new publisher found when it took over an existing topic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Takeover {
    /// The publisher recorded in the old header (no longer running).
    pub previous_publisher: PublisherProcess,
    /// The last sequence number published before; this publisher continues after it.
    pub last_seq: u64,
    /// Whether subscribers still see the last value.
    pub kept_last_value: bool,
    /// Whether the file was replaced (another type or `buffer_num`) rather than reused.
    pub recreated: bool,
}

impl<T: ?Sized + TopicType> Publisher<T> {
    /// Creates (or takes over) `topic` with default options: 3 slots, mode `0o600`, in
    /// `$SHM_ROOT` or `/dev/shm`.
    pub fn new(topic: &str) -> Result<Publisher<T>, CreateError> {
        Publisher::<T>::builder(topic).create()
    }

    /// Options for creating a publisher.
    ///
    /// ```no_run
    /// let publisher = shm::Publisher::<[f32; 16]>::builder("lidar/ranges")
    ///     .buffer_num(5)
    ///     .mode(0o640)
    ///     .create()?;
    /// # Ok::<(), shm::CreateError>(())
    /// ```
    pub fn builder(topic: &str) -> PublisherBuilder<T> {
        PublisherBuilder::new(topic)
    }
}

impl<T: ?Sized + TopicType> Publisher<T> {
    /// Publishes a value and returns its sequence number. Wait-free: no lock, no allocation,
    /// no syscall (the timestamp comes from the vDSO clock) unless a subscriber sleeps waiting
    /// for a value (then one `FUTEX_WAKE`), except one `stat` of the topic's path every 100 ms:
    /// a file removed by hand (`rm`, systemd's `RemoveIPC`) is made again then, with the last
    /// value and the sequence numbers continuing, and subscribers follow.
    ///
    /// # Errors
    /// Refuses in a child process made by `fork` after this publisher was created
    /// ([`PublishError::ForkedProcess`]: two writers would defeat the seqlock), after a damaged file's
    /// numbers ran out ([`PublishError::SequenceExhausted`]), and when the topic's file was
    /// removed by hand: for good if another process published the topic since
    /// ([`PublishError::Displaced`]), this once if making the file again failed
    /// ([`PublishError::FileLost`]; the next look is 100 ms later, and publishes meanwhile go
    /// into the removed file, which readers still attached to it see).
    ///
    /// A slice publisher (`Publisher<[T]>`) publishes `&[T]`: see [`PublisherBuilder::max_len`]
    /// and [`PublisherBuilder::grow`] for what a longer value does.
    #[inline]
    pub fn publish(&mut self, value: &T) -> Result<u64, PublishError> {
        T::publish(self, value)
    }
}

impl<T: ShmMessage> Publisher<T> {
    /// [`publish`](Publisher::publish) of a message.
    #[inline]
    pub(crate) fn publish_typed(&mut self, value: &T) -> Result<u64, PublishError> {
        // SAFETY: `value` is a `T`, whose `size_of::<T>()` bytes (the schema's size) are all
        // initialised (ShmMessage guarantees no padding) and form a valid value.
        unsafe { self.core.publish_raw((value as *const T).cast::<u8>()) }
    }
}

impl<T: ?Sized> Publisher<T> {
    /// The topic name.
    pub fn topic(&self) -> &str {
        self.core.topic()
    }

    /// The topic file.
    pub fn path(&self) -> &Path {
        self.core.path()
    }

    /// Number of slots in the ring.
    pub fn buffer_num(&self) -> usize {
        self.core.buffer_num()
    }

    /// The sequence number the next `publish` will return.
    pub fn next_seq(&self) -> u64 {
        self.core.next_seq()
    }

    /// What this publisher took over, if the topic existed.
    pub fn takeover(&self) -> Option<&Takeover> {
        self.core.takeover()
    }
}

impl<T: ?Sized> fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic())
            .field("type", &self.core.schema().type_name())
            .field("buffer_num", &self.buffer_num())
            .field("next_seq", &self.next_seq())
            .field("path", &self.path())
            .finish()
    }
}
