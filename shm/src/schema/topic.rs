//! A message type known at run time: what every reader and writer of a topic needs of its type,
//! whether it comes from a Rust type, from a topic file's header, or from a description built by
//! a tool or another language. Typed and untyped access share it, so a value is checked the same
//! way whoever reads it.

use std::sync::Arc;

use super::{DescKind, Primitive, Schema, SchemaDecodeError, SchemaDesc, schema_hash_of_encoding};

/// A consistent schema with its canonical encoding, its hash, and the byte ranges of its
/// `bool`s (which a value read from shared memory must hold as 0 or 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSchema {
    desc: SchemaDesc,
    encoding: Vec<u8>,
    hash: u64,
    /// `(offset, len)` runs of `bool` bytes, merged where contiguous.
    bools: Vec<(u32, u32)>,
}

impl TopicSchema {
    /// A schema from a description, checked as strictly as one read from a topic file (no
    /// holes or overlaps, consistent sizes and alignments, distinct field names).
    pub fn new(desc: &SchemaDesc) -> Result<TopicSchema, SchemaDecodeError> {
        TopicSchema::decode(&desc.encode())
    }

    /// A schema from its canonical encoding (as a topic header stores it). Values above
    /// [`MAX_MESSAGE_SIZE`](super::MAX_MESSAGE_SIZE) are refused.
    pub fn decode(encoding: &[u8]) -> Result<TopicSchema, SchemaDecodeError> {
        let desc = SchemaDesc::decode(encoding)?;
        if desc.size > super::MAX_MESSAGE_SIZE {
            return Err(SchemaDecodeError {
                at: 0,
                reason: format!(
                    "a value of {} bytes; a topic carries at most {} bytes",
                    desc.size,
                    super::MAX_MESSAGE_SIZE
                ),
            });
        }
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
        let mut bools = Vec::new();
        collect_bools(&desc, 0, &mut bools);
        TopicSchema {
            hash: schema_hash_of_encoding(&encoding),
            desc,
            encoding,
            bools,
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
        !self.bools.is_empty()
    }

    /// Whether `bytes` (one value, `size()` bytes) hold a valid value: every `bool` 0 or 1.
    #[inline]
    pub fn is_valid(&self, bytes: &[u8]) -> bool {
        self.bools.iter().all(|&(offset, len)| {
            bytes
                .get(offset as usize..(offset + len) as usize)
                .is_some_and(|run| run.iter().all(|b| *b <= 1))
        })
    }
}

impl From<&'static Schema> for Arc<TopicSchema> {
    fn from(schema: &'static Schema) -> Arc<TopicSchema> {
        Arc::new(TopicSchema::of(schema))
    }
}

/// Appends the `bool` byte runs of `desc`, placed at `base`.
fn collect_bools(desc: &SchemaDesc, base: u64, out: &mut Vec<(u32, u32)>) {
    match &desc.kind {
        DescKind::Primitive(Primitive::Bool) => push_run(out, base, 1),
        DescKind::Primitive(_) => {}
        DescKind::Struct(fields) => {
            for f in fields {
                collect_bools(&f.ty, base + f.offset, out);
            }
        }
        DescKind::Array { elem, len } => {
            if matches!(elem.kind, DescKind::Primitive(Primitive::Bool)) {
                push_run(out, base, *len);
            } else if has_bool(elem) {
                for i in 0..*len {
                    collect_bools(elem, base + i * elem.size, out);
                }
            }
        }
    }
}

fn has_bool(desc: &SchemaDesc) -> bool {
    match &desc.kind {
        DescKind::Primitive(p) => *p == Primitive::Bool,
        DescKind::Struct(fields) => fields.iter().any(|f| has_bool(&f.ty)),
        DescKind::Array { elem, len } => *len > 0 && has_bool(elem),
    }
}

fn push_run(out: &mut Vec<(u32, u32)>, offset: u64, len: u64) {
    if len == 0 {
        return;
    }
    // Sizes are below 2^32 (the format's limit on a value), so offsets fit.
    let (offset, len) = (offset as u32, len as u32);
    match out.last_mut() {
        Some(last) if last.0 + last.1 == offset => last.1 += len,
        _ => out.push((offset, len)),
    }
}
