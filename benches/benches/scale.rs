//! Load and scale (a benchmark, not a test; run with `make bench`):
//! - 10,000 topics open in one process: the time to create or open and to close each, the
//!   memory each costs, and the per-call cost of `publish` and `latest` spread over all of them,
//!   next to the same calls on one topic, side by side;
//! - 64 subscriber processes waiting on one topic: the publisher's cost per publish, and how
//!   long until the last of the 64 runs after each publish (one `FUTEX_WAKE` wakes them all).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shm::{Publisher, Subscriber, Timestamp};
use shm_benches::{Peer, Root, benchmarking, percentile, us};

const CHILD_ENV: &str = "SHM_BENCH_SCALE_CHILD";
const TOPICS: usize = 10_000;
const WAITERS: usize = 64;
const STOP: u64 = u64::MAX;

/// Resident memory of this process, in bytes (`/proc/self/statm`).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// Disk (tmpfs) blocks of the files in `dir`, in bytes.
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").metadata().expect("metadata").blocks() * 512)
        .sum()
}

/// Median ns per call of `f` over `calls` calls, in 9 rounds.
fn per_call(calls: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut rounds: Vec<f64> = (0..9)
        .map(|_| {
            let t = Instant::now();
            for i in 0..calls {
                f(i);
            }
            t.elapsed().as_nanos() as f64 / calls as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[4]
}

fn topics(root: &Path) {
    let names: Vec<String> = (0..TOPICS).map(|i| format!("scale/{i}")).collect();
    println!("{TOPICS} topics of u64 in one process (3 slots each)");
    let before = rss();
    let t = Instant::now();
    let mut pubs: Vec<Publisher<u64>> = names
        .iter()
        .map(|n| {
            Publisher::builder(n)
                .root(root)
                .create()
                .expect("publisher")
        })
        .collect();
    let create = t.elapsed() / TOPICS as u32;
    for (i, p) in pubs.iter_mut().enumerate() {
        p.publish(&(i as u64)).unwrap();
    }
    let pub_mem = (rss() - before) / TOPICS as u64;
    let disk = disk_usage(root) / TOPICS as u64;
    let spread = per_call(TOPICS, |i| {
        pubs[i].publish(&(i as u64)).unwrap();
    });
    let one = per_call(TOPICS, |i| {
        pubs[0].publish(&(i as u64)).unwrap();
    });
    let t = Instant::now();
    drop(pubs);
    let close = t.elapsed() / TOPICS as u32;
    println!(
        "  publisher: create {:.1} µs, close {:.1} µs per topic; {} B resident per topic, {} B of shared memory (tmpfs) per topic file",
        create.as_nanos() as f64 / 1000.0,
        close.as_nanos() as f64 / 1000.0,
        pub_mem,
        disk
    );
    println!(
        "  publish: {one:.1} ns on one topic, {spread:.1} ns round-robin over {TOPICS} topics ({:.2}x)",
        spread / one
    );

    let before = rss();
    let t = Instant::now();
    let mut subs: Vec<Subscriber<u64>> = names
        .iter()
        .map(|n| {
            Subscriber::builder(n)
                .root(root)
                .open()
                .expect("subscriber")
        })
        .collect();
    let open = t.elapsed() / TOPICS as u32;
    for s in &mut subs {
        s.latest().expect("read").expect("a value");
    }
    let sub_mem = (rss() - before) / TOPICS as u64;
    let spread = per_call(TOPICS, |i| {
        std::hint::black_box(subs[i].latest().expect("read"));
    });
    let one = per_call(TOPICS, |_| {
        std::hint::black_box(subs[0].latest().expect("read"));
    });
    let t = Instant::now();
    drop(subs);
    let close = t.elapsed() / TOPICS as u32;
    println!(
        "  subscriber: open {:.1} µs, close {:.1} µs per topic; {} B resident per topic",
        open.as_nanos() as f64 / 1000.0,
        close.as_nanos() as f64 / 1000.0,
        sub_mem
    );
    println!(
        "  latest: {one:.1} ns on one topic, {spread:.1} ns round-robin over {TOPICS} topics ({:.2}x)",
        spread / one
    );
}

/// A waiting subscriber process: prints `ready`, then after STOP its wake-up time (ns,
/// CLOCK_MONOTONIC) for each value.
fn waiter(root: &Path) {
    let mut s = Subscriber::<u64>::builder("fan")
        .root(root)
        .open()
        .expect("subscriber");
    println!("ready");
    let mut woke = Vec::new();
    loop {
        let v = s.recv_timeout(Duration::from_secs(30)).expect("value");
        let now = Timestamp::now().as_nanos();
        if v.value == STOP {
            break;
        }
        woke.push(format!("{}:{now}", v.value));
    }
    println!("{}", woke.join(" "));
}

fn fan_out(root: &Path) {
    let samples = 300u64;
    let mut p = Publisher::<u64>::builder("fan")
        .root(root)
        .create()
        .expect("publisher");
    let mut peers: Vec<(Peer, BufReader<std::process::ChildStdout>)> = (0..WAITERS)
        .map(|_| {
            let mut child = Command::new(std::env::current_exe().expect("own path"))
                .env(CHILD_ENV, root)
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn a waiter");
            let mut out = BufReader::new(child.stdout.take().expect("stdout"));
            let mut line = String::new();
            out.read_line(&mut line).expect("ready");
            (Peer(child), out)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut published = Vec::new();
    let mut costs = Vec::new();
    for i in 1..=samples {
        // Long enough apart for all 64 to be asleep again on two CPUs.
        std::thread::sleep(Duration::from_millis(20));
        let t0 = Timestamp::now().as_nanos();
        p.publish(&i).unwrap();
        let t1 = Timestamp::now().as_nanos();
        costs.push(t1 - t0);
        published.push(t0);
    }
    p.publish(&STOP).unwrap();
    let mut last = vec![0u64; samples as usize];
    let mut all = Vec::new();
    for (_peer, out) in &mut peers {
        let mut line = String::new();
        out.read_line(&mut line).expect("latencies");
        for item in line.split_whitespace() {
            let (v, at) = item.split_once(':').expect("value:time");
            let (v, at): (usize, u64) = (v.parse().expect("value"), at.parse().expect("time"));
            let latency = at.saturating_sub(published[v - 1]);
            last[v - 1] = last[v - 1].max(latency);
            all.push(latency);
        }
    }
    costs.sort_unstable();
    last.sort_unstable();
    all.sort_unstable();
    println!(
        "{WAITERS} subscriber processes waiting on one topic, {samples} publishes 20 ms apart"
    );
    println!(
        "  publish (waking all 64): p50 {} µs, p99 {} µs",
        us(percentile(&costs, 0.5)),
        us(percentile(&costs, 0.99))
    );
    println!(
        "  wake-up of any one: p50 {} µs; of the last of the 64: p50 {} µs, p99 {} µs",
        us(percentile(&all, 0.5)),
        us(percentile(&last, 0.5)),
        us(percentile(&last, 0.99))
    );
}

fn main() {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        waiter(Path::new(&root));
        return;
    }
    if !benchmarking("scale") {
        return;
    }
    let root = Root::new("scale");
    topics(root.path());
    fan_out(root.path());
}
