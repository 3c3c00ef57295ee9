//! A message type known at run time: what every reader and writer of a topic needs of its type,
//! whether it comes from a Rust type, from a topic file's header, or from a description built by
//! a tool or another language. Typed and untyped access share it, so a value is checked the same
//! way whoever reads it.

use std::sync::Arc;

use super::{
    BOUNDED_DATA_OFFSET, DescKind, Primitive, Schema, SchemaDecodeError, SchemaDesc,
    schema_hash_of_encoding,
};
use crate::copy::Run;
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
    /// The parts of a value a publish or a read copies, when the type holds bounded sequences
    /// or strings (each copied up to its length); `None`: the whole value, in one copy.
    runs: Option<Arc<[Run]>>,
    /// For a bounded sequence's schema, the checks of one element (relative to its start):
    /// what [`validate_elements`](Self::validate_elements) runs over each.
    elem_checks: Vec<Check>,
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
            runs: runs_of(&desc),
            elem_checks: match &desc.kind {
                DescKind::Sequence { elem, .. } => checks_of(elem),
                _ => Vec::new(),
            },
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

    /// Whether some byte patterns are not values (the type holds a `bool`, a bounded sequence
    /// or a string).
    pub fn needs_validation(&self) -> bool {
        !self.checks.is_empty()
    }

    /// What a publish or a read copies of a value whose type holds bounded sequences or
    /// strings; `None` when it copies the whole value.
    pub(crate) fn runs(&self) -> Option<&Arc<[Run]>> {
        self.runs.as_ref()
    }

    /// Whether `bytes` (one value, `size()` bytes) hold a valid value: every `bool` 0 or 1,
    /// every bounded sequence's length at most its capacity, every string's bytes UTF-8.
    /// Shorter bytes are never valid. Takes time linear in the value's size at most.
    #[inline]
    pub fn is_valid(&self, bytes: &[u8]) -> bool {
        self.first_invalid(bytes).is_none()
    }

    /// [`is_valid`](Self::is_valid), with what is wrong: ``the bool at byte 17 is 2, not 0 or
    /// 1``, ``the length at byte 8 is 5000, above the capacity 4096``, ``the string at byte 16
    /// is not UTF-8 from its byte 3`` (or that the bytes are too short).
    pub fn validate(&self, bytes: &[u8]) -> Result<(), ValueError> {
        if (bytes.len() as u64) < self.desc.size {
            return Err(ValueError::new(
                "",
                ValueErrorKind::Length,
                format!(
                    "{} bytes are not a value of {} bytes",
                    bytes.len(),
                    self.desc.size
                ),
            ));
        }
        match first_invalid(&self.checks, bytes, 0) {
            None => Ok(()),
            Some(bad) => Err(bad.describe()),
        }
    }

    /// For a bounded sequence's schema: how many elements `elems` holds (its bytes, back to
    /// back), checked to be whole valid elements (what [`validate`](Self::validate) checks of
    /// the elements of a value; offsets in the error are in the value, past its length word).
    /// Not against its capacity: the caller compares. Time linear in `elems`' length.
    pub fn validate_elements(&self, elems: &[u8]) -> Result<usize, ValueError> {
        let DescKind::Sequence { elem, .. } = &self.desc.kind else {
            return Err(ValueError::new(
                "",
                ValueErrorKind::WrongKind,
                format!("`{}` is not a bounded sequence", self.type_name()),
            ));
        };
        let size = elem.size as usize;
        if size == 0 {
            // Elements of no bytes: any number fits in none (the length word says how many).
            return if elems.is_empty() {
                Ok(0)
            } else {
                Err(ValueError::new(
                    "",
                    ValueErrorKind::Length,
                    format!("`{}` elements have no bytes", elem.type_name()),
                ))
            };
        }
        if !elems.len().is_multiple_of(size) {
            return Err(ValueError::new(
                "",
                ValueErrorKind::Length,
                format!(
                    "{} bytes are not whole elements of `{}` ({size} bytes each)",
                    elems.len(),
                    elem.type_name()
                ),
            ));
        }
        if !self.elem_checks.is_empty() {
            for (i, one) in elems.chunks_exact(size).enumerate() {
                if let Some(mut bad) = first_invalid(&self.elem_checks, one, 0) {
                    let shift = BOUNDED_DATA_OFFSET + (i * size) as u64;
                    bad.at += shift;
                    if let Why::Utf8 { string, .. } = &mut bad.why {
                        *string += shift;
                    }
                    return Err(bad.describe());
                }
            }
        }
        Ok(elems.len() / size)
    }

    /// The offset of the first byte that makes `bytes` not a valid value (a `bool` byte above
    /// 1, a bounded length above its capacity, the first byte of a string that is not UTF-8,
    /// or the end of bytes too short for the value), or `None` if they are one.
    pub fn first_invalid(&self, bytes: &[u8]) -> Option<u64> {
        if (bytes.len() as u64) < self.desc.size {
            return Some(bytes.len() as u64);
        }
        first_invalid(&self.checks, bytes, 0).map(|bad| bad.at)
    }

    /// The capacity of a bounded sequence's schema (the most elements a value holds); `None`
    /// for other types.
    pub fn sequence_cap(&self) -> Option<u64> {
        match &self.desc.kind {
            DescKind::Sequence { cap, .. } => Some(*cap),
            _ => None,
        }
    }

    /// The length of a value of a bounded sequence (its `bytes`), at most its capacity;
    /// `None` if this is not a bounded sequence's schema or the bytes are too short.
    pub fn sequence_len(&self, bytes: &[u8]) -> Option<usize> {
        match &self.desc.kind {
            DescKind::Sequence { cap, .. } if bytes.len() >= 8 => {
                usize::try_from(length_at(bytes, 0).min(*cap)).ok()
            }
            _ => None,
        }
    }

    /// The bytes a bounded sequence's value of `len` elements uses (its length word and
    /// them; `len` clamped to the capacity); the whole value for other types.
    pub fn sequence_bytes(&self, len: u64) -> usize {
        match &self.desc.kind {
            DescKind::Sequence { elem, cap } => {
                (BOUNDED_DATA_OFFSET + len.min(*cap) * elem.size) as usize
            }
            _ => self.size(),
        }
    }

    /// How many checks [`is_valid`](Self::is_valid) runs through per value (not counting
    /// repetitions): bounded by the number of nodes in the schema.
    #[cfg(test)]
    pub(super) fn check_count(&self) -> usize {
        fn count(checks: &[Check]) -> usize {
            checks
                .iter()
                .map(|c| match c {
                    Check::Bools { .. } | Check::String { .. } => 1,
                    Check::Repeat { body, .. } | Check::Sequence { body, .. } => 1 + count(body),
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
    /// A bounded sequence at `offset`: its `u64` length at most `cap`, and `body` (the checks
    /// of its elements, relative to the sequence's start) over its whole room, so that the
    /// unused room of a value holds valid elements too (zeros, or what the reader's value held).
    Sequence {
        offset: u64,
        cap: u64,
        body: Vec<Check>,
    },
    /// A bounded string at `offset`: its `u64` length at most `cap`, its first `length` bytes
    /// UTF-8.
    String { offset: u64, cap: u64 },
}

impl Check {
    fn shifted(mut self, by: u64) -> Check {
        match &mut self {
            Check::Bools { offset, .. }
            | Check::Repeat { offset, .. }
            | Check::Sequence { offset, .. }
            | Check::String { offset, .. } => *offset += by,
        }
        self
    }
}

/// Why a value is not valid, and where: [`first_invalid`]'s answer.
struct Invalid {
    at: u64,
    why: Why,
}

enum Why {
    Bool(u8),
    Length { len: u64, cap: u64 },
    Utf8 { string: u64, valid: u64 },
}

impl Invalid {
    /// What is wrong, as [`TopicSchema::validate`] says it.
    fn describe(self) -> ValueError {
        let (kind, problem) = match self.why {
            Why::Bool(b) => (
                ValueErrorKind::InvalidBool,
                format!("the bool at byte {} is {b}, not 0 or 1", self.at),
            ),
            Why::Length { len, cap } => (
                ValueErrorKind::InvalidLength,
                format!(
                    "the length at byte {} is {len}, above the capacity {cap}",
                    self.at
                ),
            ),
            Why::Utf8 { string, valid } => (
                ValueErrorKind::InvalidUtf8,
                format!("the string at byte {string} is not UTF-8 from its byte {valid}"),
            ),
        };
        ValueError::new("", kind, problem)
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
        DescKind::Array { elem, len } => array_checks(elem, *len),
        DescKind::Sequence { elem, cap } => vec![Check::Sequence {
            offset: 0,
            cap: *cap,
            body: array_checks(elem, *cap)
                .into_iter()
                .map(|c| c.shifted(BOUNDED_DATA_OFFSET))
                .collect(),
        }],
        DescKind::String { cap } => vec![Check::String {
            offset: 0,
            cap: *cap,
        }],
    }
}

/// The checks of `[elem; len]`, relative to its start.
fn array_checks(elem: &SchemaDesc, len: u64) -> Vec<Check> {
    let body = checks_of(elem);
    match (body.as_slice(), len) {
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

/// The length word of the bounded sequence or string at `at` of `bytes` (in bounds: `bytes`
/// holds the whole value, checked by the callers).
pub(crate) fn length_at(bytes: &[u8], at: u64) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at as usize..at as usize + 8]);
    u64::from_ne_bytes(word)
}

/// The first part (from the start of `bytes`) that fails `checks` placed at `base`. `bytes`
/// holds at least the whole value (checked by the callers), and every check lies inside it.
fn first_invalid(checks: &[Check], bytes: &[u8], base: u64) -> Option<Invalid> {
    for check in checks {
        match check {
            Check::Bools { offset, len } => {
                let start = base + offset;
                let run = &bytes[start as usize..(start + len) as usize];
                // One pass that vectorises; the position only for the rare invalid value.
                if run.iter().fold(0u8, |acc, b| acc | b) > 1
                    && let Some(i) = run.iter().position(|b| *b > 1)
                {
                    return Some(Invalid {
                        at: start + i as u64,
                        why: Why::Bool(run[i]),
                    });
                }
            }
            Check::Sequence { offset, cap, body } => {
                let at = base + offset;
                let len = length_at(bytes, at);
                if len > *cap {
                    return Some(Invalid {
                        at,
                        why: Why::Length { len, cap: *cap },
                    });
                }
                if let Some(bad) = first_invalid(body, bytes, at) {
                    return Some(bad);
                }
            }
            Check::String { offset, cap } => {
                let at = base + offset;
                let len = length_at(bytes, at);
                if len > *cap {
                    return Some(Invalid {
                        at,
                        why: Why::Length { len, cap: *cap },
                    });
                }
                let start = (at + BOUNDED_DATA_OFFSET) as usize;
                if let Err(e) = std::str::from_utf8(&bytes[start..start + len as usize]) {
                    return Some(Invalid {
                        at: start as u64 + e.valid_up_to() as u64,
                        why: Why::Utf8 {
                            string: at,
                            valid: e.valid_up_to() as u64,
                        },
                    });
                }
            }
            Check::Repeat {
                offset,
                stride,
                count,
                body,
            } => {
                for i in 0..*count {
                    if let Some(bad) = first_invalid(body, bytes, base + offset + i * stride) {
                        return Some(bad);
                    }
                }
            }
        }
    }
    None
}

/// What a publish or a read copies of a value of `desc`: each bounded sequence or string up to
/// its length, the bytes between them whole (an array holding bounded parts is copied whole).
/// `None` when that is the whole value, or when a bounded part is not 8-aligned in its value
/// (inside a packed struct), which the word-wise copies need.
fn runs_of(desc: &SchemaDesc) -> Option<Arc<[Run]>> {
    fn walk(desc: &SchemaDesc, at: u64, out: &mut Vec<Run>) {
        match &desc.kind {
            DescKind::Sequence { elem, cap } => out.push(Run::Bounded {
                offset: at,
                stride: elem.size,
                cap: *cap,
                // Elements with something to check are checked over the whole room (a value
                // handed out is valid everywhere): a read zeroes the room past the length, so
                // that what an earlier or torn copy left there never fails a valid value.
                zero_tail: !checks_of(elem).is_empty(),
            }),
            DescKind::String { cap } => out.push(Run::Bounded {
                offset: at,
                stride: 1,
                cap: *cap,
                zero_tail: false,
            }),
            DescKind::Struct(fields) if desc.has_bounded() => {
                for f in fields {
                    walk(&f.ty, at + f.offset, out);
                }
            }
            _ if desc.size == 0 => {}
            _ => {
                if let Some(Run::Bytes { offset, len }) = out.last_mut()
                    && *offset + *len == at
                {
                    *len += desc.size;
                } else {
                    out.push(Run::Bytes {
                        offset: at,
                        len: desc.size,
                    });
                }
            }
        }
    }
    if !desc.has_bounded() {
        return None;
    }
    let mut out = Vec::new();
    walk(desc, 0, &mut out);
    let aligned = out.iter().all(|r| match r {
        Run::Bytes { offset, .. } | Run::Bounded { offset, .. } => offset.is_multiple_of(8),
    });
    aligned.then(|| out.into())
}
