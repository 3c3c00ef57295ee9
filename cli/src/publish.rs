//! `shm pub`: publish a value, written as JSON, into a topic of any type.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::Value as Json;
use shm::InspectError;
use shm::ValueErrorKind;
use shm::dynamic::{AnyPublisher, Problem, Scalar, Source, TopicSchema, encode_with};
use shm::inspect;
use shm::schema::{DescKind, SchemaDesc};

use crate::common::{self, parse_type};
use shm::stop;

use crate::{Failure, out};

/// Arguments of `shm pub`.
#[derive(Args, Debug)]
#[command(
    after_help = "VALUE is JSON, or `-` to read it from standard input: `3`, `true`, \
    `[1.0, 2.0, 0.5]`, `{\"position\": [1, 2, 0], \"heading\": 0.5}` (a field left out is \
    zeros, as in Python; an unknown field is refused). Integers \
    are never rounded; a float field takes an integer. NaN and infinities are `nan`, `inf`, \
    `-inf` (as strings inside JSON: `[\"nan\", 1]`).\n\nAn existing topic keeps its type, and \
    its slots unless --slots says otherwise (the file is then replaced; subscribers follow). A \
    new topic needs --type. The topic's file stays after the command ends, holding the last \
    value (shm clean removes topics whose publisher is gone)."
)]
pub(crate) struct PubArgs {
    /// The topic.
    topic: String,
    /// The value, as JSON (`-`: read it from standard input).
    #[arg(allow_hyphen_values = true)]
    value: String,
    /// The type, for a topic that does not exist yet: `bool`, `i64`, `f64`, any other
    /// primitive, an array such as `[f64; 3]` or `f64[3]`, `seq[f32, 1024]`, `string[64]`
    /// (checked against an existing topic's type).
    #[arg(long = "type", short, value_name = "TYPE")]
    ty: Option<String>,
    /// Publish this many times per second (0.001 to 1000000) until stopped (or `--count`
    /// values).
    #[arg(long, short, value_name = "HZ", value_parser = period)]
    rate: Option<Duration>,
    /// Publish this many values (default: 1, or for ever with `--rate`).
    #[arg(long = "count", short = 'n', value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Publish one value and exit (the default without `--rate`).
    #[arg(long, conflicts_with_all = ["count", "rate"])]
    once: bool,
    /// Slots of the topic's ring, 2 to 4096 (default: an existing topic's, else 3).
    #[arg(long, value_name = "N", value_parser = common::slots)]
    slots: Option<usize>,
}

pub(crate) fn publish(root: Option<&Path>, args: &PubArgs) -> Result<(), Failure> {
    let (schema, slots) = topic_type(root, args)?;
    // The value is checked against the type before the topic is touched: bad input changes
    // nothing.
    let bytes = encode_json(&schema, &args.value)?;
    let period = args.rate;
    let count = match (args.once, args.count, period) {
        (true, _, _) => 1,
        (false, Some(n), _) => n,
        (false, None, Some(_)) => u64::MAX,
        (false, None, None) => 1,
    };
    let mut builder = AnyPublisher::builder(&args.topic, schema.clone()).buffer_num(slots);
    if let Some(root) = root {
        builder = builder.root(root);
    }
    let mut publisher = builder.create()?;
    // Absolute deadlines: the rate does not drift with the time publishing takes.
    let mut due = Instant::now();
    let (mut first, mut last, mut published) = (0, 0, 0u64);
    while published < count && !stop::requested() {
        last = publisher.publish(&bytes)?;
        if published == 0 {
            first = last;
        }
        published += 1;
        let Some(period) = period.filter(|_| published < count) else {
            continue;
        };
        let Some(next) = due.checked_add(period) else {
            break;
        };
        due = next;
        while !stop::requested() {
            let now = Instant::now();
            if now >= due {
                break;
            }
            // Short sleeps, so a stop request is seen at once.
            std::thread::sleep((due - now).min(Duration::from_millis(50)));
        }
    }
    let ty = schema.type_name();
    match published {
        0 => out(format!("nothing published on '{}'", args.topic)),
        1 => out(format!("published #{last} on '{}' ({ty})", args.topic)),
        n => out(format!(
            "published {n} values (#{first} to #{last}) on '{}' ({ty})",
            args.topic
        )),
    }
}

/// The topic's type and slot count: an existing topic's, else from `--type`.
fn topic_type(root: Option<&Path>, args: &PubArgs) -> Result<(Arc<TopicSchema>, usize), Failure> {
    let wanted = args.ty.as_deref().map(parse_type).transpose()?;
    match inspect::inspect(root, &args.topic) {
        Ok(info) => {
            if let Some(w) = &wanted
                && w.hash() != info.schema.hash()
            {
                return Err(Failure::new(format!(
                    "topic '{}' carries {}, not {}; publish a value of its type (see shm info {})",
                    args.topic,
                    info.schema.type_name(),
                    w.type_name(),
                    args.topic
                )));
            }
            Ok((info.schema, args.slots.unwrap_or(info.slots as usize)))
        }
        Err(InspectError::Missing { .. }) => match wanted {
            Some(schema) => Ok((schema, args.slots.unwrap_or(3))),
            None => Err(Failure::new(format!(
                "topic '{}' does not exist yet: give its type with --type (bool, i64, f64, \
                 [f64; 3], ...)",
                args.topic
            ))),
        },
        Err(e) => Err(Failure::new(e)),
    }
}

/// `--rate`: the period of a rate from 0.001 to 1000000 Hz.
fn period(text: &str) -> Result<Duration, String> {
    let hz: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a rate in Hz"))?;
    if !(0.001..=1e6).contains(&hz) {
        return Err(format!("{hz} Hz: expects 0.001 to 1000000 Hz"));
    }
    Ok(Duration::from_secs_f64(1.0 / hz))
}

/// A value argument (JSON, `-` to read it from standard input) as bytes of `schema`.
pub(crate) fn encode_json(schema: &TopicSchema, value: &str) -> Result<Vec<u8>, Failure> {
    let text = if value == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::new(format!("cannot read the value from standard input: {e}")))?
    } else {
        value.to_owned()
    };
    encode_with(schema, &JsonPart(parse_value(&text)?)).map_err(|e| {
        Failure::new(format!(
            "the value does not fit the type {}: {e}",
            schema.type_name()
        ))
    })
}

/// The value argument: JSON, or one of the float words JSON lacks.
fn parse_value(text: &str) -> Result<Json, Failure> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(_) if float_word(text.trim()).is_some() => Ok(Json::String(text.trim().to_owned())),
        Err(e) => Err(Failure::new(format!(
            "the value `{text}` is not JSON ({e}); write numbers, `true`/`false`, arrays as \
             [..] and structs as {{\"field\": ..}}"
        ))),
    }
}

/// `nan`, `inf`, `-inf`, `infinity`, any case.
fn float_word(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// A part of a JSON value, as the schema walker asks for it.
struct JsonPart(Json);

fn describe(v: &Json) -> String {
    match v {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => format!("the bool {b}"),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) => format!("the string {s:?}"),
        Json::Array(a) => format!("an array of {}", a.len()),
        Json::Object(_) => "an object".to_owned(),
    }
}

impl Source for JsonPart {
    fn scalar(&self) -> Result<Scalar, Problem> {
        match &self.0 {
            Json::Bool(b) => Ok(Scalar::Bool(*b)),
            Json::Number(n) => n
                .as_i64()
                .map(Scalar::Int)
                .or_else(|| n.as_u64().map(Scalar::UInt))
                .or_else(|| n.as_f64().map(Scalar::Float))
                .ok_or_else(|| Problem::wrong_kind(format!("the number {n}"))),
            Json::String(s) => float_word(s)
                .map(Scalar::Float)
                .ok_or_else(|| Problem::wrong_kind(describe(&self.0))),
            other => Err(Problem::wrong_kind(describe(other))),
        }
    }

    fn elements(&self, len: u64) -> Result<Option<Vec<JsonPart>>, Problem> {
        match &self.0 {
            Json::Array(items) if items.len() as u64 == len => {
                Ok(Some(items.iter().cloned().map(JsonPart).collect()))
            }
            Json::Array(items) => Err(Problem::new(
                ValueErrorKind::Length,
                format!("expects {len} elements, got {}", items.len()),
            )),
            _ => Ok(None),
        }
    }

    fn sequence(&self, _cap: u64) -> Result<Option<Vec<JsonPart>>, Problem> {
        match &self.0 {
            Json::Array(items) => Ok(Some(items.iter().cloned().map(JsonPart).collect())),
            _ => Ok(None),
        }
    }

    fn string(&self) -> Result<Option<String>, Problem> {
        match &self.0 {
            Json::String(s) => Ok(Some(s.clone())),
            _ => Ok(None),
        }
    }

    fn field(&self, desc: &SchemaDesc, name: &str) -> Result<Option<JsonPart>, Problem> {
        match &self.0 {
            // A field left out is zeros (the walker's rule for this source).
            Json::Object(map) => Ok(map.get(name).map(|v| JsonPart(v.clone()))),
            other => Err(Problem::wrong_kind(format!(
                "expects a struct `{}` (a JSON object), got {}",
                desc.name,
                describe(other)
            ))),
        }
    }

    fn unknown_fields(&self, desc: &SchemaDesc) -> Vec<String> {
        match (&self.0, &desc.kind) {
            (Json::Object(map), DescKind::Struct(fields)) => map
                .keys()
                .filter(|k| !fields.iter().any(|f| &f.name == *k))
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    }

    fn omitted_fields_are_zero(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(ty: &str, text: &str) -> Result<Vec<u8>, String> {
        let schema = parse_type(ty).map_err(|f| f.message)?;
        let value = parse_value(text).map_err(|f| f.message)?;
        encode_with(&schema, &JsonPart(value)).map_err(|e| e.to_string())
    }

    #[test]
    fn values_are_checked_against_the_type() {
        assert_eq!(encode("i64", "3").unwrap(), 3i64.to_ne_bytes());
        assert_eq!(encode("f64", "3").unwrap(), 3f64.to_ne_bytes());
        assert!(f64::from_ne_bytes(encode("f64", "nan").unwrap().try_into().unwrap()).is_nan());
        assert_eq!(encode("bool", "true").unwrap(), [1]);
        assert_eq!(encode("[u8; 2]", "[1, 255]").unwrap(), [1, 255]);
        let err = encode("i64", "1.5").unwrap_err();
        assert!(err.contains("never rounded"), "{err}");
        let err = encode("u8", "256").unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        let err = encode("[f64; 3]", "[1, 2]").unwrap_err();
        assert!(err.contains("expects 3 elements, got 2"), "{err}");
        let err = encode("[f64; 2]", r#"[1, "x"]"#).unwrap_err();
        assert!(err.contains("[1]") && err.contains("\"x\""), "{err}");
        assert_eq!(
            encode("BoundedString<8>", r#""hé""#).unwrap(),
            [3, 0, 0, 0, 0, 0, 0, 0, b'h', 0xc3, 0xa9, 0, 0, 0, 0, 0]
        );
        let err = encode("BoundedString<8>", r#""far too long""#).unwrap_err();
        assert!(
            err.contains("12 bytes of UTF-8, more than its capacity 8"),
            "{err}"
        );
        assert_eq!(
            encode("BoundedVec<u16, 4>", "[7]").unwrap()[..10],
            [1, 0, 0, 0, 0, 0, 0, 0, 7, 0]
        );
        let err = encode("BoundedVec<u16, 4>", "[1, 2, 3, 4, 5]").unwrap_err();
        assert!(
            err.contains("5 elements, more than its capacity 4 (a BoundedVec<u16, 4>)"),
            "{err}"
        );
        let err = encode("BoundedVec<u16, 3>", "[]").unwrap_err();
        assert!(err.contains("a multiple of 4"), "{err}");
        let err = encode("f64", "{x: 1}").unwrap_err();
        assert!(err.contains("is not JSON"), "{err}");
    }
}
