//! Owned schema descriptions: decoded from a topic's header, or converted from a static
//! [`Schema`]; their canonical encoding (`docs/FORMAT.md`) and readable names.

use super::diff::{Bases, MAX_DIFFERENCES, diff_node};
use super::hash::schema_hash_of_encoding;
use super::path::{Step, steps};
use super::{
    BOUNDED_DATA_OFFSET, Primitive, Schema, SchemaKind, TAG_ARRAY, TAG_PRIMITIVE, TAG_SEQUENCE,
    TAG_STRING, TAG_STRUCT,
};

/// An owned schema description, decoded from a topic's header (or converted from a [`Schema`]).
/// Lets a tool understand a topic without the Rust type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDesc {
    /// Schema name (`""` for arrays, sequences and strings).
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
    /// A bounded sequence: a `u64` length, then room for `cap` elements from byte 8.
    Sequence {
        /// Element type.
        elem: Box<SchemaDesc>,
        /// The most elements it holds.
        cap: u64,
    },
    /// A bounded UTF-8 string: a `u64` length in bytes, then room for `cap` bytes from byte 8.
    String {
        /// The most bytes it holds.
        cap: u64,
    },
}

/// Why [`SchemaDesc::c_struct`] refused a struct: ``Reading` has 7 byte(s) of padding after
/// field `valid`, ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError {
    /// The struct's name.
    pub name: String,
    /// What is wrong, after the name.
    pub problem: String,
}

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.name, self.problem)
    }
}

impl std::error::Error for LayoutError {}

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

impl SchemaDesc {
    /// The description of a primitive (named as in Rust, aligned to its size).
    pub fn primitive(p: Primitive) -> SchemaDesc {
        SchemaDesc {
            name: p.name().to_owned(),
            size: p.size() as u64,
            align: p.size() as u64,
            kind: DescKind::Primitive(p),
        }
    }

    /// The description of `[elem; len]` (as Rust lays it out: `len` elements back to back).
    pub fn array(elem: SchemaDesc, len: u64) -> SchemaDesc {
        SchemaDesc {
            name: String::new(),
            size: elem.size.saturating_mul(len),
            align: elem.align,
            kind: DescKind::Array {
                elem: Box::new(elem),
                len,
            },
        }
    }

    /// The description of `BoundedVec<elem, cap>`: a `u64` length, then room for `cap`
    /// elements, aligned to 8. Refused (as the Rust type refuses to compile) when the elements
    /// would not fill whole 8-byte words, which would leave padding, or when an element is
    /// aligned to more than 8.
    ///
    /// ```
    /// use shm::schema::{Primitive, SchemaDesc};
    /// let f32s = SchemaDesc::sequence(SchemaDesc::primitive(Primitive::F32), 4096).unwrap();
    /// assert_eq!((f32s.size, f32s.type_name().as_str()), (8 + 4 * 4096, "BoundedVec<f32, 4096>"));
    /// let odd = SchemaDesc::sequence(SchemaDesc::primitive(Primitive::F32), 3).unwrap_err();
    /// assert!(odd.to_string().contains("a multiple of 2"), "{odd}");
    /// ```
    pub fn sequence(elem: SchemaDesc, cap: u64) -> Result<SchemaDesc, LayoutError> {
        let name = format!("BoundedVec<{}, {cap}>", elem.type_name());
        bounded_room(&name, elem.size, elem.align, cap)?;
        Ok(SchemaDesc {
            name: String::new(),
            size: BOUNDED_DATA_OFFSET + elem.size * cap,
            align: 8,
            kind: DescKind::Sequence {
                elem: Box::new(elem),
                cap,
            },
        })
    }

    /// The description of `BoundedString<cap>`: a `u64` length, then room for `cap` bytes of
    /// UTF-8; `cap` is a multiple of 8 (as for [`sequence`](Self::sequence)).
    pub fn string(cap: u64) -> Result<SchemaDesc, LayoutError> {
        bounded_room(&format!("BoundedString<{cap}>"), 1, 1, cap)?;
        Ok(SchemaDesc {
            name: String::new(),
            size: BOUNDED_DATA_OFFSET + cap,
            align: 8,
            kind: DescKind::String { cap },
        })
    }

    /// The description of a `#[repr(C)]` struct with these fields, laid out as the compiler
    /// lays it out (each field at the next multiple of its alignment; the struct aligned to its
    /// largest field), refused as `#[derive(ShmMessage)]` refuses it when that leaves padding:
    /// the error names the gap and what to add, as the derive's does.
    pub fn c_struct(
        name: &str,
        fields: Vec<(String, SchemaDesc)>,
    ) -> Result<SchemaDesc, LayoutError> {
        let fail = |problem: String| LayoutError {
            name: name.to_owned(),
            problem,
        };
        let mut out = Vec::with_capacity(fields.len());
        let (mut end, mut align) = (0u64, 1u64);
        let mut previous: Option<String> = None;
        for (field, ty) in fields {
            if out.iter().any(|f: &FieldDesc| f.name == field) {
                return Err(fail(format!("has two fields named `{field}`")));
            }
            let offset = end.next_multiple_of(ty.align.max(1));
            if offset > end {
                let gap = offset - end;
                return Err(fail(match &previous {
                    Some(p) => format!(
                        "has {gap} byte(s) of padding after field `{p}`, which shared memory \
                         cannot carry; add an explicit {gap}-byte field (such as `_reserved`, {gap} \
                         u8) right after `{p}` (or reorder the fields from largest to smallest \
                         alignment)"
                    ),
                    None => unreachable!("the first field is at offset 0"),
                }));
            }
            align = align.max(ty.align);
            end = offset
                .checked_add(ty.size)
                .ok_or_else(|| fail("is too large".to_owned()))?;
            previous = Some(field.clone());
            out.push(FieldDesc {
                name: field,
                offset,
                ty,
            });
        }
        let size = end.next_multiple_of(align);
        if size > end {
            return Err(fail(format!(
                "has {} byte(s) of padding at its end, which shared memory cannot carry; add an \
                 explicit {}-byte field (such as `_reserved`, u8s) at the end",
                size - end,
                size - end
            )));
        }
        Ok(SchemaDesc {
            name: name.to_owned(),
            size,
            align,
            kind: DescKind::Struct(out),
        })
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
            SchemaKind::Sequence { elem, cap } => DescKind::Sequence {
                elem: Box::new(SchemaDesc::from_schema(elem)),
                cap: cap as u64,
            },
            SchemaKind::String { cap } => DescKind::String { cap: cap as u64 },
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

    /// A readable type name: `Pose`, `f64`, `[f64; 3]`, `BoundedVec<f32, 4096>`,
    /// `BoundedString<32>`.
    pub fn type_name(&self) -> String {
        match &self.kind {
            DescKind::Array { elem, len } => format!("[{}; {}]", elem.type_name(), len),
            DescKind::Sequence { elem, cap } => {
                format!("BoundedVec<{}, {}>", elem.type_name(), cap)
            }
            DescKind::String { cap } => format!("BoundedString<{cap}>"),
            _ => self.name.clone(),
        }
    }

    /// Whether values of this type hold a bounded sequence or string (whose unused room is
    /// neither written nor read).
    pub fn has_bounded(&self) -> bool {
        match &self.kind {
            DescKind::Primitive(_) => false,
            DescKind::Sequence { .. } | DescKind::String { .. } => true,
            DescKind::Array { elem, len } => *len > 0 && elem.has_bounded(),
            DescKind::Struct(fields) => fields.iter().any(|f| f.ty.has_bounded()),
        }
    }

    /// The part at `path` (`position[2]`, `pose.heading`, `boxes[1].corner[0]`; empty: the
    /// whole value): where it starts, from the start of a value of `self`, and its schema.
    /// Nothing is read: a tool prints one field of a large value from its bytes alone.
    ///
    /// ```
    /// use shm::schema::{Primitive, SchemaDesc};
    /// let f64s = SchemaDesc::array(SchemaDesc::primitive(Primitive::F64), 3);
    /// let pose = SchemaDesc::c_struct("Pose", vec![("position".into(), f64s)]).unwrap();
    /// let (offset, part) = pose.locate("position[2]").unwrap();
    /// assert_eq!((offset, part.type_name().as_str()), (16, "f64"));
    /// assert!(pose.locate("heading").unwrap_err().contains("`Pose` has no field `heading`"));
    /// ```
    pub fn locate(&self, path: &str) -> Result<(u64, &SchemaDesc), String> {
        let (mut at, mut part) = (0u64, self);
        for step in steps(path)? {
            let offset = match step {
                Step::Index(index) => {
                    if let DescKind::Sequence { .. } | DescKind::String { .. } = &part.kind {
                        return Err(format!(
                            "`{path}`: `{}` holds a varying number of elements, at no fixed \
                             place; name the whole field",
                            part.type_name()
                        ));
                    }
                    let DescKind::Array { elem, len } = &part.kind else {
                        return Err(format!("`{path}`: `{}` has no elements", part.type_name()));
                    };
                    if index >= *len {
                        return Err(format!("`{path}`: index {index} of an array of {len}"));
                    }
                    part = elem;
                    index.checked_mul(elem.size)
                }
                Step::Field(name) => {
                    let DescKind::Struct(fields) = &part.kind else {
                        return Err(format!("`{path}`: `{}` has no fields", part.type_name()));
                    };
                    let Some(field) = fields.iter().find(|f| f.name == name) else {
                        const SHOWN: usize = 32;
                        let shown: Vec<&str> =
                            fields.iter().take(SHOWN).map(|f| f.name.as_str()).collect();
                        let mut list = shown.join(", ");
                        if fields.len() > SHOWN {
                            list.push_str(&format!(", … {} more", fields.len() - SHOWN));
                        }
                        return Err(format!(
                            "`{path}`: `{}` has no field `{name}` (its fields: {list})",
                            part.name
                        ));
                    };
                    part = &field.ty;
                    Some(field.offset)
                }
            };
            // (Checked: a description built by hand may claim any sizes.)
            at = offset
                .and_then(|o| at.checked_add(o))
                .ok_or_else(|| format!("`{path}`: the offset does not fit 64 bits"))?;
        }
        Ok((at, part))
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

pub(super) fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

pub(super) fn encode_node(out: &mut Vec<u8>, s: &SchemaDesc) {
    let tag = match s.kind {
        DescKind::Primitive(_) => TAG_PRIMITIVE,
        DescKind::Struct(_) => TAG_STRUCT,
        DescKind::Array { .. } => TAG_ARRAY,
        DescKind::Sequence { .. } => TAG_SEQUENCE,
        DescKind::String { .. } => TAG_STRING,
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
        DescKind::Sequence { elem, cap } => {
            out.extend_from_slice(&cap.to_le_bytes());
            encode_node(out, elem);
        }
        DescKind::String { cap } => out.extend_from_slice(&cap.to_le_bytes()),
    }
}

/// Whether `cap` elements of `size` bytes aligned to `align` fill the room of a bounded
/// sequence or string: whole 8-byte words (no padding after them), elements aligned to at
/// most 8, and at most [`MAX_MESSAGE_SIZE`](super::MAX_MESSAGE_SIZE) bytes in all.
pub(super) fn bounded_room(name: &str, size: u64, align: u64, cap: u64) -> Result<(), LayoutError> {
    let fail = |problem: String| {
        Err(LayoutError {
            name: name.to_owned(),
            problem,
        })
    };
    if align > 8 {
        return fail(format!(
            "has elements aligned to {align} bytes; a bounded sequence holds elements aligned to at most 8"
        ));
    }
    let room = size
        .checked_mul(cap)
        .and_then(|r| r.checked_add(BOUNDED_DATA_OFFSET));
    if room.is_none_or(|r| r > super::MAX_MESSAGE_SIZE) {
        return fail(super::decode::too_large(room.unwrap_or(u64::MAX)));
    }
    if !(size * cap).is_multiple_of(8) {
        let step = room_step(size);
        return fail(format!(
            "would leave {} byte(s) of padding after its elements, which shared memory cannot \
             carry: choose a capacity that is a multiple of {step}",
            8 - (size * cap) % 8
        ));
    }
    Ok(())
}

/// The capacities of elements of `size` bytes that fill whole 8-byte words are the multiples of
/// this.
fn room_step(size: u64) -> u64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    8 / gcd(size.max(1), 8)
}

/// The smallest capacity of at least `len` elements of `size` bytes that fills whole 8-byte
/// words (what a bounded sequence's room must do): what a slice topic asked for `len` gets.
///
/// ```
/// assert_eq!(shm::schema::room_for(4, 3), 4); // f32: an even number
/// assert_eq!(shm::schema::room_for(8, 3), 3);
/// assert_eq!(shm::schema::room_for(1, 1), 8);
/// ```
pub fn room_for(size: u64, len: u64) -> u64 {
    let step = room_step(size);
    len.div_ceil(step).saturating_mul(step)
}
