//! Error types, one enum per operation. Every `Display` says what happened and what to do.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::name::NameError;

/// The process that publishes (or last published) a topic, as recorded in its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerInfo {
    /// Process id.
    pub pid: u32,
    /// Process name (`/proc/<pid>/comm`, at most 15 bytes).
    pub process_name: String,
    /// Process start time in clock ticks after boot, which tells a reused pid apart.
    pub start_ticks: u64,
}

impl fmt::Display for OwnerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.process_name.is_empty() {
            write!(f, "pid {}", self.pid)
        } else {
            write!(f, "pid {} ({})", self.pid, self.process_name)
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
                "topic format version {found} is not supported (this library reads version {supported}); upgrade the library on this side"
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
        }
    }
}

impl std::error::Error for FormatError {}

/// A subscriber's type differs from the type the topic carries.
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl fmt::Display for SchemaMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "topic '{}' carries `{}` but this side expects `{}`",
            self.topic, self.topic_type, self.expected_type
        )?;
        if !self.differences.is_empty() {
            write!(f, ": {}", self.differences.join("; "))?;
        }
        write!(
            f,
            " (schema hashes {:#018x} vs {:#018x}); use the publisher's type, or another topic name",
            self.topic_hash, self.expected_hash
        )
    }
}

impl std::error::Error for SchemaMismatch {}

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
        /// The largest accepted value (the smallest is 1).
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
            CreateError::InvalidBufferNum { requested, max } => write!(
                f,
                "buffer_num {requested} is out of range; use 1 to {max} (3 to 5 is typical)"
            ),
            CreateError::InvalidMode { mode } => write!(
                f,
                "permission mode {mode:#o} is not allowed: it must include owner read/write (0o600) and only read/write bits (at most 0o666)"
            ),
            CreateError::TooLarge { bytes } => write!(
                f,
                "topic would need {bytes} bytes of shared memory; use a smaller message or fewer buffers"
            ),
            CreateError::Busy { topic, owner } => write!(
                f,
                "topic '{topic}' is already published by {owner}; stop that process or use another topic name"
            ),
            CreateError::Format { path, source } => write!(
                f,
                "{}: {source}; it was left untouched: remove it if it is stale",
                path.display()
            ),
            CreateError::PermissionDenied { path, source } => write!(
                f,
                "permission denied for {}: {source}; run as the topic's owner, or ask its publisher to create it with a wider mode",
                path.display()
            ),
            CreateError::Io {
                path,
                action,
                source,
            } => write!(f, "could not {action} {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for CreateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CreateError::InvalidName(e) => Some(e),
            CreateError::Format { source, .. } => Some(source),
            CreateError::PermissionDenied { source, .. } | CreateError::Io { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// Errors of [`Subscriber`](crate::Subscriber) creation and reads.
#[derive(Debug)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The topic name is invalid.
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
        /// The file.
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
            SubscribeError::Format { path, source } => write!(
                f,
                "{}: {source}; remove it if it is stale and restart the publisher",
                path.display()
            ),
            SubscribeError::InvalidValue { topic, seq } => write!(
                f,
                "value {seq} on topic '{topic}' is not a valid value of this type (a bool byte is neither 0 nor 1); the writer is not a well-behaved publisher"
            ),
            SubscribeError::Contended { topic, attempts } => write!(
                f,
                "topic '{topic}': the publisher overwrote the value being read {attempts} times in a row; give the publisher more buffers (buffer_num) or publish less often"
            ),
            SubscribeError::PermissionDenied { path, source } => write!(
                f,
                "permission denied for {}: {source}; run as the topic's owner, or ask its publisher to create it with a wider mode",
                path.display()
            ),
            SubscribeError::Io {
                path,
                action,
                source,
            } => write!(f, "could not {action} {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for SubscribeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SubscribeError::InvalidName(e) => Some(e),
            SubscribeError::SchemaMismatch(m) => Some(m),
            SubscribeError::Format { source, .. } => Some(source),
            SubscribeError::PermissionDenied { source, .. } | SubscribeError::Io { source, .. } => {
                Some(source)
            }
            _ => None,
        }
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
            RemoveError::PermissionDenied { path, source } => write!(
                f,
                "permission denied for {}: {source}; run as the topic's owner",
                path.display()
            ),
            RemoveError::Io {
                path,
                action,
                source,
            } => write!(f, "could not {action} {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for RemoveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RemoveError::InvalidName(e) => Some(e),
            RemoveError::PermissionDenied { source, .. } | RemoveError::Io { source, .. } => {
                Some(source)
            }
            RemoveError::Busy { .. } => None,
        }
    }
}

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

impl From<IoFailure> for CreateError {
    fn from(e: IoFailure) -> Self {
        if e.is_permission() {
            CreateError::PermissionDenied {
                path: e.path,
                source: e.source,
            }
        } else {
            CreateError::Io {
                path: e.path,
                action: e.action,
                source: e.source,
            }
        }
    }
}

impl From<IoFailure> for SubscribeError {
    fn from(e: IoFailure) -> Self {
        if e.is_permission() {
            SubscribeError::PermissionDenied {
                path: e.path,
                source: e.source,
            }
        } else {
            SubscribeError::Io {
                path: e.path,
                action: e.action,
                source: e.source,
            }
        }
    }
}

impl From<IoFailure> for RemoveError {
    fn from(e: IoFailure) -> Self {
        if e.is_permission() {
            RemoveError::PermissionDenied {
                path: e.path,
                source: e.source,
            }
        } else {
            RemoveError::Io {
                path: e.path,
                action: e.action,
                source: e.source,
            }
        }
    }
}
