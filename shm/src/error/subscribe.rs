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
    /// A lending topic whose file this process may only read, made for its owner only (mode
    /// `0o600` in its header): its publisher looks only at pins stored in the file, which
    /// needs write access. A topic created with mode `0o640`/`0o644` serves such subscribers
    /// (they pin with locks).
    CannotPin {
        /// The topic.
        topic: String,
        /// The file.
        path: PathBuf,
    },
    /// A lending topic cannot serve another subscriber: its slots, less the two its publisher
    /// needs, are all reserved by subscribers already (or all its pin entries are taken).
    TooManyBorrowers {
        /// The topic.
        topic: String,
        /// Its slots.
        slots: u32,
        /// The slots it would need to serve this subscriber too.
        needed: u32,
    },
    /// This subscriber holds as many borrowed values as it may
    /// ([`SubscriberBuilder::max_borrowed`](crate::SubscriberBuilder::max_borrowed)); a read
    /// needs one more slot pinned.
    BorrowLimit {
        /// The topic.
        topic: String,
        /// The most it may hold.
        max_borrowed: u32,
    },
    /// [`SubscriberBuilder::max_borrowed`](crate::SubscriberBuilder::max_borrowed) out of
    /// range.
    InvalidMaxBorrowed {
        /// The number asked for.
        requested: u32,
        /// The most allowed.
        max: u32,
    },
    /// [`Subscriber::borrow`](crate::Subscriber::borrow) on a copying topic, whose publisher
    /// may overwrite any slot at any time: only a lending topic lends its slots.
    NotLending {
        /// The topic.
        topic: String,
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
            SubscribeError::CannotPin { topic, path } => write!(
                f,
                "topic '{topic}' lends its slots and was made for its owner only (mode \
                 0o600): this process may only read its file {}, and its publisher looks only \
                 at pins stored in the file; run as the topic's owner, or create its publisher \
                 with .mode(0o640) or .mode(0o644) (its readers then pin slots with locks)",
                path.display()
            ),
            SubscribeError::TooManyBorrowers {
                topic,
                slots,
                needed,
            } => write!(
                f,
                "topic '{topic}' cannot serve another subscriber: its {slots} slots are \
                 reserved by its publisher (2) and its subscribers already, and this one needs \
                 {needed} in all; create the publisher with .buffer_num({needed}) or more, or \
                 lower max_borrowed"
            ),
            SubscribeError::BorrowLimit {
                topic,
                max_borrowed,
            } => write!(
                f,
                "this subscriber of topic '{topic}' holds {max_borrowed} borrowed value(s), \
                 the most it may (max_borrowed); drop one before reading again"
            ),
            SubscribeError::InvalidMaxBorrowed { requested, max } => write!(
                f,
                "max_borrowed is {requested}; a subscriber holds 1 to {max} values at once"
            ),
            SubscribeError::NotLending { topic } => write!(
                f,
                "topic '{topic}' is a copying topic: its slots cannot be borrowed (the \
                 publisher may overwrite any of them at any time); read a copy (latest_into, \
                 recv_into), or have the publisher make a lending topic (.lending(true))"
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
        /// Whether its process still runs: it released the topic without exiting (a program
        /// that closed its publisher; a bridge whose remote publisher went away).
        still_running: bool,
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
            RecvError::PublisherGone {
                topic,
                owner,
                still_running: true,
            } if owner.process_name == "shm-bridge" => write!(
                f,
                "the remote publisher of topic '{topic}' (imported by {owner}, which still runs) went away while waiting for a new value; the last value is still readable, and the bridge publishes again when a remote publisher comes back"
            ),
            RecvError::PublisherGone {
                topic,
                owner,
                still_running: true,
            } => write!(
                f,
                "the publisher of topic '{topic}' ({owner}, which still runs) closed it while waiting for a new value; the last value is still readable, and a new publisher takes the topic over"
            ),
            RecvError::PublisherGone { topic, owner, .. } => write!(
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
