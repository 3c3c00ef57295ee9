//! Error types, one enum per operation. Every `Display` says what happened and what to do.
//!
//! Messages are complete on their own: `Display` already includes the underlying cause, so
//! `source()` returns `None` (nothing is printed twice by error reporters that walk the chain).
//! The underlying `io::Error`, `FormatError` or `NameError` stays available in the variant.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::name::NameError;
use crate::owner::{FileOwner, TopicOwner};

/// The process that publishes (or last published) a topic, as recorded in its header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnerInfo {
    /// Process id.
    pub pid: u32,
    /// Process name (`/proc/<pid>/comm`, at most 15 bytes).
    pub process_name: String,
    /// Process start time in clock ticks after boot, which tells a reused pid apart.
    pub start_ticks: u64,
}

impl OwnerInfo {
    pub(crate) fn unknown() -> OwnerInfo {
        OwnerInfo {
            pid: 0,
            process_name: String::new(),
            start_ticks: 0,
        }
    }
}

impl fmt::Display for OwnerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.pid, self.process_name.is_empty()) {
            (0, _) => f.write_str("another process"),
            (pid, true) => write!(f, "pid {pid}"),
            (pid, false) => write!(f, "pid {pid} ({})", self.process_name),
        }
    }
}

/// Why a topic file's contents cannot be trusted. Nothing of such a file is used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// The file is shorter than a header.
    TooSmall {
        /// File size.
        size: u64,
        /// Smallest valid size.
        min: u64,
    },
    /// The file does not start with the topic magic: it is not a topic file.
    BadMagic,
    /// The file was written by a newer (or unknown) format version.
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Version this library reads.
        supported: u32,
    },
    /// A header field contradicts the others or is out of range.
    Inconsistent {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The header describes more bytes than the file has.
    Truncated {
        /// File size.
        size: u64,
        /// Size the header needs.
        needed: u64,
    },
    /// The stored schema is damaged (hash mismatch or undecodable).
    SchemaCorrupt {
        /// What is wrong.
        detail: String,
    },
    /// The path names a directory, pipe, socket or device, not a regular file.
    NotAFile,
}

impl FormatError {
    /// What to do about it.
    pub fn remedy(&self) -> &'static str {
        match self {
            FormatError::UnsupportedVersion { found, supported } if found > supported => {
                "upgrade this program to the library version that created the topic"
            }
            FormatError::UnsupportedVersion { .. } => {
                "an older version of this library created it: stop that version's programs, remove the topic (shm::remove_topic) and restart the publisher"
            }
            FormatError::BadMagic | FormatError::NotAFile => {
                "it is not a topic of this library and was left untouched: move it away, or use another topic name"
            }
            _ => {
                "it was left untouched: if it is stale, remove it (shm::remove_topic) and restart the publisher"
            }
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::TooSmall { size, min } => {
                write!(
                    f,
                    "file is {size} bytes, smaller than a topic header ({min} bytes)"
                )
            }
            FormatError::BadMagic => f.write_str("file is not a shm topic (bad magic)"),
            FormatError::UnsupportedVersion { found, supported } => write!(
                f,
                "topic format version {found} is not supported (this library reads version {supported})"
            ),
            FormatError::Inconsistent { field, detail } => {
                write!(f, "header field `{field}` is invalid: {detail}")
            }
            FormatError::Truncated { size, needed } => write!(
                f,
                "file is truncated: {size} bytes, the header describes {needed}"
            ),
            FormatError::SchemaCorrupt { detail } => {
                write!(f, "stored schema is damaged: {detail}")
            }
            FormatError::NotAFile => f.write_str("not a regular file"),
        }
    }
}

impl std::error::Error for FormatError {}

/// A subscriber's type differs from the type the topic carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaMismatch {
    /// The topic.
    pub topic: String,
    /// The type the topic carries (readable name).
    pub topic_type: String,
    /// Its schema hash.
    pub topic_hash: u64,
    /// The type this side expects.
    pub expected_type: String,
    /// Its schema hash.
    pub expected_hash: u64,
    /// What differs, one entry per difference (type names, fields, offsets, sizes).
    pub differences: Vec<String>,
}

/// Most differences a mismatch message lists, and most characters of each name or line in it:
/// a hostile topic file may carry a schema of a megabyte.
const MAX_LISTED_DIFFERENCES: usize = 8;
const MAX_SHOWN_CHARS: usize = 200;

/// `text`, cut to [`MAX_SHOWN_CHARS`] characters with an ellipsis.
fn shortened(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        None => text.into(),
        Some((end, _)) => format!("{}…", &text[..end]).into(),
    }
}

impl fmt::Display for SchemaMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (topic_type, expected_type) =
            (shortened(&self.topic_type), shortened(&self.expected_type));
        if self.topic_type == self.expected_type {
            write!(
                f,
                "topic '{}' carries another version of `{topic_type}` than this side expects",
                self.topic
            )?;
        } else {
            write!(
                f,
                "topic '{}' carries `{topic_type}` but this side expects `{expected_type}`",
                self.topic
            )?;
        }
        // The first line already names both types; list what else differs.
        let names_differ = self.topic_type != self.expected_type;
        let details: Vec<&str> = self
            .differences
            .iter()
            .map(String::as_str)
            .filter(|d| !(names_differ && d.starts_with("type: ")))
            .collect();
        for (i, d) in details.iter().take(MAX_LISTED_DIFFERENCES).enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            f.write_str(&shortened(d))?;
        }
        if details.len() > MAX_LISTED_DIFFERENCES {
            write!(
                f,
                "; and {} more difference(s)",
                details.len() - MAX_LISTED_DIFFERENCES
            )?;
        }
        write!(
            f,
            " (schema hashes {:#018x} in the topic, {:#018x} here); use the publisher's type definition, or another topic name",
            self.topic_hash, self.expected_hash
        )
    }
}

impl std::error::Error for SchemaMismatch {}

/// "could not <action> <path>: <error>", with advice for the cause.
fn write_io(
    f: &mut fmt::Formatter<'_>,
    path: &std::path::Path,
    action: &str,
    source: &io::Error,
) -> fmt::Result {
    write!(
        f,
        "could not {action} {}: {source}{}",
        path.display(),
        io_hint(source)
    )
}

/// Advice for an I/O error, by cause.
fn io_hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::ENOMEM) => {
            "; the shared-memory file system is full: remove stale topics (shm::remove_topic) or use smaller messages or fewer buffers"
        }
        Some(libc::ELOOP) => {
            "; the topic path is a symbolic link, which is never followed: remove it"
        }
        Some(libc::ENOENT) => "; create the directory or point SHM_ROOT at an existing one",
        Some(libc::ENOTDIR) => "; SHM_ROOT (or the root given) must be a directory",
        Some(libc::EROFS) => "; the file system is read-only: choose another root",
        _ => "",
    }
}

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
        owner: OwnerInfo,
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
    PermissionDenied {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Another I/O error.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
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
            CreateError::PermissionDenied { path, source } => write!(
                f,
                "permission denied for {}: {source}; run as the topic's owner (or root), or remove the topic if it is stale",
                path.display()
            ),
            CreateError::Io {
                path,
                action,
                source,
            } => write_io(f, path, action, source),
        }
    }
}

impl std::error::Error for CreateError {}

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
    /// The publisher overwrote the slot being read on every attempt.
    Contended {
        /// The topic.
        topic: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The operating system refused access.
    PermissionDenied {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Another I/O error.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
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
            SubscribeError::Contended { topic, attempts } => write!(
                f,
                "topic '{topic}': the publisher overwrote the value being read {attempts} times in a row; give the publisher more buffers (buffer_num) or publish less often"
            ),
            SubscribeError::PermissionDenied { path, source } => write!(
                f,
                "permission denied for {}: {source}; run as the topic's owner, or ask its publisher to create it with a wider mode (e.g. 0o640)",
                path.display()
            ),
            SubscribeError::Io {
                path,
                action,
                source,
            } => write_io(f, path, action, source),
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
        owner: OwnerInfo,
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

impl std::error::Error for RecvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecvError::Subscribe(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SubscribeError> for RecvError {
    fn from(e: SubscribeError) -> RecvError {
        RecvError::Subscribe(e)
    }
}

/// Errors of [`remove_topic`](crate::remove_topic).
#[derive(Debug)]
#[non_exhaustive]
pub enum RemoveError {
    /// The topic name is invalid.
    InvalidName(NameError),
    /// A live process still publishes the topic.
    Busy {
        /// The topic.
        topic: String,
        /// Who holds it.
        owner: OwnerInfo,
    },
    /// The file belongs to another user (or others may write it): left untouched.
    ForeignFile {
        /// The file.
        path: PathBuf,
        /// Its owner and mode.
        owner: FileOwner,
    },
    /// The operating system refused access.
    PermissionDenied {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Another I/O error.
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
}

impl fmt::Display for RemoveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoveError::InvalidName(e) => e.fmt(f),
            RemoveError::Busy { topic, owner } => write!(
                f,
                "topic '{topic}' is still published by {owner}; stop that process first"
            ),
            RemoveError::ForeignFile { path, owner } => write!(
                f,
                "{} is {owner}; it was left untouched: remove it as its owner (or root, by hand)",
                path.display()
            ),
            RemoveError::PermissionDenied { path, source } => write!(
                f,
                "permission denied for {}: {source}; run as the topic's owner",
                path.display()
            ),
            RemoveError::Io {
                path,
                action,
                source,
            } => write_io(f, path, action, source),
        }
    }
}

impl std::error::Error for RemoveError {}

/// An I/O failure with its path and action, before it is sorted into an operation's error enum.
#[derive(Debug)]
pub(crate) struct IoFailure {
    pub(crate) path: PathBuf,
    pub(crate) action: &'static str,
    pub(crate) source: io::Error,
}

impl IoFailure {
    pub(crate) fn new(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        IoFailure {
            path: path.into(),
            action,
            source,
        }
    }

    fn is_permission(&self) -> bool {
        self.source.kind() == io::ErrorKind::PermissionDenied
    }
}

macro_rules! from_io_failure {
    ($($error:ident),*) => {$(
        impl From<IoFailure> for $error {
            fn from(e: IoFailure) -> Self {
                if e.is_permission() {
                    $error::PermissionDenied {
                        path: e.path,
                        source: e.source,
                    }
                } else {
                    $error::Io {
                        path: e.path,
                        action: e.action,
                        source: e.source,
                    }
                }
            }
        }
    )*};
}

from_io_failure!(CreateError, SubscribeError, RemoveError);
