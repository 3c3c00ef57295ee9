//! What several commands share: whose topics to read, opening a subscriber, types by name.

use std::path::Path;
use std::sync::Arc;

use shm::dynamic::{AnySubscriber, TopicSchema};
use shm::schema::{LayoutError, Primitive, SchemaDesc};
use shm::{SubscribeError, TopicOwner};

use crate::Failure;

/// Whose topic files to read: `me` (the default), `any`, or a uid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner(pub(crate) TopicOwner);

impl Default for Owner {
    fn default() -> Owner {
        Owner(TopicOwner::Me)
    }
}

impl std::str::FromStr for Owner {
    type Err = String;

    fn from_str(s: &str) -> Result<Owner, String> {
        match s {
            "me" => Ok(Owner(TopicOwner::Me)),
            "any" => Ok(Owner(TopicOwner::Anyone)),
            uid => uid
                .parse()
                .map(|uid| Owner(TopicOwner::Uid(uid)))
                .map_err(|_| format!("`{uid}` is not `me`, `any` or a numeric uid")),
        }
    }
}

/// The `--owner` help, shared by the commands that read values.
pub(crate) const OWNER_HELP: &str = "Whose topic files to read: `me` (default: files of this \
    user only, as the library does, since anyone can create a file in /dev/shm first), a uid, \
    or `any`";

/// An untyped subscriber of `topic`, reading whatever type it carries.
pub(crate) fn subscriber(
    root: Option<&Path>,
    topic: &str,
    owner: Owner,
) -> Result<AnySubscriber, Failure> {
    let mut builder = AnySubscriber::builder(topic).owner(owner.0);
    if let Some(root) = root {
        builder = builder.root(root);
    }
    builder.open().map_err(subscribe_failure)
}

/// A read failure, with the tool's remedy where the library's names an API call.
pub(crate) fn subscribe_failure(e: SubscribeError) -> Failure {
    match e {
        SubscribeError::UntrustedOwner { path, owner, .. } if owner.mode & 0o022 == 0 => {
            Failure::new(format!(
                "{} is {owner}, not yours, and could have been created by anyone; nothing was \
                 read. If that user publishes this topic for you, trust it with --owner {}",
                path.display(),
                owner.uid.0
            ))
        }
        other => Failure::new(other),
    }
}

/// A type from its Rust spelling (a primitive: `f64`, `bool`, `u8`, ...; an array of one:
/// `[f64; 3]`, nested too; `BoundedVec<f32, 1024>`, `BoundedString<64>`) or its Python one
/// (`f64[3]`, `u8[480, 640, 3]`, `seq[f32, 1024]`, `string[64]`). Structs come from the
/// programs that define them.
pub(crate) fn parse_type(text: &str) -> Result<Arc<TopicSchema>, Failure> {
    let desc = parse_desc(text.trim(), 0).map_err(|layout| match layout {
        Some(e) => Failure::new(format!("`{text}`: {e}")),
        None => {
            let names: Vec<_> = Primitive::all().iter().map(|p| p.name()).collect();
            Failure::new(format!(
                "`{text}` is not a type the tool can create: one of {}, an array such as \
                 `[f64; 3]` (or `f64[3]`), `BoundedVec<f32, 1024>` (`seq[f32, 1024]`) or \
                 `BoundedString<64>` (`string[64]`) (a struct topic is created by the program \
                 that defines the struct)",
                names.join(", ")
            ))
        }
    })?;
    TopicSchema::new(&desc)
        .map(Arc::new)
        .map_err(|e| Failure::new(format!("`{text}`: {}", e.reason)))
}

/// Array nesting the tool accepts (a schema read from a file may nest 64 levels too).
const MAX_DEPTH: usize = 64;

/// The type `text` names; `Err(None)` if it names none, `Err(Some(why))` if it names a bounded
/// sequence or string the layout rules refuse.
fn parse_desc(text: &str, depth: usize) -> Result<SchemaDesc, Option<LayoutError>> {
    if depth >= MAX_DEPTH {
        return Err(None);
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let (elem, len) = inner.rsplit_once(';').ok_or(None)?;
        let len: u64 = len.trim().parse().map_err(|_| None)?;
        return Ok(SchemaDesc::array(parse_desc(elem.trim(), depth + 1)?, len));
    }
    if let Some(inner) = text
        .strip_prefix("BoundedVec<")
        .and_then(|t| t.strip_suffix('>'))
    {
        let (elem, cap) = inner.rsplit_once(',').ok_or(None)?;
        let cap: u64 = cap.trim().parse().map_err(|_| None)?;
        return SchemaDesc::sequence(parse_desc(elem.trim(), depth + 1)?, cap).map_err(Some);
    }
    if let Some(cap) = text
        .strip_prefix("BoundedString<")
        .and_then(|t| t.strip_suffix('>'))
    {
        let cap: u64 = cap.trim().parse().map_err(|_| None)?;
        return SchemaDesc::string(cap).map_err(Some);
    }
    // Python's spellings: `f64[3]`, `u8[480, 640, 3]` (outermost first), `seq[f32, 4096]`,
    // `string[64]`.
    if let Some((head, inner)) = text
        .strip_suffix(']')
        .and_then(|t| t.split_once('['))
        .filter(|(head, _)| !head.is_empty())
    {
        let number = |t: &str| t.trim().parse::<u64>().map_err(|_| None);
        return match head.trim() {
            "seq" => {
                let (elem, cap) = inner.rsplit_once(',').ok_or(None)?;
                SchemaDesc::sequence(parse_desc(elem.trim(), depth + 1)?, number(cap)?)
                    .map_err(Some)
            }
            "string" => SchemaDesc::string(number(inner)?).map_err(Some),
            elem => {
                let dims = inner
                    .split(',')
                    .map(number)
                    .collect::<Result<Vec<_>, _>>()?;
                if dims.len() > MAX_DEPTH {
                    return Err(None);
                }
                let elem = parse_desc(elem, depth + 1)?;
                Ok(dims
                    .iter()
                    .rev()
                    .fold(elem, |inner, &len| SchemaDesc::array(inner, len)))
            }
        };
    }
    Primitive::from_name(text)
        .map(SchemaDesc::primitive)
        .ok_or(None)
}

/// `--timeout`-like options: seconds, at least 0, at most a year.
pub(crate) fn seconds(text: &str) -> Result<std::time::Duration, String> {
    let s: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.0..=31_536_000.0).contains(&s) {
        return Err(format!("{s} s: expects 0 to 31536000 seconds (a year)"));
    }
    Ok(std::time::Duration::from_secs_f64(s))
}

/// `--slots`: a ring of 2 to 4096 slots.
pub(crate) fn slots(text: &str) -> Result<usize, String> {
    let range = shm::MIN_BUFFER_NUM..=shm::MAX_BUFFER_NUM;
    text.parse()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| format!("expects {} to {} slots", range.start(), range.end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_as_rust_spells_them() {
        assert_eq!(parse_type("f64").unwrap().type_name(), "f64");
        assert_eq!(parse_type("[u8; 16]").unwrap().size(), 16);
        assert_eq!(
            parse_type("[[f32;3]; 2]").unwrap().type_name(),
            "[[f32; 3]; 2]"
        );
        assert!(parse_type("float").is_err());
        assert!(parse_type("[f64]").is_err());
        assert!(parse_type("[f64; -1]").is_err());
        let deep = format!("{}u8{}", "[".repeat(100_000), "; 2]".repeat(100_000));
        assert!(
            parse_type(&deep).is_err(),
            "bounded nesting, no stack overflow"
        );
        let err = parse_type("[u8; 18446744073709551615]")
            .unwrap_err()
            .message;
        assert!(err.contains("at most 4294967296 bytes"), "{err}");
        assert!(seconds("-1").is_err() && seconds("1e300").is_err() && seconds("x").is_err());
        assert_eq!(seconds("0.25"), Ok(std::time::Duration::from_millis(250)));
        assert!(slots("1").is_err() && slots("4097").is_err() && slots("8") == Ok(8));
    }

    #[test]
    fn owners_parse() {
        assert_eq!("me".parse(), Ok(Owner(TopicOwner::Me)));
        assert_eq!("any".parse(), Ok(Owner(TopicOwner::Anyone)));
        assert_eq!("1001".parse(), Ok(Owner(TopicOwner::Uid(1001))));
        assert!("bob".parse::<Owner>().is_err());
    }
}
