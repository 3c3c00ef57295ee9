//! Errors of the subscribing side: opening and reading, and blocking waits.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::NameError;
use super::{FormatError, IoFailure, SchemaMismatch};
use crate::owner::{FileOwner, PublisherProcess, TopicOwner};

/// Errors of [`Subscriber`](crate::Subscriber) creation and reads. Reads can reattach to a
/// recreated topic, so they share the failure modes of opening.
#[derive(Debug)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The topic name is invalid (only when opening).
    InvalidName(NameError),
    /// The topic carries another type.
    SchemaMismatch(Box<SchemaMismatch>),
    /// The topic file is not a valid topic.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: FormatError,
    },
    /// The topic file belongs to a user this subscriber does not trust (see
    /// [`SubscriberBuilder::owner`](crate::SubscriberBuilder::owner)), or others may write it:
    /// its values could be forged. Nothing of it was read.
    UntrustedOwner {
        /// The file.
        path: PathBuf,
        /// Its owner and mode.
        owner: FileOwner,
        /// Whom the subscriber trusts.
        trusted: TopicOwner,
    },
    /// A consistent copy was read, but its bytes are not a valid value (a `bool` that is
    /// neither 0 nor 1): the writer is not a well-behaved publisher of this type.
    InvalidValue {
        /// The topic.
        topic: String,
        /// Sequence number of the rejected value.
        seq: u64,
    },
    /// A caller's buffer is not one value's size; nothing was read into it.
    WrongBufferSize {
        /// The topic.
        topic: String,
        /// The size of a value of the topic's type.
        needed: usize,
        /// The buffer's size.
        given: usize,
    },
    /// The publisher overwrote the slot being read on every attempt.
    Contended {
        /// The topic.
        topic: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The operating system refused access.
    PermissionDenied(IoFailure),
    /// Another I/O error.
    Io(IoFailure),
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeError::InvalidName(e) => e.fmt(f),
            SubscribeError::SchemaMismatch(m) => m.fmt(f),
            SubscribeError::Format { path, source } => {
                write!(f, "{}: {source}; {}", path.display(), source.remedy())
            }
            SubscribeError::UntrustedOwner { path, owner, .. } if owner.writable_by_others() => {
                write!(
                    f,
                    "{} is {owner}: users other than its owner may write it, so its values could be forged; nothing was read. Have its publisher recreate it (publishers never create such files), or remove it",
                    path.display()
                )
            }
            SubscribeError::UntrustedOwner {
                path,
                owner,
                trusted,
            } => write!(
                f,
                "{} is {owner}, but this subscriber reads topics of {trusted} only (anyone could have created the file first); nothing was read. If that user publishes this topic for you, trust it: SubscriberBuilder::owner(TopicOwner::Uid({})) (Python: owner={}); else remove the file",
                path.display(),
                owner.uid.0,
                owner.uid.0
            ),
            SubscribeError::InvalidValue { topic, seq } => write!(
                f,
                "value {seq} on topic '{topic}' is not a valid value of this type (a bool byte is neither 0 nor 1); the writer is not a well-behaved publisher of this type"
            ),
            SubscribeError::WrongBufferSize {
                topic,
                needed,
                given,
            } => write!(
                f,
                "topic '{topic}': a value is {needed} bytes, the buffer given has {given}; pass a buffer of exactly one value's size"
            ),
            SubscribeError::Contended { topic, attempts } => write!(
                f,
                "topic '{topic}': the publisher overwrote the value being read {attempts} times in a row; give the publisher more buffers (buffer_num) or publish less often"
            ),
            SubscribeError::PermissionDenied(e) => e.denied(f, "run as the topic's owner, or ask its publisher to create it with a wider mode (e.g. 0o640)"),
            SubscribeError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SubscribeError {}

/// Why a blocking wait ([`Subscriber::recv`](crate::Subscriber::recv) and friends) returned
/// without a value.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecvError {
    /// No new value arrived before the deadline.
    Timeout {
        /// The topic.
        topic: String,
        /// How long the wait lasted.
        waited: Duration,
    },
    /// The topic's publisher, seen alive earlier in this wait, exited or was killed without
    /// publishing a new value. The topic stays readable; another publisher may take it over,
    /// and a new wait waits for that.
    PublisherGone {
        /// The topic.
        topic: String,
        /// The publisher that went away.
        owner: PublisherProcess,
    },
    /// Reading the topic failed (it was recreated with another type, damaged, or became
    /// unreadable).
    Subscribe(SubscribeError),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Timeout { topic, waited } => write!(
                f,
                "no new value on topic '{topic}' within {waited:?}; is its publisher running and publishing?"
            ),
            RecvError::PublisherGone { topic, owner } => write!(
                f,
                "the publisher of topic '{topic}' ({owner}) exited or was killed while waiting for a new value; the last value is still readable, and a restarted publisher takes the topic over"
            ),
            RecvError::Subscribe(e) => e.fmt(f),
        }
    }
}

/// `Subscribe` is transparent (as thiserror's `#[error(transparent)]`): it displays its cause
/// and forwards `source()` to it, so a reporter walking the chain prints the message once.
impl std::error::Error for RecvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecvError::Subscribe(e) => e.source(),
            _ => None,
        }
    }
}

impl From<SubscribeError> for RecvError {
    fn from(e: SubscribeError) -> RecvError {
        RecvError::Subscribe(e)
    }
}
