//! Static descriptions of message layouts, the structural schema hash, and the binary schema
//! encoding stored in every topic's header.
//!
//! A [`Schema`] is built at compile time (by `#[derive(ShmMessage)]` or by this crate for the
//! built-in types). Its [`hash`](Schema::hash) is FNV-1a 64 over the schema's *canonical
//! encoding* (see `docs/FORMAT.md`), computed by a `const fn`, so the same struct compiled into two
//! binaries hashes the same, while renaming, reordering or retyping a field changes the hash.
//! The same encoding is written into the topic header, so a tool can decode any topic
//! ([`SchemaDesc::decode`]) and a hash can be re-checked from the stored bytes alone.

mod decode;
mod desc;
mod diff;
mod hash;
pub(crate) mod path;
#[cfg(test)]
mod tests;
mod topic;

pub use crate::error::SchemaDecodeError;
pub use desc::{DescKind, FieldDesc, LayoutError, SchemaDesc, room_for};
pub use diff::MAX_DIFFERENCES;
pub(crate) use hash::FNV_OFFSET;
pub use hash::schema_hash_of_encoding;
use hash::{hash_finish, hash_node};
pub use topic::TopicSchema;

/// The schema of field `name` of a struct schema (`None`: not a struct, no such field, or a
/// field whose schema is not valid alone).
pub fn field_schema(schema: &TopicSchema, name: &str) -> Option<std::sync::Arc<TopicSchema>> {
    let DescKind::Struct(fields) = &schema.desc().kind else {
        return None;
    };
    let field = fields.iter().find(|f| f.name == name)?;
    TopicSchema::new(&field.ty).ok().map(std::sync::Arc::new)
}
pub(crate) use topic::length_at;

/// The largest value a topic can carry, in bytes (4 GiB): what the file format allows.
pub const MAX_MESSAGE_SIZE: u64 = 1 << 32;

/// A primitive (leaf) type of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Primitive {
    /// `bool`: one byte, 0 or 1; any other byte is refused when read.
    Bool = 1,
    /// `i8`
    I8 = 2,
    /// `i16`
    I16 = 3,
    /// `i32`
    I32 = 4,
    /// `i64`
    I64 = 5,
    /// `u8`
    U8 = 6,
    /// `u16`
    U16 = 7,
    /// `u32`
    U32 = 8,
    /// `u64`
    U64 = 9,
    /// `f32`
    F32 = 10,
    /// `f64`
    F64 = 11,
}

impl Primitive {
    const ALL: [Primitive; 11] = [
        Primitive::Bool,
        Primitive::I8,
        Primitive::I16,
        Primitive::I32,
        Primitive::I64,
        Primitive::U8,
        Primitive::U16,
        Primitive::U32,
        Primitive::U64,
        Primitive::F32,
        Primitive::F64,
    ];

    /// The Rust name of the type (`"f64"`, `"bool"`, ...), also its schema name.
    pub const fn name(self) -> &'static str {
        match self {
            Primitive::Bool => "bool",
            Primitive::I8 => "i8",
            Primitive::I16 => "i16",
            Primitive::I32 => "i32",
            Primitive::I64 => "i64",
            Primitive::U8 => "u8",
            Primitive::U16 => "u16",
            Primitive::U32 => "u32",
            Primitive::U64 => "u64",
            Primitive::F32 => "f32",
            Primitive::F64 => "f64",
        }
    }

    /// Size in bytes (equal to its alignment on every supported target).
    pub const fn size(self) -> usize {
        match self {
            Primitive::Bool | Primitive::I8 | Primitive::U8 => 1,
            Primitive::I16 | Primitive::U16 => 2,
            Primitive::I32 | Primitive::U32 | Primitive::F32 => 4,
            Primitive::I64 | Primitive::U64 | Primitive::F64 => 8,
        }
    }

    /// The code used in the canonical encoding.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The primitive with this encoding code.
    pub fn from_code(code: u8) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The primitive of this Rust name (`"f64"`, `"bool"`, ...).
    pub fn from_name(name: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Every primitive, in encoding order.
    pub fn all() -> [Primitive; 11] {
        Primitive::ALL
    }
}

/// What kind of type a [`Schema`] describes.
#[derive(Debug, Clone, Copy)]
pub enum SchemaKind {
    /// A primitive leaf.
    Primitive(Primitive),
    /// A `#[repr(C)]`/`#[repr(transparent)]` struct with these fields, in declaration order.
    Struct(&'static [Field]),
    /// A fixed-size array `[elem; len]`.
    Array {
        /// The element type.
        elem: &'static Schema,
        /// The number of elements.
        len: usize,
    },
    /// A bounded sequence ([`BoundedVec<elem, cap>`](crate::BoundedVec)): a `u64` length, then
    /// room for `cap` elements from byte 8.
    Sequence {
        /// The element type.
        elem: &'static Schema,
        /// The most elements it holds.
        cap: usize,
    },
    /// A bounded UTF-8 string ([`BoundedString<cap>`](crate::BoundedString)): a `u64` length
    /// in bytes, then room for `cap` bytes from byte 8.
    String {
        /// The most bytes it holds.
        cap: usize,
    },
}

/// The compile-time description of a message type: name, size, alignment and, recursively, its
/// fields. Obtained from [`ShmMessage::SCHEMA`](crate::ShmMessage::SCHEMA).
#[derive(Debug)]
pub struct Schema {
    name: &'static str,
    size: usize,
    align: usize,
    kind: SchemaKind,
    hash: u64,
    needs_validation: bool,
    has_bounded: bool,
}

/// One field of a struct [`Schema`].
#[derive(Debug)]
pub struct Field {
    name: &'static str,
    offset: usize,
    ty: &'static Schema,
}

impl Field {
    /// Used by `#[derive(ShmMessage)]`; not part of the public API.
    #[doc(hidden)]
    pub const fn __new(name: &'static str, offset: usize, ty: &'static Schema) -> Field {
        Field { name, offset, ty }
    }

    /// The field's name (`"0"`, `"1"`, ... for tuple structs).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Byte offset of the field inside its struct.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The field's type.
    pub const fn ty(&self) -> &'static Schema {
        self.ty
    }
}

const TAG_PRIMITIVE: u8 = 1;
const TAG_STRUCT: u8 = 2;
const TAG_ARRAY: u8 = 3;
const TAG_SEQUENCE: u8 = 4;
const TAG_STRING: u8 = 5;

/// Where the elements of a bounded sequence or string start: after its `u64` length.
pub const BOUNDED_DATA_OFFSET: u64 = 8;

impl Schema {
    /// The schema of a primitive type.
    pub(crate) const fn primitive(p: Primitive) -> Schema {
        let mut s = Schema {
            name: p.name(),
            size: p.size(),
            align: p.size(),
            kind: SchemaKind::Primitive(p),
            hash: 0,
            needs_validation: matches!(p, Primitive::Bool),
            has_bounded: false,
        };
        s.hash = hash_finish(hash_node(FNV_OFFSET, &s));
        s
    }

    /// The schema of `[elem; len]`; `size` and `align` come from the compiler.
    pub(crate) const fn array(
        elem: &'static Schema,
        len: usize,
        size: usize,
        align: usize,
    ) -> Schema {
        let mut s = Schema {
            name: "",
            size,
            align,
            kind: SchemaKind::Array { elem, len },
            hash: 0,
            needs_validation: len > 0 && elem.needs_validation,
            has_bounded: len > 0 && elem.has_bounded,
        };
        s.hash = hash_finish(hash_node(FNV_OFFSET, &s));
        s
    }

    /// The schema of `BoundedVec<elem, cap>`; `size` and `align` come from the compiler.
    pub(crate) const fn sequence(
        elem: &'static Schema,
        cap: usize,
        size: usize,
        align: usize,
    ) -> Schema {
        Schema::bounded(SchemaKind::Sequence { elem, cap }, size, align)
    }

    /// The schema of `BoundedString<cap>`; `size` and `align` come from the compiler.
    pub(crate) const fn string(cap: usize, size: usize, align: usize) -> Schema {
        Schema::bounded(SchemaKind::String { cap }, size, align)
    }

    /// A bounded sequence's or string's schema: always checked (its length, against its
    /// capacity), never a name of its own.
    const fn bounded(kind: SchemaKind, size: usize, align: usize) -> Schema {
        let mut s = Schema {
            name: "",
            size,
            align,
            kind,
            hash: 0,
            needs_validation: true,
            has_bounded: true,
        };
        s.hash = hash_finish(hash_node(FNV_OFFSET, &s));
        s
    }

    /// Used by `#[derive(ShmMessage)]`; not part of the public API.
    #[doc(hidden)]
    pub const fn __structure(
        name: &'static str,
        size: usize,
        align: usize,
        fields: &'static [Field],
    ) -> Schema {
        let (mut needs_validation, mut has_bounded) = (false, false);
        let mut i = 0;
        while i < fields.len() {
            needs_validation |= fields[i].ty.needs_validation;
            has_bounded |= fields[i].ty.has_bounded;
            i += 1;
        }
        let mut s = Schema {
            name,
            size,
            align,
            kind: SchemaKind::Struct(fields),
            hash: 0,
            needs_validation,
            has_bounded,
        };
        s.hash = hash_finish(hash_node(FNV_OFFSET, &s));
        s
    }

    /// The type's schema name: the struct name (or its `#[shm(name = "...")]`), the primitive's
    /// name, or `""` for arrays, sequences and strings (see [`type_name`](Schema::type_name)).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Size in bytes.
    pub const fn size(&self) -> usize {
        self.size
    }

    /// Alignment in bytes.
    pub const fn align(&self) -> usize {
        self.align
    }

    /// What kind of type this is.
    pub const fn kind(&self) -> SchemaKind {
        self.kind
    }

    /// The structural schema hash: FNV-1a 64 of the canonical encoding.
    pub const fn hash(&self) -> u64 {
        self.hash
    }

    /// Whether some byte patterns are not valid values (the type contains a `bool`, a bounded
    /// sequence or a string).
    pub const fn needs_validation(&self) -> bool {
        self.needs_validation
    }

    /// Whether the type holds a bounded sequence or string, whose unused room is neither
    /// written nor read.
    pub const fn has_bounded(&self) -> bool {
        self.has_bounded
    }

    /// A readable type name: `Pose`, `f64`, `[f64; 3]`.
    pub fn type_name(&self) -> String {
        SchemaDesc::from_schema(self).type_name()
    }

    /// The canonical encoding (what the topic header stores); its FNV-1a 64 is [`hash`](Self::hash).
    pub fn encode(&self) -> Vec<u8> {
        SchemaDesc::from_schema(self).encode()
    }
}
