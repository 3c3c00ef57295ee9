//! The `shm` command-line tool: every topic under a root, described, echoed, measured, published
//! into and removed, whatever its type (the schema in each topic file says how to decode it).
//! Built on `shm::dynamic` and `shm::inspect`; [`run`] is the whole command, used by the `shm`
//! binary and by the Python package's `shm` console script.

mod common;
mod echo;
mod format;
mod hz;
mod list;
mod measure;
mod play;
mod publish;
mod record;
mod remove;
mod service;
mod style;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Look at and work with shared-memory topics (`shm` library).
#[derive(Parser, Debug)]
#[command(
    name = "shm",
    version,
    about,
    long_about = "Look at and work with the shared-memory topics of the shm library: which \
                  exist, who publishes them, what their values are and how often they come.",
    after_help = "Examples:\n  shm list\n  shm info robot/pose\n  shm echo robot/pose --field position[0]\n  shm hz robot/pose\n  shm pub robot/mode 3 --type i64\n  shm clean --dry-run"
)]
struct Cli {
    /// Directory of topic files (default: $SHM_ROOT, else /dev/shm).
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Colour: `auto` (on a terminal, unless NO_COLOR is set), `always` or `never`.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: style::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Every topic under the root: type, size, slots, publisher, last value, owner.
    List(list::ListArgs),
    /// One topic in detail: its schema as a struct declaration, layout, owner, publisher.
    Info(list::InfoArgs),
    /// Each new value of a topic, decoded with field names, as it arrives.
    Echo(echo::EchoArgs),
    /// How often a topic's values are published, from their publish times.
    Hz(hz::HzArgs),
    /// How many bytes per second a topic carries.
    Bw(measure::BwArgs),
    /// How long a topic's values take from publish to read.
    Delay(measure::DelayArgs),
    /// Publish a value (JSON, or a plain scalar) into a topic of any type.
    Pub(publish::PubArgs),
    Record(record::RecordArgs),
    Play(play::PlayArgs),
    /// Recordings: `shm bag info run.mcap` (also `shm info run.mcap`).
    #[command(subcommand)]
    Bag(play::BagCommand),
    /// Call a service with a request (JSON) and print its reply.
    Call(service::CallArgs),
    /// Send an action a goal and follow it.
    #[command(subcommand)]
    Action(service::ActionCommand),
    /// Remove topics (never one whose publisher is alive).
    Rm(remove::RmArgs),
    /// Remove every topic whose publisher is gone.
    Clean(remove::CleanArgs),
    /// The topics of a type, one name per line.
    Find(list::FindArgs),
    /// A shell completion script for shm: `source <(shm completions bash)`.
    Completions(CompletionsArgs),
}

/// Arguments of `shm completions`.
#[derive(clap::Args, Debug)]
struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// A failure: one line for the user, with what to do, and an exit status.
#[derive(Debug)]
pub struct Failure {
    message: String,
    status: u8,
}

impl Failure {
    fn new(message: impl fmt::Display) -> Failure {
        Failure {
            message: message.to_string(),
            status: 1,
        }
    }
}

impl Failure {
    /// The end of a command the user stopped (Ctrl-C: the status comes from the signal) or whose
    /// reader went away (a closed pipe): nothing to report.
    fn quiet() -> Failure {
        Failure {
            message: String::new(),
            status: 0,
        }
    }
}

impl Failure {
    /// A failure already reported on standard error: only the exit status is left.
    fn status(status: u8) -> Failure {
        Failure {
            message: String::new(),
            status,
        }
    }
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::new(e)
    }
}

/// Runs the command with these arguments (the first is the program name); returns the exit
/// status: 0 on success, 1 on a failure (its one-line message on standard error), 2 on a usage
/// error, 128 + the signal when stopped by SIGINT (130) or SIGTERM (143). Never panics on bad
/// input.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let status = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return status;
        }
    };
    let _signals = shm::stop::install();
    style::init(cli.color);
    let root = cli.root.as_deref();
    let result = match cli.command {
        Command::List(a) => list::list(root, &a),
        Command::Info(a) => match list::recording(&a) {
            Some(file) => play::info(&[file]),
            None => list::info(root, &a),
        },
        Command::Echo(a) => echo::echo(root, &a),
        Command::Hz(a) => hz::hz(root, &a),
        Command::Bw(a) => measure::bw(root, &a),
        Command::Delay(a) => measure::delay(root, &a),
        Command::Pub(a) => publish::publish(root, &a),
        Command::Record(a) => record::record(root, &a),
        Command::Play(a) => play::play(root, &a),
        Command::Bag(c) => play::bag(&c),
        Command::Call(a) => service::call(root, &a),
        Command::Action(a) => service::action(root, &a),
        Command::Rm(a) => remove::rm(root, &a),
        Command::Clean(a) => remove::clean(root, &a),
        Command::Find(a) => list::find(root, &a),
        Command::Completions(a) => completions(a.shell),
    };
    let status = match result {
        Ok(()) => 0,
        Err(f) => {
            if !f.message.is_empty() {
                error_line(&f.message);
            }
            f.status
        }
    };
    // A command the user stopped (Ctrl-C, SIGTERM) ends as a shell expects: 130 or 143.
    shm::stop::status().unwrap_or(status)
}

/// Writes the completion script of `shell` to standard output.
fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "shm", &mut script);
    write_out(&String::from_utf8_lossy(&script))
}

/// Prints one line to standard output, through [`printable`](shm::text::printable): names
/// and values come from files other users may have written, and none of them may drive the
/// terminal or start a line of its own (a newline in them is escaped too). A closed pipe
/// (`shm echo ... | head`) ends the command quietly instead of panicking.
fn out(line: impl fmt::Display) -> Result<(), Failure> {
    let mut text = shm::text::printable(&line.to_string()).into_owned();
    text.push('\n');
    write_out(&text)
}

/// [`out`] for each line of `text` (a schema declaration: its names hold no control
/// characters, the decoder refuses them).
fn out_lines(text: &str) -> Result<(), Failure> {
    text.lines().try_for_each(out)
}

/// Prints a JSON document on one line. Control characters are escaped by JSON itself; the
/// other characters a terminal would obey (C1 controls, text direction overrides) are written
/// as `\uXXXX` escapes, which JSON readers decode to the same text.
fn out_json(json: &serde_json::Value) -> Result<(), Failure> {
    let mut text = json_text(json);
    text.push('\n');
    write_out(&text)
}

/// A JSON document as [`out_json`] writes it.
fn json_text(json: &serde_json::Value) -> String {
    let text = json.to_string();
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if shm::text::is_unprintable(c) {
            // All of them are in the basic plane: one JSON escape each.
            escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    escaped
}

/// `shm: error: <text>` on standard error, escaped as [`out`]'s, the prefix in red on a
/// terminal.
fn error_line(text: &str) {
    let prefix = style::paint("shm: error:", "1;31", style::To::Err);
    eprintln!("{prefix} {}", shm::text::printable(text));
}

/// A line on standard error (a note beside the output, or a failure), escaped as [`out`]'s.
fn note(text: impl fmt::Display) {
    eprintln!("{}", shm::text::printable(&text.to_string()));
}

/// Writes a line to standard output as `write` produces it, buffered (a large value is
/// written as it is walked, never held as text); a closed pipe ends the command quietly. What
/// it writes must be printable already (numbers, and names the schema decoder checked).
fn out_with(
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), Failure> {
    use std::io::Write;
    let stdout = std::io::stdout().lock();
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, stdout);
    let result = write(&mut buffered)
        .and_then(|()| buffered.write_all(b"\n"))
        .and_then(|()| buffered.flush());
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::quiet()),
        Err(e) => Err(Failure::new(format!("cannot write the output: {e}"))),
    }
}

fn write_out(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::quiet()),
        Err(e) => Err(Failure::new(format!("cannot write the output: {e}"))),
    }
}
