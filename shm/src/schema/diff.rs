//! What differs between the type a topic carries and the type a subscriber expects, field by
//! field, for mismatch errors.

use super::{DescKind, FieldDesc, SchemaDesc};

/// Most lines [`SchemaDesc::differences`] returns.
pub const MAX_DIFFERENCES: usize = 256;

fn describe_field(path: &str, base: u64, f: &FieldDesc) -> String {
    format!(
        "`{path}`: {} at offset {}",
        f.ty.type_name(),
        base + f.offset
    )
}

/// Where a value sits in each message: byte offset in the topic's type and in ours.
#[derive(Clone, Copy)]
pub(super) struct Bases {
    pub(super) topic: u64,
    pub(super) ours: u64,
}

/// Appends the differences between `topic` and `ours`, found at `path` (empty for the message
/// itself, `a.b` for nested fields), whose values start at bytes `at_bytes` of each message.
pub(super) fn diff_node(
    out: &mut Vec<String>,
    path: &str,
    at_bytes: Bases,
    topic: &SchemaDesc,
    ours: &SchemaDesc,
) {
    if out.len() >= MAX_DIFFERENCES {
        return;
    }
    let before = out.len();
    let at = if path.is_empty() {
        "type".to_owned()
    } else {
        format!("field `{path}`")
    };
    let (tn, on) = (topic.type_name(), ours.type_name());
    if tn != on {
        out.push(format!("{at}: `{tn}` in the topic, `{on}` here"));
    }
    match (&topic.kind, &ours.kind) {
        (DescKind::Primitive(_), DescKind::Primitive(_)) => {}
        (DescKind::Struct(tf), DescKind::Struct(of)) => {
            let child = |name: &str| {
                if path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                }
            };
            for t in tf {
                match of.iter().find(|o| o.name == t.name) {
                    None => out.push(format!(
                        "field {} exists only in the topic",
                        describe_field(&child(&t.name), at_bytes.topic, t)
                    )),
                    Some(o) => {
                        if o.offset != t.offset {
                            out.push(format!(
                                "field `{}`: offset {} in the topic, {} here",
                                child(&t.name),
                                at_bytes.topic + t.offset,
                                at_bytes.ours + o.offset
                            ));
                        }
                        let inner = Bases {
                            topic: at_bytes.topic + t.offset,
                            ours: at_bytes.ours + o.offset,
                        };
                        diff_node(out, &child(&t.name), inner, &t.ty, &o.ty);
                    }
                }
            }
            for o in of {
                if !tf.iter().any(|t| t.name == o.name) {
                    out.push(format!(
                        "field {} exists only here",
                        describe_field(&child(&o.name), at_bytes.ours, o)
                    ));
                }
            }
            let tnames: Vec<&str> = tf.iter().map(|f| f.name.as_str()).collect();
            let onames: Vec<&str> = of.iter().map(|f| f.name.as_str()).collect();
            let mut ts = tnames.clone();
            let mut os = onames.clone();
            ts.sort_unstable();
            os.sort_unstable();
            if ts == os && tnames != onames {
                out.push(format!(
                    "{at}: field order ({}) in the topic, ({}) here",
                    tnames.join(", "),
                    onames.join(", ")
                ));
            }
        }
        (DescKind::Array { elem: te, len: tl }, DescKind::Array { elem: oe, len: ol }) => {
            if tl == ol {
                diff_node(out, &format!("{path}[]"), at_bytes, te, oe);
            }
        }
        (DescKind::Sequence { elem: te, cap: tc }, DescKind::Sequence { elem: oe, cap: oc }) => {
            if tc == oc {
                diff_node(out, &format!("{path}[]"), at_bytes, te, oe);
            }
        }
        _ => {
            if tn == on {
                out.push(format!("{at}: `{tn}` has a different kind in the topic"));
            }
        }
    }
    // Same visible names and fields, yet different bytes (packing or alignment attributes).
    if out.len() == before && (topic.size != ours.size || topic.align != ours.align) {
        out.push(format!(
            "{at}: {} bytes aligned to {} in the topic, {} bytes aligned to {} here",
            topic.size, topic.align, ours.size, ours.align
        ));
    }
}
