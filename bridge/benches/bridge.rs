//! The bridge pair next to plain Zenoh (a benchmark, not a test; `make bench`): one-way latency
//! (half a round trip, p50/p99) and throughput of an 8-byte and a 64 KiB topic.
//!
//! - Bridged: this process publishes `ping` in topic directory A; bridge A exports it, bridge B
//!   imports it into directory B, where an echo process (this binary) publishes each value back
//!   as `pong`, which the bridges carry back to A. Four processes, two Zenoh hops.
//! - Plain Zenoh: this process puts `ping` on a Zenoh session connected to an echo process
//!   (this binary) that puts each value back as `pong`. Two processes, two Zenoh hops.
//!
//! Throughput: values put as fast as possible for 2 s, counted where they arrive (B, or the
//! Zenoh echo); latest-value topics drop what a slower hop cannot take, so this is delivered
//! values per second, not sent.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use shm::{Publisher, ShmMessage, Subscriber};

#[path = "../tests/support/mod.rs"]
mod support;
use support::{config, free_port};
use zenoh::Wait as _;

const BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");
const ROUND_TRIPS: usize = 2000;
const THROUGHPUT: Duration = Duration::from_secs(2);

/// The 64 KiB value: a counter and its payload.
#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
struct Big {
    n: u64,
    data: [u8; 65528],
}

/// A value the benchmark sends: made from a counter, which it carries.
trait Value: ShmMessage + Copy + Send + 'static {
    const LABEL: &'static str;
    fn from_n(n: u64) -> Self;
    fn n(&self) -> u64;
}

impl Value for u64 {
    const LABEL: &'static str = "8 B";
    fn from_n(n: u64) -> u64 {
        n
    }
    fn n(&self) -> u64 {
        *self
    }
}

impl Value for Big {
    const LABEL: &'static str = "64 KiB";
    fn from_n(n: u64) -> Big {
        Big {
            n,
            data: [7; 65528],
        }
    }
    fn n(&self) -> u64 {
        self.n
    }
}

/// A child process this benchmark talks to over its stdin and stdout.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn start(mut cmd: Command) -> Peer {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Peer {
            child,
            stdin,
            stdout,
        }
    }

    fn expect(&mut self, prefix: &str) -> String {
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "peer exited waiting for {prefix}"
            );
            if line.starts_with(prefix) {
                return line.trim().to_owned();
            }
        }
    }

    /// How many values the echo received since the last ask.
    fn count(&mut self) -> u64 {
        writeln!(self.stdin, "count").unwrap();
        self.expect("count ")
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One-way latencies (half round trips, ns, sorted) of `ROUND_TRIPS` exchanges.
fn round_trips(mut exchange: impl FnMut(u64)) -> Vec<u64> {
    for n in 1..=200 {
        exchange(n); // warm-up
    }
    let mut out: Vec<u64> = (0..ROUND_TRIPS as u64)
        .map(|i| {
            let t = Instant::now();
            exchange(1_000 + i);
            t.elapsed().as_nanos() as u64 / 2
        })
        .collect();
    out.sort_unstable();
    out
}

fn bridged<T: Value>(dir: &Path) -> (Vec<u64>, f64) {
    let (a, b) = (
        dir.join(format!("a{}", T::LABEL.len())),
        dir.join(format!("b{}", T::LABEL.len())),
    );
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let cfg = config(dir).display().to_string();
    let bridge = |root: &Path, args: &[&str]| {
        let mut cmd = Command::new(BRIDGE);
        cmd.args([
            "--root",
            root.to_str().unwrap(),
            "--config",
            &cfg,
            "--prefix",
            "bench",
        ])
        .args(args);
        let mut p = Peer::start(cmd);
        p.expect("shm-bridge: ready");
        p
    };
    let _ba = bridge(
        &a,
        &[
            "--listen", &endpoint, "--export", "ping", "--import", "pong",
        ],
    );
    let _bb = bridge(
        &b,
        &[
            "--connect",
            &endpoint,
            "--import",
            "ping",
            "--export",
            "pong",
        ],
    );
    let mut echo = {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env("SHM_BRIDGE_BENCH_ECHO", T::LABEL)
            .env(shm::ROOT_ENV, &b);
        Peer::start(cmd)
    };
    echo.expect("ready");
    let mut ping = Publisher::<T>::builder("ping").root(&a).create().unwrap();
    let mut pong = Subscriber::<T>::builder("pong").root(&a).open().unwrap();
    let mut exchange = |n: u64| {
        let deadline = Instant::now() + Duration::from_secs(5);
        ping.publish(&T::from_n(n)).unwrap();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match pong.recv_timeout(left) {
                Ok(s) if s.value.n() == n => return,
                Ok(_) => {}
                // Not connected yet, or a value lost to latest-value: send it again.
                Err(_) => return exchange_again(&mut ping, &mut pong, n),
            }
        }
    };
    let lat = round_trips(&mut exchange);
    echo.count();
    let start = Instant::now();
    let mut n = 10_000_000;
    let period = std::env::var("SHM_BRIDGE_BENCH_PERIOD_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_micros);
    while start.elapsed() < THROUGHPUT {
        n += 1;
        ping.publish(&T::from_n(n)).unwrap();
        match period {
            Some(p) => {
                let due = start + p * (n - 10_000_000) as u32;
                while Instant::now() < due {
                    std::thread::yield_now();
                }
            }
            // A publish takes nanoseconds: without a yield this loop keeps a CPU from the four
            // other processes on a 2-core machine (a Zenoh put blocks on its own).
            None => std::thread::yield_now(),
        }
    }
    eprintln!("offered {} values in {THROUGHPUT:?}", n - 10_000_000);
    std::thread::sleep(Duration::from_millis(300));
    let delivered = echo.count() as f64 / THROUGHPUT.as_secs_f64();
    (lat, delivered)
}

fn exchange_again<T: Value>(ping: &mut Publisher<T>, pong: &mut Subscriber<T>, n: u64) {
    loop {
        ping.publish(&T::from_n(n)).unwrap();
        if let Ok(s) = pong.recv_timeout(Duration::from_millis(100))
            && s.value.n() == n
        {
            return;
        }
    }
}

fn plain_zenoh<T: Value>(dir: &Path) -> (Vec<u64>, f64) {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut echo = {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env("SHM_BRIDGE_BENCH_ZECHO", &endpoint)
            .env("SHM_BRIDGE_BENCH_CFG", config(dir));
        Peer::start(cmd)
    };
    echo.expect("ready");
    let mut cfg = zenoh::Config::from_file(config(dir)).unwrap();
    cfg.insert_json5("connect/endpoints", &format!("[{endpoint:?}]"))
        .unwrap();
    let session = zenoh::open(cfg).wait().unwrap();
    let ping = session.declare_publisher("zbench/ping").wait().unwrap();
    let pong = session.declare_subscriber("zbench/pong").wait().unwrap();
    let payload = |n: u64| {
        let mut bytes = vec![7u8; size_of::<T>()];
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        bytes
    };
    let got = |s: &zenoh::sample::Sample| {
        let bytes = s.payload().to_bytes();
        u64::from_le_bytes(bytes[..8].try_into().unwrap())
    };
    let mut exchange = |n: u64| loop {
        ping.put(payload(n)).wait().unwrap();
        let deadline = Instant::now() + Duration::from_millis(500);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Ok(Some(s)) = pong.recv_timeout(left)
                && got(&s) == n
            {
                return;
            }
        }
    };
    let lat = round_trips(&mut exchange);
    echo.count();
    let start = Instant::now();
    let mut n = 10_000_000;
    while start.elapsed() < THROUGHPUT {
        n += 1;
        ping.put(payload(n)).wait().unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let delivered = echo.count() as f64 / THROUGHPUT.as_secs_f64();
    (lat, delivered)
}

/// The bridged echo: each `ping` in this directory back as `pong`; `count` on stdin prints how
/// many arrived since the last `count`.
fn shm_echo<T: Value>() {
    let mut ping = Subscriber::<T>::new("ping").unwrap();
    let mut pong = Publisher::<T>::new("pong").unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    counter_thread(count.clone());
    println!("ready");
    loop {
        if let Ok(s) = ping.recv_timeout(Duration::from_secs(60)) {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            pong.publish(&s.value).unwrap();
        }
    }
}

fn counter_thread(count: std::sync::Arc<std::sync::atomic::AtomicU64>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_ok_and(|l| l == "count") {
                let n = count.swap(0, std::sync::atomic::Ordering::Relaxed);
                println!("count {n}");
                let _ = std::io::stdout().flush();
            }
        }
        std::process::exit(0);
    });
}

/// The plain Zenoh echo.
fn zenoh_echo(endpoint: &str, cfg: &str) {
    let mut config = zenoh::Config::from_file(cfg).unwrap();
    config
        .insert_json5("listen/endpoints", &format!("[{endpoint:?}]"))
        .unwrap();
    let session = zenoh::open(config).wait().unwrap();
    let pong = session.declare_publisher("zbench/pong").wait().unwrap();
    let ping = session.declare_subscriber("zbench/ping").wait().unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    counter_thread(count.clone());
    println!("ready");
    while let Ok(s) = ping.recv() {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        pong.put(s.payload().clone()).wait().unwrap();
    }
}

fn report<T: Value>(dir: &Path) {
    let (b_lat, b_tput) = bridged::<T>(dir);
    let (z_lat, z_tput) = plain_zenoh::<T>(dir);
    let us = |ns: u64| ns as f64 / 1000.0;
    println!(
        "{:<7} one-way p50 / p99: bridged {:>7.1} / {:>7.1} µs, plain Zenoh {:>7.1} / {:>7.1} µs ({:.2}x p50); \
         delivered/s: bridged {:>8.0}, plain Zenoh {:>8.0}",
        T::LABEL,
        us(percentile(&b_lat, 0.5)),
        us(percentile(&b_lat, 0.99)),
        us(percentile(&z_lat, 0.5)),
        us(percentile(&z_lat, 0.99)),
        percentile(&b_lat, 0.5) as f64 / percentile(&z_lat, 0.5) as f64,
        b_tput,
        z_tput
    );
}

fn main() {
    if let Ok(label) = std::env::var("SHM_BRIDGE_BENCH_ECHO") {
        if label == <u64 as Value>::LABEL {
            shm_echo::<u64>();
        } else {
            shm_echo::<Big>();
        }
        return;
    }
    if let Ok(endpoint) = std::env::var("SHM_BRIDGE_BENCH_ZECHO") {
        zenoh_echo(&endpoint, &std::env::var("SHM_BRIDGE_BENCH_CFG").unwrap());
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("bridge: run with `cargo bench -p shm-bridge --bench bridge`");
        return;
    }
    let dir = std::env::temp_dir().join(format!("shm-bridge-bench-{}", std::process::id()));
    let shm_dir = Path::new("/dev/shm").join(format!("shm-bridge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&shm_dir).unwrap();
    println!(
        "shm-bridge pair vs plain Zenoh, loopback TCP, {ROUND_TRIPS} round trips, {THROUGHPUT:?} of throughput"
    );
    report::<u64>(&shm_dir);
    report::<Big>(&shm_dir);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&shm_dir);
}
