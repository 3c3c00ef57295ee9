//! Decoding a stored schema encoding, bounded and strict: what a hostile topic file can put in
//! its header must come out as a consistent description or a [`SchemaDecodeError`].

use super::desc::bounded_room;
use super::{
    BOUNDED_DATA_OFFSET, DescKind, FieldDesc, MAX_MESSAGE_SIZE, Primitive, SchemaDesc, TAG_ARRAY,
    TAG_PRIMITIVE, TAG_SEQUENCE, TAG_STRING, TAG_STRUCT,
};
use crate::error::SchemaDecodeError;

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
        let start = self.pos;
        let b = self.take(len)?;
        let Ok(s) = std::str::from_utf8(b).map(str::to_owned) else {
            self.pos = start;
            return self.fail("name is not UTF-8");
        };
        if let Some(c) = s.chars().find(|c| crate::text::is_unprintable(*c)) {
            // Names reach terminals (`shm list`, error messages, logs): no escape sequences,
            // no text direction overrides.
            self.pos = start;
            return self.fail(format!(
                "name {} holds the control character {}",
                crate::text::printable(&s),
                c.escape_unicode()
            ));
        }
        Ok(s)
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
        if size > MAX_MESSAGE_SIZE {
            return self.fail(too_large(size));
        }
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
            TAG_SEQUENCE | TAG_STRING => {
                let cap = self.u64()?;
                let (elem, elem_size, elem_align) = if tag == TAG_SEQUENCE {
                    let elem = self.node(depth + 1)?;
                    let (size, align) = (elem.size, elem.align);
                    (Some(elem), size, align)
                } else {
                    (None, 1, 1)
                };
                if let Err(e) = bounded_room("a bounded sequence", elem_size, elem_align, cap) {
                    return self.fail(e.to_string());
                }
                if !name.is_empty()
                    || align != 8
                    || Some(size) != (elem_size * cap).checked_add(BOUNDED_DATA_OFFSET)
                {
                    return self.fail(
                        "bounded sequence name, size or alignment does not match its capacity",
                    );
                }
                match elem {
                    Some(elem) => DescKind::Sequence {
                        elem: Box::new(elem),
                        cap,
                    },
                    None => DescKind::String { cap },
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

/// The one message for a value above [`MAX_MESSAGE_SIZE`], wherever it is found (a schema
/// read from a file, one built by a tool or another language).
pub(crate) fn too_large(size: u64) -> String {
    if size == u64::MAX {
        // (`SchemaDesc::array` saturates a size that does not fit 64 bits.)
        format!("a value of 2^64 bytes or more; a topic carries at most {MAX_MESSAGE_SIZE} bytes")
    } else {
        format!("a value of {size} bytes; a topic carries at most {MAX_MESSAGE_SIZE} bytes")
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
}
