//! `shm-bridge`: carries chosen shm topics from this machine's shared memory to Zenoh, and
//! remote topics from Zenoh into local shared memory, typed (the schema hash checked on both
//! sides) and latest-value. Run one on each machine; see `--help`.

mod clock;
mod export;
mod import;
mod keys;
mod ring;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use zenoh::Wait as _;

use crate::export::{Exporter, Rate};
use crate::import::{Importer, Limits};
use crate::keys::Pattern;
use shm::stop;

/// The process name of this bridge (`/proc/self/comm`, as topic headers record it; usually
/// `shm-bridge`): topics a process of this name publishes were imported by a bridge and are
/// never exported again.
pub(crate) fn bridge_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/self/comm")
            .ok()
            .map(|comm| comm.trim_end_matches('\n').to_owned())
            .filter(|comm| !comm.is_empty())
            .unwrap_or_else(|| "shm-bridge".to_owned())
    })
}

/// Carry shm topics between machines over Zenoh, typed and latest-value.
#[derive(Parser, Debug)]
#[command(
    name = "shm-bridge",
    version,
    about,
    after_help = "Two machines: the robot exports its topics, the laptop imports them.\n\n  \
        robot$  shm-bridge --listen tcp/192.168.1.20:7447 --export 'robot/**'\n  \
        laptop$ shm-bridge --connect tcp/192.168.1.20:7447 --import 'robot/**'\n\n\
        On the laptop, `shm echo robot/pose` (or any typed subscriber, Rust or Python) reads the \
        robot's poses as if they were published there. Both ways at once: give each bridge \
        --export and --import patterns; a bridge never exports what it imported. Patterns are \
        globs over topic names: `*` within a level, `**` across levels.\n\n\
        Listen on a private interface (as above) or loopback, never on 0.0.0.0 of a network \
        others share: any peer that connects may read every exported topic and publish into \
        imported ones (within the --max-* limits). On a shared network use TLS with mutual \
        authentication and access control: --config with the settings of \
        bridge/config/mtls.json5."
)]
struct Args {
    /// Directory of topic files (default: $SHM_ROOT, else /dev/shm).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Accept Zenoh connections on this endpoint (`tcp/0.0.0.0:7447`); repeatable.
    #[arg(long, value_name = "ENDPOINT")]
    listen: Vec<String>,
    /// Connect to a Zenoh endpoint (another bridge, a router: `tcp/192.168.1.20:7447`);
    /// repeatable.
    #[arg(long, value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// Carry local topics matching this pattern to Zenoh (as they appear); repeatable.
    #[arg(long, value_name = "PATTERN")]
    export: Vec<String>,
    /// Make remote topics matching this pattern local topics; repeatable.
    #[arg(long, value_name = "PATTERN")]
    import: Vec<String>,
    /// The Zenoh key prefix of the topics (one per robot in a fleet, such as its name).
    #[arg(long, default_value = "shm", value_name = "NAME")]
    prefix: String,
    /// Export matching topics at most this often: `HZ` for all, or `PATTERN=HZ`; repeatable.
    /// The newest value goes at each opportunity (older ones are dropped, never queued).
    #[arg(long = "max-rate", value_name = "[PATTERN=]HZ")]
    max_rate: Vec<String>,
    /// The slot count of imported topics matching PATTERN (default: the exporting side's);
    /// repeatable, the first matching pattern applies.
    #[arg(long = "slots", value_name = "PATTERN=N")]
    slots: Vec<String>,
    /// Remote topics imported (or waiting for their schema) at most; more are dropped, with one
    /// log line each.
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_topics: u64,
    /// The largest value imported (bytes, or with K, M, G: KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = size)]
    max_value_size: u64,
    /// The most the files of imported topics may take together (bytes, or with K, M, G).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = size)]
    max_total_size: u64,
    /// Zenoh's own settings (JSON5 config file: TLS, access control, ...); the flags above
    /// are applied on top.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// A size: bytes, or a number of KiB, MiB or GiB (`64M`, `1G`, `512K`).
fn size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.strip_suffix(['K', 'M', 'G', 'k', 'm', 'g']) {
        Some(digits) => (digits, &text[digits.len()..]),
        None => (text, ""),
    };
    let shift = match unit {
        "" => 0,
        "K" | "k" => 10,
        "M" | "m" => 20,
        _ => 30,
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a size: bytes, or a number with K, M or G"))
}

/// The `--slots` overrides.
fn slots(texts: &[String]) -> Result<Vec<(Pattern, usize)>, String> {
    let range = shm::MIN_BUFFER_NUM..=shm::MAX_BUFFER_NUM;
    texts
        .iter()
        .map(|text| {
            let (pattern, n) = text
                .rsplit_once('=')
                .ok_or_else(|| format!("--slots {text}: expects PATTERN=N"))?;
            let n = n
                .parse()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    format!(
                        "--slots {text}: expects {} to {} slots",
                        range.start(),
                        range.end()
                    )
                })?;
            Ok((Pattern::parse(pattern)?, n))
        })
        .collect()
}

/// One line on standard error, escaped: topic and type names come from peers and from files
/// others may write, and must not drive the terminal reading the log.
pub(crate) fn log(message: std::fmt::Arguments<'_>) {
    eprintln!("shm-bridge: {}", shm::text::printable(&message.to_string()));
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("shm-bridge: error: {why}");
            ExitCode::FAILURE
        }
    }
}

fn patterns(texts: &[String]) -> Result<Vec<Pattern>, String> {
    texts.iter().map(|t| Pattern::parse(t)).collect()
}

/// The `--max-rate` limits: `PATTERN=HZ` ones first (the first whose pattern matches a topic
/// applies to it), then a plain `HZ` for every other topic.
fn rates(texts: &[String]) -> Result<Vec<Rate>, String> {
    let mut out: Vec<Rate> = Vec::new();
    for rate in texts {
        let (pattern, hz) = match rate.rsplit_once('=') {
            Some((p, hz)) => (Some(Pattern::parse(p)?), hz),
            None => (None, rate.as_str()),
        };
        let hz: f64 = hz
            .parse()
            .ok()
            .filter(|hz: &f64| hz.is_finite() && *hz > 0.0 && *hz <= 1e6)
            .ok_or_else(|| {
                format!("--max-rate {rate}: expects a rate above 0 and at most 1000000 Hz")
            })?;
        out.push(Rate { pattern, hz });
    }
    out.sort_by_key(|r| r.pattern.is_none());
    Ok(out)
}

fn check_prefix(prefix: &str) -> Result<(), String> {
    let ok = !prefix.is_empty()
        && prefix.split('/').all(|chunk| {
            !chunk.is_empty()
                && !chunk.starts_with('@')
                && chunk
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--prefix '{prefix}': use letters, digits, '.', '_', '-' and '/' between non-empty levels"
        ))
    }
}

fn endpoints(list: &[String]) -> String {
    let quoted: Vec<String> = list.iter().map(|e| format!("{e:?}")).collect();
    format!("[{}]", quoted.join(","))
}

fn run(args: Args) -> Result<(), String> {
    check_prefix(&args.prefix)?;
    let exports = patterns(&args.export)?;
    let imports = patterns(&args.import)?;
    let rates = rates(&args.max_rate)?;
    let limits = Limits {
        topics: args.max_topics as usize,
        value_size: args.max_value_size,
        total_size: args.max_total_size,
        slots: slots(&args.slots)?,
    };
    if exports.is_empty() && imports.is_empty() {
        return Err("nothing to carry: give --export and/or --import patterns".to_owned());
    }
    let root = args.root.clone().unwrap_or_else(shm::default_root);
    if !root.is_dir() {
        return Err(format!(
            "{} is not a directory (give the topic directory with --root or $SHM_ROOT)",
            root.display()
        ));
    }
    let mut config = match &args.config {
        Some(path) => zenoh::Config::from_file(path)
            .map_err(|e| format!("cannot read the Zenoh config {}: {e}", path.display()))?,
        None => zenoh::Config::default(),
    };
    // Zenoh's peers listen on every interface by default: a bridge listens only where it is
    // told (--listen, or a config file that says where), and finds peers by multicast only
    // if a config file asks for it.
    let listen_default = config.get_json("listen/endpoints").ok()
        == zenoh::Config::default().get_json("listen/endpoints").ok();
    if !args.listen.is_empty() || listen_default {
        config
            .insert_json5("listen/endpoints", &endpoints(&args.listen))
            .map_err(|e| format!("--listen: {e}"))?;
    }
    if args.config.is_none() {
        config
            .insert_json5("scouting/multicast/enabled", "false")
            .map_err(|e| format!("scouting: {e}"))?;
    }
    // A peer's message may be no larger than twice a value this bridge imports (with its
    // header), or a schema: Zenoh reassembles messages up to 1 GiB otherwise.
    config
        .insert_json5(
            "transport/link/rx/max_message_size",
            &limits.max_message().to_string(),
        )
        .map_err(|e| format!("--max-value-size: {e}"))?;
    if !args.connect.is_empty() {
        config
            .insert_json5("connect/endpoints", &endpoints(&args.connect))
            .map_err(|e| format!("--connect: {e}"))?;
    }
    let session = zenoh::open(config)
        .wait()
        .map_err(|e| format!("cannot start Zenoh: {e}"))?;
    let mut exporter = Exporter::new(session.clone(), &args.prefix, root.clone(), exports, rates)
        .map_err(|e| format!("cannot export: {e}"))?;
    let importer = Importer::new(
        session.clone(),
        &args.prefix,
        root.clone(),
        imports,
        limits,
        exporter.exports(),
    )
    .map_err(|e| format!("cannot import: {e}"))?;
    // SIGINT and SIGTERM stop the bridge cleanly: local publishers of imported topics exit
    // (their subscribers see them gone), liveliness tokens are withdrawn.
    let _signals = stop::install();
    println!(
        "shm-bridge: ready: root {}, prefix '{}', exporting [{}], importing [{}], zenoh id {}",
        root.display(),
        args.prefix,
        args.export.join(", "),
        args.import.join(", "),
        session.zid()
    );
    while !stop::requested() {
        exporter.scan();
        for _ in 0..4 {
            if stop::requested() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    exporter.stop();
    importer.stop();
    let _ = session.close().wait();
    println!("shm-bridge: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_apply_to_their_patterns() {
        let r = rates(&["50".into(), "camera/**=5".into()]).unwrap();
        assert_eq!(export::rate_of(&r, "camera/front"), Some(5.0));
        assert_eq!(export::rate_of(&r, "robot/pose"), Some(50.0));
        assert_eq!(export::rate_of(&rates(&[]).unwrap(), "robot/pose"), None);
        assert!(rates(&["0".into()]).is_err());
        assert!(rates(&["x=nan".into()]).is_err());
    }

    #[test]
    fn sizes_and_slots_parse() {
        assert_eq!(size("64M"), Ok(64 << 20));
        assert_eq!(size("1G"), Ok(1 << 30));
        assert_eq!(size("4096"), Ok(4096));
        assert!(size("0").is_err() && size("x").is_err() && size("99999999999G").is_err());
        let s = slots(&["camera/**=32".into()]).unwrap();
        assert!(s[0].0.matches("camera/front") && s[0].1 == 32);
        assert!(slots(&["a=1".into()]).is_err() && slots(&["a".into()]).is_err());
    }

    #[test]
    fn prefixes_are_plain_key_levels() {
        assert!(check_prefix("shm").is_ok() && check_prefix("fleet/robot-1").is_ok());
        for bad in ["", "a//b", "@x", "a*", "a b"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
