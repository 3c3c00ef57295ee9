//! `shm::WaitSet` next to a subscriber's own blocking wait (a benchmark, not a test; run with
//! `make bench`).
//!
//! Wake-up latency across processes: a child waits, this process publishes one value every
//! millisecond on one topic, so the waiter is asleep when each value arrives; latency runs
//! from the publish (its timestamp, `CLOCK_MONOTONIC`) to the moment the child has read the
//! value, on the same clock. Side by side, in one run, interleaved in three passes (medians of
//! the passes' percentiles): `recv_timeout` on the topic, and a wait set attached to 1, 16 and
//! 128 topics (the value comes on the last one attached), then to 1,000 (beyond one
//! `futex_waitv`: the topics past the 127th are looked at every millisecond).
//!
//! Timer accuracy, in this process: how late a 1 ms interval's ticks and a 2 ms deadline's
//! events are reported after their time (p50 / p99 / max).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use shm::{EventKind, Publisher, Subscriber, Timestamp, WaitSet};
use shm_benches::{Peer, Root, benchmarking, percentile, us};

const CHILD_ENV: &str = "SHM_BENCH_WAITSET_CHILD";
const SAMPLES: usize = 1000;
const PASSES: usize = 3;
const INTERVAL: Duration = Duration::from_millis(1);
const STOP: u64 = u64::MAX;

/// How the child waits: `recv_timeout` on one topic (0), or a wait set over this many topics.
fn child(topics: usize, root: &Path) {
    let n = topics.max(1);
    let mut subs: Vec<Subscriber<u64>> = (0..n)
        .map(|i| {
            Subscriber::builder(&format!("t{i}"))
                .root(root)
                .open()
                .expect("subscriber")
        })
        .collect();
    let mut set = WaitSet::new();
    if topics > 0 {
        for s in &subs {
            set.attach(s).expect("attach");
        }
    }
    println!("ready");
    let mut latencies = Vec::with_capacity(SAMPLES);
    let last = n - 1;
    loop {
        let sample = if topics == 0 {
            subs[last]
                .recv_timeout(Duration::from_secs(10))
                .expect("value")
        } else {
            let mut got = None;
            while got.is_none() {
                for e in set.wait(Some(Duration::from_secs(10))) {
                    assert_eq!(e.kind, EventKind::Value);
                    got = subs[last].try_recv().expect("read");
                }
            }
            got.expect("a value")
        };
        let latency = Timestamp::now().as_nanos() - sample.published.as_nanos();
        if sample.value == STOP {
            break;
        }
        latencies.push(latency.to_string());
    }
    println!("{}", latencies.join(" "));
}

/// Publishes SAMPLES values 1 ms apart on the last of `topics` topics to a child waiting as
/// `topics` says; returns its sorted latencies.
fn run(topics: usize, root: &Path) -> Vec<u64> {
    let n = topics.max(1);
    let mut pubs: Vec<Publisher<u64>> = (0..n)
        .map(|i| {
            Publisher::builder(&format!("t{i}"))
                .root(root)
                .create()
                .expect("publisher")
        })
        .collect();
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, format!("{topics} {}", root.display()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the waiting process");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let _peer = Peer(child);
    let mut line = String::new();
    out.read_line(&mut line).expect("ready line");
    assert_eq!(line.trim(), "ready");
    std::thread::sleep(Duration::from_millis(50));
    let publisher = pubs.last_mut().expect("a publisher");
    for i in 1..=SAMPLES as u64 {
        publisher.publish(&i).unwrap();
        std::thread::sleep(INTERVAL);
    }
    publisher.publish(&STOP).unwrap();
    let mut line = String::new();
    out.read_line(&mut line).expect("latency line");
    let mut latencies: Vec<u64> = line
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    latencies.sort_unstable();
    drop(pubs);
    for i in 0..n {
        let _ = std::fs::remove_file(root.join(format!("shm.t{i}")));
    }
    latencies
}

fn median(mut xs: Vec<u64>) -> u64 {
    xs.sort_unstable();
    xs[xs.len() / 2]
}

/// How late events of `kind` come after their time, over `count` of them.
fn lateness(set: &mut WaitSet, kind: EventKind, count: usize) -> Vec<u64> {
    let mut late = Vec::with_capacity(count);
    while late.len() < count {
        for e in set.wait(Some(Duration::from_secs(1))) {
            if e.kind == kind {
                late.push(Timestamp::now().as_nanos().saturating_sub(e.at.as_nanos()));
            }
        }
    }
    late.sort_unstable();
    late
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (topics, root) = spec.split_once(' ').expect("topics and root");
        child(topics.parse().expect("a number"), Path::new(root));
        return;
    }
    if !benchmarking("waitset") {
        return;
    }
    let root = Root::new("waitset");
    println!(
        "wake-up latency: publish -> value read by a waiter in another process, {SAMPLES} values {} ms apart, medians of {PASSES} interleaved passes",
        INTERVAL.as_millis()
    );
    let cases: Vec<usize> = std::env::var("SHM_BENCH_WAITSET_CASES").map_or_else(
        |_| vec![0, 1, 16, 128, 1000],
        |c| c.split(',').map(|x| x.parse().expect("a number")).collect(),
    );
    let mut p50s = vec![Vec::new(); cases.len()];
    let mut p99s = vec![Vec::new(); cases.len()];
    for _ in 0..PASSES {
        for (k, topics) in cases.iter().enumerate() {
            let lat = run(*topics, &root.0);
            p50s[k].push(percentile(&lat, 0.5));
            p99s[k].push(percentile(&lat, 0.99));
        }
    }
    let base = (median(p50s[0].clone()), median(p99s[0].clone()));
    println!(
        "{:<38}{:>10}{:>10}{:>12}",
        "waiter", "p50 µs", "p99 µs", "p50 ratio"
    );
    for (k, topics) in cases.iter().enumerate() {
        let label = match topics {
            0 => "recv_timeout, 1 topic".to_owned(),
            n => format!("WaitSet, {n} topic{}", if *n == 1 { "" } else { "s" }),
        };
        let (p50, p99) = (median(p50s[k].clone()), median(p99s[k].clone()));
        println!(
            "{label:<38}{:>10}{:>10}{:>11.2}×",
            us(p50),
            us(p99),
            p50 as f64 / base.0 as f64
        );
    }
    println!("\ntimer accuracy (how late after its time an event is reported, µs):");
    let mut set = WaitSet::new();
    let tick = set
        .attach_interval(Duration::from_millis(1))
        .expect("interval");
    let late = lateness(&mut set, EventKind::Interval, 2000);
    println!(
        "  interval 1 ms (2000 ticks)   p50 {} p99 {} max {}",
        us(percentile(&late, 0.5)),
        us(percentile(&late, 0.99)),
        us(*late.last().expect("ticks"))
    );
    set.detach(tick);
    let silent = Subscriber::<u64>::builder("silent")
        .root(&root.0)
        .open()
        .expect("subscriber");
    set.attach_deadline(&silent, Duration::from_millis(2))
        .expect("deadline");
    let late = lateness(&mut set, EventKind::Deadline, 1000);
    println!(
        "  deadline 2 ms (1000 misses)  p50 {} p99 {} max {}",
        us(percentile(&late, 0.5)),
        us(percentile(&late, 0.99)),
        us(*late.last().expect("misses"))
    );
}
