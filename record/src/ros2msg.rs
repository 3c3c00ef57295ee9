//! ROS 2 message definitions (the `ros2msg` schema encoding of MCAP, as rosbag2 writes them)
//! for any topic's schema, so that Foxglove and the ROS 2 tools decode recorded values.
//!
//! The mapping (documented in the guide):
//! - a struct is a message `shm_msgs/msg/<Name>`, its fields in order; nested structs follow
//!   the main definition, each after a line of 80 `=` and `MSG: shm_msgs/<Name>`, as rosbag2
//!   concatenates dependencies;
//! - primitives map to `bool`, `int8` … `uint64`, `float32`, `float64`; a topic of one
//!   primitive or a bounded string is the matching `std_msgs/msg/*` message (`data` field);
//! - a fixed array of any number of dimensions is one flat array of its elements, row-major
//!   (`float32[3][2]` is `float32[6]`: the same CDR bytes); a bounded sequence is `T[<=N]`, a
//!   bounded string `string<=N`; where ROS 2 cannot nest (an array of sequences, a sequence of
//!   arrays or of sequences), the inner part becomes a message of one field `data`
//!   (`shm_msgs/<Outer>Item<k>`), which CDR encodes with the same bytes;
//! - a topic of an array or a sequence is a message `shm_msgs/msg/<Name>` with one field
//!   `data`;
//! - names ROS 2 does not allow are changed: field names lower-cased, characters other than
//!   letters, digits and `_` and leading or doubled `_` dropped (`_reserved` is `reserved`), a
//!   name starting with a digit prefixed `f`, clashes numbered (`reserved_2`); type names keep
//!   their letters and digits, capitalised. The exact schema goes along in the channel
//!   metadata, so replay never depends on these names.

use std::collections::BTreeMap;
use std::fmt;

use shm::schema::{DescKind, Primitive, SchemaDesc, room_for};

use crate::bag::shown;

/// The package of the message types made for shm schemas.
pub const PACKAGE: &str = "shm_msgs";

/// What separates the definitions of a message's dependencies, as rosbag2 writes it.
pub const SEPARATOR: &str =
    "================================================================================";

/// A message definition: its name (`shm_msgs/msg/Pose`) and its text (the `.msg` definition,
/// then each dependency's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// The message type's name, as an MCAP schema record names it.
    pub name: String,
    /// The `ros2msg` text.
    pub text: String,
}

/// A schema with no ROS 2 form (too deep a nesting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError(String);

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no ROS 2 message definition for this type: {}", self.0)
    }
}

impl std::error::Error for MapError {}

/// How deep types may nest (a schema from a file is hostile: its depth is bounded here too).
const MAX_DEPTH: usize = 64;

/// The ROS 2 message definition of values of `desc`.
pub fn definition(desc: &SchemaDesc) -> Result<Definition, MapError> {
    check(desc, 0)?;
    let mut defs = Definitions::default();
    match &desc.kind {
        DescKind::Primitive(p) => Ok(Definition {
            name: format!("std_msgs/msg/{}", std_name(*p)),
            text: format!("{} data\n", ros_primitive(*p)),
        }),
        DescKind::String { .. } => Ok(Definition {
            name: "std_msgs/msg/String".to_owned(),
            text: "string data\n".to_owned(),
        }),
        DescKind::Struct(_) => {
            let name = type_name_of(&desc.name);
            // Reserved: a nested type of the same name but other fields is numbered.
            defs.texts.insert(name.clone(), String::from("\0"));
            let text = defs.struct_text(desc, 0)?;
            Ok(defs.finish(format!("{PACKAGE}/msg/{name}"), text))
        }
        DescKind::Array { .. } | DescKind::Sequence { .. } => {
            let name = wrapper_name(desc);
            let ty = defs.field_type(desc, &name, 0)?;
            Ok(defs.finish(format!("{PACKAGE}/msg/{name}"), format!("{ty} data\n")))
        }
    }
}

/// Refuses what ROS 2 has no form for: parts of no size (an empty struct, an array of none,
/// whose elements a reader could not count either) and bounds of 0.
fn check(desc: &SchemaDesc, depth: usize) -> Result<(), MapError> {
    if depth > MAX_DEPTH {
        return Err(MapError(format!("types nest deeper than {MAX_DEPTH}")));
    }
    match &desc.kind {
        DescKind::Primitive(_) => Ok(()),
        DescKind::String { cap } if *cap == 0 => Err(MapError("a string of capacity 0".to_owned())),
        DescKind::String { .. } => Ok(()),
        DescKind::Struct(fields) if fields.is_empty() || desc.size == 0 => {
            Err(MapError(format!("`{}` has no fields", desc.name)))
        }
        DescKind::Struct(fields) => fields.iter().try_for_each(|f| check(&f.ty, depth + 1)),
        DescKind::Array { len, .. } if *len == 0 => {
            Err(MapError("an array of length 0".to_owned()))
        }
        DescKind::Sequence { cap, .. } if *cap == 0 => {
            Err(MapError("a sequence of capacity 0".to_owned()))
        }
        DescKind::Array { elem, .. } | DescKind::Sequence { elem, .. } => check(elem, depth + 1),
    }
}

/// The ROS 2 name of a primitive.
pub fn ros_primitive(p: Primitive) -> &'static str {
    match p {
        Primitive::Bool => "bool",
        Primitive::I8 => "int8",
        Primitive::I16 => "int16",
        Primitive::I32 => "int32",
        Primitive::I64 => "int64",
        Primitive::U8 => "uint8",
        Primitive::U16 => "uint16",
        Primitive::U32 => "uint32",
        Primitive::U64 => "uint64",
        Primitive::F32 => "float32",
        Primitive::F64 => "float64",
    }
}

/// The `std_msgs` message of one primitive.
fn std_name(p: Primitive) -> &'static str {
    match p {
        Primitive::Bool => "Bool",
        Primitive::I8 => "Int8",
        Primitive::I16 => "Int16",
        Primitive::I32 => "Int32",
        Primitive::I64 => "Int64",
        Primitive::U8 => "UInt8",
        Primitive::U16 => "UInt16",
        Primitive::U32 => "UInt32",
        Primitive::U64 => "UInt64",
        Primitive::F32 => "Float32",
        Primitive::F64 => "Float64",
    }
}

/// A type name for a topic of an array or a sequence (`F64x3`, `SeqF32Max4096`).
fn wrapper_name(desc: &SchemaDesc) -> String {
    fn part(desc: &SchemaDesc, depth: usize) -> String {
        if depth > MAX_DEPTH {
            return "Deep".to_owned();
        }
        match &desc.kind {
            DescKind::Primitive(p) => {
                let name = p.name();
                let mut c = name.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
            DescKind::Struct(_) => type_name_of(&desc.name),
            DescKind::String { cap } => format!("StringMax{cap}"),
            DescKind::Array { elem, len } => format!("{}x{len}", part(elem, depth + 1)),
            DescKind::Sequence { elem, cap } => format!("Seq{}Max{cap}", part(elem, depth + 1)),
        }
    }
    part(desc, 0)
}

/// A ROS 2 type name for a schema name: its letters and digits, capitalised.
fn type_name_of(name: &str) -> String {
    let kept: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    let mut chars = kept.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => c.to_ascii_uppercase().to_string() + chars.as_str(),
        Some(_) => format!("T{kept}"),
        None => "Unnamed".to_owned(),
    }
}

/// A ROS 2 field name for `name` (lower case, letters, digits and single `_`, starting with a
/// letter, not ending with `_`), not one of `taken`.
pub fn field_name(name: &str, taken: &[String]) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert(0, 'f');
    }
    if !taken.contains(&out) {
        return out;
    }
    (2..)
        .map(|n| format!("{out}_{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(out)
}

/// The dependencies of a definition, in the order they are first used.
#[derive(Default)]
struct Definitions {
    /// Name → text, for the types defined so far.
    texts: BTreeMap<String, String>,
    /// Names in the order they were defined.
    order: Vec<String>,
}

impl Definitions {
    /// Registers a message named `name` with `text`; two different types of one name get
    /// numbered names (`Point`, `Point2`). Returns the name used.
    fn define(&mut self, name: String, text: String) -> String {
        let mut candidate = name.clone();
        let mut n = 2;
        loop {
            match self.texts.get(&candidate) {
                None => {
                    self.texts.insert(candidate.clone(), text);
                    self.order.push(candidate.clone());
                    return candidate;
                }
                Some(existing) if *existing == text => return candidate,
                Some(_) => {
                    candidate = format!("{name}{n}");
                    n += 1;
                }
            }
        }
    }

    /// The `.msg` text of struct `desc`: one line per field.
    fn struct_text(&mut self, desc: &SchemaDesc, depth: usize) -> Result<String, MapError> {
        if depth > MAX_DEPTH {
            return Err(MapError(format!("types nest deeper than {MAX_DEPTH}")));
        }
        let DescKind::Struct(fields) = &desc.kind else {
            return Err(MapError(format!("`{}` is not a struct", desc.name)));
        };
        let outer = type_name_of(&desc.name);
        let mut taken = Vec::new();
        let mut text = String::new();
        for field in fields {
            let name = field_name(&field.name, &taken);
            let ty = self.field_type(
                &field.ty,
                &format!("{outer}{}", type_name_of(&name)),
                depth + 1,
            )?;
            text.push_str(&format!("{ty} {name}\n"));
            taken.push(name);
        }
        Ok(text)
    }

    /// The type of a field of `desc` as a `.msg` line writes it (`float64[3]`,
    /// `shm_msgs/Point[<=8]`); `context` names wrappers made for it.
    fn field_type(
        &mut self,
        desc: &SchemaDesc,
        context: &str,
        depth: usize,
    ) -> Result<String, MapError> {
        if depth > MAX_DEPTH {
            return Err(MapError(format!("types nest deeper than {MAX_DEPTH}")));
        }
        Ok(match &desc.kind {
            DescKind::Primitive(p) => ros_primitive(*p).to_owned(),
            DescKind::String { cap } => format!("string<={cap}"),
            DescKind::Struct(_) => {
                let text = self.struct_text(desc, depth + 1)?;
                let name = self.define(type_name_of(&desc.name), text);
                format!("{PACKAGE}/{name}")
            }
            DescKind::Array { .. } => {
                // Every dimension flattened: the elements in row-major order.
                let (base, total) = flatten(desc);
                match base.kind {
                    DescKind::Sequence { .. } => {
                        let wrapper = self.wrapper(base, context, depth)?;
                        format!("{wrapper}[{total}]")
                    }
                    _ => format!("{}[{total}]", self.field_type(base, context, depth + 1)?),
                }
            }
            DescKind::Sequence { elem, cap } => match elem.kind {
                DescKind::Array { .. } | DescKind::Sequence { .. } => {
                    let wrapper = self.wrapper(elem, context, depth)?;
                    format!("{wrapper}[<={cap}]")
                }
                _ => format!("{}[<={cap}]", self.field_type(elem, context, depth + 1)?),
            },
        })
    }

    /// A message of one field `data` of type `inner`, for a nesting ROS 2 has no form for.
    fn wrapper(
        &mut self,
        inner: &SchemaDesc,
        context: &str,
        depth: usize,
    ) -> Result<String, MapError> {
        let ty = self.field_type(inner, &format!("{context}Item"), depth + 1)?;
        let name = self.define(format!("{context}Item"), format!("{ty} data\n"));
        Ok(format!("{PACKAGE}/{name}"))
    }

    /// The whole text: the main definition, then each dependency's.
    fn finish(self, name: String, main: String) -> Definition {
        let mut text = main;
        // (A reserved main name is not in `order`.)
        for dep in &self.order {
            text.push_str(SEPARATOR);
            text.push_str(&format!("\nMSG: {PACKAGE}/{dep}\n"));
            text.push_str(&self.texts[dep]);
        }
        Definition { name, text }
    }
}

/// The innermost non-array part of an array, and how many of it the array holds.
fn flatten(desc: &SchemaDesc) -> (&SchemaDesc, u64) {
    let mut total = 1u64;
    let mut d = desc;
    while let DescKind::Array { elem, len } = &d.kind {
        total = total.saturating_mul(*len);
        d = elem;
    }
    (d, total)
}

/// Most definitions (a message and its dependencies) and fields one text may hold: a schema
/// from a file is hostile, the work it causes is bounded.
const MAX_PARSED_TYPES: usize = 1024;
/// Most fields a parsed type may have in all (nested types counted at each use).
const MAX_PARSED_FIELDS: usize = 4096;

/// The shm schema of values a ROS 2 message definition (`ros2msg`, as rosbag2 and Foxglove
/// write it: the message's `.msg` text, then each dependency after a line of `=` and
/// `MSG: pkg/Type`) describes, so that CDR messages of other tools' files can be played onto
/// topics. The mapping is the inverse of [`definition`]'s:
/// - `bool`, `byte`/`char`/`uint8` … `float64` are primitives (`byte` and `char` are `u8`);
/// - `T[N]` is an array, `T[<=N]` a bounded sequence and `string<=N` a bounded string, their
///   capacity rounded up to fill whole 8-byte words (`float32[<=3]` holds 4) as ours must;
/// - a message is a struct named by its last part (`geometry_msgs/msg/Pose` is `Pose`), its
///   fields in order, refused if C would lay it out with padding (as a derive refuses it);
/// - `std_msgs/msg/Bool` … `Float64` and `String`-like messages of one `data` field are the
///   scalar (or string) itself, what shm records scalar topics as;
/// - constants are left out (they are no part of a value).
///
/// Unbounded strings and sequences (`string`, `T[]`), `wstring` and unknown types have no shm
/// form: the error names the field.
pub fn parse(name: &str, text: &str) -> Result<SchemaDesc, MapError> {
    let mut sections: BTreeMap<String, &str> = BTreeMap::new();
    let mut main = None;
    let mut rest = text;
    loop {
        let (body, next) = split_section(rest);
        match main {
            None => main = Some(body),
            Some(_) => {
                let (header, body) = body.split_once('\n').unwrap_or((body, ""));
                let Some(ty) = header.trim().strip_prefix("MSG:") else {
                    return Err(MapError(format!(
                        "a dependency without its `MSG: ` line: `{}`",
                        shown(header)
                    )));
                };
                if sections.len() >= MAX_PARSED_TYPES {
                    return Err(MapError(format!(
                        "more than {MAX_PARSED_TYPES} dependencies"
                    )));
                }
                sections.insert(normal_type(ty.trim()), body);
            }
        }
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    let mut parser = Parser {
        sections,
        fields: 0,
        done: BTreeMap::new(),
    };
    let name = normal_type(name);
    let desc = parser.message(&name, main.unwrap_or(""), 0)?;
    Ok(std_scalar(&name, desc))
}

/// The text up to the next separator line (a line of `=` only), and what follows it.
fn split_section(text: &str) -> (&str, Option<&str>) {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.len() >= 3 && t.bytes().all(|b| b == b'=') {
            return (&text[..at], Some(&text[at + line.len()..]));
        }
        at += line.len();
    }
    (text, None)
}

/// `pkg/msg/Type` and `pkg/Type` as one name (`pkg/Type`).
fn normal_type(name: &str) -> String {
    match name.split('/').collect::<Vec<_>>()[..] {
        [pkg, "msg", ty] => format!("{pkg}/{ty}"),
        _ => name.to_owned(),
    }
}

/// A `std_msgs` message of one `data` field of a primitive or a string is that primitive or
/// string (how shm records a scalar topic).
fn std_scalar(name: &str, desc: SchemaDesc) -> SchemaDesc {
    if let (Some(_), DescKind::Struct(fields)) = (name.strip_prefix("std_msgs/"), &desc.kind)
        && let [f] = &fields[..]
        && f.name == "data"
        && matches!(f.ty.kind, DescKind::Primitive(_) | DescKind::String { .. })
    {
        return f.ty.clone();
    }
    desc
}

struct Parser<'t> {
    /// Dependencies' texts by `pkg/Type`.
    sections: BTreeMap<String, &'t str>,
    /// Fields made so far, nested types counted at each use (bounded).
    fields: usize,
    /// The types parsed so far, each parsed once however often it is used.
    done: BTreeMap<String, SchemaDesc>,
}

/// How many fields a type has in all, nested ones included.
fn field_count(desc: &SchemaDesc) -> usize {
    match &desc.kind {
        DescKind::Struct(fields) => fields.iter().map(|f| 1 + field_count(&f.ty)).sum(),
        DescKind::Array { elem, .. } | DescKind::Sequence { elem, .. } => field_count(elem),
        DescKind::Primitive(_) | DescKind::String { .. } => 0,
    }
}

impl Parser<'_> {
    /// The struct `name` (`pkg/Type`) whose definition is `text`.
    fn message(&mut self, name: &str, text: &str, depth: usize) -> Result<SchemaDesc, MapError> {
        if depth > MAX_DEPTH {
            return Err(MapError(format!("types nest deeper than {MAX_DEPTH}")));
        }
        let package = name.split('/').next().unwrap_or("");
        let mut fields = Vec::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(ty), Some(field)) = (words.next(), words.next()) else {
                return Err(MapError(format!("`{}` is not a field", shown(line))));
            };
            // A constant (`int32 MAX=10`, `int32 MAX = 10`) is no part of a value.
            if field.contains('=') || words.next().is_some_and(|w| w.starts_with('=')) {
                continue;
            }
            self.fields += 1;
            if self.fields > MAX_PARSED_FIELDS {
                return Err(MapError(format!("more than {MAX_PARSED_FIELDS} fields")));
            }
            let desc = self
                .field_type(ty, package, depth)
                .map_err(|e| MapError(format!("field `{}` of {name}: {}", shown(field), e.0)))?;
            fields.push((field.to_owned(), desc));
        }
        let short = name.rsplit('/').next().unwrap_or(name);
        let desc = SchemaDesc::c_struct(short, fields)
            .map_err(|e| MapError(crate::shown_at_most(&e.to_string(), crate::REASON_CHARS)))?;
        check_size(desc)
    }

    /// The type of a field written `ty` in a message of `package`.
    fn field_type(
        &mut self,
        ty: &str,
        package: &str,
        depth: usize,
    ) -> Result<SchemaDesc, MapError> {
        if depth > MAX_DEPTH {
            return Err(MapError(format!("types nest deeper than {MAX_DEPTH}")));
        }
        if let Some((elem, bound)) = ty.strip_suffix(']').and_then(|t| t.rsplit_once('[')) {
            let elem = self.field_type(elem, package, depth + 1)?;
            if bound.is_empty() {
                return Err(MapError(format!(
                    "`{}` is an unbounded sequence; shm sequences are bounded (`T[<=N]`)",
                    shown(ty)
                )));
            }
            if let Some(cap) = bound.strip_prefix("<=") {
                let cap = number(cap, ty)?;
                let cap = room_for(elem.size, cap);
                return check_size(
                    SchemaDesc::sequence(elem, cap).map_err(|e| MapError(e.to_string()))?,
                );
            }
            return check_size(SchemaDesc::array(elem, number(bound, ty)?));
        }
        if let Some(cap) = ty.strip_prefix("string<=") {
            let cap = room_for(1, number(cap, ty)?);
            return check_size(SchemaDesc::string(cap).map_err(|e| MapError(e.to_string()))?);
        }
        let primitive = match ty {
            "bool" => Some(Primitive::Bool),
            "byte" | "char" | "uint8" => Some(Primitive::U8),
            "int8" => Some(Primitive::I8),
            "int16" => Some(Primitive::I16),
            "uint16" => Some(Primitive::U16),
            "int32" => Some(Primitive::I32),
            "uint32" => Some(Primitive::U32),
            "int64" => Some(Primitive::I64),
            "uint64" => Some(Primitive::U64),
            "float32" => Some(Primitive::F32),
            "float64" => Some(Primitive::F64),
            _ => None,
        };
        if let Some(p) = primitive {
            return Ok(SchemaDesc::primitive(p));
        }
        if ty == "string" || ty.starts_with("wstring") {
            return Err(MapError(format!(
                "`{}` is unbounded; shm strings are bounded (`string<=N`)",
                shown(ty)
            )));
        }
        let full = if ty.contains('/') {
            normal_type(ty)
        } else {
            format!("{package}/{ty}")
        };
        if let Some(done) = self.done.get(&full) {
            self.fields += field_count(done);
            if self.fields > MAX_PARSED_FIELDS {
                return Err(MapError(format!("more than {MAX_PARSED_FIELDS} fields")));
            }
            return Ok(done.clone());
        }
        let Some(text) = self.sections.get(&full).copied() else {
            return Err(MapError(format!(
                "the type `{}` is not defined in the schema",
                shown(ty)
            )));
        };
        let desc = self.message(&full, text, depth + 1)?;
        self.done.insert(full, desc.clone());
        Ok(desc)
    }
}

/// A bound or a length written in a definition.
fn number(text: &str, ty: &str) -> Result<u64, MapError> {
    text.parse().map_err(|_| {
        MapError(format!(
            "`{}`: `{}` is not a length",
            shown(ty),
            shown(text)
        ))
    })
}

/// Refuses a type larger than a topic may carry (a hostile bound).
fn check_size(desc: SchemaDesc) -> Result<SchemaDesc, MapError> {
    if desc.size > shm::schema::MAX_MESSAGE_SIZE {
        return Err(MapError(format!(
            "values of {} bytes, more than a topic carries",
            desc.size
        )));
    }
    Ok(desc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shm::ShmMessage;
    use shm::schema::SchemaDesc;

    fn desc_of<T: ShmMessage>() -> SchemaDesc {
        SchemaDesc::from_schema(T::SCHEMA)
    }

    #[derive(ShmMessage, Clone, Copy)]
    #[repr(C)]
    struct Box2 {
        min: [f32; 2],
        max: [f32; 2],
    }

    #[derive(ShmMessage, Clone, Copy)]
    #[repr(C)]
    struct Detection {
        boxes: [Box2; 2],
        scores: [[f32; 2]; 3],
        label: u16,
        valid: bool,
        _reserved: [u8; 1],
    }

    #[test]
    fn a_struct_is_a_message_with_its_nested_types_after_it() {
        let d = definition(&desc_of::<Detection>()).unwrap();
        assert_eq!(d.name, "shm_msgs/msg/Detection");
        assert_eq!(
            d.text,
            format!(
                "shm_msgs/Box2[2] boxes\nfloat32[6] scores\nuint16 label\nbool valid\nuint8[1] reserved\n{SEPARATOR}\nMSG: shm_msgs/Box2\nfloat32[2] min\nfloat32[2] max\n"
            )
        );
    }

    #[test]
    fn scalar_topics_are_std_msgs() {
        let d = definition(&SchemaDesc::primitive(Primitive::F64)).unwrap();
        assert_eq!(
            (d.name.as_str(), d.text.as_str()),
            ("std_msgs/msg/Float64", "float64 data\n")
        );
        let d = definition(&SchemaDesc::string(16).unwrap()).unwrap();
        assert_eq!(d.name, "std_msgs/msg/String");
    }

    #[test]
    fn sequences_strings_and_nestings_ros_cannot_write() {
        let seq = SchemaDesc::sequence(SchemaDesc::primitive(Primitive::F32), 4096).unwrap();
        let d = definition(&seq).unwrap();
        assert_eq!(
            (d.name.as_str(), d.text.as_str()),
            ("shm_msgs/msg/SeqF32Max4096", "float32[<=4096] data\n")
        );
        // A sequence of arrays: the array becomes a message of one field.
        let rows = SchemaDesc::sequence(
            SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), 8),
            4,
        )
        .unwrap();
        let d = definition(&rows).unwrap();
        assert!(
            d.text.starts_with("shm_msgs/SeqU8x8Max4Item[<=4] data\n"),
            "{}",
            d.text
        );
        assert!(
            d.text
                .contains("MSG: shm_msgs/SeqU8x8Max4Item\nuint8[8] data\n"),
            "{}",
            d.text
        );
    }

    #[test]
    fn parts_of_no_size_and_bounds_of_zero_have_no_ros_form() {
        let empty = SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), 0);
        assert!(
            definition(&empty)
                .unwrap_err()
                .to_string()
                .contains("length 0")
        );
        let seq = SchemaDesc::sequence(SchemaDesc::primitive(Primitive::U8), 0);
        if let Ok(seq) = seq {
            assert!(definition(&seq).is_err());
        }
    }

    mod other {
        #[derive(shm::ShmMessage, Clone, Copy)]
        #[repr(C)]
        pub(super) struct Outer {
            pub(super) a: u8,
        }
    }

    #[derive(ShmMessage, Clone, Copy)]
    #[repr(C)]
    struct Outer {
        inner: other::Outer,
        b: u8,
    }

    #[test]
    fn a_nested_type_named_as_the_main_one_is_numbered() {
        let d = definition(&desc_of::<Outer>()).unwrap();
        assert!(
            d.text.starts_with("shm_msgs/Outer2 inner\nuint8 b\n"),
            "{}",
            d.text
        );
        assert!(
            d.text.contains("MSG: shm_msgs/Outer2\nuint8 a\n"),
            "{}",
            d.text
        );
    }

    #[test]
    fn names_ros_does_not_allow_are_mapped_without_clashes() {
        assert_eq!(field_name("_reserved", &[]), "reserved");
        assert_eq!(field_name("Position", &[]), "position");
        assert_eq!(field_name("a__b_", &[]), "a_b");
        assert_eq!(field_name("3d", &[]), "f3d");
        assert_eq!(
            field_name("_reserved", &["reserved".to_owned()]),
            "reserved_2"
        );
        assert_eq!(type_name_of("my_point"), "Mypoint");
        assert_eq!(type_name_of("9lives"), "T9lives");
    }
    #[derive(ShmMessage, Clone, Copy)]
    #[repr(C)]
    struct Sample {
        stamp: u64,
        frame: shm::BoundedString<24>,
        ranges: shm::BoundedVec<f32, 8>,
        boxes: shm::BoundedVec<Box2, 2>,
        pose: [f64; 7],
    }

    #[test]
    fn our_definitions_parse_back_into_the_same_layout() {
        for desc in [desc_of::<Box2>(), desc_of::<Sample>(), desc_of::<f64>()] {
            let def = definition(&desc).unwrap();
            let back = parse(&def.name, &def.text).unwrap();
            assert_eq!(
                (back.size, back.align),
                (desc.size, desc.align),
                "{}",
                def.text
            );
            assert_eq!(back, desc, "{}", def.text);
        }
        // Multi-dimensional arrays are flattened (the same bytes, one dimension).
        let d = desc_of::<Detection>();
        let back = parse("shm_msgs/msg/Detection", &definition(&d).unwrap().text).unwrap();
        assert_eq!(back.size, d.size);
    }

    #[test]
    fn other_tools_definitions_map_as_documented() {
        let pose = "geometry_msgs/Point position\ngeometry_msgs/Quaternion orientation\n\
            ================================================================================\n\
            MSG: geometry_msgs/Point\n# a comment\nfloat64 x\nfloat64 y\nfloat64 z\n\
            ================================================================================\n\
            MSG: geometry_msgs/msg/Quaternion\nfloat64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1\n";
        let d = parse("geometry_msgs/msg/Pose", pose).unwrap();
        assert_eq!((d.name.as_str(), d.size), ("Pose", 56));
        let DescKind::Struct(fields) = &d.kind else {
            panic!()
        };
        assert_eq!(fields[1].ty.name, "Quaternion");
        assert_eq!(fields[1].offset, 24);
        // Constants are left out; byte and char are u8; bounds are rounded up to whole words.
        let d = parse(
            "pkg/msg/T",
            "int32 MAX=10\nint32 MIN = -1\nbyte[8] raw\nfloat32[<=3] v\nstring<=5 s\n",
        )
        .unwrap();
        let DescKind::Struct(fields) = &d.kind else {
            panic!()
        };
        assert_eq!(fields.len(), 3);
        assert!(matches!(
            fields[1].ty.kind,
            DescKind::Sequence { cap: 4, .. }
        ));
        assert!(matches!(fields[2].ty.kind, DescKind::String { cap: 8 }));
        // std_msgs of one `data` field are the scalar.
        let f = parse("std_msgs/msg/Float64", "float64 data\n").unwrap();
        assert_eq!(f, SchemaDesc::primitive(Primitive::F64));
    }

    #[test]
    fn what_has_no_shm_form_is_refused_naming_the_field() {
        for (text, says) in [
            (
                "string name\n",
                "field `name` of pkg/T: `string` is unbounded",
            ),
            ("float64[] v\n", "`float64[]` is an unbounded sequence"),
            ("wstring w\n", "unbounded"),
            ("Other o\n", "the type `Other` is not defined"),
            ("uint8 a\nfloat64 b\n", "padding after field `a`"),
            ("uint8[99999999999] big\n", "more than a topic carries"),
            ("float64[x] a\n", "is not a length"),
            ("justoneword\n", "is not a field"),
        ] {
            let e = parse("pkg/msg/T", text).unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
        // Arrays of arrays of ... are bounded by the depth limit, not the stack.
        let deep = format!("float64{} a\n", "[1]".repeat(100_000));
        let e = parse("pkg/msg/T", &deep).unwrap_err().to_string();
        assert!(e.contains("nest deeper"), "{e}");
        // A type used many times is parsed once, and counted at each use.
        let p: String = (0..8).map(|i| format!("uint8 x{i}\n")).collect();
        assert!(parse("pkg/msg/T", &format!("pkg/P p\n===\nMSG: pkg/P\n{p}")).is_ok());
        let many: String = (0..1000).map(|i| format!("pkg/P p{i}\n")).collect();
        let e = parse("pkg/msg/T", &format!("{many}===\nMSG: pkg/P\n{p}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than 4096 fields"), "{e}");
        // A type made of itself is bounded by the depth limit, not the stack.
        let cycle = "pkg/Loop next\n===\nMSG: pkg/Loop\npkg/Loop next\n";
        let e = parse("pkg/msg/T", cycle).unwrap_err().to_string();
        assert!(e.contains("nest deeper"), "{e}");
        assert!(parse("pkg/msg/T", "===\nno header\n").is_err());
    }
}
