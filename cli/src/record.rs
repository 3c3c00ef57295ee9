//! `shm record`: topics into an MCAP file that Foxglove and the ROS 2 tools open
//! (`shm_record`: ROS 2 message definitions, CDR, the exact schema in each channel's metadata).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shm::stop;
use shm_record::recorder::{Compression, RecordOptions, Recorder};

use crate::{Failure, common, note, out};

/// Records topics into an MCAP file until Ctrl-C (or SIGTERM), which closes a valid file.
#[derive(clap::Args, Debug)]
#[command(
    about = "Record topics into an MCAP file (Foxglove, ROS 2 tools) until Ctrl-C",
    after_help = "Every topic matching a pattern is recorded, also one created while recording;\n\
                  every value the ring still holds when read, with its publish time, the time\n\
                  it was read and its sequence number. Values published faster than read and\n\
                  overwritten are counted as missed.\n\n\
                  A split recording (--split-size, --split-duration) is written as run_0.mcap,\n\
                  run_1.mcap ... next to the name given; `shm play run_*.mcap` plays it whole.\n\n\
                  Examples:\n  shm record -o run.mcap 'robot/**'\n  shm record -o pose.mcap robot/pose --duration 10\n  \
                  shm record -o run.mcap 'robot/**' --compression zstd --split-size 1G"
)]
pub(crate) struct RecordArgs {
    /// The file to write (refused if it exists).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Topics to record: names or globs (`*`, `?` within a part, `**` over parts).
    #[arg(required = true, value_name = "PATTERN")]
    patterns: Vec<String>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = common::seconds)]
    duration: Option<Duration>,
    /// Compress chunks: zstd (smaller) or lz4 (faster); none by default.
    #[arg(long, value_name = "HOW", default_value = "none")]
    compression: CompressionArg,
    /// Start a new file once one holds this much (bytes, or with K, M, G: 1024-based).
    #[arg(long, value_name = "SIZE", value_parser = size)]
    split_size: Option<u64>,
    /// Start a new file after this many seconds (at least 1).
    #[arg(long, value_name = "SECONDS", value_parser = split_seconds)]
    split_duration: Option<Duration>,
}

/// `--compression`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum CompressionArg {
    /// Not compressed.
    None,
    /// Zstandard.
    Zstd,
    /// LZ4.
    Lz4,
}

/// `--split-duration`: at least a second (a part per chunk flush at most).
fn split_seconds(text: &str) -> Result<Duration, String> {
    let d = common::seconds(text)?;
    if d < Duration::from_secs(1) {
        return Err(format!("{text} s: expects at least 1 second"));
    }
    Ok(d)
}

/// `--split-size`: bytes, or a number with K, M or G (1024-based; `MB`, `MiB` alike), at least
/// 1 MiB.
fn size(text: &str) -> Result<u64, String> {
    let upper = text.trim().to_ascii_uppercase();
    let t = upper
        .strip_suffix("IB")
        .or_else(|| {
            upper
                .strip_suffix('B')
                .filter(|r| r.ends_with(|c: char| c.is_ascii_alphabetic()))
        })
        .unwrap_or(&upper);
    let (number, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("`{text}`: the unit is K, M or G")),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a size (100M, 1G, 5000000)"))?;
    let bytes = n * f64::from(1u32 << shift);
    if !(bytes >= f64::from(1u32 << 20) && bytes <= 1e18) {
        return Err(format!(
            "`{text}`: expects at least 1M (a file holds whole chunks)"
        ));
    }
    Ok(bytes as u64)
}

/// How long to sleep when nothing was written: from the first, doubling while nothing comes, up
/// to the last (a value stays in the ring for at least `buffer_num` publishes).
const IDLE_FIRST: Duration = Duration::from_micros(250);
const IDLE_MAX: Duration = Duration::from_millis(4);

pub(crate) fn record(root: Option<&Path>, args: &RecordArgs) -> Result<(), Failure> {
    let patterns: Vec<&str> = args.patterns.iter().map(String::as_str).collect();
    let options = RecordOptions {
        root: root.map(Path::to_path_buf),
        compression: match args.compression {
            CompressionArg::None => None,
            CompressionArg::Zstd => Some(Compression::Zstd),
            CompressionArg::Lz4 => Some(Compression::Lz4),
        },
        split_size: args.split_size,
        split_duration: args.split_duration,
        ..RecordOptions::default()
    };
    let deadline = args.duration.map(|d| Instant::now() + d);
    let mut recorder = Recorder::create(&args.output, &patterns, options)?;
    out(format_args!(
        "recording {} into {}",
        args.patterns.join(" "),
        recorder.paths()[0].display()
    ))?;
    let mut files = 1;
    let progress = std::io::stderr().is_terminal();
    let mut next_progress = Instant::now() + Duration::from_secs(1);
    let mut announced = std::collections::BTreeSet::new();
    let mut next_look = Instant::now();
    let mut idle = IDLE_FIRST;
    loop {
        if stop::requested() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let written = recorder.poll()?;
        if recorder.paths().len() > files {
            files = recorder.paths().len();
            out(format_args!(
                "going on in {}",
                recorder.paths()[files - 1].display()
            ))?;
        }
        for line in recorder.take_notes() {
            note(line);
        }
        // New topics: looked for when the count changed, and every second.
        if recorder.stats().topics > announced.len() || Instant::now() >= next_look {
            next_look = Instant::now() + Duration::from_secs(1);
            let new: Vec<String> = recorder
                .topics()
                .filter(|t| !announced.contains(*t))
                .map(str::to_owned)
                .collect();
            for topic in new {
                out(format_args!("recording '{topic}'"))?;
                announced.insert(topic);
            }
        }
        if progress && Instant::now() >= next_progress {
            let s = recorder.stats();
            eprint!(
                "\r{} topic(s), {} message(s), {:.1} MB, {} missed ",
                s.topics,
                s.messages,
                s.bytes as f64 / 1e6,
                s.missed
            );
            next_progress = Instant::now() + Duration::from_secs(1);
        }
        if written == 0 {
            std::thread::sleep(idle);
            idle = (idle * 2).min(IDLE_MAX);
        } else {
            idle = IDLE_FIRST;
        }
    }
    let first = recorder.paths()[0].clone();
    let stats = recorder.finish()?;
    if progress {
        eprintln!();
    }
    let into = match stats.files {
        1 => first.display().to_string(),
        n => format!("{n} files"),
    };
    out(format_args!(
        "recorded {} message(s) of {} topic(s) into {into} ({} missed)",
        stats.messages, stats.topics, stats.missed
    ))
}
