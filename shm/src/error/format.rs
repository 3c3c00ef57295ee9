//! What can be wrong with a topic file or a stored schema, and a type that differs from the
//! topic's.

use std::fmt;

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
                "an older version of this library created it: stop that version's programs, remove the topic (`shm rm TOPIC`; in Rust shm::remove_topic) and restart the publisher"
            }
            FormatError::BadMagic | FormatError::NotAFile => {
                "it is not a topic of this library and was left untouched: move it away, or use another topic name"
            }
            _ => {
                "it was left untouched: if it is stale, remove it (`shm rm TOPIC`; in Rust shm::remove_topic) and restart the publisher"
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
            " (schema hashes {:#018x} in the topic, {:#018x} here); ",
            self.topic_hash, self.expected_hash
        )?;
        if names_differ && details.is_empty() {
            // Only the name differs: say how two declarations share one.
            write!(
                f,
                "the layouts are the same, only the names differ: give this side's type the topic's name (Rust `#[shm(name = \"{topic_type}\")]`, Python `class {expected_type}(Message, name=\"{topic_type}\")`), or use another topic name"
            )
        } else {
            f.write_str("use the publisher's type definition, or another topic name")
        }
    }
}

impl std::error::Error for SchemaMismatch {}

/// Why a stored schema could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDecodeError {
    /// Byte offset in the encoding where decoding failed.
    pub at: usize,
    /// What was wrong there.
    pub reason: String,
}

impl fmt::Display for SchemaDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid schema encoding at byte {}: {}",
            self.at, self.reason
        )
    }
}

impl std::error::Error for SchemaDecodeError {}

/// What is wrong with a value, or with the part of it a [`ValueError`] names: for callers that
/// react by kind (the Python binding picks its exception type from it) rather than by text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueErrorKind {
    /// Another kind of value than the type takes: a float for an integer, a bool for a
    /// number, a number for an array or a struct.
    WrongKind,
    /// A number outside the range of its type (`256` for a `u8`, an integer beyond 64 bits).
    OutOfRange,
    /// An integer a float type cannot hold exactly (integers are never rounded).
    NotExact,
    /// An array of another number of elements.
    Length,
    /// An array of another shape (a 640×480 image for a 480×640 field).
    Shape,
    /// A `bool` byte that is neither 0 nor 1.
    InvalidBool,
    /// A bounded sequence's or string's stored length above its capacity.
    InvalidLength,
    /// A bounded string's bytes that are not UTF-8.
    InvalidUtf8,
    /// A field the type does not have.
    UnknownField,
    /// A field of the type the value does not give.
    MissingField,
    /// A value too large to allocate here.
    TooLarge,
}

/// A value that does not fit a message type: which part of it, what kind of problem, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValueError {
    /// The part (`pose.position[2]`; empty for the whole value).
    pub path: String,
    /// What kind of problem it is.
    pub kind: ValueErrorKind,
    /// What is wrong with it, in words.
    pub problem: String,
}

impl ValueError {
    pub(crate) fn new(
        path: impl Into<String>,
        kind: ValueErrorKind,
        problem: impl Into<String>,
    ) -> ValueError {
        ValueError {
            path: path.into(),
            kind,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "value: {}", self.problem)
        } else {
            write!(f, "field `{}`: {}", self.path, self.problem)
        }
    }
}

impl std::error::Error for ValueError {}
