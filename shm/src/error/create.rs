//! Errors of the publishing side: creating a publisher, and publishing.

use std::fmt;
use std::path::PathBuf;

use super::NameError;
use super::{FormatError, IoFailure, ValueError};
use crate::owner::{FileOwner, PublisherProcess};

/// Errors of [`Publisher`](crate::Publisher) creation.
#[derive(Debug)]
#[non_exhaustive]
pub enum CreateError {
    /// The topic name is invalid.
    InvalidName(NameError),
    /// `buffer_num` is out of range.
    InvalidBufferNum {
        /// What was asked for.
        requested: usize,
        /// The smallest accepted value.
        min: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// The permission mode is not allowed.
    InvalidMode {
        /// What was asked for.
        mode: u32,
    },
    /// The topic would be larger than supported.
    TooLarge {
        /// Bytes the topic file would need (saturated).
        bytes: u64,
    },
    /// The message type cannot be stored (alignment above 4096, schema description over 1 MiB).
    UnsupportedType {
        /// What is wrong.
        detail: String,
    },
    /// Another live process publishes this topic.
    Busy {
        /// The topic.
        topic: String,
        /// Who holds it.
        owner: PublisherProcess,
    },
    /// A file exists at the topic's path but is not a valid topic; it is left untouched.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: FormatError,
    },
    /// The file at the topic's path belongs to another user, or other users may write it: it
    /// is not adopted (its owner could read, forge or truncate what this publisher writes). It
    /// is left untouched, and not even mapped.
    ForeignFile {
        /// The file.
        path: PathBuf,
        /// Its owner and mode.
        owner: FileOwner,
    },
    /// The operating system refused access.
    PermissionDenied(IoFailure),
    /// Another I/O error.
    Io(IoFailure),
}

impl fmt::Display for CreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateError::InvalidName(e) => e.fmt(f),
            CreateError::InvalidBufferNum {
                requested,
                min,
                max,
            } => write!(
                f,
                "buffer_num {requested} is out of range; use {min} to {max} (3 to 5 is typical): the publisher always writes a slot readers are not reading"
            ),
            CreateError::InvalidMode { mode } => write!(
                f,
                "permission mode {mode:#o} is not allowed: it must include owner read/write (0o600) and may add read for group or others (at most 0o644); subscribers never need write access"
            ),
            CreateError::TooLarge { bytes } => write!(
                f,
                "topic would need {bytes} bytes of shared memory; use a smaller message or fewer buffers"
            ),
            CreateError::UnsupportedType { detail } => {
                write!(f, "this message type cannot be published: {detail}")
            }
            CreateError::Busy { topic, owner } if owner.pid == std::process::id() => write!(
                f,
                "topic '{topic}' is already published by this process ({owner}): publish through the publisher it has open, or close that one first"
            ),
            CreateError::Busy { topic, owner } => write!(
                f,
                "topic '{topic}' is already published by {owner}; stop that process or use another topic name"
            ),
            CreateError::Format { path, source } => {
                write!(f, "{}: {source}; {}", path.display(), source.remedy())
            }
            CreateError::ForeignFile { path, owner } => write!(
                f,
                "{} is {owner}, not a topic file of this user that nobody else may write; it was left untouched: if it is stale, have its owner (or root) remove it, or publish under another topic name or SHM_ROOT",
                path.display()
            ),
            CreateError::PermissionDenied(e) => e.denied(
                f,
                "run as the topic's owner (or root), or remove the topic if it is stale",
            ),
            CreateError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CreateError {}

/// Errors of [`Publisher::publish`](crate::Publisher::publish).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The publisher was created in a parent process, and this is a child made by `fork`:
    /// two processes writing one topic would defeat its consistency checks.
    ForkedProcess,
    /// The topic's sequence numbers reached 2^62 (`docs/FORMAT.md`, `MAX_SEQ`): a file taken
    /// over with numbers that high was damaged or forged, no publisher counts that far.
    SequenceExhausted,
    /// Bytes given to an untyped publisher are not one value's worth.
    WrongSize {
        /// The message type's size.
        expected: usize,
        /// The bytes given.
        given: usize,
    },
    /// Bytes or a value given to an untyped publisher are not a value of its type.
    InvalidValue(ValueError),
    /// This publisher's topic file was removed or replaced by hand, and another publisher made
    /// the topic meanwhile: that one publishes it now, and this one publishes nothing more.
    Displaced {
        /// The topic.
        topic: String,
        /// The publisher that holds the topic now.
        by: PublisherProcess,
    },
    /// This publisher's topic file was removed or replaced by hand, and making it again failed;
    /// the value was not published, and the next publish tries again.
    FileLost {
        /// The topic.
        topic: String,
        /// Why the file could not be made.
        why: String,
    },
    /// More elements than a slice topic's room, and the publisher was not allowed to grow it
    /// ([`PublisherBuilder::grow`](crate::PublisherBuilder::grow)).
    TooLong {
        /// The topic.
        topic: String,
        /// The elements given.
        len: usize,
        /// The most the topic holds.
        max_len: usize,
    },
    /// A growing slice publisher could not make the larger topic file a value needed (too
    /// large, or the file system refused); nothing was published, the topic is as it was.
    GrowFailed {
        /// The topic.
        topic: String,
        /// The elements given.
        len: usize,
        /// Why.
        why: String,
    },
    /// Every slot of a lending topic but the newest value's is pinned by its subscribers (even
    /// after slots held by subscribers that are gone were reclaimed): nothing was written, no
    /// pinned value is ever overwritten. Subscribers holding borrowed values longer than the
    /// publisher's period cause it; drop them sooner, or give the topic more slots.
    AllPinned {
        /// The topic.
        topic: String,
        /// Its slots.
        slots: u32,
    },
    /// A byte loan ([`crate::dynamic::BytesLoan`]) published after it was given up: another
    /// publish or loan came first, or the publisher moved to another file.
    LoanGivenUp {
        /// The topic.
        topic: String,
    },
    /// [`Publisher::loan`](crate::Publisher::loan) on a copying topic: only a lending topic
    /// ([`PublisherBuilder::lending`](crate::PublisherBuilder::lending)) keeps readers off the
    /// slot being written in place.
    NotLending {
        /// The topic.
        topic: String,
    },
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::ForkedProcess => f.write_str(
                "this publisher belongs to the process that created it, not to a child made by fork; create the publisher in the child instead (or use a spawn/forkserver start method)",
            ),
            PublishError::SequenceExhausted => f.write_str(
                "the topic's sequence numbers reached 2^62, which no publisher reaches: the file was damaged; remove the topic (`shm rm TOPIC`; in Rust shm::remove_topic) and publish again",
            ),
            PublishError::WrongSize { expected, given } => write!(
                f,
                "{given} byte(s) given where a value of the topic's type has {expected}; publish exactly one value's bytes"
            ),
            PublishError::InvalidValue(e) => e.fmt(f),
            PublishError::Displaced { topic, by } => write!(
                f,
                "the file of topic '{topic}' was removed or replaced by hand, and {by} has \
                 published the topic since; this publisher stops (two publishers of one topic \
                 would overwrite each other): stop one of them, and keep clean-ups (such as \
                 systemd's RemoveIPC) away from live topics"
            ),
            PublishError::TooLong {
                topic,
                len,
                max_len,
            } => write!(
                f,
                "{len} elements do not fit topic '{topic}', which holds at most {max_len}; \
                 create the publisher with a larger .max_len(..), or with .grow(true) to let \
                 it replace the topic with a larger one"
            ),
            PublishError::GrowFailed { topic, len, why } => write!(
                f,
                "topic '{topic}' could not grow to hold {len} elements ({why}); nothing was \
                 published and the topic is as it was"
            ),
            PublishError::AllPinned { topic, slots } => write!(
                f,
                "every slot of topic '{topic}' but the newest value's is held by its \
                 subscribers ({slots} slots): nothing was published, and no borrowed value was \
                 overwritten; have subscribers drop borrowed values sooner, or create the \
                 publisher with a larger .buffer_num(..)"
            ),
            PublishError::LoanGivenUp { topic } => write!(
                f,
                "a loan of topic '{topic}' was published after another publish or loan gave \
                 it up; write a loaned value, then publish it, before anything else"
            ),
            PublishError::NotLending { topic } => write!(
                f,
                "topic '{topic}' is a copying topic, whose readers may read any slot at any \
                 time: a value cannot be written in place there; create the publisher with \
                 .lending(true) to loan slots, or publish a value by copy"
            ),
            PublishError::FileLost { topic, why } => write!(
                f,
                "the file of topic '{topic}' was removed by hand and could not be made again \
                 ({why}); the value was not published, the next publish tries again"
            ),
        }
    }
}

impl std::error::Error for PublishError {}
