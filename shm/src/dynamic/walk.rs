//! The one schema walker of the crate: it turns a value's bytes into something (a [`Value`]
//! tree, JSON, Python objects) and back, for every consumer of untyped values.
//!
//! - Reading: [`decode_with`] walks a schema over a value's bytes and hands each part to a
//!   [`Decode`] (the [`Value`] builder; the Python binding's builds Python objects).
//! - Writing: [`encode_with`] walks a schema and asks a [`Source`] (a [`Value`]; the Python
//!   binding's reads attributes and numpy arrays) for each part, checking every type, range and
//!   length, and names the part that is wrong (`pose.position[2]`).
//!
//! [`Value`]: super::Value

use std::fmt;

use crate::error::{ValueError, ValueErrorKind};
use crate::schema::{BOUNDED_DATA_OFFSET, DescKind, Primitive, SchemaDesc, TopicSchema, length_at};

/// A primitive value, as a [`Source`] gives it: the walker checks it against the schema's type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A float.
    Float(f64),
}

/// Turns the parts of a value into an output, as [`decode_with`] walks them: depth first, in
/// declaration order. A tree builder (the [`Value`](super::Value) builder, the Python binding's) makes each
/// part from its children in [`array`](Decode::array) and [`structure`](Decode::structure); a
/// printer writes as it goes, in the `begin_*` calls and those, with `Out = ()`, so that it
/// holds nothing of the value (a 16 MiB camera frame is printed without building a million
/// numbers first).
pub trait Decode {
    /// What a part becomes.
    type Out;
    /// A primitive (a valid one: `bool`s are 0 or 1).
    fn primitive(&mut self, value: Scalar, kind: Primitive) -> Self::Out;
    /// An array whose elements are primitives, all at once (their bytes, native byte order):
    /// `Some` to take it so (a numpy array, say), `None` to get its elements one by one.
    fn primitive_array(&mut self, _kind: Primitive, _len: u64, _bytes: &[u8]) -> Option<Self::Out> {
        None
    }
    /// A block of primitives as a whole, before anything else is asked of it: an array of
    /// arrays … of a primitive (`shape` its dimensions, outermost first: a `480×640×3` image), or
    /// a bounded sequence of primitives or of such arrays (its current length first). `Some` to
    /// take it so (a printer summarising a large block), `None` (the default) to walk it as
    /// arrays.
    fn primitive_block(
        &mut self,
        _kind: Primitive,
        _shape: &[u64],
        _bytes: &[u8],
    ) -> Option<Self::Out> {
        None
    }
    /// Before an array's elements (after [`primitive_array`](Decode::primitive_array)
    /// declined): how many of its `len` elements to walk, the first ones (default: all; a
    /// printer that cuts long arrays short asks for fewer).
    fn begin_array(&mut self, len: u64) -> u64 {
        len
    }
    /// Before element `index` of an array.
    fn begin_element(&mut self, _index: u64) {}
    /// An array (or a bounded sequence), from the elements walked; `len` is its whole length
    /// (a sequence's current length).
    fn array(&mut self, items: Vec<Self::Out>, len: u64) -> Self::Out;
    /// A bounded string (valid UTF-8, as a subscriber read it; it may hold any character,
    /// escape sequences too: escape it before printing).
    fn string(&mut self, value: &str) -> Self::Out;
    /// Before the fields of a struct named `name` (its schema name).
    fn begin_struct(&mut self, _name: &str) {}
    /// Before field `index`, named `name`, of the struct begun last.
    fn begin_field(&mut self, _index: usize, _name: &str) {}
    /// A struct named `name`, from its fields (in declaration order).
    fn structure(&mut self, name: &str, fields: Vec<(&str, Self::Out)>) -> Self::Out;
}

/// What a [`Source`] says is wrong with a part it was asked for: the walker adds where (the
/// [`ValueError`]'s path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ValueErrorKind,
    /// In words; for [`Source::scalar`], what the part is instead (`the string "x"`), which
    /// the walker puts after "expects f64, got".
    pub text: String,
}

impl Problem {
    /// A problem of `kind`.
    pub fn new(kind: ValueErrorKind, text: impl Into<String>) -> Problem {
        Problem {
            kind,
            text: text.into(),
        }
    }

    /// Another kind of value than the type takes; `text` says what it is (`the string "x"`).
    pub fn wrong_kind(text: impl Into<String>) -> Problem {
        Problem::new(ValueErrorKind::WrongKind, text)
    }
}

/// The parts of a value to write, as [`encode_with`] asks for them.
pub trait Source: Sized {
    /// Its value as a primitive; or what it is instead, which the walker puts after
    /// "expects f64, got": another kind of value ([`Problem::wrong_kind`], `the string "x"`),
    /// or a number out of every primitive's range ([`ValueErrorKind::OutOfRange`], `the int
    /// 2**70 (beyond 64 bits)`).
    fn scalar(&self) -> Result<Scalar, Problem>;
    /// Its elements, for an array of `len`: `Ok(None)` if it is not a sequence (then it is
    /// refused), an error if it is but its length is not `len`.
    fn elements(&self, len: u64) -> Result<Option<Vec<Self>>, Problem>;
    /// Writes an array of primitives at once from its own bytes (a numpy array, a buffer), if
    /// it can: `true` if it did. `shape` gives the array's dimensions, outermost first (an
    /// array of arrays of a primitive is asked as a whole first: a `480×640×3` image is one
    /// copy). Its bytes must then be exactly `out`'s length and valid for `kind` (the walker
    /// checks `bool`s afterwards).
    fn primitive_array(
        &self,
        _kind: Primitive,
        _shape: &[u64],
        _out: &mut [u8],
    ) -> Result<bool, Problem> {
        Ok(false)
    }
    /// Its elements, for a bounded sequence of at most `cap`: `Ok(None)` if it is not a
    /// sequence (then it is refused). The walker refuses more than `cap`.
    fn sequence(&self, cap: u64) -> Result<Option<Vec<Self>>, Problem>;
    /// Writes a bounded sequence of primitives at once from its own bytes (a numpy array), if
    /// it can: `Some(length)` if it did. `room` is the sequence's room for `cap` elements; the
    /// walker refuses more than `cap` (it needs no more than the source's length to say so)
    /// and checks `bool`s afterwards.
    fn primitive_sequence(
        &self,
        _kind: Primitive,
        _cap: u64,
        _room: &mut [u8],
    ) -> Result<Option<u64>, Problem> {
        Ok(None)
    }
    /// Its text, for a bounded string: `Ok(None)` if it is not a string (then it is refused).
    fn string(&self) -> Result<Option<String>, Problem>;
    /// Its field `name` (`Ok(None)` if it has none), for a struct of schema `desc`; an error if
    /// it is not a struct.
    fn field(&self, desc: &SchemaDesc, name: &str) -> Result<Option<Self>, Problem>;
    /// Names of fields it has that `desc` does not (refused, so a typo is not ignored).
    fn unknown_fields(&self, desc: &SchemaDesc) -> Vec<String>;
    /// Whether a field it leaves out is zeros (`true`: the tool's JSON and Python's dicts, as a
    /// Python message's constructor zero-fills the fields it is not given) or refused as
    /// missing (`false`, the default: a [`Value`](super::Value) built by code).
    fn omitted_fields_are_zero(&self) -> bool {
        false
    }
}

/// Walks `schema` over `bytes` (one value, as a subscriber read it: `bool`s valid) and builds
/// the output of `d`.
///
/// # Panics
/// If `bytes` is shorter than the schema's size.
pub fn decode_with<D: Decode>(schema: &TopicSchema, bytes: &[u8], d: &mut D) -> D::Out {
    decode_part_with(schema.desc(), bytes, d)
}

/// [`decode_with`] for a part of a value: `desc` is the part's schema (a field's, an element's,
/// as [`SchemaDesc::locate`] finds it) and `bytes` its bytes, taken from a valid value.
///
/// # Panics
/// If `bytes` is shorter than `desc`'s size.
pub fn decode_part_with<D: Decode>(desc: &SchemaDesc, bytes: &[u8], d: &mut D) -> D::Out {
    assert!(bytes.len() as u64 >= desc.size, "a whole value's bytes");
    decode_node(desc, bytes, d)
}

fn decode_node<D: Decode>(desc: &SchemaDesc, bytes: &[u8], d: &mut D) -> D::Out {
    match &desc.kind {
        DescKind::Primitive(p) => d.primitive(read_scalar(*p, bytes), *p),
        DescKind::Array { elem, len } => {
            if let Some((p, shape)) = tensor(desc)
                && let Some(out) = d.primitive_block(p, &shape, &bytes[..desc.size as usize])
            {
                return out;
            }
            decode_items(elem, *len, bytes, d)
        }
        DescKind::Sequence { elem, cap } => {
            let len = length_at(bytes, 0).min(*cap);
            let data = &bytes[BOUNDED_DATA_OFFSET as usize..];
            let inner = match elem.kind {
                DescKind::Primitive(p) => Some((p, Vec::new())),
                _ => tensor(elem),
            };
            if let Some((p, inner)) = inner {
                let shape: Vec<u64> = std::iter::once(len).chain(inner).collect();
                if let Some(out) = d.primitive_block(p, &shape, &data[..(elem.size * len) as usize])
                {
                    return out;
                }
            }
            decode_items(elem, len, data, d)
        }
        DescKind::String { cap } => {
            let len = length_at(bytes, 0).min(*cap) as usize;
            let text = &bytes[BOUNDED_DATA_OFFSET as usize..][..len];
            // Valid in a value a subscriber read (checked); a part taken from elsewhere shows
            // its valid start.
            let text = match std::str::from_utf8(text) {
                Ok(t) => t,
                Err(e) => std::str::from_utf8(&text[..e.valid_up_to()]).unwrap_or_default(),
            };
            d.string(text)
        }
        DescKind::Struct(fields) => {
            d.begin_struct(&desc.name);
            let out = fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    d.begin_field(i, &f.name);
                    let at = f.offset as usize;
                    (f.name.as_str(), decode_node(&f.ty, &bytes[at..], d))
                })
                .collect();
            d.structure(&desc.name, out)
        }
    }
}

/// The `len` elements of `elem` at the start of `bytes` (an array's, or a bounded sequence's
/// filled part): all at once if they are primitives and `d` takes them so, else one by one.
fn decode_items<D: Decode>(elem: &SchemaDesc, len: u64, bytes: &[u8], d: &mut D) -> D::Out {
    if let DescKind::Primitive(p) = elem.kind
        && let Some(out) = d.primitive_array(p, len, &bytes[..(elem.size * len) as usize])
    {
        return out;
    }
    let walked = d.begin_array(len).min(len);
    let size = elem.size as usize;
    let items = (0..walked)
        .map(|i| {
            d.begin_element(i);
            decode_node(elem, &bytes[i as usize * size..], d)
        })
        .collect();
    d.array(items, len)
}

/// One primitive of kind `p` from its bytes (native byte order), as [`decode_with`] gives it to
/// `d` when it walks a value: for a caller that reads one primitive part of a value at a known
/// place (a message field), without walking the rest.
pub fn decode_primitive<D: Decode>(p: Primitive, bytes: &[u8], d: &mut D) -> D::Out {
    d.primitive(read_scalar(p, bytes), p)
}

/// Writes `src`'s scalar as a primitive of kind `p` at the start of `out` (at least
/// `p.size()` bytes), checked as [`encode_with`] checks a primitive part of a value; the error
/// names no path (the caller knows which part it wrote).
pub fn encode_primitive<S: Source>(
    p: Primitive,
    src: &S,
    out: &mut [u8],
) -> Result<(), ValueError> {
    encode_primitive_at(p, src, out, "")
}

fn encode_primitive_at<S: Source>(
    p: Primitive,
    src: &S,
    out: &mut [u8],
    path: &str,
) -> Result<(), ValueError> {
    let value = src.scalar().map_err(|got| {
        let problem = format!("expects {}, got {}", p.name(), got.text);
        ValueError::new(path, got.kind, problem)
    })?;
    write_scalar(p, value, out).map_err(|why| problem_at(path, why))
}

/// A primitive's value from its bytes (native byte order).
pub(super) fn read_scalar(p: Primitive, b: &[u8]) -> Scalar {
    fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&b[..N]);
        a
    }
    match p {
        Primitive::Bool => Scalar::Bool(b[0] != 0),
        Primitive::I8 => Scalar::Int(i64::from(b[0] as i8)),
        Primitive::I16 => Scalar::Int(i64::from(i16::from_ne_bytes(arr(b)))),
        Primitive::I32 => Scalar::Int(i64::from(i32::from_ne_bytes(arr(b)))),
        Primitive::I64 => Scalar::Int(i64::from_ne_bytes(arr(b))),
        Primitive::U8 => Scalar::UInt(u64::from(b[0])),
        Primitive::U16 => Scalar::UInt(u64::from(u16::from_ne_bytes(arr(b)))),
        Primitive::U32 => Scalar::UInt(u64::from(u32::from_ne_bytes(arr(b)))),
        Primitive::U64 => Scalar::UInt(u64::from_ne_bytes(arr(b))),
        Primitive::F32 => Scalar::Float(f64::from(f32::from_ne_bytes(arr(b)))),
        Primitive::F64 => Scalar::Float(f64::from_ne_bytes(arr(b))),
    }
}

/// Walks `schema` and writes the value `src` describes, checked part by part: every primitive's
/// type and range, every array's length, every struct's fields (none missing, none unknown).
/// The error names the part (`pose.position[2]`) and what is wrong with it.
pub fn encode_with<S: Source>(schema: &TopicSchema, src: &S) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::new();
    out.try_reserve_exact(schema.size()).map_err(|_| {
        ValueError::new(
            "",
            ValueErrorKind::TooLarge,
            format!("cannot allocate {} bytes for the value", schema.size()),
        )
    })?;
    out.resize(schema.size(), 0);
    encode_node(schema.desc(), src, &mut out, &mut String::new())?;
    schema.validate(&out)?;
    Ok(out)
}

fn encode_node<S: Source>(
    desc: &SchemaDesc,
    src: &S,
    out: &mut [u8],
    path: &mut String,
) -> Result<(), ValueError> {
    match &desc.kind {
        DescKind::Primitive(p) => encode_primitive_at(*p, src, out, path),
        DescKind::Array { elem, len } => {
            if let Some((p, shape)) = tensor(desc) {
                let bytes = &mut out[..desc.size as usize];
                if src
                    .primitive_array(p, &shape, bytes)
                    .map_err(|why| problem_at(path, why))?
                {
                    return Ok(());
                }
            }
            let items = src
                .elements(*len)
                .map_err(|why| problem_at(path, why))?
                .ok_or_else(|| {
                    ValueError::new(
                        path.as_str(),
                        ValueErrorKind::WrongKind,
                        format!("expects an array of {len} {}", elem.type_name()),
                    )
                })?;
            encode_items(elem, &items, out, path)
        }
        DescKind::Sequence { elem, cap } => {
            let (head, room) = out[..desc.size as usize].split_at_mut(BOUNDED_DATA_OFFSET as usize);
            let too_long = |n: u64| {
                ValueError::new(
                    path.as_str(),
                    ValueErrorKind::Length,
                    format!(
                        "has {n} elements, more than its capacity {cap} (a {})",
                        desc.type_name()
                    ),
                )
            };
            if let DescKind::Primitive(p) = elem.kind
                && let Some(n) = src
                    .primitive_sequence(p, *cap, room)
                    .map_err(|why| problem_at(path, why))?
            {
                if n > *cap {
                    return Err(too_long(n));
                }
                head.copy_from_slice(&n.to_ne_bytes());
                return Ok(());
            }
            let items = src
                .sequence(*cap)
                .map_err(|mut why| {
                    if why.kind == ValueErrorKind::Length {
                        why.text = format!("{} (a {})", why.text, desc.type_name());
                    }
                    problem_at(path, why)
                })?
                .ok_or_else(|| {
                    ValueError::new(
                        path.as_str(),
                        ValueErrorKind::WrongKind,
                        format!("expects a sequence of at most {cap} {}", elem.type_name()),
                    )
                })?;
            if items.len() as u64 > *cap {
                return Err(too_long(items.len() as u64));
            }
            encode_items(elem, &items, room, path)?;
            head.copy_from_slice(&(items.len() as u64).to_ne_bytes());
            Ok(())
        }
        DescKind::String { cap } => {
            let text = src
                .string()
                .map_err(|why| problem_at(path, why))?
                .ok_or_else(|| {
                    let got = match src.scalar() {
                        Ok(s) => describe(s),
                        Err(p) => p.text,
                    };
                    ValueError::new(
                        path.as_str(),
                        ValueErrorKind::WrongKind,
                        format!("expects a string of at most {cap} bytes, got {got}"),
                    )
                })?;
            if text.len() as u64 > *cap {
                return Err(ValueError::new(
                    path.as_str(),
                    ValueErrorKind::Length,
                    format!(
                        "is {} bytes of UTF-8, more than its capacity {cap} (a {})",
                        text.len(),
                        desc.type_name()
                    ),
                ));
            }
            let (head, room) = out.split_at_mut(BOUNDED_DATA_OFFSET as usize);
            head[..8].copy_from_slice(&(text.len() as u64).to_ne_bytes());
            room[..text.len()].copy_from_slice(text.as_bytes());
            Ok(())
        }
        DescKind::Struct(fields) => {
            if let Some(extra) = src.unknown_fields(desc).first() {
                return Err(ValueError::new(
                    path.as_str(),
                    ValueErrorKind::UnknownField,
                    format!("`{}` has no field `{extra}`", desc.name),
                ));
            }
            let at = path.len();
            for f in fields {
                // A value that is no struct at all is wrong as a whole: its error names the
                // value (or the struct's own path), not the field asked for first.
                let part = src
                    .field(desc, &f.name)
                    .map_err(|why| problem_at(path, why))?;
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&f.name);
                match part {
                    Some(part) => encode_node(&f.ty, &part, &mut out[f.offset as usize..], path)?,
                    // `out` starts zeroed (`encode_with`), and a value's room is written only
                    // once: the field stays zeros.
                    None if src.omitted_fields_are_zero() => {}
                    None => {
                        return Err(ValueError::new(
                            path.as_str(),
                            ValueErrorKind::MissingField,
                            format!("is missing (a {} of `{}`)", f.ty.type_name(), desc.name),
                        ));
                    }
                }
                path.truncate(at);
            }
            Ok(())
        }
    }
}

/// Writes `items`, elements of `elem`, one after the other from the start of `out`, each
/// named by its index after `path`.
fn encode_items<S: Source>(
    elem: &SchemaDesc,
    items: &[S],
    out: &mut [u8],
    path: &mut String,
) -> Result<(), ValueError> {
    let size = elem.size as usize;
    let at = path.len();
    for (i, item) in items.iter().enumerate() {
        path.push_str(&format!("[{i}]"));
        encode_node(elem, item, &mut out[i * size..], path)?;
        path.truncate(at);
    }
    Ok(())
}

fn problem_at(path: &str, problem: Problem) -> ValueError {
    ValueError::new(path, problem.kind, problem.text)
}

/// For an array of a primitive, of one or more dimensions (`[[u8; 3]; 640]`): the primitive
/// and the dimensions, outermost first.
fn tensor(desc: &SchemaDesc) -> Option<(Primitive, Vec<u64>)> {
    let mut shape = Vec::new();
    let mut inner = desc;
    while let DescKind::Array { elem, len } = &inner.kind {
        shape.push(*len);
        inner = elem;
    }
    match inner.kind {
        DescKind::Primitive(p) if !shape.is_empty() => Some((p, shape)),
        _ => None,
    }
}

/// Writes `value` as a `p`, exactly, or says why it does not fit.
fn write_scalar(p: Primitive, value: Scalar, out: &mut [u8]) -> Result<(), Problem> {
    let wrong = |text: String| Problem::new(ValueErrorKind::WrongKind, text);
    macro_rules! int {
        ($t:ty) => {{
            let v: $t = match value {
                Scalar::Int(i) => <$t>::try_from(i).map_err(|_| out_of_range(p, i))?,
                Scalar::UInt(u) => <$t>::try_from(u).map_err(|_| out_of_range(p, u))?,
                Scalar::Bool(_) => return Err(wrong(format!("expects {}, got a bool", p.name()))),
                Scalar::Float(f) => {
                    return Err(wrong(format!(
                        "expects {}, got the float {f:?} (integers are never rounded)",
                        p.name()
                    )));
                }
            };
            out[..size_of::<$t>()].copy_from_slice(&v.to_ne_bytes());
        }};
    }
    match p {
        Primitive::Bool => match value {
            Scalar::Bool(b) => out[0] = u8::from(b),
            other => return Err(wrong(format!("expects a bool, got {}", describe(other)))),
        },
        Primitive::I8 => int!(i8),
        Primitive::I16 => int!(i16),
        Primitive::I32 => int!(i32),
        Primitive::I64 => int!(i64),
        Primitive::U8 => int!(u8),
        Primitive::U16 => int!(u16),
        Primitive::U32 => int!(u32),
        Primitive::U64 => int!(u64),
        Primitive::F32 | Primitive::F64 => {
            // An integer is taken only if the float holds it exactly (never rounded).
            let exact = |f: f64, ok: bool, shown: String| {
                let fits = if p == Primitive::F32 {
                    ok && f64::from(f as f32) == f
                } else {
                    ok
                };
                if fits {
                    Ok(f)
                } else {
                    Err(Problem::new(
                        ValueErrorKind::NotExact,
                        format!("the integer {shown} is not exactly a {}", p.name()),
                    ))
                }
            };
            let f = match value {
                Scalar::Float(f) => f,
                Scalar::Int(i) => {
                    exact(i as f64, (i as f64) as i128 == i128::from(i), i.to_string())?
                }
                Scalar::UInt(u) => {
                    exact(u as f64, (u as f64) as u128 == u128::from(u), u.to_string())?
                }
                Scalar::Bool(_) => return Err(wrong(format!("expects {}, got a bool", p.name()))),
            };
            if p == Primitive::F32 {
                let g = f as f32;
                if f.is_finite() && g.is_infinite() {
                    return Err(out_of_range(p, format!("{f:?}")));
                }
                out[..4].copy_from_slice(&g.to_ne_bytes());
            } else {
                out[..8].copy_from_slice(&f.to_ne_bytes());
            }
        }
    }
    Ok(())
}

fn out_of_range(p: Primitive, v: impl fmt::Display) -> Problem {
    Problem::new(
        ValueErrorKind::OutOfRange,
        format!("{v} is out of range for {}", p.name()),
    )
}

fn describe(s: Scalar) -> String {
    match s {
        Scalar::Bool(b) => format!("the bool {b}"),
        Scalar::Int(i) => format!("the integer {i}"),
        Scalar::UInt(u) => format!("the integer {u}"),
        Scalar::Float(f) => format!("the float {f:?}"),
    }
}
