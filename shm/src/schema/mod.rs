//! Static descriptions of message layouts, the structural schema hash, and the binary schema
//! encoding stored in every topic's header.
//!
//! A [`Schema`] is built at compile time (by `#[derive(ShmMessage)]` or by this crate for the
//! built-in types). Its [`hash`](Schema::hash) is FNV-1a 64 over the schema's *canonical
//! encoding* (see `docs/FORMAT.md`), computed by a `const fn`, so the same struct compiled into two
//! binaries hashes the same, while renaming, reordering or retyping a field changes the hash.
//! The same encoding is written into the topic header, so a tool can decode any topic
//! ([`SchemaDesc::decode`]) and a hash can be re-checked from the stored bytes alone.

use std::fmt;

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
        let mut needs_validation = false;
        let mut i = 0;
        while i < fields.len() {
            needs_validation |= fields[i].ty.needs_validation;
            i += 1;
        }
        let mut s = Schema {
            name,
            size,
            align,
            kind: SchemaKind::Struct(fields),
            hash: 0,
            needs_validation,
        };
        s.hash = hash_finish(hash_node(FNV_OFFSET, &s));
        s
    }

    /// The type's schema name: the struct name (or its `#[shm(name = "...")]`), the primitive's
    /// name, or `""` for arrays (see [`type_name`](Schema::type_name)).
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

    /// Whether some byte patterns are not valid values (the type contains a `bool`).
    pub const fn needs_validation(&self) -> bool {
        self.needs_validation
    }

    /// A readable type name: `Pose`, `f64`, `[f64; 3]`.
    pub fn type_name(&self) -> String {
        SchemaDesc::from_schema(self).type_name()
    }

    /// The canonical encoding (what the topic header stores); its FNV-1a 64 is [`hash`](Self::hash).
    pub fn encode(&self) -> Vec<u8> {
        SchemaDesc::from_schema(self).encode()
    }

    /// Whether `bytes` (exactly `size()` bytes of a consistent copy) hold a valid value: every
    /// `bool` is 0 or 1. Types without `bool` accept everything.
    pub(crate) fn bytes_valid(&self, bytes: &[u8]) -> bool {
        if !self.needs_validation {
            return true;
        }
        match self.kind {
            SchemaKind::Primitive(Primitive::Bool) => bytes.first().is_some_and(|b| *b <= 1),
            SchemaKind::Primitive(_) => true,
            SchemaKind::Struct(fields) => fields.iter().all(|f| {
                let end = f.offset + f.ty.size;
                bytes
                    .get(f.offset..end)
                    .is_some_and(|b| f.ty.bytes_valid(b))
            }),
            SchemaKind::Array { elem, len } => {
                let n = elem.size;
                if n == 0 {
                    return true;
                }
                bytes.len() >= n * len
                    && bytes.chunks_exact(n).take(len).all(|b| elem.bytes_valid(b))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Canonical encoding and its hash. Both walk the same sequence; `encode_node` writes the bytes,
// `hash_node` folds them into FNV-1a in a `const fn`. Tests check that they agree.
//
//   node   := tag:u8 name:str size:u64 align:u64 body
//   str    := len:u32 bytes (UTF-8)
//   body   := primitive-code:u8                        (tag 1)
//           | nfields:u32 { name:str offset:u64 node }* (tag 2)
//           | len:u64 node                              (tag 3)
//   all integers little-endian.
// ---------------------------------------------------------------------------------------------

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

const fn hash_node(mut h: u64, s: &Schema) -> u64 {
    let tag = match s.kind {
        SchemaKind::Primitive(_) => TAG_PRIMITIVE,
        SchemaKind::Struct(_) => TAG_STRUCT,
        SchemaKind::Array { .. } => TAG_ARRAY,
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
    }
}

/// The hash is never 0, so 0 can mean "unset" in a header.
const fn hash_finish(h: u64) -> u64 {
    if h == 0 { 1 } else { h }
}

/// FNV-1a 64 of a byte string, as used for the schema hash (never 0).
pub fn schema_hash_of_encoding(bytes: &[u8]) -> u64 {
    hash_finish(fnv_bytes(FNV_OFFSET, bytes))
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode_node(out: &mut Vec<u8>, s: &SchemaDesc) {
    let tag = match s.kind {
        DescKind::Primitive(_) => TAG_PRIMITIVE,
        DescKind::Struct(_) => TAG_STRUCT,
        DescKind::Array { .. } => TAG_ARRAY,
    };
    out.push(tag);
    put_str(out, &s.name);
    out.extend_from_slice(&s.size.to_le_bytes());
    out.extend_from_slice(&s.align.to_le_bytes());
    match &s.kind {
        DescKind::Primitive(p) => out.push(p.code()),
        DescKind::Struct(fields) => {
            out.extend_from_slice(&(fields.len() as u32).to_le_bytes());
            for f in fields {
                put_str(out, &f.name);
                out.extend_from_slice(&f.offset.to_le_bytes());
                encode_node(out, &f.ty);
            }
        }
        DescKind::Array { elem, len } => {
            out.extend_from_slice(&len.to_le_bytes());
            encode_node(out, elem);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Owned descriptions: decoded from a topic header, or converted from a static `Schema`.
// ---------------------------------------------------------------------------------------------

/// An owned schema description, decoded from a topic's header (or converted from a [`Schema`]).
/// Lets a tool understand a topic without the Rust type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDesc {
    /// Schema name (`""` for arrays).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Alignment in bytes.
    pub align: u64,
    /// The kind and its contents.
    pub kind: DescKind,
}

/// The kind of a [`SchemaDesc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DescKind {
    /// A primitive leaf.
    Primitive(Primitive),
    /// A struct's fields in declaration order.
    Struct(Vec<FieldDesc>),
    /// A fixed-size array.
    Array {
        /// Element type.
        elem: Box<SchemaDesc>,
        /// Element count.
        len: u64,
    },
}

/// A field of a struct [`SchemaDesc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDesc {
    /// Field name.
    pub name: String,
    /// Byte offset inside the struct.
    pub offset: u64,
    /// Field type.
    pub ty: SchemaDesc,
}

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

/// Limits that keep decoding of a hostile header bounded.
const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 1 << 16;
const MAX_NAME: usize = 1024;

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    nodes: usize,
}

impl Decoder<'_> {
    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, SchemaDecodeError> {
        Err(SchemaDecodeError {
            at: self.pos,
            reason: reason.into(),
        })
    }

    fn take(&mut self, n: usize) -> Result<&[u8], SchemaDecodeError> {
        match self.bytes.get(self.pos..self.pos.saturating_add(n)) {
            Some(b) if self.pos.checked_add(n).is_some() => {
                self.pos += n;
                Ok(b)
            }
            _ => self.fail(format!("needs {n} more byte(s), the encoding ends")),
        }
    }

    fn u8(&mut self) -> Result<u8, SchemaDecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, SchemaDecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, SchemaDecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn string(&mut self) -> Result<String, SchemaDecodeError> {
        let len = self.u32()? as usize;
        if len > MAX_NAME {
            return self.fail(format!("name of {len} bytes (limit {MAX_NAME})"));
        }
        let b = self.take(len)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => self.fail("name is not UTF-8"),
        }
    }

    fn node(&mut self, depth: usize) -> Result<SchemaDesc, SchemaDecodeError> {
        if depth > MAX_DEPTH {
            return self.fail(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return self.fail(format!("more than {MAX_NODES} type nodes"));
        }
        let start = self.pos;
        let tag = self.u8()?;
        let name = self.string()?;
        let size = self.u64()?;
        let align = self.u64()?;
        if !align.is_power_of_two() {
            return self.fail(format!("alignment {align} is not a power of two"));
        }
        if size % align != 0 {
            return self.fail(format!(
                "size {size} is not a multiple of alignment {align}"
            ));
        }
        let kind = match tag {
            TAG_PRIMITIVE => {
                let code = self.u8()?;
                let Some(p) = Primitive::from_code(code) else {
                    return self.fail(format!("unknown primitive code {code}"));
                };
                if size != p.size() as u64 || align != p.size() as u64 || name != p.name() {
                    return self.fail(format!(
                        "primitive {} has wrong name/size/alignment",
                        p.name()
                    ));
                }
                DescKind::Primitive(p)
            }
            TAG_STRUCT => {
                let n = self.u32()? as usize;
                let mut fields = Vec::with_capacity(n.min(1024));
                // A message has no padding and `#[repr(C)]` lays fields out in declaration
                // order, so each field that has bytes starts where the previous one ended and
                // the last ends at the struct's end: no hole, no overlap (tools read fields by
                // these offsets). Zero-sized fields may sit anywhere inside.
                let mut covered = 0u64;
                let mut names = std::collections::HashSet::new();
                for _ in 0..n {
                    let fname = self.string()?;
                    let offset = self.u64()?;
                    let ty = self.node(depth + 1)?;
                    // No alignment check: `#[repr(C, packed)]` fields may sit anywhere.
                    let end = offset.checked_add(ty.size);
                    if end.is_none_or(|e| e > size) {
                        return self.fail(format!("field `{fname}` does not fit its struct"));
                    }
                    if ty.size > 0 && offset != covered {
                        return self.fail(format!(
                            "field `{fname}` starts at offset {offset}, where the fields before it end at {covered} (a hole or an overlap)"
                        ));
                    }
                    if !names.insert(fname.clone()) {
                        return self.fail(format!("field `{fname}` appears twice"));
                    }
                    if ty.size > 0 {
                        covered = offset + ty.size;
                    }
                    fields.push(FieldDesc {
                        name: fname,
                        offset,
                        ty,
                    });
                }
                if covered != size {
                    return self.fail(format!(
                        "struct `{name}` fields cover {covered} of its {size} bytes"
                    ));
                }
                DescKind::Struct(fields)
            }
            TAG_ARRAY => {
                let len = self.u64()?;
                let elem = self.node(depth + 1)?;
                if elem.size.checked_mul(len) != Some(size) || elem.align != align {
                    return self.fail("array size or alignment does not match its elements");
                }
                DescKind::Array {
                    elem: Box::new(elem),
                    len,
                }
            }
            other => {
                self.pos = start;
                return self.fail(format!("unknown type tag {other}"));
            }
        };
        Ok(SchemaDesc {
            name,
            size,
            align,
            kind,
        })
    }
}

impl SchemaDesc {
    /// Decodes a canonical encoding (as stored in a topic header). Bounded: rejects deep nesting,
    /// huge names, inconsistent sizes, and trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<SchemaDesc, SchemaDecodeError> {
        let mut d = Decoder {
            bytes,
            pos: 0,
            nodes: 0,
        };
        let desc = d.node(0)?;
        if d.pos != bytes.len() {
            return d.fail(format!("{} trailing byte(s)", bytes.len() - d.pos));
        }
        Ok(desc)
    }

    /// Converts a static schema.
    pub fn from_schema(s: &Schema) -> SchemaDesc {
        let kind = match s.kind {
            SchemaKind::Primitive(p) => DescKind::Primitive(p),
            SchemaKind::Struct(fields) => DescKind::Struct(
                fields
                    .iter()
                    .map(|f| FieldDesc {
                        name: f.name.to_owned(),
                        offset: f.offset as u64,
                        ty: SchemaDesc::from_schema(f.ty),
                    })
                    .collect(),
            ),
            SchemaKind::Array { elem, len } => DescKind::Array {
                elem: Box::new(SchemaDesc::from_schema(elem)),
                len: len as u64,
            },
        };
        SchemaDesc {
            name: s.name.to_owned(),
            size: s.size as u64,
            align: s.align as u64,
            kind,
        }
    }

    /// The canonical encoding, as stored in a topic header (`docs/FORMAT.md`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_node(&mut out, self);
        out
    }

    /// The schema hash: FNV-1a 64 of [`encode`](Self::encode), the same value as
    /// [`Schema::hash`] for the type this describes.
    pub fn hash(&self) -> u64 {
        schema_hash_of_encoding(&self.encode())
    }

    /// A readable type name: `Pose`, `f64`, `[f64; 3]`.
    pub fn type_name(&self) -> String {
        match &self.kind {
            DescKind::Array { elem, len } => format!("[{}; {}]", elem.type_name(), len),
            _ => self.name.clone(),
        }
    }

    /// Human-readable differences between `self` (what a topic carries) and `ours` (what a
    /// subscriber expects), one line per difference; empty when they are identical.
    /// At most [`MAX_DIFFERENCES`] lines: a hostile file's schema may have thousands of fields.
    pub fn differences(&self, ours: &SchemaDesc) -> Vec<String> {
        let mut out = Vec::new();
        diff_node(&mut out, "", Bases { topic: 0, ours: 0 }, self, ours);
        out.truncate(MAX_DIFFERENCES);
        out
    }
}

/// Most lines [`SchemaDesc::differences`] returns.
pub const MAX_DIFFERENCES: usize = 256;

fn describe_field(path: &str, base: u64, f: &FieldDesc) -> String {
    format!(
        "`{path}`: {} at offset {}",
        f.ty.type_name(),
        base + f.offset
    )
}

/// Where a value sits in each message: byte offset in the topic's type and in ours.
#[derive(Clone, Copy)]
struct Bases {
    topic: u64,
    ours: u64,
}

/// Appends the differences between `topic` and `ours`, found at `path` (empty for the message
/// itself, `a.b` for nested fields), whose values start at bytes `at_bytes` of each message.
fn diff_node(
    out: &mut Vec<String>,
    path: &str,
    at_bytes: Bases,
    topic: &SchemaDesc,
    ours: &SchemaDesc,
) {
    if out.len() >= MAX_DIFFERENCES {
        return;
    }
    let before = out.len();
    let at = if path.is_empty() {
        "type".to_owned()
    } else {
        format!("field `{path}`")
    };
    let (tn, on) = (topic.type_name(), ours.type_name());
    if tn != on {
        out.push(format!("{at}: `{tn}` in the topic, `{on}` here"));
    }
    match (&topic.kind, &ours.kind) {
        (DescKind::Primitive(_), DescKind::Primitive(_)) => {}
        (DescKind::Struct(tf), DescKind::Struct(of)) => {
            let child = |name: &str| {
                if path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                }
            };
            for t in tf {
                match of.iter().find(|o| o.name == t.name) {
                    None => out.push(format!(
                        "field {} exists only in the topic",
                        describe_field(&child(&t.name), at_bytes.topic, t)
                    )),
                    Some(o) => {
                        if o.offset != t.offset {
                            out.push(format!(
                                "field `{}`: offset {} in the topic, {} here",
                                child(&t.name),
                                at_bytes.topic + t.offset,
                                at_bytes.ours + o.offset
                            ));
                        }
                        let inner = Bases {
                            topic: at_bytes.topic + t.offset,
                            ours: at_bytes.ours + o.offset,
                        };
                        diff_node(out, &child(&t.name), inner, &t.ty, &o.ty);
                    }
                }
            }
            for o in of {
                if !tf.iter().any(|t| t.name == o.name) {
                    out.push(format!(
                        "field {} exists only here",
                        describe_field(&child(&o.name), at_bytes.ours, o)
                    ));
                }
            }
            let tnames: Vec<&str> = tf.iter().map(|f| f.name.as_str()).collect();
            let onames: Vec<&str> = of.iter().map(|f| f.name.as_str()).collect();
            let mut ts = tnames.clone();
            let mut os = onames.clone();
            ts.sort_unstable();
            os.sort_unstable();
            if ts == os && tnames != onames {
                out.push(format!(
                    "{at}: field order ({}) in the topic, ({}) here",
                    tnames.join(", "),
                    onames.join(", ")
                ));
            }
        }
        (DescKind::Array { elem: te, len: tl }, DescKind::Array { elem: oe, len: ol }) => {
            if tl == ol {
                diff_node(out, &format!("{path}[]"), at_bytes, te, oe);
            }
        }
        _ => {
            if tn == on {
                out.push(format!("{at}: `{tn}` has a different kind in the topic"));
            }
        }
    }
    // Same visible names and fields, yet different bytes (packing or alignment attributes).
    if out.len() == before && (topic.size != ours.size || topic.align != ours.align) {
        out.push(format!(
            "{at}: {} bytes aligned to {} in the topic, {} bytes aligned to {} here",
            topic.size, topic.align, ours.size, ours.align
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static F64: Schema = Schema::primitive(Primitive::F64);
    static U32: Schema = Schema::primitive(Primitive::U32);
    static BOOL: Schema = Schema::primitive(Primitive::Bool);

    fn pose(name: &'static str, fields: &'static [Field]) -> Schema {
        Schema::__structure(name, 24, 8, fields)
    }

    static XYZ: [Field; 3] = [
        Field::__new("x", 0, &F64),
        Field::__new("y", 8, &F64),
        Field::__new("z", 16, &F64),
    ];

    #[test]
    fn hash_is_fnv_of_the_encoding() {
        let arr = Schema::array(&F64, 3, 24, 8);
        for s in [&F64, &U32, &BOOL, &pose("Pose", &XYZ), &arr] {
            assert_eq!(s.hash(), schema_hash_of_encoding(&s.encode()), "{s:?}");
        }
    }

    #[test]
    fn hash_is_pinned() {
        // The hash is part of the on-disk format: if this changes, bump FORMAT_VERSION.
        assert_eq!(F64.hash(), 0x693a_0a54_1927_c896, "{:#x}", F64.hash());
    }

    #[test]
    fn renaming_reordering_retyping_changes_the_hash() {
        static RENAMED: [Field; 3] = [
            Field::__new("x", 0, &F64),
            Field::__new("y", 8, &F64),
            Field::__new("w", 16, &F64),
        ];
        static REORDERED: [Field; 3] = [
            Field::__new("y", 0, &F64),
            Field::__new("x", 8, &F64),
            Field::__new("z", 16, &F64),
        ];
        static RETYPED: [Field; 4] = [
            Field::__new("x", 0, &F64),
            Field::__new("y", 8, &F64),
            Field::__new("z", 16, &U32),
            Field::__new("pad", 20, &U32),
        ];
        let base = pose("Pose", &XYZ).hash();
        assert_ne!(base, pose("Pose", &RENAMED).hash());
        assert_ne!(base, pose("Pose", &REORDERED).hash());
        assert_ne!(base, pose("Pose", &RETYPED).hash());
        assert_ne!(base, pose("Pose2", &XYZ).hash());
        assert_eq!(base, pose("Pose", &XYZ).hash());
    }

    #[test]
    fn decode_round_trips() {
        let p = pose("Pose", &XYZ);
        let d = SchemaDesc::decode(&p.encode()).unwrap();
        assert_eq!(d, SchemaDesc::from_schema(&p));
        assert_eq!(d.type_name(), "Pose");
        let arr = Schema::array(&F64, 3, 24, 8);
        assert_eq!(
            SchemaDesc::decode(&arr.encode()).unwrap().type_name(),
            "[f64; 3]"
        );
    }

    #[test]
    fn decode_rejects_garbage_without_panicking() {
        let good = pose("Pose", &XYZ).encode();
        assert!(SchemaDesc::decode(&good[..good.len() - 1]).is_err());
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(SchemaDesc::decode(&trailing).is_err());
        assert!(SchemaDesc::decode(&[]).is_err());
        // Every single-byte corruption either decodes to something consistent or is refused.
        for i in 0..good.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = SchemaDesc::decode(&b);
            }
        }
        // A deeply nested array chain is refused, not a stack overflow.
        let mut deep = Vec::new();
        for _ in 0..200 {
            deep.push(TAG_ARRAY);
            deep.extend_from_slice(&0u32.to_le_bytes());
            deep.extend_from_slice(&8u64.to_le_bytes());
            deep.extend_from_slice(&8u64.to_le_bytes());
            deep.extend_from_slice(&1u64.to_le_bytes());
        }
        let err = SchemaDesc::decode(&deep).unwrap_err();
        assert!(err.reason.contains("nested deeper"), "{err}");
    }

    /// A struct encoding with the given fields (name, offset, type), sizes as given.
    fn struct_encoding(size: u64, fields: &[(&str, u64, &Schema)]) -> Vec<u8> {
        let mut out = vec![TAG_STRUCT];
        put_str(&mut out, "S");
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&8u64.to_le_bytes());
        out.extend_from_slice(&(fields.len() as u32).to_le_bytes());
        for (name, offset, ty) in fields {
            put_str(&mut out, name);
            out.extend_from_slice(&offset.to_le_bytes());
            encode_node(&mut out, &SchemaDesc::from_schema(ty));
        }
        out
    }

    #[test]
    fn decode_refuses_overlaps_holes_and_duplicate_names() {
        static EMPTY: Schema = Schema::array(&F64, 0, 0, 8);
        let decode = |fields: &[(&str, u64, &Schema)]| {
            SchemaDesc::decode(&struct_encoding(16, fields)).map_err(|e| e.reason)
        };
        assert!(decode(&[("a", 0, &F64), ("b", 8, &F64)]).is_ok());
        // Sizes add up to 16, but `b` overlaps `a` and leaves bytes 12..16 to nobody.
        let err = decode(&[("a", 0, &F64), ("b", 4, &F64)]).unwrap_err();
        assert!(err.contains("hole or an overlap"), "{err}");
        // A hole before `b`, then `a` overlapping it: declaration order is layout order.
        let err = decode(&[("b", 8, &F64), ("a", 0, &F64)]).unwrap_err();
        assert!(err.contains("hole or an overlap"), "{err}");
        let err = decode(&[("a", 0, &F64), ("a", 8, &F64)]).unwrap_err();
        assert!(err.contains("twice"), "{err}");
        // Zero-sized fields may sit anywhere inside.
        assert!(decode(&[("a", 0, &F64), ("z", 16, &EMPTY), ("b", 8, &F64)]).is_ok());
        assert!(decode(&[("a", 0, &F64), ("z", 24, &EMPTY), ("b", 8, &F64)]).is_err());
    }

    #[test]
    fn differences_of_a_huge_schema_are_bounded() {
        // A topic of 65,000 fields against a one-field type: a hostile file must not make an
        // error message of megabytes.
        let mut fields = Vec::new();
        for i in 0..65_000u64 {
            fields.push(FieldDesc {
                name: format!("field_{i}"),
                offset: i,
                ty: SchemaDesc::from_schema(&BOOL),
            });
        }
        let topic = SchemaDesc {
            name: "Huge".into(),
            size: 65_000,
            align: 1,
            kind: DescKind::Struct(fields),
        };
        static OTHER: [Field; 1] = [Field::__new("other", 0, &F64)];
        let ours = SchemaDesc::from_schema(&Schema::__structure("Huge", 8, 8, &OTHER));
        let d = topic.differences(&ours);
        assert_eq!(d.len(), MAX_DIFFERENCES);
    }

    #[test]
    fn differences_name_what_differs() {
        static V2: [Field; 3] = [
            Field::__new("x", 0, &F64),
            Field::__new("y", 8, &F64),
            Field::__new("heading", 16, &F64),
        ];
        let topic = SchemaDesc::from_schema(&pose("Pose", &XYZ));
        let ours = SchemaDesc::from_schema(&pose("Pose", &V2));
        let d = topic.differences(&ours);
        assert_eq!(
            d,
            vec![
                "field `z`: f64 at offset 16 exists only in the topic".to_owned(),
                "field `heading`: f64 at offset 16 exists only here".to_owned(),
            ]
        );
        let prim = SchemaDesc::from_schema(&F64);
        let d = prim.differences(&SchemaDesc::from_schema(&U32));
        assert_eq!(d, vec!["type: `f64` in the topic, `u32` here".to_owned()]);
        assert!(topic.differences(&topic).is_empty());
    }

    #[test]
    fn nested_differences_name_the_full_path_and_absolute_offset() {
        static INNER_A: [Field; 2] = [Field::__new("x", 0, &F64), Field::__new("y", 8, &F64)];
        static INNER_B: [Field; 2] = [Field::__new("x", 0, &F64), Field::__new("w", 8, &F64)];
        static A: Schema = Schema::__structure("Vec2", 16, 8, &INNER_A);
        static B: Schema = Schema::__structure("Vec2", 16, 8, &INNER_B);
        static OUTER_A: [Field; 2] = [Field::__new("id", 0, &F64), Field::__new("accel", 8, &A)];
        static OUTER_B: [Field; 2] = [Field::__new("id", 0, &F64), Field::__new("accel", 8, &B)];
        let topic = SchemaDesc::from_schema(&Schema::__structure("Imu", 24, 8, &OUTER_A));
        let ours = SchemaDesc::from_schema(&Schema::__structure("Imu", 24, 8, &OUTER_B));
        assert_eq!(
            topic.differences(&ours),
            vec![
                "field `accel.y`: f64 at offset 16 exists only in the topic".to_owned(),
                "field `accel.w`: f64 at offset 16 exists only here".to_owned(),
            ]
        );
    }

    #[test]
    fn nested_offsets_are_reported_per_side() {
        static INNER_A: [Field; 1] = [Field::__new("x", 0, &F64)];
        static INNER_B: [Field; 1] = [Field::__new("w", 0, &F64)];
        static A: Schema = Schema::__structure("V", 8, 8, &INNER_A);
        static B: Schema = Schema::__structure("V", 8, 8, &INNER_B);
        static OUTER_A: [Field; 2] = [Field::__new("id", 0, &F64), Field::__new("v", 8, &A)];
        static OUTER_B: [Field; 2] = [Field::__new("v", 0, &B), Field::__new("id", 8, &F64)];
        let topic = SchemaDesc::from_schema(&Schema::__structure("M", 16, 8, &OUTER_A));
        let ours = SchemaDesc::from_schema(&Schema::__structure("M", 16, 8, &OUTER_B));
        let d = topic.differences(&ours);
        let has = |line: &str| d.iter().any(|x| x == line);
        assert!(
            has("field `v.x`: f64 at offset 8 exists only in the topic"),
            "{d:?}"
        );
        assert!(
            has("field `v.w`: f64 at offset 0 exists only here"),
            "{d:?}"
        );
    }

    #[test]
    fn packed_structs_decode() {
        static PACKED: [Field; 2] = [Field::__new("tag", 0, &BOOL), Field::__new("v", 1, &U32)];
        let s = Schema::__structure("Packed", 5, 1, &PACKED);
        let d = SchemaDesc::decode(&s.encode()).unwrap();
        assert_eq!(d, SchemaDesc::from_schema(&s));
    }

    #[test]
    fn bool_validation() {
        static FLAGS: [Field; 2] = [Field::__new("a", 0, &BOOL), Field::__new("b", 1, &BOOL)];
        let s = Schema::__structure("Flags", 2, 1, &FLAGS);
        assert!(s.needs_validation());
        assert!(s.bytes_valid(&[0, 1]));
        assert!(!s.bytes_valid(&[0, 2]));
        let arr = Schema::array(&BOOL, 4, 4, 1);
        assert!(arr.bytes_valid(&[1, 1, 0, 1]));
        assert!(!arr.bytes_valid(&[1, 1, 0, 9]));
        assert!(!pose("Pose", &XYZ).needs_validation());
    }
}
