//! [`Value`], a value of any message type as a tree: what a tool prints (`Display`, `brief`) or
//! serialises (`serde`), and builds to publish; read and written through the walker
//! ([`super::walk`]).

use std::fmt;

use super::text::{Printer, replay};
use super::walk::{Decode, Problem, Scalar, Source, decode_with, encode_with};
use crate::error::{ValueError, ValueErrorKind};
use crate::schema::path::{Step, steps};
use crate::schema::{DescKind, Primitive, SchemaDesc, TopicSchema};

/// A value of any message type, as a tree: what a tool prints, or builds to publish.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A `bool`.
    Bool(bool),
    /// A signed integer (`i8` to `i64`).
    Int(i64),
    /// An unsigned integer (`u8` to `u64`).
    UInt(u64),
    /// A float (`f32`, widened exactly, or `f64`).
    Float(f64),
    /// A fixed-size array's elements, or a bounded sequence's.
    Array(Vec<Value>),
    /// A bounded string.
    String(String),
    /// A struct's fields, in declaration order.
    Struct {
        /// The struct's schema name.
        name: String,
        /// Field names and values.
        fields: Vec<(String, Value)>,
    },
}

/// Builds [`Value`]s.
struct ValueBuilder;

impl Decode for ValueBuilder {
    type Out = Value;

    fn primitive(&mut self, value: Scalar, _: Primitive) -> Value {
        match value {
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Int(i),
            Scalar::UInt(u) => Value::UInt(u),
            Scalar::Float(f) => Value::Float(f),
        }
    }

    fn array(&mut self, items: Vec<Value>, _len: u64) -> Value {
        Value::Array(items)
    }

    fn string(&mut self, value: &str) -> Value {
        Value::String(value.to_owned())
    }

    fn structure(&mut self, name: &str, fields: Vec<(&str, Value)>) -> Value {
        Value::Struct {
            name: name.to_owned(),
            fields: fields.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        }
    }
}

impl Source for Value {
    fn scalar(&self) -> Result<Scalar, Problem> {
        match self {
            Value::Bool(b) => Ok(Scalar::Bool(*b)),
            Value::Int(i) => Ok(Scalar::Int(*i)),
            Value::UInt(u) => Ok(Scalar::UInt(*u)),
            Value::Float(f) => Ok(Scalar::Float(*f)),
            Value::Array(items) => Err(Problem::wrong_kind(format!("an array of {}", items.len()))),
            Value::String(_) => Err(Problem::wrong_kind("a string")),
            Value::Struct { .. } => Err(Problem::wrong_kind("a struct")),
        }
    }

    fn sequence(&self, _cap: u64) -> Result<Option<Vec<Value>>, Problem> {
        match self {
            Value::Array(items) => Ok(Some(items.clone())),
            _ => Ok(None),
        }
    }

    fn string(&self) -> Result<Option<String>, Problem> {
        match self {
            Value::String(text) => Ok(Some(text.clone())),
            _ => Ok(None),
        }
    }

    fn elements(&self, len: u64) -> Result<Option<Vec<Value>>, Problem> {
        match self {
            Value::Array(items) if items.len() as u64 == len => Ok(Some(items.clone())),
            Value::Array(items) => Err(Problem::new(
                ValueErrorKind::Length,
                format!("expects {len} elements, got {}", items.len()),
            )),
            _ => Ok(None),
        }
    }

    fn field(&self, desc: &SchemaDesc, name: &str) -> Result<Option<Value>, Problem> {
        match self {
            Value::Struct { fields, .. } => Ok(fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())),
            other => Err(Problem::wrong_kind(format!(
                "expects a struct `{}`, got {}",
                desc.name,
                other.kind_name()
            ))),
        }
    }

    fn unknown_fields(&self, desc: &SchemaDesc) -> Vec<String> {
        let DescKind::Struct(known) = &desc.kind else {
            return Vec::new();
        };
        match self {
            Value::Struct { fields, .. } => fields
                .iter()
                .filter(|(n, _)| !known.iter().any(|k| &k.name == n))
                .map(|(n, _)| n.clone())
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl Value {
    /// The value of one value's bytes (as a subscriber read them) of `schema`.
    pub fn decode(schema: &TopicSchema, bytes: &[u8]) -> Value {
        decode_with(schema, bytes, &mut ValueBuilder)
    }

    /// The bytes of this value as a value of `schema`, checked.
    pub fn encode(&self, schema: &TopicSchema) -> Result<Vec<u8>, ValueError> {
        encode_with(schema, self)
    }

    /// The part at `path` (`position[2]`, `pose.heading`; empty: the whole value).
    pub fn at(&self, path: &str) -> Result<&Value, String> {
        let mut v = self;
        for step in steps(path)? {
            v = match (step, v) {
                (Step::Index(index), Value::Array(items)) => usize::try_from(index)
                    .ok()
                    .and_then(|i| items.get(i))
                    .ok_or_else(|| {
                        format!("`{path}`: index {index} of an array of {}", items.len())
                    })?,
                (Step::Index(_), other) => {
                    return Err(format!("`{path}`: {} has no elements", other.kind_name()));
                }
                (Step::Field(name), Value::Struct { name: ty, fields }) => fields
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v)
                    .ok_or_else(|| format!("`{path}`: `{ty}` has no field `{name}`"))?,
                (Step::Field(_), other) => {
                    return Err(format!("`{path}`: {} has no fields", other.kind_name()));
                }
            };
        }
        Ok(v)
    }

    fn kind_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "a bool",
            Value::Int(_) | Value::UInt(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Array(_) => "an array",
            Value::String(_) => "a string",
            Value::Struct { .. } => "a struct",
        }
    }
}

/// Rust-like: `Pose { position: [1.0, 2.0, 0.0], heading: 0.5, tracking: true }` (the printer
/// of [`show`](super::show), which writes the same text from a value's bytes).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.brief(usize::MAX).fmt(f)
    }
}

impl Value {
    /// As its `Display`, with arrays longer than `max_elements` cut short:
    /// `[0, 0, 0, … 921600 elements]` (for a terminal; a camera frame is a million numbers).
    ///
    /// ```
    /// use shm::dynamic::Value;
    /// let v = Value::Array((0..5).map(Value::Int).collect());
    /// assert_eq!(v.brief(3).to_string(), "[0, 1, 2, … 5 elements]");
    /// assert_eq!(v.to_string(), "[0, 1, 2, 3, 4]");
    /// ```
    pub fn brief(&self, max_elements: usize) -> impl fmt::Display + '_ {
        struct Brief<'a>(&'a Value, usize);
        impl fmt::Display for Brief<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut printer = Printer::new(f, self.1);
                replay(self.0, &mut printer);
                printer.status
            }
        }
        Brief(self, max_elements)
    }
}

/// JSON-like: booleans, numbers, arrays, and structs as objects in declaration order.
#[cfg(feature = "serde")]
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::Float(x) => s.serialize_f64(*x),
            Value::String(text) => s.serialize_str(text),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Struct { fields, .. } => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (n, v) in fields {
                    map.serialize_entry(n, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn values_serialize_as_json_in_declaration_order() {
        let value = Value::Struct {
            name: "Pose".to_owned(),
            fields: vec![
                (
                    "z".to_owned(),
                    Value::Array(vec![Value::Float(1.5), Value::Int(-2)]),
                ),
                ("a".to_owned(), Value::Bool(true)),
                ("n".to_owned(), Value::UInt(u64::MAX)),
            ],
        };
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"z":[1.5,-2],"a":true,"n":18446744073709551615}"#
        );
    }
}
