//! The `shm` command-line tool (a benchmark, not a test; run with `make bench`, which builds the
//! release binary first):
//! - `shm list` (and `--json`) over 10,000 live topics, as a user runs it: the whole process,
//!   median of 5 runs, next to the same command over 10 topics (what starting it costs);
//! - `shm echo --json` latency: from before a publish to its line arriving through the tool's
//!   stdout pipe, next to a library subscriber process that prints the same value through the
//!   same kind of pipe, side by side (alternating), 1,000 publishes each.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shm::wait::{Wait, WaitStep};
use shm::{Publisher, Subscriber};
use shm_benches::{Peer, Root, benchmarking, percentile, us};

const CHILD_ENV: &str = "SHM_BENCH_TOOL_CHILD";
const TOPICS: usize = 10_000;
const SAMPLES: usize = 1_000;

/// The release `shm` binary next to this benchmark's directory (`target/release/shm`).
fn shm_binary() -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    let release = me
        .parent()
        .and_then(Path::parent)
        .expect("target/release/deps/<bench>");
    let bin = release.join("shm");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build --release -p shm-cli` (make bench does)",
        bin.display()
    );
    bin
}

/// Median wall time of `shm args...` over 5 runs, its output discarded.
fn run_median(root: &Path, args: &[&str]) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let status = Command::new(shm_binary())
                .args(args)
                .env(shm::ROOT_ENV, root)
                .stdout(Stdio::null())
                .status()
                .expect("run shm");
            assert!(status.success(), "shm {args:?}: {status}");
            t.elapsed()
        })
        .collect();
    times.sort();
    times[2]
}

fn listing(root: &Path) {
    let small = Root::new("tool-small");
    let few: Vec<Publisher<u64>> = (0..10).map(|i| publisher(small.path(), i)).collect();
    println!("shm list, whole process, median of 5 runs");
    let few_plain = run_median(small.path(), &["list"]);
    drop(few);
    let t = Instant::now();
    let pubs: Vec<Publisher<u64>> = (0..TOPICS).map(|i| publisher(root, i)).collect();
    println!(
        "  ({TOPICS} live topics created in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let plain = run_median(root, &["list"]);
    let json = run_median(root, &["list", "--json"]);
    println!(
        "  {TOPICS} topics: {:.0} ms, --json {:.0} ms; 10 topics: {:.1} ms",
        plain.as_secs_f64() * 1e3,
        json.as_secs_f64() * 1e3,
        few_plain.as_secs_f64() * 1e3
    );
    println!(
        "  per topic: {:.1} µs",
        (plain - few_plain).as_secs_f64() * 1e6 / (TOPICS - 10) as f64
    );
    drop(pubs);
}

fn publisher(root: &Path, i: usize) -> Publisher<u64> {
    let mut p = Publisher::builder(&format!("tool/{i}"))
        .root(root)
        .create()
        .expect("publisher");
    p.publish(&(i as u64)).unwrap();
    p
}

/// A reader process printing one line per value: `shm echo --json`, or this benchmark's own
/// library subscriber (the reference).
struct Reader {
    _peer: Peer,
    lines: BufReader<std::process::ChildStdout>,
}

impl Reader {
    fn start(mut cmd: Command, root: &Path) -> Reader {
        let mut child = cmd
            .env(shm::ROOT_ENV, root)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn reader");
        let lines = BufReader::new(child.stdout.take().expect("stdout"));
        Reader {
            _peer: Peer(child),
            lines,
        }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.lines.read_line(&mut line).expect("read a line");
        assert!(!line.is_empty(), "the reader exited");
        line
    }
}

fn echo_latency(root: &Path) {
    // One topic per reader, so that only the reader being timed wakes up.
    let topic = |name: &str| -> Publisher<u64> {
        let mut p = Publisher::builder(name)
            .root(root)
            .create()
            .expect("publisher");
        p.publish(&0).unwrap();
        p
    };
    let (mut to_echo, mut to_library) = (topic("tool/echo"), topic("tool/library"));
    let mut echo = Reader::start(
        {
            let mut c = Command::new(shm_binary());
            c.args(["echo", "tool/echo", "--json"]);
            c
        },
        root,
    );
    let mut library = Reader::start(
        {
            let mut c = Command::new(std::env::current_exe().expect("own path"));
            c.env(CHILD_ENV, "tool/library");
            c
        },
        root,
    );
    // Both print the value there at the start.
    echo.line();
    library.line();
    let (mut tool, mut lib) = (Vec::new(), Vec::new());
    for i in 1..=2 * SAMPLES as u64 {
        let (p, reader, out) = if i % 2 == 0 {
            (&mut to_echo, &mut echo, &mut tool)
        } else {
            (&mut to_library, &mut library, &mut lib)
        };
        // The reader asleep, as between the values of a topic published at 500 Hz.
        std::thread::sleep(Duration::from_millis(1));
        let t = Instant::now();
        p.publish(&i).unwrap();
        let line = reader.line();
        out.push(t.elapsed().as_nanos() as u64);
        assert!(line.contains(&i.to_string()), "{line}");
    }
    tool.sort_unstable();
    lib.sort_unstable();
    println!("publish → its line read from the reader's stdout pipe, the reader asleep before");
    println!(
        "  shm echo --json:               p50 {} µs, p99 {} µs",
        us(percentile(&tool, 0.5)),
        us(percentile(&tool, 0.99))
    );
    println!(
        "  library subscriber + println:  p50 {} µs, p99 {} µs  (echo / library: {:.2}×)",
        us(percentile(&lib, 0.5)),
        us(percentile(&lib, 0.99)),
        percentile(&tool, 0.5) as f64 / percentile(&lib, 0.5) as f64
    );
}

/// The reference reader: a typed blocking wait, then the value printed and flushed.
fn library_reader(topic: &str) {
    let mut sub = Subscriber::<u64>::new(topic).expect("subscriber");
    let mut out = std::io::stdout().lock();
    if let Some(s) = sub.latest().expect("read") {
        writeln!(out, "#{} {}", s.seq, s.value).expect("write");
        out.flush().expect("flush");
    }
    loop {
        let mut wait = Wait::for_next(None);
        let s = loop {
            match sub.wait_step(&mut wait) {
                Ok(WaitStep::Ready(s)) => break s,
                Ok(WaitStep::Block(sleeper)) => sleeper.block(),
                Err(_) => return,
            }
        };
        if writeln!(out, "#{} {}", s.seq, s.value)
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

fn main() {
    if let Ok(topic) = std::env::var(CHILD_ENV) {
        library_reader(&topic);
        return;
    }
    if !benchmarking("tool") {
        return;
    }
    let root = Root::new("tool");
    listing(root.path());
    echo_latency(root.path());
}
