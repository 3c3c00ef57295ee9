//! Values as text, Rust-like (`Pose { position: [1.0, 2.0, 0.0], heading: 0.5 }`), written as
//! the walker goes: from a value's bytes ([`show`]) without building a [`Value`] first, or from
//! a [`Value`] (its `Display`), by the same printer.

use std::fmt;

use super::Value;
use super::walk::{Decode, Scalar, decode_part_with, read_scalar};
use crate::schema::{Primitive, SchemaDesc};

/// The text of a value of `desc` held in `bytes` (a valid value, or a part of one), with arrays
/// longer than `max_elements` cut short: `[0, 0, 0, … 921600 elements]`. It is written as the
/// schema is walked, so printing a 16 MiB camera frame holds nothing of it but its bytes.
///
/// ```
/// use shm::schema::{Primitive, SchemaDesc};
/// let desc = SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), 5);
/// assert_eq!(shm::dynamic::show(&desc, &[1, 2, 3, 4, 5], 3).to_string(), "[1, 2, 3, … 5 elements]");
/// ```
///
/// # Panics
/// When displayed, if `bytes` is shorter than `desc`'s size.
pub fn show<'a>(
    desc: &'a SchemaDesc,
    bytes: &'a [u8],
    max_elements: usize,
) -> impl fmt::Display + 'a {
    struct Show<'a>(&'a SchemaDesc, &'a [u8], usize);
    impl fmt::Display for Show<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let mut printer = Printer::new(f, self.2);
            decode_part_with(self.0, self.1, &mut printer);
            printer.status
        }
    }
    Show(desc, bytes, max_elements)
}

/// Writes a value's parts as they come; keeps the first write error and writes nothing after.
pub(super) struct Printer<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    max: u64,
    pub(super) status: fmt::Result,
}

impl<'a, 'b> Printer<'a, 'b> {
    pub(super) fn new(f: &'a mut fmt::Formatter<'b>, max_elements: usize) -> Printer<'a, 'b> {
        Printer {
            f,
            max: max_elements as u64,
            status: Ok(()),
        }
    }

    fn write(&mut self, args: fmt::Arguments<'_>) {
        if self.status.is_ok() {
            self.status = self.f.write_fmt(args);
        }
    }

    fn scalar(&mut self, value: Scalar) {
        match value {
            Scalar::Bool(b) => self.write(format_args!("{b}")),
            Scalar::Int(i) => self.write(format_args!("{i}")),
            Scalar::UInt(u) => self.write(format_args!("{u}")),
            Scalar::Float(x) => self.write(format_args!("{x:?}")),
        }
    }

    fn end_array(&mut self, walked: u64, len: u64) {
        if len > walked {
            self.write(format_args!(", … {len} elements"));
        }
        self.write(format_args!("]"));
    }
}

impl Decode for Printer<'_, '_> {
    type Out = ();

    fn primitive(&mut self, value: Scalar, _: Primitive) {
        self.scalar(value);
    }

    fn primitive_array(&mut self, kind: Primitive, len: u64, bytes: &[u8]) -> Option<()> {
        let walked = len.min(self.max);
        self.write(format_args!("["));
        for (i, item) in bytes
            .chunks_exact(kind.size())
            .take(walked as usize)
            .enumerate()
        {
            if i > 0 {
                self.write(format_args!(", "));
            }
            self.scalar(read_scalar(kind, item));
            if self.status.is_err() {
                break;
            }
        }
        self.end_array(walked, len);
        Some(())
    }

    fn begin_array(&mut self, len: u64) -> u64 {
        self.write(format_args!("["));
        // After a write error, nothing more is walked.
        if self.status.is_err() {
            0
        } else {
            len.min(self.max)
        }
    }

    fn begin_element(&mut self, index: u64) {
        if index > 0 {
            self.write(format_args!(", "));
        }
    }

    fn array(&mut self, items: Vec<()>, len: u64) {
        self.end_array(items.len() as u64, len);
    }

    fn string(&mut self, value: &str) {
        self.write(format_args!("{}", quoted(value)));
    }

    fn begin_struct(&mut self, name: &str) {
        self.write(format_args!("{name} {{"));
    }

    fn begin_field(&mut self, index: usize, name: &str) {
        let sep = if index == 0 { " " } else { ", " };
        self.write(format_args!("{sep}{name}: "));
    }

    fn structure(&mut self, _: &str, fields: Vec<(&str, ())>) {
        self.write(format_args!(
            "{}",
            if fields.is_empty() { "}" } else { " }" }
        ));
    }
}

/// Feeds the parts of a [`Value`] tree to `d`, as the walker feeds a value's bytes.
pub(super) fn replay<D: Decode>(value: &Value, d: &mut D) -> D::Out {
    match value {
        Value::Bool(b) => d.primitive(Scalar::Bool(*b), Primitive::Bool),
        Value::Int(i) => d.primitive(Scalar::Int(*i), Primitive::I64),
        Value::UInt(u) => d.primitive(Scalar::UInt(*u), Primitive::U64),
        Value::Float(x) => d.primitive(Scalar::Float(*x), Primitive::F64),
        Value::String(text) => d.string(text),
        Value::Array(items) => {
            let len = items.len() as u64;
            let walked = d.begin_array(len).min(len) as usize;
            let outs = items[..walked]
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    d.begin_element(i as u64);
                    replay(item, d)
                })
                .collect();
            d.array(outs, len)
        }
        Value::Struct { name, fields } => {
            d.begin_struct(name);
            let outs = fields
                .iter()
                .enumerate()
                .map(|(i, (n, v))| {
                    d.begin_field(i, n);
                    (n.as_str(), replay(v, d))
                })
                .collect();
            d.structure(name, outs)
        }
    }
}

/// `text` in double quotes, safe to print: quotes and backslashes escaped, and every character
/// a terminal would obey ([`crate::text::is_unprintable`]) written as a Rust escape.
///
/// ```
/// assert_eq!(shm::dynamic::quoted("a \"b\"\u{1b}[2J").to_string(), r#""a \"b\"\u{1b}[2J""#);
/// ```
pub fn quoted(text: &str) -> impl fmt::Display + '_ {
    struct Quoted<'a>(&'a str);
    impl fmt::Display for Quoted<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            use fmt::Write;
            f.write_char('"')?;
            for c in self.0.chars() {
                match c {
                    '"' => f.write_str("\\\"")?,
                    '\\' => f.write_str("\\\\")?,
                    c if crate::text::is_unprintable(c) => write!(f, "{}", c.escape_default())?,
                    c => f.write_char(c)?,
                }
            }
            f.write_char('"')
        }
    }
    Quoted(text)
}
