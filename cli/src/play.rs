//! `shm play` (a recording back into its topics, with its timing) and `shm bag info` (what a
//! recording holds), over `shm_record`'s reader and player.

use std::path::PathBuf;
use std::time::Duration;

use shm::stop;
use shm_record::bag::{self, BagInfo, Ending};
use shm_record::player::{PlayOptions, Player};

use crate::{Failure, common, note, out};

/// Plays recordings back into their topics.
#[derive(clap::Args, Debug)]
#[command(
    about = "Play a recording (MCAP) back into its topics, with its timing",
    after_help = "Each channel is published to its topic as the type it was recorded as (shm's\n\
                  schema in the channel's metadata); a channel written by another tool is played\n\
                  if its ROS 2 type maps onto an shm type (the output says which). A topic that\n\
                  exists with another type, or has a live publisher, refuses the replay before\n\
                  anything is published. Several files (a split recording) play as one.\n\n\
                  Examples:\n  shm play run.mcap\n  shm play run.mcap --rate 2 --loop\n  \
                  shm play run_*.mcap --topics 'robot/*' --remap robot/pose=test/pose"
)]
pub(crate) struct PlayArgs {
    /// The recording: one file, or the parts of a split one in order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Speed: 2 plays twice as fast, 0.5 half as fast.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    rate: f64,
    /// Play again from the start when the end is reached, until Ctrl-C.
    #[arg(long = "loop")]
    looping: bool,
    /// Start this many seconds into the recording.
    #[arg(long, value_name = "SECONDS", value_parser = common::seconds)]
    start: Option<Duration>,
    /// Play this many seconds of it.
    #[arg(long, value_name = "SECONDS", value_parser = common::seconds)]
    duration: Option<Duration>,
    /// Play only these topics (names or globs; the option may be repeated).
    #[arg(long, value_name = "PATTERN")]
    topics: Vec<String>,
    /// Play topic FROM as topic TO (may be repeated).
    #[arg(long, value_name = "FROM=TO", value_parser = remap)]
    remap: Vec<(String, String)>,
}

/// `--remap from=to`.
fn remap(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => {
            Ok((from.to_owned(), to.to_owned()))
        }
        _ => Err(format!("`{text}`: expects FROM=TO, two topic names")),
    }
}

/// Commands on recordings.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum BagCommand {
    /// What a recording holds: topics, types, messages, rates, duration.
    Info(BagInfoArgs),
}

/// Arguments of `shm bag info`.
#[derive(clap::Args, Debug)]
pub(crate) struct BagInfoArgs {
    /// The recording: one file, or the parts of a split one.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub(crate) fn play(root: Option<&std::path::Path>, args: &PlayArgs) -> Result<(), Failure> {
    let options = PlayOptions {
        root: root.map(std::path::Path::to_path_buf),
        rate: args.rate,
        start: args.start.unwrap_or_default(),
        duration: args.duration,
        topics: args.topics.clone(),
        remap: args.remap.clone(),
    };
    let mut player = Player::open(&args.files, options)?;
    for line in player.take_notes() {
        note(line);
    }
    let info = player.info();
    if info.files.iter().any(|f| f.ending == Ending::Truncated) {
        note("the recording was cut short (a recorder killed?): playing what it holds");
    }
    out(format_args!(
        "playing {} topic(s): {} ({:.3} s recorded)",
        player.topics().count(),
        player.topics().collect::<Vec<_>>().join(" "),
        info.duration_secs()
    ))?;
    loop {
        let stats = player.play(&stop::requested)?;
        for line in player.take_notes() {
            note(line);
        }
        out(format_args!(
            "played {} message(s){}; late by {:.3} ms (median), {:.3} ms (p99), {:.3} ms (most)",
            stats.messages,
            if stats.bad > 0 {
                format!(" ({} not values of their type, skipped)", stats.bad)
            } else {
                String::new()
            },
            stats.lateness_p50.as_secs_f64() * 1e3,
            stats.lateness_p99.as_secs_f64() * 1e3,
            stats.lateness_max.as_secs_f64() * 1e3,
        ))?;
        if stats.stopped || !args.looping || stop::requested() {
            return Ok(());
        }
        if stats.messages == 0 {
            return Err(Failure::new(
                "--loop: a pass played nothing (is --start past the end?); stopping",
            ));
        }
    }
}

pub(crate) fn bag(command: &BagCommand) -> Result<(), Failure> {
    match command {
        BagCommand::Info(args) => info(&args.files),
    }
}

/// Prints what the recording in `files` holds.
pub(crate) fn info(files: &[PathBuf]) -> Result<(), Failure> {
    let info = bag::scan(files)?;
    print_info(&info)
}

fn print_info(info: &BagInfo) -> Result<(), Failure> {
    for file in &info.files {
        out(format_args!(
            "file:      {} ({:.1} MB{})",
            file.path.display(),
            file.size as f64 / 1e6,
            match file.ending {
                Ending::Complete => "",
                Ending::Truncated => ", cut short: read up to its last whole record",
            }
        ))?;
    }
    out(format_args!("duration:  {:.3} s", info.duration_secs()))?;
    out(format_args!("messages:  {}", info.messages))?;
    out(format_args!("channels:  {}", info.channels.len()))?;
    let width = info
        .channels
        .iter()
        .map(|c| c.channel_topic.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    for c in &info.channels {
        let what = match &c.target {
            Ok(t) => format!(
                "{} message(s), {}, {} -> '{}' {}{}",
                c.messages,
                c.rate().map_or("-".to_owned(), |r| format!("{r:.1} Hz")),
                bag::shown(&c.schema_name),
                t.topic,
                t.schema.desc().type_name(),
                if t.exact { "" } else { " (mapped)" }
            ),
            Err(why) => format!(
                "{} message(s), {}: not playable: {why}",
                c.messages,
                bag::shown(&c.schema_name)
            ),
        };
        out(format_args!(
            "  {:width$}  {what}",
            bag::shown(&c.channel_topic)
        ))?;
    }
    Ok(())
}
