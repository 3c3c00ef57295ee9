//! The structural schema hash: FNV-1a 64 over the canonical encoding, computed by a `const fn`
//! from a static [`Schema`] (so the derive's hash is a compile-time constant) or from any
//! encoding's bytes. `desc.rs` writes the same bytes; a test checks that the two agree.

use super::{Schema, SchemaKind, TAG_ARRAY, TAG_PRIMITIVE, TAG_SEQUENCE, TAG_STRING, TAG_STRUCT};

// Canonical encoding and its hash. Both walk the same sequence; `encode_node` writes the bytes,
// `hash_node` folds them into FNV-1a in a `const fn`. Tests check that they agree.
//
//   node   := tag:u8 name:str size:u64 align:u64 body
//   str    := len:u32 bytes (UTF-8)
//   body   := primitive-code:u8                        (tag 1)
//           | nfields:u32 { name:str offset:u64 node }* (tag 2)
//           | len:u64 node                              (tag 3)
//           | cap:u64 node                              (tag 4, a bounded sequence)
//           | cap:u64                                   (tag 5, a bounded string)
//   all integers little-endian.

/// FNV-1a 64 offset basis.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

const fn fnv_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

const fn hash_str(h: u64, s: &str) -> u64 {
    fnv_bytes(fnv_bytes(h, &(s.len() as u32).to_le_bytes()), s.as_bytes())
}

pub(super) const fn hash_node(mut h: u64, s: &Schema) -> u64 {
    let tag = match s.kind {
        SchemaKind::Primitive(_) => TAG_PRIMITIVE,
        SchemaKind::Struct(_) => TAG_STRUCT,
        SchemaKind::Array { .. } => TAG_ARRAY,
        SchemaKind::Sequence { .. } => TAG_SEQUENCE,
        SchemaKind::String { .. } => TAG_STRING,
    };
    h = fnv_bytes(h, &[tag]);
    h = hash_str(h, s.name);
    h = fnv_bytes(h, &(s.size as u64).to_le_bytes());
    h = fnv_bytes(h, &(s.align as u64).to_le_bytes());
    match s.kind {
        SchemaKind::Primitive(p) => fnv_bytes(h, &[p.code()]),
        SchemaKind::Struct(fields) => {
            h = fnv_bytes(h, &(fields.len() as u32).to_le_bytes());
            let mut i = 0;
            while i < fields.len() {
                h = hash_str(h, fields[i].name);
                h = fnv_bytes(h, &(fields[i].offset as u64).to_le_bytes());
                h = hash_node(h, fields[i].ty);
                i += 1;
            }
            h
        }
        SchemaKind::Array { elem, len } => {
            h = fnv_bytes(h, &(len as u64).to_le_bytes());
            hash_node(h, elem)
        }
        SchemaKind::Sequence { elem, cap } => {
            h = fnv_bytes(h, &(cap as u64).to_le_bytes());
            hash_node(h, elem)
        }
        SchemaKind::String { cap } => fnv_bytes(h, &(cap as u64).to_le_bytes()),
    }
}

/// The hash is never 0, so 0 can mean "unset" in a header.
pub(super) const fn hash_finish(h: u64) -> u64 {
    if h == 0 { 1 } else { h }
}

/// FNV-1a 64 of a byte string, as used for the schema hash (never 0).
pub fn schema_hash_of_encoding(bytes: &[u8]) -> u64 {
    hash_finish(fnv_bytes(FNV_OFFSET, bytes))
}
