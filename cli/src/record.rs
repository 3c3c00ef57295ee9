//! `shm record`: topics into an MCAP file that Foxglove and the ROS 2 tools open
//! (`shm_record`: ROS 2 message definitions, CDR, the exact schema in each channel's metadata).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shm::stop;
use shm_record::recorder::{RecordOptions, Recorder};

use crate::{Failure, note, out};

/// Records topics into an MCAP file until Ctrl-C (or SIGTERM), which closes a valid file.
#[derive(clap::Args, Debug)]
#[command(
    about = "Record topics into an MCAP file (Foxglove, ROS 2 tools) until Ctrl-C",
    after_help = "Every topic matching a pattern is recorded, also one created while recording;\n\
                  every value the ring still holds when read, with its publish time, the time\n\
                  it was read and its sequence number. Values published faster than read and\n\
                  overwritten are counted as missed.\n\n\
                  Examples:\n  shm record -o run.mcap 'robot/**'\n  shm record -o pose.mcap robot/pose --duration 10"
)]
pub(crate) struct RecordArgs {
    /// The file to write (refused if it exists).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Topics to record: names or globs (`*`, `?` within a part, `**` over parts).
    #[arg(required = true, value_name = "PATTERN")]
    patterns: Vec<String>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
}

/// How long to sleep when nothing was written: from the first, doubling while nothing comes, up
/// to the last (a value stays in the ring for at least `buffer_num` publishes).
const IDLE_FIRST: Duration = Duration::from_micros(250);
const IDLE_MAX: Duration = Duration::from_millis(4);

pub(crate) fn record(root: Option<&Path>, args: &RecordArgs) -> Result<(), Failure> {
    let patterns: Vec<&str> = args.patterns.iter().map(String::as_str).collect();
    let options = RecordOptions {
        root: root.map(Path::to_path_buf),
        ..RecordOptions::default()
    };
    let deadline = match args.duration {
        None => None,
        Some(d) if d.is_finite() && d >= 0.0 => {
            Some(Instant::now() + Duration::from_secs_f64(d.min(1e9)))
        }
        Some(d) => {
            return Err(Failure::new(format!(
                "--duration {d}: not a number of seconds"
            )));
        }
    };
    let mut recorder = Recorder::create(&args.output, &patterns, options)?;
    out(format_args!(
        "recording {} into {}",
        args.patterns.join(" "),
        args.output.display()
    ))?;
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
    let stats = recorder.finish()?;
    if progress {
        eprintln!();
    }
    out(format_args!(
        "recorded {} message(s) of {} topic(s) into {} ({} missed)",
        stats.messages,
        stats.topics,
        args.output.display(),
        stats.missed
    ))
}
