//! The publishing side of a topic: the type and its publish path. Options and creation are in
//! `builder.rs`; what creation does to the topic file (create, take over, replace) in
//! `create.rs`.

mod builder;
mod create;

pub use builder::PublisherBuilder;

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::discovery::Generation;
use crate::error::{CreateError, PublishError};
use crate::message::ShmMessage;
use crate::name::TopicName;
use crate::owner::OwnerInfo;
use crate::segment::{MAX_SEQ, MAX_SLOTS, ReadWrite, Segment};
use crate::sys;

/// Default number of slots in a topic's ring (the seed's `buffer_num=3`).
pub const DEFAULT_BUFFER_NUM: usize = 3;
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
/// publisher.publish(&21.5);
/// # Ok::<(), shm::CreateError>(())
/// ```
pub struct Publisher<T: ShmMessage> {
    seg: Segment<ReadWrite>,
    topic: TopicName,
    path: PathBuf,
    next_seq: u64,
    /// `next_seq % slot_count`, kept up to date without a division.
    next_slot: u32,
    slot_count: u32,
    timestamps: Timestamps,
    takeover: Option<Takeover>,
    fork_generation: u64,
    /// The user's generation file this publisher announced its topic to, kept mapped while it
    /// lives so that creating many topics maps it once.
    _generation: Option<Arc<Generation>>,
    _type: PhantomData<fn(&T)>,
}

/// How a publisher stamps its values with their publish time ([`Sample::published`]).
///
/// [`Sample::published`]: crate::Sample::published
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Timestamps {
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
    pub previous_owner: OwnerInfo,
    /// The last sequence number published before; this publisher continues after it.
    pub last_seq: u64,
    /// Whether subscribers still see the last value.
    pub kept_last_value: bool,
    /// Whether the file was replaced (another type or `buffer_num`) rather than reused.
    pub recreated: bool,
}

impl<T: ShmMessage> Publisher<T> {
    /// Creates (or takes over) `topic` with default options: 3 slots, mode `0o600`, in
    /// `$SHM_ROOT` or `/dev/shm`.
    pub fn new(topic: &str) -> Result<Publisher<T>, CreateError> {
        Publisher::builder(topic).create()
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
        PublisherBuilder {
            topic: topic.to_owned(),
            buffer_num: DEFAULT_BUFFER_NUM,
            mode: None,
            root: None,
            timestamps: Timestamps::Precise,
            _type: PhantomData,
        }
    }

    /// Publishes a value and returns its sequence number. Wait-free: no lock, no allocation,
    /// no syscall (the timestamp comes from the vDSO clock) unless a subscriber sleeps waiting
    /// for a value (then one `FUTEX_WAKE`).
    ///
    /// # Panics
    /// Where [`try_publish`](Publisher::try_publish) refuses: in a child process made by `fork`
    /// after this publisher was created, and after a damaged file's numbers ran out.
    #[inline]
    pub fn publish(&mut self, value: &T) -> u64 {
        match self.try_publish(value) {
            Ok(seq) => seq,
            Err(e) => publish_refused(e),
        }
    }

    /// Publishes a value and returns its sequence number, or refuses in a child process made by
    /// `fork` after this publisher was created (two writers would defeat the seqlock), and after
    /// a damaged file's numbers ran out ([`PublishError::SequenceExhausted`]).
    #[inline]
    pub fn try_publish(&mut self, value: &T) -> Result<u64, PublishError> {
        if sys::current_fork_generation() != self.fork_generation {
            return Err(PublishError::ForkedProcess);
        }
        if self.next_seq > MAX_SEQ {
            return Err(PublishError::SequenceExhausted);
        }
        let (seq, slot) = (self.next_seq, self.next_slot);
        self.next_seq = seq.wrapping_add(1);
        self.next_slot = if slot + 1 == self.slot_count {
            0
        } else {
            slot + 1
        };
        let now = match self.timestamps {
            Timestamps::Precise => sys::monotonic_ns(),
            Timestamps::Coarse => sys::monotonic_coarse_ns(),
        };
        // SAFETY: `value` is a `T`, whose `size_of::<T>() == elem_size` bytes are all
        // initialised (ShmMessage guarantees no padding); `slot` is `seq % slot_count`;
        // `1 <= seq <= MAX_SEQ` (numbers start at 1 or after a validated last number, and were
        // checked above); this process holds the publisher lock.
        unsafe {
            self.seg
                .write_slot(slot, seq, now, (value as *const T).cast::<u8>())
        };
        Ok(seq)
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        self.topic.as_str()
    }

    /// The topic file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of slots in the ring.
    pub fn buffer_num(&self) -> usize {
        self.seg.layout().slot_count as usize
    }

    /// The sequence number the next `publish` will return.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// What this publisher took over, if the topic existed.
    pub fn takeover(&self) -> Option<&Takeover> {
        self.takeover.as_ref()
    }
}

impl<T: ShmMessage> Drop for Publisher<T> {
    /// Gives the topic up: releases the publisher lock (the file and its last value stay, for
    /// subscribers and for the next publisher) and wakes subscribers blocked in a wait, which
    /// then report the publisher gone. In a forked child the lock is the parent's: left alone.
    fn drop(&mut self) {
        if sys::current_fork_generation() == self.fork_generation {
            self.seg.release();
        }
    }
}

#[cold]
#[inline(never)]
fn publish_refused(e: PublishError) -> ! {
    panic!("{e}")
}

impl<T: ShmMessage> fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic.as_str())
            .field("type", &T::SCHEMA.type_name())
            .field("buffer_num", &self.buffer_num())
            .field("next_seq", &self.next_seq)
            .field("path", &self.path)
            .finish()
    }
}
