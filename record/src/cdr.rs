//! CDR (the encoding of ROS 2 messages, plain CDR v1 as rosbag2 writes it) for the values of
//! any topic's schema, matching the definitions of [`ros2msg`](crate::ros2msg).
//!
//! A value is encoded as the one walker of the `shm` crate reads it
//! ([`decode_with`]), and decoded straight back into a topic's bytes (a [`Value`] is those
//! bytes read by the same walker). Our fixed-size layouts are naturally
//! aligned with no padding, so a value of them is its own bytes after the 4-byte header; a
//! bounded sequence is a `u32` length and its elements, a bounded string a `u32` length
//! (counting a final NUL), its bytes and the NUL.

use std::fmt;

use shm::dynamic::{Decode, Scalar, TopicSchema, Value, decode_with};
use shm::schema::{BOUNDED_DATA_OFFSET, DescKind, Primitive, SchemaDesc};

/// The encapsulation header of this machine's byte order (`CDR_LE` or `CDR_BE`), options 0.
pub const HEADER: [u8; 4] = if cfg!(target_endian = "little") {
    [0x00, 0x01, 0x00, 0x00]
} else {
    [0x00, 0x00, 0x00, 0x00]
};

/// The CDR form of `bytes`, one value of `schema` (as a subscriber read it: valid).
pub fn encode(schema: &TopicSchema, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER.len() + bytes.len() + 16);
    encode_into(schema, bytes, &mut out);
    out
}

/// [`encode`], appended to `out` (cleared first).
pub fn encode_into(schema: &TopicSchema, bytes: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&HEADER);
    let mut w = Writer {
        out,
        base: HEADER.len(),
        containers: Vec::new(),
        current: Some(schema.desc()),
    };
    decode_with(schema, bytes, &mut w);
}

/// Writes CDR as the walker goes: `current` is the part about to be given, `containers` the
/// arrays, sequences and structs it is inside.
struct Writer<'s, 'o> {
    out: &'o mut Vec<u8>,
    /// Where the payload starts (alignment counts from there).
    base: usize,
    containers: Vec<&'s SchemaDesc>,
    current: Option<&'s SchemaDesc>,
}

impl<'s> Writer<'s, '_> {
    fn align(&mut self, n: usize) {
        let at = self.out.len() - self.base;
        let pad = (n - at % n) % n;
        self.out.resize(self.out.len() + pad, 0);
    }

    fn u32(&mut self, v: u32) {
        self.align(4);
        self.out.extend_from_slice(&v.to_ne_bytes());
    }

    fn is_sequence(&self) -> bool {
        matches!(
            self.current.map(|d| &d.kind),
            Some(DescKind::Sequence { .. })
        )
    }

    /// Primitives of kind `p` given as their bytes (native order): aligned once, then as they
    /// are (an array of primitives has no gaps in CDR either).
    fn primitives(&mut self, p: Primitive, bytes: &[u8]) {
        // No elements, no alignment (as element-by-element encoders and our reader do).
        if !bytes.is_empty() {
            self.align(p.size());
            self.out.extend_from_slice(bytes);
        }
    }
}

fn length(len: u64) -> u32 {
    // Capacities are far below 2^32 for any value that fits in memory; a longer one is cut
    // (it cannot be a value a subscriber read).
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl<'s> Decode for Writer<'s, '_> {
    type Out = ();

    fn primitive(&mut self, value: Scalar, kind: Primitive) {
        self.align(kind.size());
        let mut buf = [0u8; 8];
        let n = kind.size();
        match (value, kind) {
            (Scalar::Bool(b), _) => buf[0] = u8::from(b),
            (Scalar::Float(f), Primitive::F32) => {
                buf[..4].copy_from_slice(&(f as f32).to_ne_bytes())
            }
            (Scalar::Float(f), _) => buf.copy_from_slice(&f.to_ne_bytes()),
            (Scalar::Int(i), _) => buf.copy_from_slice(&i.to_ne_bytes()),
            (Scalar::UInt(u), _) => buf.copy_from_slice(&u.to_ne_bytes()),
        }
        // The low `n` bytes of the widened value are the value of `n` bytes: the first ones on
        // a little-endian machine, the last ones on a big-endian one (an f32 was written as 4).
        let from =
            if cfg!(target_endian = "little") || matches!(kind, Primitive::F32 | Primitive::Bool) {
                0
            } else {
                8 - n
            };
        self.out.extend_from_slice(&buf[from..from + n]);
    }

    fn primitive_array(&mut self, kind: Primitive, len: u64, bytes: &[u8]) -> Option<()> {
        if self.is_sequence() {
            self.u32(length(len));
        }
        self.primitives(kind, bytes);
        Some(())
    }

    fn primitive_block(&mut self, kind: Primitive, shape: &[u64], bytes: &[u8]) -> Option<()> {
        if self.is_sequence() {
            self.u32(length(shape.first().copied().unwrap_or(0)));
        }
        self.primitives(kind, bytes);
        Some(())
    }

    fn begin_array(&mut self, len: u64) -> u64 {
        if self.is_sequence() {
            self.u32(length(len));
        }
        if let Some(d) = self.current {
            self.containers.push(d);
        }
        len
    }

    fn begin_element(&mut self, _index: u64) {
        self.current = match self.containers.last().map(|d| &d.kind) {
            Some(DescKind::Array { elem, .. } | DescKind::Sequence { elem, .. }) => Some(elem),
            _ => None,
        };
    }

    fn array(&mut self, _items: Vec<()>, _len: u64) {
        self.containers.pop();
    }

    fn string(&mut self, value: &str) {
        self.u32(length(value.len() as u64 + 1));
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(0);
    }

    fn begin_struct(&mut self, _name: &str) {
        if let Some(d) = self.current {
            self.containers.push(d);
        }
    }

    fn begin_field(&mut self, index: usize, _name: &str) {
        self.current = match self.containers.last().map(|d| &d.kind) {
            Some(DescKind::Struct(fields)) => fields.get(index).map(|f| &f.ty),
            _ => None,
        };
    }

    fn structure(&mut self, _name: &str, _fields: Vec<(&str, ())>) {
        self.containers.pop();
    }
}

/// Why CDR bytes are not a value of the schema (read from a file: hostile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrError {
    /// Where in the CDR bytes.
    pub offset: usize,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for CdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CDR at byte {}: {}", self.offset, self.problem)
    }
}

impl std::error::Error for CdrError {}

/// The value of `schema` that `cdr` (a header and a payload) holds, as a tree: the bytes of
/// [`decode_to_bytes`], read by the `shm` walker ([`Value::decode`]).
pub fn decode(schema: &TopicSchema, cdr: &[u8]) -> Result<Value, CdrError> {
    let mut bytes = Vec::new();
    decode_into(schema, cdr, &mut bytes)?;
    Ok(Value::decode(schema, &bytes))
}

/// The value's bytes as a topic holds them (native byte order; the room past a sequence's or
/// a string's length zero), checked to be a valid value: bools 0 or 1, lengths within the
/// capacity, strings UTF-8.
pub fn decode_to_bytes(schema: &TopicSchema, cdr: &[u8]) -> Result<Vec<u8>, CdrError> {
    let mut bytes = Vec::new();
    decode_into(schema, cdr, &mut bytes)?;
    Ok(bytes)
}

/// [`decode_to_bytes`] into `out` (resized to the type's size; its memory reused). Every
/// length is checked against the schema's capacity and the bytes there are, so the work is
/// bounded by `cdr`'s size and the schema. Arrays and sequences of primitives are copied as
/// one block (swapped element by element when the CDR's byte order is not this machine's).
pub fn decode_into(schema: &TopicSchema, cdr: &[u8], out: &mut Vec<u8>) -> Result<(), CdrError> {
    let Some((header, payload)) = cdr.split_first_chunk::<4>() else {
        return Err(CdrError {
            offset: 0,
            problem: format!("{} bytes: no 4-byte header", cdr.len()),
        });
    };
    let little = match header {
        [0x00, 0x01, _, _] => true,
        [0x00, 0x00, _, _] => false,
        other => {
            return Err(CdrError {
                offset: 0,
                problem: format!(
                    "encapsulation {:02x}{:02x} is not plain CDR",
                    other[0], other[1]
                ),
            });
        }
    };
    out.clear();
    out.resize(schema.size(), 0);
    let mut r = Reader {
        bytes: payload,
        at: 0,
        swap: little != cfg!(target_endian = "little"),
    };
    r.value(schema.desc(), out, 0, 0)
}

const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The CDR's byte order is not this machine's.
    swap: bool,
}

/// `n` bytes at `at` of `out` (the schema placed them inside the value, so they are there).
fn slot(out: &mut [u8], at: usize, n: usize) -> &mut [u8] {
    &mut out[at..at + n]
}

impl Reader<'_> {
    fn fail<T>(&self, problem: impl Into<String>) -> Result<T, CdrError> {
        Err(CdrError {
            offset: self.at + HEADER.len(),
            problem: problem.into(),
        })
    }

    fn take(&mut self, n: usize, align: usize) -> Result<&[u8], CdrError> {
        let pad = (align - self.at % align) % align;
        let start = self.at + pad;
        match start.checked_add(n) {
            Some(end) if end <= self.bytes.len() => {
                self.at = end;
                Ok(&self.bytes[start..end])
            }
            _ => self.fail(format!(
                "{n} more byte(s) needed, {} left",
                self.bytes.len().saturating_sub(start)
            )),
        }
    }

    fn u32(&mut self) -> Result<u32, CdrError> {
        let swap = self.swap;
        let mut b: [u8; 4] = self.take(4, 4)?.try_into().unwrap_or([0; 4]);
        if swap {
            b.reverse();
        }
        Ok(u32::from_ne_bytes(b))
    }

    /// `n` primitives of kind `p` into `out` at `at`: aligned once, copied as a block,
    /// swapped if need be, bools checked.
    fn primitives(
        &mut self,
        p: Primitive,
        n: usize,
        out: &mut [u8],
        at: usize,
    ) -> Result<(), CdrError> {
        if n == 0 {
            // No elements, no alignment (as the writer and element-by-element encoders do).
            return Ok(());
        }
        let size = p.size();
        let swap = self.swap;
        let from = self.at;
        let src = self.take(n * size, size)?;
        let dst = slot(out, at, n * size);
        dst.copy_from_slice(src);
        if swap && size > 1 {
            dst.chunks_exact_mut(size).for_each(<[u8]>::reverse);
        }
        if p == Primitive::Bool
            && let Some(i) = dst.iter().position(|&b| b > 1)
        {
            self.at = from;
            return self.fail(format!("a bool of {} (element {i})", dst[i]));
        }
        Ok(())
    }

    /// A length, checked against `cap` and against the bytes left (each element takes at
    /// least `min_size` bytes), so that a hostile length costs nothing.
    fn length(&mut self, cap: u64, min_size: usize) -> Result<usize, CdrError> {
        let n = u64::from(self.u32()?);
        if n > cap {
            return self.fail(format!("a length of {n}, above the capacity {cap}"));
        }
        let left = (self.bytes.len() - self.at) as u64;
        if n.saturating_mul(min_size.max(1) as u64) > left {
            return self.fail(format!(
                "a length of {n}, more than the {left} byte(s) left hold"
            ));
        }
        Ok(n as usize)
    }

    /// `n` elements of `elem`, the first at `at` of `out`.
    fn elements(
        &mut self,
        elem: &SchemaDesc,
        n: usize,
        out: &mut [u8],
        at: usize,
        depth: usize,
    ) -> Result<(), CdrError> {
        if let DescKind::Primitive(p) = elem.kind {
            return self.primitives(p, n, out, at);
        }
        let stride = elem.size as usize;
        (0..n).try_for_each(|i| self.value(elem, out, at + i * stride, depth + 1))
    }

    fn value(
        &mut self,
        desc: &SchemaDesc,
        out: &mut [u8],
        at: usize,
        depth: usize,
    ) -> Result<(), CdrError> {
        if depth > MAX_DEPTH {
            return self.fail("types nest too deep");
        }
        match &desc.kind {
            DescKind::Primitive(p) => self.primitives(*p, 1, out, at),
            DescKind::Array { elem, len } => {
                let min = min_cdr_size(elem);
                if min == 0 && *len > 0 {
                    return self.fail("an array of elements of no size");
                }
                let left = (self.bytes.len() - self.at) as u64;
                if len.saturating_mul(min as u64) > left {
                    return self.fail(format!(
                        "an array of {len}, more than the {left} byte(s) left hold"
                    ));
                }
                self.elements(elem, *len as usize, out, at, depth)
            }
            DescKind::Sequence { elem, cap } => {
                if min_cdr_size(elem) == 0 {
                    return self.fail("a sequence of elements of no size");
                }
                let n = self.length(*cap, min_cdr_size(elem))?;
                slot(out, at, 8).copy_from_slice(&(n as u64).to_ne_bytes());
                self.elements(elem, n, out, at + BOUNDED_DATA_OFFSET as usize, depth)
            }
            DescKind::String { cap } => {
                let n = self.length(cap.saturating_add(1), 1)?;
                if n == 0 {
                    return self.fail("a string without its final NUL");
                }
                let bytes = self.take(n, 1)?;
                let (text, nul) = bytes.split_at(n - 1);
                if nul != [0] {
                    return self.fail("a string without its final NUL");
                }
                if let Err(e) = std::str::from_utf8(text) {
                    return self.fail(format!("a string that is not UTF-8: {e}"));
                }
                let start = at + BOUNDED_DATA_OFFSET as usize;
                slot(out, start, text.len()).copy_from_slice(text);
                slot(out, at, 8).copy_from_slice(&(text.len() as u64).to_ne_bytes());
                Ok(())
            }
            DescKind::Struct(fields) => fields
                .iter()
                .try_for_each(|f| self.value(&f.ty, out, at + f.offset as usize, depth + 1)),
        }
    }
}

/// The fewest CDR bytes a value of `desc` takes (bounds how many a length may claim).
fn min_cdr_size(desc: &SchemaDesc) -> usize {
    match &desc.kind {
        DescKind::Sequence { .. } | DescKind::String { .. } => 4,
        DescKind::Array { elem, len } => min_cdr_size(elem).saturating_mul(*len as usize),
        DescKind::Primitive(p) => p.size(),
        DescKind::Struct(fields) => fields.iter().map(|f| min_cdr_size(&f.ty)).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shm::{BoundedString, BoundedVec, ShmMessage};

    #[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Echo {
        angle: f32,
        intensity: u16,
        ring: u16,
    }

    #[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Scan {
        stamp_ns: u64,
        frame_id: BoundedString<32>,
        ranges: BoundedVec<f32, 16>,
        echoes: BoundedVec<Echo, 4>,
        grid: [[i16; 2]; 2],
        ok: bool,
        _reserved: [u8; 7],
    }

    fn schema<T: ShmMessage>() -> TopicSchema {
        TopicSchema::of(T::SCHEMA)
    }

    fn bytes_of<T: ShmMessage + Copy>(v: &T) -> Vec<u8> {
        // SAFETY: `T` is a plain value of the message type (no padding: the derive checks it);
        // its bytes are initialised and read only here.
        unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
    }

    fn scan() -> Scan {
        let mut ranges = BoundedVec::new();
        for r in [0.5, 1.5, 2.5] {
            ranges.push(r);
        }
        let mut echoes = BoundedVec::new();
        echoes.push(Echo {
            angle: 0.25,
            intensity: 7,
            ring: 3,
        });
        Scan {
            stamp_ns: 123,
            frame_id: "lidar-ü".try_into().unwrap(),
            ranges,
            echoes,
            grid: [[1, -2], [3, -4]],
            ok: true,
            _reserved: [0; 7],
        }
    }

    #[test]
    fn a_fixed_layout_is_its_own_bytes_after_the_header() {
        let s = TopicSchema::of(<[[f32; 2]; 3]>::SCHEMA);
        let value = [[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let cdr = encode(&s, &bytes_of(&value));
        assert_eq!(&cdr[..4], &HEADER);
        assert_eq!(&cdr[4..], &bytes_of(&value)[..]);
    }

    #[test]
    fn sequences_and_strings_are_cdr_sequences_and_strings() {
        let s = schema::<Scan>();
        let cdr = encode(&s, &bytes_of(&scan()));
        let mut expect = HEADER.to_vec();
        expect.extend_from_slice(&123u64.to_ne_bytes());
        let text = "lidar-ü".as_bytes();
        expect.extend_from_slice(&(text.len() as u32 + 1).to_ne_bytes());
        expect.extend_from_slice(text);
        expect.push(0);
        while !(expect.len() - 4).is_multiple_of(4) {
            expect.push(0);
        }
        expect.extend_from_slice(&3u32.to_ne_bytes());
        for r in [0.5f32, 1.5, 2.5] {
            expect.extend_from_slice(&r.to_ne_bytes());
        }
        expect.extend_from_slice(&1u32.to_ne_bytes());
        expect.extend_from_slice(&0.25f32.to_ne_bytes());
        expect.extend_from_slice(&7u16.to_ne_bytes());
        expect.extend_from_slice(&3u16.to_ne_bytes());
        for g in [1i16, -2, 3, -4] {
            expect.extend_from_slice(&g.to_ne_bytes());
        }
        expect.push(1);
        expect.extend_from_slice(&[0; 7]);
        assert_eq!(cdr, expect);
    }

    #[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Empties {
        id: u64,
        name: BoundedString<8>,
        values: BoundedVec<f64, 2>,
        more: BoundedVec<u64, 2>,
    }

    #[test]
    fn an_empty_sequence_of_8_byte_values_has_no_padding() {
        let s = schema::<Empties>();
        let value = Empties {
            id: 1,
            name: "ab".try_into().unwrap(),
            values: BoundedVec::new(),
            more: BoundedVec::new(),
        };
        let cdr = encode(&s, &bytes_of(&value));
        // id 8, name 4 + 3, pad 1, values' length 4, more's length 4: nothing aligned to 8
        // after an empty sequence.
        assert_eq!(cdr.len(), 4 + 8 + 4 + 3 + 1 + 4 + 4, "{cdr:?}");
        assert_eq!(decode_to_bytes(&s, &cdr).unwrap(), bytes_of(&value));
    }

    #[test]
    fn decoding_gives_back_the_same_bytes() {
        let s = schema::<Scan>();
        let original = bytes_of(&scan());
        let cdr = encode(&s, &original);
        assert_eq!(decode_to_bytes(&s, &cdr).unwrap(), original);
    }

    #[test]
    fn hostile_cdr_is_refused_with_where_and_what() {
        let s = schema::<Scan>();
        let cdr = encode(&s, &bytes_of(&scan()));
        // Cut short anywhere: refused, never a panic.
        for n in 0..cdr.len() {
            assert!(decode(&s, &cdr[..n]).is_err(), "{n} bytes accepted");
        }
        // A sequence length above the capacity.
        let mut bad = cdr.clone();
        let at = 4 + 8 + 4 + "lidar-ü".len() + 1;
        let at = at + (4 - (at - 4) % 4) % 4;
        bad[at..at + 4].copy_from_slice(&1000u32.to_ne_bytes());
        let e = decode(&s, &bad).unwrap_err();
        assert!(e.problem.contains("above the capacity 16"), "{e}");
        // A length the bytes cannot hold allocates nothing.
        let seq = TopicSchema::of(<BoundedVec<u64, 4096>>::SCHEMA);
        let mut huge = HEADER.to_vec();
        huge.extend_from_slice(&4000u32.to_ne_bytes());
        assert!(
            decode(&seq, &huge)
                .unwrap_err()
                .problem
                .contains("left hold")
        );
        // A bool of 2, another encapsulation.
        let b = TopicSchema::of(bool::SCHEMA);
        assert!(
            decode(&b, &[0, 1, 0, 0, 2])
                .unwrap_err()
                .problem
                .contains("a bool of 2")
        );
        assert!(
            decode(&b, &[0, 3, 0, 0, 1])
                .unwrap_err()
                .problem
                .contains("not plain CDR")
        );
    }
}
