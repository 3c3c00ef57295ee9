//! Errors of naming, finding and removing topics and types.

use std::fmt;
use std::path::PathBuf;

use super::{FormatError, IoFailure};
use crate::owner::{FileOwner, PublisherProcess};

/// Why a topic name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name contains a NUL or another control character.
    ControlCharacter {
        /// The offending character.
        ch: char,
        /// Its byte index in the name.
        index: usize,
    },
    /// The name starts or ends with whitespace (almost always a typo that would silently make
    /// a different topic).
    SurroundingWhitespace,
    /// The name holds a character the grammar leaves out (a space, a glob character such as
    /// `*`, punctuation other than `_`, `-`, `.` and `/`).
    InvalidCharacter {
        /// The offending character.
        ch: char,
        /// Its byte index in the name.
        index: usize,
    },
    /// Two `/`s in a row, or a `/` at the end: an empty segment.
    EmptySegment {
        /// Byte index where the empty segment starts.
        index: usize,
    },
    /// A segment is `.` or `..`.
    DotSegment {
        /// The segment.
        segment: String,
    },
    /// A file name given to [`remove_topic_file_in`](crate::remove_topic_file_in) that is no
    /// topic file's (`shm.` and an encoded name, no `/`).
    InvalidFileName {
        /// The file name given.
        file_name: String,
    },
    /// The encoded file name would exceed what the file system accepts.
    TooLong {
        /// Bytes the file name would take.
        file_name_len: usize,
        /// The limit.
        max: usize,
    },
}

/// The topic name grammar, as errors state it.
const GRAMMAR: &str = "a name is segments of letters, digits, `_`, `-` and `.` separated by single `/`s (such as \"robot/arm_1/joint.state\"; a leading `/` is dropped), so that patterns such as `robot/*` are never names";

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => {
                f.write_str("topic name is empty; give the topic a name such as \"robot/pose\"")
            }
            NameError::ControlCharacter { ch, index } => write!(
                f,
                "topic name contains the control or text-direction character {ch:?} at byte {index}; use printable characters only"
            ),
            NameError::SurroundingWhitespace => f.write_str(
                "topic name starts or ends with whitespace, which would make it a different topic than it looks; trim it",
            ),
            NameError::InvalidCharacter { ch, index } => write!(
                f,
                "topic name contains {ch:?} at byte {index}; {GRAMMAR}"
            ),
            NameError::EmptySegment { index } => write!(
                f,
                "topic name has an empty segment at byte {index} (`//`, or a `/` at the end); {GRAMMAR}"
            ),
            NameError::DotSegment { segment } => write!(
                f,
                "topic name has a segment `{segment}`; {GRAMMAR}"
            ),
            NameError::InvalidFileName { file_name } => write!(
                f,
                "{:?} is not the name of a topic file (`shm.` and an encoded topic name)",
                crate::text::printable(file_name)
            ),
            NameError::TooLong { file_name_len, max } => write!(
                f,
                "topic name is too long: its file name would be {file_name_len} bytes, the limit is {max} (each byte outside [A-Za-z0-9._-] takes 3); use a shorter name"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Why [`find`](crate::registry::find) found no single type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupError {
    /// No registered type has this name.
    NotFound {
        /// The name looked up.
        name: String,
    },
    /// Several different types share this name (e.g. two `Pose` structs in different modules).
    Ambiguous {
        /// The name looked up.
        name: String,
        /// The hashes of the candidates.
        hashes: Vec<u64>,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound { name } => write!(
                f,
                "no message type named `{name}` is registered in this program; derive ShmMessage for it or check the spelling"
            ),
            LookupError::Ambiguous { name, hashes } => write!(
                f,
                "{} different message types are named `{name}`; give them distinct names with #[shm(name = \"...\")] or look them up by hash",
                hashes.len()
            ),
        }
    }
}

impl std::error::Error for LookupError {}

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
        owner: PublisherProcess,
    },
    /// The file belongs to another user (or others may write it): left untouched.
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
            RemoveError::PermissionDenied(e) => e.denied(f, "run as the topic's owner"),
            RemoveError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RemoveError {}

/// Why a file could not be described as a topic (`shm::inspect`).
#[derive(Debug)]
#[non_exhaustive]
pub enum InspectError {
    /// The topic name is invalid.
    InvalidName(NameError),
    /// No file at the topic's path.
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// The file is not a valid topic.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: FormatError,
    },
    /// Another I/O error.
    Io(IoFailure),
}

impl fmt::Display for InspectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InspectError::InvalidName(e) => e.fmt(f),
            InspectError::Missing { path } => write!(
                f,
                "{} does not exist: no topic of that name here (is it the right root?)",
                path.display()
            ),
            InspectError::Format { path, source } => {
                write!(f, "{}: {source}; {}", path.display(), source.remedy())
            }
            InspectError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for InspectError {}
