//! A message type known at run time: what every reader and writer of a topic needs of its type,
//! whether it comes from a Rust type, from a topic file's header, or from a description built by
//! a tool or another language. Typed and untyped access share it, so a value is checked the same
//! way whoever reads it.

use std::sync::Arc;

use super::{DescKind, Primitive, Schema, SchemaDecodeError, SchemaDesc, schema_hash_of_encoding};
use crate::error::{ValueError, ValueErrorKind};

/// A consistent schema with its canonical encoding, its hash, and where its values' bytes are
/// constrained (the `bool`s, which a value read from shared memory must hold as 0 or 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSchema {
    desc: SchemaDesc,
    encoding: Vec<u8>,
    hash: u64,
    /// What [`is_valid`](Self::is_valid) checks: built once, in time and memory linear in the
    /// schema's encoding, never in the value's size (an array of a million structs holding a
    /// `bool` is one [`Check::Repeat`], not a million runs).
    checks: Vec<Check>,
}

impl TopicSchema {
    /// A schema from a description, checked as strictly as one read from a topic file (no
    /// holes or overlaps, consistent sizes and alignments, distinct field names).
    pub fn new(desc: &SchemaDesc) -> Result<TopicSchema, SchemaDecodeError> {
        TopicSchema::decode(&desc.encode())
    }

    /// A schema from its canonical encoding (as a topic header stores it). Values above
    /// [`MAX_MESSAGE_SIZE`](super::MAX_MESSAGE_SIZE) are refused. Time and memory are linear in
    /// the encoding's length, whatever size of value it describes.
    pub fn decode(encoding: &[u8]) -> Result<TopicSchema, SchemaDecodeError> {
        let desc = SchemaDesc::decode(encoding)?;
        Ok(TopicSchema::from_parts(desc, encoding.to_vec()))
    }

    /// The schema of a Rust message type.
    pub fn of(schema: &Schema) -> TopicSchema {
        let desc = SchemaDesc::from_schema(schema);
        let encoding = desc.encode();
        debug_assert_eq!(schema_hash_of_encoding(&encoding), schema.hash());
        TopicSchema::from_parts(desc, encoding)
    }

    fn from_parts(desc: SchemaDesc, encoding: Vec<u8>) -> TopicSchema {
        TopicSchema {
            hash: schema_hash_of_encoding(&encoding),
            checks: checks_of(&desc),
            desc,
            encoding,
        }
    }

    /// The description (name, size, alignment, fields).
    pub fn desc(&self) -> &SchemaDesc {
        &self.desc
    }

    /// The canonical encoding.
    pub fn encoding(&self) -> &[u8] {
        &self.encoding
    }

    /// The schema hash (FNV-1a 64 of the encoding).
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// Size of a value in bytes.
    pub fn size(&self) -> usize {
        self.desc.size as usize
    }

    /// Alignment of a value in bytes.
    pub fn align(&self) -> usize {
        self.desc.align as usize
    }

    /// A readable type name: `Pose`, `f64`, `[f64; 3]`.
    pub fn type_name(&self) -> String {
        self.desc.type_name()
    }

    /// Whether some byte patterns are not values (the type holds a `bool`).
    pub fn needs_validation(&self) -> bool {
        !self.checks.is_empty()
    }

    /// Whether `bytes` (one value, `size()` bytes) hold a valid value: every `bool` 0 or 1.
    /// Shorter bytes are never valid. Takes time linear in the value's size at most.
    #[inline]
    pub fn is_valid(&self, bytes: &[u8]) -> bool {
        self.first_invalid(bytes).is_none()
    }

    /// [`is_valid`](Self::is_valid), with what is wrong: ``the bool at byte 17 is 2, not 0 or
    /// 1`` (or that the bytes are too short).
    pub fn validate(&self, bytes: &[u8]) -> Result<(), ValueError> {
        let Some(at) = self.first_invalid(bytes) else {
            return Ok(());
        };
        let problem = match bytes.get(at as usize) {
            Some(b) => format!("the bool at byte {at} is {b}, not 0 or 1"),
            None => format!(
                "{} bytes are not a value of {} bytes",
                bytes.len(),
                self.desc.size
            ),
        };
        let kind = if (bytes.len() as u64) < self.desc.size {
            ValueErrorKind::Length
        } else {
            ValueErrorKind::InvalidBool
        };
        Err(ValueError::new("", kind, problem))
    }

    /// The offset of the first byte that makes `bytes` not a valid value (a `bool` byte above
    /// 1, or the end of bytes too short for the value), or `None` if they are one.
    pub fn first_invalid(&self, bytes: &[u8]) -> Option<u64> {
        if (bytes.len() as u64) < self.desc.size {
            return Some(bytes.len() as u64);
        }
        first_invalid(&self.checks, bytes, 0)
    }

    /// How many checks [`is_valid`](Self::is_valid) runs through per value (not counting
    /// repetitions): bounded by the number of nodes in the schema.
    #[cfg(test)]
    pub(super) fn check_count(&self) -> usize {
        fn count(checks: &[Check]) -> usize {
            checks
                .iter()
                .map(|c| match c {
                    Check::Bools { .. } => 1,
                    Check::Repeat { body, .. } => 1 + count(body),
                })
                .sum()
        }
        count(&self.checks)
    }
}

impl From<&'static Schema> for Arc<TopicSchema> {
    fn from(schema: &'static Schema) -> Arc<TopicSchema> {
        Arc::new(TopicSchema::of(schema))
    }
}

/// A constraint on a value's bytes, at offsets relative to the start of the part it checks.
/// Offsets and lengths are `u64`: a value may be [`MAX_MESSAGE_SIZE`](super::MAX_MESSAGE_SIZE)
/// bytes, one more than `u32` counts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    /// `len` bytes from `offset`, each a `bool` (0 or 1).
    Bools { offset: u64, len: u64 },
    /// `count` copies of `body`, the first at `offset`, each `stride` bytes after the previous
    /// (an array whose elements hold `bool`s among other bytes).
    Repeat {
        offset: u64,
        stride: u64,
        count: u64,
        body: Vec<Check>,
    },
}

impl Check {
    fn shifted(mut self, by: u64) -> Check {
        match &mut self {
            Check::Bools { offset, .. } | Check::Repeat { offset, .. } => *offset += by,
        }
        self
    }
}

/// The checks of a value of `desc`, relative to its start. Each schema node is visited once
/// and yields at most one check (merged runs yield fewer), so the result is no larger than the
/// schema; sizes and offsets come from a decoded (consistent, at most `MAX_MESSAGE_SIZE`)
/// description, so none of the sums overflows.
fn checks_of(desc: &SchemaDesc) -> Vec<Check> {
    match &desc.kind {
        DescKind::Primitive(Primitive::Bool) => vec![Check::Bools { offset: 0, len: 1 }],
        DescKind::Primitive(_) => Vec::new(),
        DescKind::Struct(fields) => {
            let mut out = Vec::new();
            for f in fields {
                for check in checks_of(&f.ty) {
                    push(&mut out, check.shifted(f.offset));
                }
            }
            out
        }
        DescKind::Array { elem, len } => {
            let body = checks_of(elem);
            match (body.as_slice(), *len) {
                ([], _) | (_, 0) => Vec::new(),
                (_, 1) => body,
                // Elements made of `bool`s only, back to back: one run for the whole array.
                ([Check::Bools { offset: 0, len: l }], n) if *l == elem.size => {
                    vec![Check::Bools {
                        offset: 0,
                        len: elem.size * n,
                    }]
                }
                (_, n) => vec![Check::Repeat {
                    offset: 0,
                    stride: elem.size,
                    count: n,
                    body,
                }],
            }
        }
    }
}

/// Appends `check`, merged into the previous run of `bool`s when they touch.
fn push(out: &mut Vec<Check>, check: Check) {
    if let (
        Some(Check::Bools { offset, len }),
        Check::Bools {
            offset: next,
            len: more,
        },
    ) = (out.last_mut(), &check)
        && *offset + *len == *next
    {
        *len += more;
        return;
    }
    out.push(check);
}

/// The first offset (from the start of `bytes`) that fails `checks` placed at `base`.
fn first_invalid(checks: &[Check], bytes: &[u8], base: u64) -> Option<u64> {
    for check in checks {
        match check {
            Check::Bools { offset, len } => {
                let start = base + offset;
                // In bounds (`bytes` holds the whole value, and checks lie inside it); a
                // shorter value is invalid where it ends.
                let Some(run) = bytes.get(start as usize..(start + len) as usize) else {
                    return Some(start.min(bytes.len() as u64));
                };
                // One pass that vectorises; the position only for the rare invalid value.
                if run.iter().fold(0u8, |acc, b| acc | b) > 1
                    && let Some(i) = run.iter().position(|b| *b > 1)
                {
                    return Some(start + i as u64);
                }
            }
            Check::Repeat {
                offset,
                stride,
                count,
                body,
            } => {
                for i in 0..*count {
                    if let Some(at) = first_invalid(body, bytes, base + offset + i * stride) {
                        return Some(at);
                    }
                }
            }
        }
    }
    None
}
