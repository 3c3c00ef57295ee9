//! Wake-up latency of blocking waits across processes, and what a waiting subscriber costs the
//! publisher (a benchmark, not a test; run with `make bench`).
//!
//! A child process waits for values; this process publishes one every millisecond, so a
//! waiter is asleep when each value arrives. Latency runs from the publish (its timestamp,
//! `CLOCK_MONOTONIC`) to the return of the child's wait, on the same clock. Side by side, in
//! the same run:
//! - `recv_timeout` (20 µs spin, then a futex sleep the publisher wakes);
//! - a busy-polling `try_recv` loop (the floor: a core spent on waiting);
//! - a `try_recv` + 100 µs sleep loop (how the C++ library we descend from waited).
//!
//! The publish cost is timed call by call (with the clock read inside the timing) with no
//! subscriber, with a busy-polling one and with a sleeping one, which the publish must wake.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use shm::{Publisher, Subscriber, Timestamp};
use shm_benches::{Peer, Root, benchmarking, percentile, us};

const CHILD_ENV: &str = "SHM_BENCH_WAKEUP_CHILD";
const SAMPLES: usize = 2000;
const INTERVAL: Duration = Duration::from_millis(1);
const STOP: u64 = u64::MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    Recv,
    Busy,
    Poll100,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Recv => "recv",
            Mode::Busy => "busy",
            Mode::Poll100 => "poll100",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::None => "no subscriber",
            Mode::Recv => "recv_timeout (spin 20 µs, then futex)",
            Mode::Busy => "busy-polling try_recv (floor)",
            Mode::Poll100 => "try_recv + sleep 100 µs (C++ original)",
        }
    }

    fn parse(s: &str) -> Mode {
        [Mode::None, Mode::Recv, Mode::Busy, Mode::Poll100]
            .into_iter()
            .find(|m| m.name() == s)
            .expect("known mode")
    }
}

/// The waiting side: prints `ready`, then after the STOP value one line of latencies (ns).
fn child(mode: Mode, root: &Path) {
    let mut sub = Subscriber::<u64>::builder("wake")
        .root(root)
        .open()
        .expect("subscriber");
    println!("ready");
    let mut latencies = Vec::with_capacity(SAMPLES);
    loop {
        let sample = match mode {
            Mode::Recv => sub.recv_timeout(Duration::from_secs(10)).expect("value"),
            Mode::Busy | Mode::Poll100 => loop {
                if let Some(s) = sub.try_recv().expect("read") {
                    break s;
                }
                if mode == Mode::Poll100 {
                    std::thread::sleep(Duration::from_micros(100));
                } else {
                    std::hint::spin_loop();
                }
            },
            Mode::None => unreachable!(),
        };
        let latency = Timestamp::now().as_nanos() - sample.published.as_nanos();
        if sample.value == STOP {
            break;
        }
        latencies.push(latency.to_string());
    }
    println!("{}", latencies.join(" "));
}

/// Publishes SAMPLES values 1 ms apart to a child waiting in `mode`; returns the child's
/// latencies and the publish durations, both sorted.
fn run(mode: Mode, root: &Path) -> (Vec<u64>, Vec<u64>) {
    let mut publisher = Publisher::<u64>::builder("wake")
        .root(root)
        .create()
        .expect("publisher");
    let mut peer = (mode != Mode::None).then(|| {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .env(CHILD_ENV, format!("{} {}", mode.name(), root.display()))
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the waiting process");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("ready line");
        assert_eq!(line.trim(), "ready");
        (Peer(child), out)
    });
    std::thread::sleep(Duration::from_millis(50));
    let mut costs = Vec::with_capacity(SAMPLES);
    for i in 1..=SAMPLES as u64 {
        let t0 = Timestamp::now();
        publisher.publish(&i).unwrap();
        costs.push(Timestamp::now().as_nanos() - t0.as_nanos());
        std::thread::sleep(INTERVAL);
    }
    publisher.publish(&STOP).unwrap();
    let mut latencies = Vec::new();
    if let Some((_peer, out)) = &mut peer {
        let mut line = String::new();
        out.read_line(&mut line).expect("latency line");
        latencies = line
            .split_whitespace()
            .map(|x| x.parse().expect("number"))
            .collect();
    }
    latencies.sort_unstable();
    costs.sort_unstable();
    (latencies, costs)
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (mode, root) = spec.split_once(' ').expect("mode and root");
        child(Mode::parse(mode), Path::new(root));
        return;
    }
    if !benchmarking("wakeup") {
        return;
    }
    let root = Root::new("wakeup");
    println!(
        "wake-up latency: publish -> return of the wait in another process, {SAMPLES} values {} ms apart",
        INTERVAL.as_millis()
    );
    println!(
        "{:<42}{:>10}{:>10}{:>10} | publish p50 / p99 (ns)",
        "subscriber", "p50 µs", "p99 µs", "max µs"
    );
    for mode in [Mode::None, Mode::Recv, Mode::Busy, Mode::Poll100] {
        let (lat, costs) = run(mode, &root.0);
        let (p50, p99, max) = if lat.is_empty() {
            ("-".to_owned(), "-".to_owned(), "-".to_owned())
        } else {
            (
                us(percentile(&lat, 0.5)),
                us(percentile(&lat, 0.99)),
                us(*lat.last().expect("samples")),
            )
        };
        println!(
            "{:<42}{p50:>10}{p99:>10}{max:>10} | {} / {}",
            mode.label(),
            percentile(&costs, 0.5),
            percentile(&costs, 0.99)
        );
        let _ = std::fs::remove_file(root.0.join("shm.wake"));
    }
}
