//! How the tool writes durations, sizes, times, types and values for people (plain text, no
//! colour: the same on a terminal and in a pipe).

use std::collections::HashMap;
use std::fmt::Write;
use std::io;

use serde_json::Value as Json;
use shm::dynamic::{BlockStats, Decode, Scalar, TopicSchema, decode_part_with, scalar_text};
use shm::schema::{DescKind, Primitive, SchemaDesc};

/// Arrays longer than this print cut short on a line (`--full` prints them whole).
pub(crate) const BRIEF_ELEMENTS: usize = 32;

/// Blocks of more numbers than this (an image, a point cloud, a scan) print as their shape,
/// type, min, max and mean, in text and JSON (`--full` prints them whole).
pub(crate) const SUMMARY_ELEMENTS: u64 = 256;

/// How much of long arrays to print: `(elements per array on a line, summarise blocks above)`.
pub(crate) fn limits(full: bool) -> (usize, u64) {
    if full {
        (usize::MAX, u64::MAX)
    } else {
        (BRIEF_ELEMENTS, SUMMARY_ELEMENTS)
    }
}

/// Writes the value of `desc` held in `bytes` as JSON, as the schema is walked (nothing of the
/// value is built first: a 16 MiB frame is written with constant memory). Structs are objects
/// in declaration order; the floats JSON cannot write are the strings `shm pub` reads back
/// (`"nan"`, `"inf"`, `"-inf"`), never `null`. A block of more than `summarize_above` numbers
/// is written as `{"shape": [480, 640, 3], "dtype": "u8", "min": 0, "max": 255, "mean": 127.5,
/// "nan": 0}`.
pub(crate) fn write_json(
    desc: &SchemaDesc,
    bytes: &[u8],
    summarize_above: u64,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let mut writer = JsonWriter {
        out,
        summarize_above,
        status: Ok(()),
    };
    decode_part_with(desc, bytes, &mut writer);
    writer.status
}

/// A [`Decode`] that writes JSON; keeps the first write error and writes nothing after it.
struct JsonWriter<'a> {
    out: &'a mut dyn io::Write,
    summarize_above: u64,
    status: io::Result<()>,
}

impl JsonWriter<'_> {
    fn write(&mut self, text: &str) {
        if self.status.is_ok() {
            self.status = self.out.write_all(text.as_bytes());
        }
    }

    fn scalar(&mut self, value: Scalar, kind: Primitive) {
        let text = match value {
            Scalar::Float(x) if x.is_nan() => "\"nan\"".to_owned(),
            Scalar::Float(x) if x.is_infinite() => {
                (if x > 0.0 { "\"inf\"" } else { "\"-inf\"" }).to_owned()
            }
            // The shortest text that reads back as the same value of its type (an f32 as an
            // f32: 9.81, not 9.8100004196167).
            _ => scalar_text(value, kind),
        };
        self.write(&text);
    }
}

impl JsonWriter<'_> {
    fn scalar_or_null(&mut self, value: Option<Scalar>, kind: Primitive) {
        match value {
            Some(v) => self.scalar(v, kind),
            None => self.write("null"),
        }
    }
}

impl Decode for JsonWriter<'_> {
    type Out = ();

    fn primitive(&mut self, value: Scalar, kind: Primitive) {
        self.scalar(value, kind);
    }

    fn primitive_block(&mut self, kind: Primitive, shape: &[u64], bytes: &[u8]) -> Option<()> {
        let stats = BlockStats::above(kind, shape, bytes, self.summarize_above)?;
        self.write(&format!(
            "{{\"shape\":{},\"dtype\":\"{}\",\"min\":",
            Json::from(shape),
            kind.name()
        ));
        self.scalar_or_null(stats.min, kind);
        self.write(",\"max\":");
        self.scalar_or_null(stats.max, kind);
        let mean = stats.mean.map_or(Json::Null, Json::from);
        self.write(&format!(",\"mean\":{mean},\"nan\":{}}}", stats.nans));
        Some(())
    }

    fn begin_array(&mut self, len: u64) -> u64 {
        self.write("[");
        if self.status.is_err() { 0 } else { len }
    }

    fn begin_element(&mut self, index: u64) {
        if index > 0 {
            self.write(",");
        }
    }

    fn array(&mut self, _: Vec<()>, _: u64) {
        self.write("]");
    }

    fn string(&mut self, value: &str) {
        // serde_json escapes quotes, backslashes and every control character.
        self.write(&Json::from(value).to_string());
    }

    fn begin_struct(&mut self, _: &str) {
        self.write("{");
    }

    fn begin_field(&mut self, index: usize, name: &str) {
        if index > 0 {
            self.write(",");
        }
        // (Names read from files hold no control characters: the decoder refuses them.)
        self.write(&Json::from(name).to_string());
        self.write(":");
    }

    fn structure(&mut self, _: &str, _: Vec<(&str, ())>) {
        self.write("}");
    }
}

/// Text from a file name or a topic name as it may be printed on a terminal (the library's
/// one escaping function).
pub(crate) use shm::text::printable;

/// `850 ns`, `12.5 µs`, `3.2 ms`, `1.5 s`, `2 min 5 s`.
pub(crate) fn duration_ns(ns: u64) -> String {
    let f = ns as f64;
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..1_000_000 => format!("{:.1} µs", f / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} ms", f / 1e6),
        1_000_000_000..120_000_000_000 => format!("{:.1} s", f / 1e9),
        _ => format!("{} min {} s", ns / 60_000_000_000, ns / 1_000_000_000 % 60),
    }
}

/// `64 B`, `1.5 KiB`, `6.0 MiB`.
pub(crate) fn bytes(n: u64) -> String {
    let f = n as f64;
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", f / 1024.0),
        _ => format!("{:.1} MiB", f / 1_048_576.0),
    }
}

/// A Unix time in ns as `2026-11-27 17:05:03 UTC`.
pub(crate) fn utc(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A file mode as `0600`.
pub(crate) fn mode(mode: u32) -> String {
    format!("{mode:04o}")
}

/// The schema as Rust-like declarations, the message's struct first, then every struct it
/// uses, each field with its offset:
///
/// ```text
/// struct Pose {            // 40 bytes, align 8
///     position: [f64; 3],  // offset 0
///     heading: f64,        // offset 24
/// }
/// ```
pub(crate) fn declaration(schema: &TopicSchema) -> String {
    let mut structs: Vec<&SchemaDesc> = Vec::new();
    collect_structs(schema.desc(), &mut structs);
    if structs.is_empty() {
        return format!(
            "{}  // {} bytes, align {}\n",
            schema.type_name(),
            schema.size(),
            schema.align()
        );
    }
    let mut out = String::new();
    for s in structs {
        let DescKind::Struct(fields) = &s.kind else {
            continue;
        };
        let lines: Vec<(String, String)> = fields
            .iter()
            .map(|f| {
                (
                    format!("    {}: {},", f.name, f.ty.type_name()),
                    format!("// offset {}", f.offset),
                )
            })
            .collect();
        let head = format!("struct {} {{", s.name);
        let width = lines
            .iter()
            .map(|(l, _)| l.chars().count())
            .chain([head.chars().count()])
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "{head:<width$}  // {} bytes, align {}",
            s.size, s.align
        );
        for (l, c) in lines {
            let _ = writeln!(out, "{l:<width$}  {c}");
        }
        out.push_str("}\n");
    }
    out
}

/// The distinct structs of a schema, outermost first. Each struct is compared only with those of
/// the same name and encoding hash, so a schema of thousands of structs (a hostile file's) costs
/// time linear in its size, not quadratic.
fn collect_structs<'a>(desc: &'a SchemaDesc, out: &mut Vec<&'a SchemaDesc>) {
    let mut seen: HashMap<(&'a str, u64), Vec<&'a SchemaDesc>> = HashMap::new();
    collect(desc, out, &mut seen);
}

fn collect<'a>(
    desc: &'a SchemaDesc,
    out: &mut Vec<&'a SchemaDesc>,
    seen: &mut HashMap<(&'a str, u64), Vec<&'a SchemaDesc>>,
) {
    match &desc.kind {
        DescKind::Primitive(_) | DescKind::String { .. } => {}
        DescKind::Array { elem, .. } | DescKind::Sequence { elem, .. } => collect(elem, out, seen),
        DescKind::Struct(fields) => {
            let same = seen.entry((desc.name.as_str(), desc.hash())).or_default();
            if !same.contains(&desc) {
                same.push(desc);
                out.push(desc);
            }
            for f in fields {
                collect(&f.ty, out, seen);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_sizes_read_well() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        // Checked with `date -u -d @SECONDS`.
        assert_eq!(
            utc(1_795_000_000 * 1_000_000_000),
            "2026-11-18 11:06:40 UTC"
        );
        assert_eq!(
            utc(1_709_208_000 * 1_000_000_000),
            "2024-02-29 12:00:00 UTC"
        );
        assert_eq!(duration_ns(850), "850 ns");
        assert_eq!(duration_ns(12_500), "12.5 µs");
        assert_eq!(duration_ns(1_500_000_000), "1.5 s");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(mode(0o644), "0644");
        assert_eq!(printable("a/b"), "a/b");
        assert_eq!(printable("x\u{1b}[2J"), "x\\u{1b}[2J");
        let desc = SchemaDesc::array(SchemaDesc::primitive(Primitive::F64), 3);
        let bytes: Vec<u8> = [f64::NAN, f64::NEG_INFINITY, 0.1]
            .iter()
            .flat_map(|x| x.to_ne_bytes())
            .collect();
        let mut json = Vec::new();
        write_json(&desc, &bytes, u64::MAX, &mut json).unwrap();
        assert_eq!(String::from_utf8(json).unwrap(), r#"["nan","-inf",0.1]"#);
        let pose = SchemaDesc::c_struct(
            "Pose",
            vec![
                ("z".to_owned(), SchemaDesc::primitive(Primitive::I16)),
                ("ok".to_owned(), SchemaDesc::primitive(Primitive::Bool)),
                ("n".to_owned(), SchemaDesc::primitive(Primitive::U8)),
            ],
        )
        .unwrap();
        let mut json = Vec::new();
        write_json(&pose, &[0xfe, 0xff, 1, 255], u64::MAX, &mut json).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"z":-2,"ok":true,"n":255}"#
        );
    }
}
