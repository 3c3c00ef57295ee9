//! Wake-up latency when both processes wait: a request/reply exchange, next to one-way wake-ups
//! (a publisher that sleeps between publishes) at several idle times before each value, side by
//! side in one run (a benchmark, not a test; run with `make bench`).
//!
//! - one-way: this process publishes a value every `interval`, sleeping in between; a child
//!   waits for each with `recv_timeout`. Latency: the publish (its timestamp) to the return of
//!   the child's wait.
//! - exchange: this process publishes a request every millisecond and then waits for the reply
//!   itself; the child waits for the request and replies at once. Latencies: request publish
//!   to the child's wake-up, and reply publish to this process's wake-up.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shm::{Publisher, Subscriber, Timestamp};
use shm_benches::{Peer, Root, benchmarking, percentile, us};

const CHILD_ENV: &str = "SHM_BENCH_EXCHANGE_CHILD";
const STOP: u64 = u64::MAX;
const WAIT: Duration = Duration::from_secs(10);

/// The child: `wait` (one-way) or `reply` (exchange). Prints `ready`, then after STOP one line
/// of its wake-up latencies (ns).
fn child(role: &str, root: &Path) {
    let mut requests = Subscriber::<u64>::builder("request")
        .root(root)
        .open()
        .expect("subscriber");
    let mut replies = (role == "reply").then(|| {
        Publisher::<u64>::builder("reply")
            .root(root)
            .create()
            .expect("publisher")
    });
    println!("ready");
    let mut latencies = Vec::new();
    loop {
        let request = requests.recv_timeout(WAIT).expect("request");
        let latency = Timestamp::now().as_nanos() - request.published.as_nanos();
        if let Some(replies) = &mut replies {
            replies.publish(&request.value).unwrap();
        }
        if request.value == STOP {
            break;
        }
        latencies.push(latency.to_string());
    }
    println!("{}", latencies.join(" "));
}

fn spawn(role: &str, root: &Path) -> (Peer, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, format!("{role} {}", root.display()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready line");
    assert_eq!(line.trim(), "ready");
    (Peer(child), out)
}

fn latencies(out: &mut BufReader<std::process::ChildStdout>) -> Vec<u64> {
    let mut line = String::new();
    out.read_line(&mut line).expect("latency line");
    let mut v: Vec<u64> = line
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    v.sort_unstable();
    v
}

/// Sleeps until `next`, then moves it on by `interval` (a steady rhythm, whatever the work).
fn tick(next: &mut Instant, interval: Duration) {
    let now = Instant::now();
    if *next > now {
        std::thread::sleep(*next - now);
    }
    *next += interval;
}

/// One-way: the child's wake-up latencies for `samples` values `interval` apart.
fn one_way(root: &Path, interval: Duration, samples: u64) -> Vec<u64> {
    let mut p = Publisher::<u64>::builder("request")
        .root(root)
        .create()
        .expect("publisher");
    let (_peer, mut out) = spawn("wait", root);
    std::thread::sleep(Duration::from_millis(20));
    let mut next = Instant::now();
    for i in 1..=samples {
        tick(&mut next, interval);
        p.publish(&i).unwrap();
    }
    p.publish(&STOP).unwrap();
    let lat = latencies(&mut out);
    drop(p);
    let _ = std::fs::remove_file(root.join("shm.request"));
    lat
}

/// Exchange: (the child's wake-up for each request, this process's wake-up for each reply).
/// `pause`: the time between a reply and the next request (`None`: none, a tight ping-pong).
fn exchange(root: &Path, samples: u64, pause: Option<Duration>) -> (Vec<u64>, Vec<u64>) {
    let mut requests = Publisher::<u64>::builder("request")
        .root(root)
        .create()
        .expect("publisher");
    let mut replies = Subscriber::<u64>::builder("reply")
        .root(root)
        .open()
        .expect("subscriber");
    let (_peer, mut out) = spawn("reply", root);
    std::thread::sleep(Duration::from_millis(20));
    let mut mine = Vec::with_capacity(samples as usize);
    let mut next = Instant::now();
    for i in 1..=samples {
        if let Some(pause) = pause {
            tick(&mut next, pause);
        }
        requests.publish(&i).unwrap();
        let reply = replies.recv_timeout(WAIT).expect("reply");
        assert_eq!(reply.value, i);
        mine.push(Timestamp::now().as_nanos() - reply.published.as_nanos());
    }
    requests.publish(&STOP).unwrap();
    let theirs = latencies(&mut out);
    mine.sort_unstable();
    drop(requests);
    let _ = std::fs::remove_file(root.join("shm.request"));
    let _ = std::fs::remove_file(root.join("shm.reply"));
    (theirs, mine)
}

fn row(label: &str, lat: &[u64], reference: u64) {
    let p50 = percentile(lat, 0.5);
    println!(
        "{label:<58}{:>9}{:>9}{:>9.2}",
        us(p50),
        us(percentile(lat, 0.99)),
        p50 as f64 / reference as f64
    );
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (role, root) = spec.split_once(' ').expect("role and root");
        child(role, Path::new(root));
        return;
    }
    if !benchmarking("exchange") {
        return;
    }
    let root = Root::new("exchange");
    let samples = 2000;
    println!(
        "wake-up latency of a waiting process (publish -> return of its wait), p50 / p99 in µs, and p50 / one-way p50"
    );
    println!("{:<58}{:>9}{:>9}{:>9}", "", "p50", "p99", "ratio");
    // Interleaved rounds, so that both cases meet the same machine state.
    let (mut one, mut theirs, mut mine) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        one.extend(one_way(root.path(), Duration::from_millis(1), samples / 3));
        let (t, m) = exchange(root.path(), samples / 3, Some(Duration::from_millis(1)));
        theirs.extend(t);
        mine.extend(m);
    }
    let (tight_theirs, tight_mine) = exchange(root.path(), 20_000, None);
    for v in [&mut one, &mut theirs, &mut mine] {
        v.sort_unstable();
    }
    let reference = percentile(&one, 0.5);
    row(
        "one-way, a value every 1 ms (the publisher sleeps)",
        &one,
        reference,
    );
    row(
        "exchange: the replier woken by a request",
        &theirs,
        reference,
    );
    row(
        "exchange: the requester woken by the reply",
        &mine,
        reference,
    );
    row(
        "back-to-back exchange (no pause): the replier",
        &tight_theirs,
        reference,
    );
    row(
        "back-to-back exchange (no pause): the requester",
        &tight_mine,
        reference,
    );
    println!("one-way wake-up by the idle time before each value:");
    for (interval, n) in [(1, 1000), (10, 300), (100, 60)] {
        let lat = one_way(root.path(), Duration::from_millis(interval), n);
        row(&format!("  a value every {interval} ms"), &lat, reference);
    }
}
