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
/// `f32`s print as the shortest text that reads back as the same `f32` (`9.81`, not
/// `9.8100004196167`).
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
    show_summarized(desc, bytes, max_elements, u64::MAX)
}

/// [`show`], with every block of primitives (an array, an array of arrays, a bounded sequence)
/// of more than `summarize_above` elements written as its shape, type and statistics instead:
/// `<480×640×3 u8: min 0, max 255, mean 127.5>` (see [`BlockStats`]).
///
/// ```
/// use shm::schema::{Primitive, SchemaDesc};
/// let desc = SchemaDesc::array(SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), 3), 2);
/// let text = shm::dynamic::show_summarized(&desc, &[1, 2, 3, 4, 5, 6], 32, 4).to_string();
/// assert_eq!(text, "<2×3 u8: min 1, max 6, mean 3.5>");
/// ```
///
/// # Panics
/// When displayed, if `bytes` is shorter than `desc`'s size.
pub fn show_summarized<'a>(
    desc: &'a SchemaDesc,
    bytes: &'a [u8],
    max_elements: usize,
    summarize_above: u64,
) -> impl fmt::Display + 'a {
    struct Show<'a>(&'a SchemaDesc, &'a [u8], usize, u64);
    impl fmt::Display for Show<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let mut printer = Printer::new(f, self.2);
            printer.summarize_above = self.3;
            decode_part_with(self.0, self.1, &mut printer);
            printer.status
        }
    }
    Show(desc, bytes, max_elements, summarize_above)
}

/// How many elements a block of `shape` holds, saturating (a schema from a file may multiply
/// a zero-size dimension by huge ones).
pub fn block_len(shape: &[u64]) -> u64 {
    if shape.contains(&0) {
        return 0;
    }
    shape.iter().fold(1u64, |n, &d| n.saturating_mul(d))
}

/// The statistics of a block of primitives, as [`show_summarized`] writes it: the smallest and
/// largest value and the mean (NaNs left out and counted; `bool`s as 0 and 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockStats {
    /// How many values.
    pub count: u64,
    /// The smallest value (`None` if there is none but NaNs).
    pub min: Option<Scalar>,
    /// The largest value.
    pub max: Option<Scalar>,
    /// Their mean (`None` if there is none but NaNs).
    pub mean: Option<f64>,
    /// How many are NaN.
    pub nans: u64,
}

impl BlockStats {
    /// The statistics of a block of `shape` (its primitives of `kind` in `bytes`) if it holds
    /// more than `summarize_above` elements: what a printer that summarises large blocks
    /// writes instead of them.
    pub fn above(
        kind: Primitive,
        shape: &[u64],
        bytes: &[u8],
        summarize_above: u64,
    ) -> Option<BlockStats> {
        (block_len(shape) > summarize_above).then(|| BlockStats::of(kind, bytes))
    }

    /// The statistics of the primitives of `kind` in `bytes` (native byte order).
    pub fn of(kind: Primitive, bytes: &[u8]) -> BlockStats {
        let mut stats = BlockStats {
            count: 0,
            min: None,
            max: None,
            mean: None,
            nans: 0,
        };
        let mut sum = 0.0f64;
        let mut counted = 0u64;
        for item in bytes.chunks_exact(kind.size()) {
            stats.count += 1;
            let value = read_scalar(kind, item);
            let x = match value {
                Scalar::Bool(b) => f64::from(u8::from(b)),
                Scalar::Int(i) => i as f64,
                Scalar::UInt(u) => u as f64,
                Scalar::Float(f) if f.is_nan() => {
                    stats.nans += 1;
                    continue;
                }
                Scalar::Float(f) => f,
            };
            sum += x;
            counted += 1;
            if stats.min.is_none_or(|m| less(value, m)) {
                stats.min = Some(value);
            }
            if stats.max.is_none_or(|m| less(m, value)) {
                stats.max = Some(value);
            }
        }
        if counted > 0 {
            stats.mean = Some(sum / counted as f64);
        }
        stats
    }
}

/// `a < b` for two scalars of one primitive type.
fn less(a: Scalar, b: Scalar) -> bool {
    match (a, b) {
        (Scalar::Bool(a), Scalar::Bool(b)) => !a & b,
        (Scalar::Int(a), Scalar::Int(b)) => a < b,
        (Scalar::UInt(a), Scalar::UInt(b)) => a < b,
        (Scalar::Float(a), Scalar::Float(b)) => a < b,
        _ => false,
    }
}

/// A primitive's value as text: the shortest that reads back as the same value of its type
/// (an `f32` as an `f32`: `9.81`), floats always with a point or an exponent (`1.0`, `1e30`).
pub fn scalar_text(value: Scalar, kind: Primitive) -> String {
    match value {
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::UInt(u) => u.to_string(),
        Scalar::Float(x) if kind == Primitive::F32 => format!("{:?}", x as f32),
        Scalar::Float(x) => format!("{x:?}"),
    }
}

/// Writes a value's parts as they come; keeps the first write error and writes nothing after.
pub(super) struct Printer<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    max: u64,
    /// Blocks of primitives of more elements than this are summarised.
    summarize_above: u64,
    pub(super) status: fmt::Result,
}

impl<'a, 'b> Printer<'a, 'b> {
    pub(super) fn new(f: &'a mut fmt::Formatter<'b>, max_elements: usize) -> Printer<'a, 'b> {
        Printer {
            f,
            max: max_elements as u64,
            summarize_above: u64::MAX,
            status: Ok(()),
        }
    }

    fn write(&mut self, args: fmt::Arguments<'_>) {
        if self.status.is_ok() {
            self.status = self.f.write_fmt(args);
        }
    }

    fn scalar(&mut self, value: Scalar, kind: Primitive) {
        self.write(format_args!("{}", scalar_text(value, kind)));
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

    fn primitive(&mut self, value: Scalar, kind: Primitive) {
        self.scalar(value, kind);
    }

    fn primitive_block(&mut self, kind: Primitive, shape: &[u64], bytes: &[u8]) -> Option<()> {
        let stats = BlockStats::above(kind, shape, bytes, self.summarize_above)?;
        let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
        self.write(format_args!("<{} {}", dims.join("×"), kind.name()));
        let text = |v: Option<Scalar>| v.map_or("-".to_owned(), |v| scalar_text(v, kind));
        self.write(format_args!(
            ": min {}, max {}",
            text(stats.min),
            text(stats.max)
        ));
        if let Some(mean) = stats.mean {
            self.write(format_args!(", mean {}", mean_text(mean)));
        }
        if stats.nans > 0 {
            self.write(format_args!(", {} NaN", stats.nans));
        }
        self.write(format_args!(">"));
        Some(())
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
            self.scalar(read_scalar(kind, item), kind);
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

/// A mean as text: four significant digits (`127.5`, `0.001235`, `1.235e9`).
pub fn mean_text(mean: f64) -> String {
    if mean == 0.0 || !mean.is_finite() {
        return format!("{mean:?}");
    }
    let magnitude = mean.abs().log10().floor();
    if !(-4.0..9.0).contains(&magnitude) {
        return format!("{mean:.3e}");
    }
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    let text = format!("{mean:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
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
