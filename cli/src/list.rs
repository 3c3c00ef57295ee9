//! `shm list` and `shm info`: what the topic files say, read with `pread` (never mapped, never
//! subscribed), so a damaged or hostile file is reported, not trusted.

use std::path::Path;

use clap::Args;
use serde_json::{Value as Json, json};
use shm::inspect::{self, Entry, TopicInfo};

use crate::common::{self, Owner};
use crate::service::{Services, service_of};
use crate::{Failure, format, out, out_json, out_lines, out_with, style};

/// Arguments of `shm list`.
#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// Only topics matching this pattern (`robot/*`, `**/pose`, `camera/front_?`; quote it).
    pattern: Option<String>,
    /// Only topics of this type (`Pose`, `f64`, `[f64; 3]`, as TYPE shows it).
    #[arg(long = "type", short, value_name = "TYPE")]
    ty: Option<String>,
    /// One JSON object per topic, as a JSON array.
    #[arg(long)]
    json: bool,
    /// Also list files that are not valid topics, and the generation files.
    #[arg(long, short)]
    all: bool,
}

/// Arguments of `shm info`.
#[derive(Args, Debug)]
pub(crate) struct InfoArgs {
    /// The topic.
    topic: String,
    /// As one JSON object.
    #[arg(long)]
    json: bool,
    /// Print the value's long arrays whole (by default a block of more than 256 numbers is
    /// summarised as its shape, type, min, max and mean).
    #[arg(long)]
    full: bool,
    #[arg(long, default_value = "me", help = common::OWNER_HELP)]
    owner: Owner,
}

/// The recording `shm info` was given instead of a topic: an existing file named `*.mcap` (a
/// topic may be named so too; a file that exists in the working directory is taken first).
pub(crate) fn recording(args: &InfoArgs) -> Option<std::path::PathBuf> {
    let path = Path::new(&args.topic);
    (path.extension().is_some_and(|e| e == "mcap") && path.is_file()).then(|| path.to_path_buf())
}

pub(crate) fn list(root: Option<&Path>, args: &ListArgs) -> Result<(), Failure> {
    let root_dir = root.map_or_else(shm::default_root, Path::to_path_buf);
    let entries = inspect::list(Some(&root_dir)).map_err(|e| {
        Failure::new(format!(
            "cannot list {}: {e} (give the topic directory with --root or $SHM_ROOT)",
            root_dir.display()
        ))
    })?;
    let pattern = args
        .pattern
        .as_deref()
        .map(shm::TopicPattern::new)
        .transpose()
        .map_err(Failure::new)?;
    let wanted = |info: &TopicInfo| {
        pattern.as_ref().is_none_or(|p| p.matches(&info.topic))
            && args
                .ty
                .as_deref()
                .is_none_or(|t| same_type(&info.schema.type_name(), t))
    };
    let filtered = pattern.is_some() || args.ty.is_some();
    // One file at a time: what is kept of each is a row (or a JSON object) of bounded size.
    let mut items: Vec<Json> = Vec::new();
    let mut rows = vec![
        [
            "TOPIC",
            "TYPE",
            "SIZE",
            "SLOTS",
            "PUBLISHER",
            "LAST",
            "OWNER",
        ]
        .map(String::from),
    ];
    // A service's or action's topics are shown as one row of it (with `--all`, as topics too).
    let mut services = Services::default();
    // Files that are not topics: counted, and listed with `--all`.
    let mut invalid = 0;
    let mut others = Vec::new();
    for entry in entries {
        match entry {
            Entry::Topic(info) if !wanted(&info) => {}
            Entry::Topic(info) if args.json => items.push(info_json(&info)),
            Entry::Topic(info) => match service_of(&root_dir, &info.topic) {
                Some((service, kind, slot)) => {
                    if args.all {
                        rows.push(row(&info));
                    }
                    services.add(&service, &kind, slot, *info);
                }
                None => rows.push(row(&info)),
            },
            // What a filter leaves out is not counted either.
            _ if filtered => {}
            Entry::Invalid { path, topic, error } if args.json && args.all => {
                items.push(json!({
                    "path": path.to_string_lossy(), "topic": topic, "error": error.to_string(),
                }));
            }
            Entry::Invalid { .. } if args.json => {}
            Entry::Invalid { error, .. } => {
                invalid += 1;
                // The error names the file.
                others.push(format!("not a topic: {error}"));
            }
            Entry::Generation { path } if !args.json => {
                let owner = inspect::file_owner(&path)
                    .map_or_else(|_| "owner unknown".to_owned(), |o| o.uid.to_string());
                others.push(format!("generation file: {} ({owner})", path.display()));
            }
            _ => {}
        }
    }
    if args.json {
        return out_json(&Json::Array(items));
    }
    if rows.len() == 1 && !services.is_empty() {
        // Only services.
    } else if rows.len() == 1 && filtered {
        out(format!("no matching topics in {}", root_dir.display()))?;
    } else if rows.len() == 1 {
        out(format!("no topics in {}", root_dir.display()))?;
    } else {
        for line in table(&rows, 4) {
            crate::write_out(&format!("{line}\n"))?;
        }
    }
    let services = services.rows(&root_dir);
    if !services.is_empty() {
        let header = ["SERVICE", "KIND", "SERVER", "CLIENTS", "WAITING"].map(String::from);
        crate::write_out("\n")?;
        for line in table(&[&[header][..], &services[..]].concat(), 2) {
            crate::write_out(&format!("{line}\n"))?;
        }
    }
    if args.all {
        for line in others {
            out(line)?;
        }
    } else if invalid > 0 {
        out(format!(
            "({invalid} more files named like topics are not valid topics: shm list --all)"
        ))?;
    }
    Ok(())
}

/// Whether a topic's type name is the one asked for: as the tool prints it, spaces aside
/// (`[f64;3]` is `[f64; 3]`).
fn same_type(type_name: &str, asked: &str) -> bool {
    let squeeze = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    squeeze(type_name) == squeeze(asked)
}

/// Arguments of `shm find`.
#[derive(Args, Debug)]
pub(crate) struct FindArgs {
    /// The type (`Pose`, `f64`, `[f64; 3]`, as `shm list` shows it).
    #[arg(value_name = "TYPE")]
    ty: String,
}

/// `shm find TYPE`: the names of the topics of this type, one per line (as `ros2 topic find`).
pub(crate) fn find(root: Option<&Path>, args: &FindArgs) -> Result<(), Failure> {
    let root_dir = root.map_or_else(shm::default_root, Path::to_path_buf);
    let entries = inspect::list(Some(&root_dir))
        .map_err(|e| Failure::new(format!("cannot list {}: {e}", root_dir.display())))?;
    for entry in entries {
        if let Entry::Topic(info) = entry
            && same_type(&info.schema.type_name(), &args.ty)
        {
            out(&info.topic)?;
        }
    }
    Ok(())
}

fn row(info: &TopicInfo) -> [String; 7] {
    let publisher = if info.publisher_alive {
        info.publisher.to_string()
    } else if info.publisher.pid == 0 {
        "none".to_owned()
    } else {
        format!("gone: {}", info.publisher)
    };
    let last = match info.last_published {
        Some(t) if info.last_seq > 0 => format!(
            "#{} {} ago",
            info.last_seq,
            format::duration_ns(t.elapsed().as_nanos() as u64)
        ),
        _ => "none".to_owned(),
    };
    [
        format::printable(&info.topic).into_owned(),
        info.schema.type_name(),
        format::bytes(info.schema.size() as u64),
        info.slots.to_string(),
        publisher,
        last,
        info.owner.uid.to_string(),
    ]
}

/// Left-aligned columns two spaces apart; the last column unpadded. Every cell is escaped
/// ([`format::printable`]) before it is padded; on a terminal the header is bold and a
/// publisher is green while alive, yellow once gone.
fn table<const N: usize>(rows: &[[String; N]], process_column: usize) -> Vec<String> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| format::printable(c).into_owned())
                .collect()
        })
        .collect();
    let mut widths = [0usize; N];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .enumerate()
        .map(|(n, r)| {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                let last = i + 1 == r.len();
                let padded = if last {
                    cell.clone()
                } else {
                    format!("{cell:<w$}", w = widths[i])
                };
                let code = match (n, i) {
                    (0, _) => Some("1"),
                    (_, c) if c == process_column && cell.starts_with("gone") => Some("33"),
                    (_, c) if c == process_column && cell != "none" => Some("32"),
                    _ => None,
                };
                let padded = match code {
                    // Only the text is painted, not the padding after it.
                    Some(code) => {
                        let text = padded.trim_end();
                        let pad = &padded[text.len()..];
                        format!("{}{pad}", style::paint(text, code, style::To::Out))
                    }
                    None => padded,
                };
                line.push_str(&padded);
                if !last {
                    line.push_str("  ");
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}

/// Everything a file says about its topic, as JSON (times: publish times on `CLOCK_MONOTONIC`,
/// creation in Unix ns).
fn info_json(info: &TopicInfo) -> Json {
    json!({
        "topic": info.topic,
        "type": info.schema.type_name(),
        "schema_hash": format!("{:#018x}", info.schema.hash()),
        "size": info.schema.size(),
        "align": info.schema.align(),
        "slots": info.slots,
        "stride": info.stride,
        "file_size": info.file_size,
        "path": info.path.to_string_lossy(),
        "owner_uid": info.owner.uid.0,
        "mode": format::mode(info.owner.mode),
        "publisher": {
            "pid": info.publisher.pid,
            "name": info.publisher.process_name,
            "node": (!info.publisher.node_name.is_empty()).then_some(&info.publisher.node_name),
            "alive": info.publisher_alive,
        },
        "publishers": info.publishers,
        "last_seq": info.last_seq,
        "last_publish_time_ns": info.last_published.map(|t| t.as_nanos()),
        "created_unix_ns": info.created_unix_ns,
        "seq_base": info.seq_base,
        "subscriber_sleeping": info.sleeping,
        "lending": info.lending.map(|l| json!({
            "entries": l.entries,
            "subscribers": l.subscribers,
            "reserved_slots": l.reserved,
            "pinned_slots": l.pinned,
            "reserved_by_read_only_subscribers": l.reserved_by_readers,
        })),
    })
}

pub(crate) fn info(root: Option<&Path>, args: &InfoArgs) -> Result<(), Failure> {
    let info = match inspect::inspect(root, &args.topic) {
        Err(shm::InspectError::Missing { .. })
            if Services::is_service(
                &root.map_or_else(shm::default_root, Path::to_path_buf),
                &args.topic,
            ) =>
        {
            return crate::service::info(root, &args.topic, args.json);
        }
        info => info?,
    };
    // The newest value, read as a subscriber reads it (consistent, validated); the file is
    // described even when its owner is not trusted for values.
    let value = common::subscriber(root, &args.topic, args.owner)
        .and_then(|mut sub| sub.latest().map_err(common::subscribe_failure));
    if args.json {
        let mut obj = info_json(&info);
        obj["declaration"] = Json::String(format::declaration(&info.schema));
        let sample = match value {
            Ok(Some(sample)) => sample,
            Ok(None) => {
                obj["value"] = Json::Null;
                return out_json(&obj);
            }
            Err(f) => {
                obj["value_error"] = Json::String(f.message);
                return out_json(&obj);
            }
        };
        // The value last, written from its bytes as they are walked.
        let head = crate::json_text(&obj);
        let head = head.strip_suffix('}').unwrap_or(&head);
        return out_with(|w| {
            write!(w, "{head},\"value\":")?;
            let desc = sample.value.schema.desc();
            format::write_json(desc, &sample.value.bytes, format::limits(args.full).1, w)?;
            w.write_all(b"}")
        });
    }
    let publisher = match (info.publisher_alive, info.publisher.pid) {
        (true, _) => format!("{}, alive", info.publisher),
        (false, 0) => "none yet".to_owned(),
        (false, _) => format!("{}, gone", info.publisher),
    };
    let last = match info.last_published {
        Some(t) if info.last_seq > 0 => format!(
            "#{}, published {} ago",
            info.last_seq,
            format::duration_ns(t.elapsed().as_nanos() as u64)
        ),
        _ => "none yet".to_owned(),
    };
    let lines = [
        ("topic", info.topic.clone()),
        (
            "type",
            format!(
                "{} ({} bytes, align {}, schema hash {:#018x})",
                info.schema.type_name(),
                info.schema.size(),
                info.schema.align(),
                info.schema.hash()
            ),
        ),
        ("file", info.path.to_string_lossy().into_owned()),
        (
            "owner",
            format!("{}, mode {}", info.owner.uid, format::mode(info.owner.mode)),
        ),
        (
            "size",
            format!(
                "{} ({} slots of {} bytes from offset {})",
                format::bytes(info.file_size),
                info.slots,
                info.stride,
                info.slots_offset
            ),
        ),
        (
            "lending",
            match info.lending {
                None => "no (a copying topic)".to_owned(),
                Some(l) => {
                    let readers = if l.reserved_by_readers == 0 {
                        String::new()
                    } else {
                        format!(
                            " ({} of them by other users' subscribers, which pin with locks)",
                            l.reserved_by_readers
                        )
                    };
                    format!(
                        "yes: {} of {} subscriber entries taken, {} slots reserved{readers}, {} \
                         pinned now",
                        l.subscribers, l.entries, l.reserved, l.pinned
                    )
                }
            },
        ),
        ("created", format::utc(info.created_unix_ns)),
        ("publisher", publisher),
        ("publishers", info.publishers.to_string()),
        ("last", last),
        (
            "value",
            match value {
                Ok(Some(s)) => {
                    let (limit, summarize_above) = format::limits(args.full);
                    let desc = s.value.schema.desc();
                    shm::dynamic::show_summarized(desc, &s.value.bytes, limit, summarize_above)
                        .to_string()
                }
                Ok(None) => "none".to_owned(),
                Err(f) => format!("not read: {}", f.message),
            },
        ),
    ];
    for (name, text) in lines {
        out(format!("{name:<11}{text}"))?;
    }
    out("")?;
    out_lines(&format::declaration(&info.schema))
}
