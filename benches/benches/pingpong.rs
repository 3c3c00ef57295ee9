//! Cross-process round-trip latency, p50/p99, of `shm` next to two references measured the
//! same way in the same run (a benchmark, not a test; run with `make bench`):
//! - `cache line`: two processes bouncing a counter through one shared cache line each way,
//!   the physical floor;
//! - `bare seqlock`: the same through a minimal seqlock (sequence word + value, no header, no
//!   slots, no timestamp), what any consistent shared-memory channel has to do at least;
//! - `shm`: a `Publisher<u64>` and a busy-polling `Subscriber<u64>` each way, with precise
//!   (default) and with coarse timestamps (each publish reads the clock: about 20 ns of it).
//!
//! This process and the echo process (this binary again) are pinned to different CPUs when
//! there are two or more, so that they never share one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::Instant;

use memmap2::{MmapOptions, MmapRaw};
use shm::{PublishClock, Publisher, Subscriber};
use shm_benches::pin_to_cpu;

const CHILD_ENV: &str = "SHM_BENCH_PINGPONG";
const ROUND_TRIPS: usize = 200_000;
const WARMUP: usize = 20_000;
const STOP: u64 = u64::MAX;

/// Where the words live in the shared file: one cache line each.
const PING_SEQ: usize = 0;
const PING_DATA: usize = 8;
const PONG_SEQ: usize = 64;
const PONG_DATA: usize = 72;
const PING_LINE: usize = 128;
const PONG_LINE: usize = 192;
const FILE_LEN: usize = 256;

/// A shared mapping of the references' file.
struct Shared(MmapRaw);

impl Shared {
    fn open(root: &Path) -> Shared {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(root.join("reference"))
            .expect("reference file");
        file.set_len(FILE_LEN as u64).expect("size");
        Shared(
            MmapOptions::new()
                .len(FILE_LEN)
                .map_raw(&file)
                .expect("map"),
        )
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= FILE_LEN);
        // SAFETY: the offset is 8-aligned inside the live, page-aligned mapping, which both
        // processes access only through these atomics; the reference lives as long as `self`.
        unsafe { AtomicU64::from_ptr(self.0.as_mut_ptr().add(offset).cast()) }
    }

    fn seqlock_write(&self, seq_at: usize, data_at: usize, value: u64) {
        let (seq, data) = (self.word(seq_at), self.word(data_at));
        let s = seq.load(Ordering::Relaxed);
        seq.store(s + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        data.store(value, Ordering::Relaxed);
        seq.store(s + 2, Ordering::Release);
    }

    /// The value, once the sequence differs from `seen`; returns (sequence, value).
    fn seqlock_read_new(&self, seq_at: usize, data_at: usize, seen: u64) -> (u64, u64) {
        let (seq, data) = (self.word(seq_at), self.word(data_at));
        loop {
            let s1 = seq.load(Ordering::Acquire);
            if s1 == seen || !s1.is_multiple_of(2) {
                std::hint::spin_loop();
                continue;
            }
            let v = data.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) == s1 {
                return (s1, v);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    CacheLine,
    Seqlock,
    Shm,
    ShmCoarse,
}

impl Mode {
    const ALL: [Mode; 4] = [Mode::CacheLine, Mode::Seqlock, Mode::Shm, Mode::ShmCoarse];

    fn name(self) -> &'static str {
        match self {
            Mode::CacheLine => "cache-line",
            Mode::Seqlock => "seqlock",
            Mode::Shm => "shm",
            Mode::ShmCoarse => "shm-coarse",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::CacheLine => "cache line (the floor)",
            Mode::Seqlock => "bare seqlock",
            Mode::Shm => "shm Publisher/Subscriber<u64>",
            Mode::ShmCoarse => "shm, PublishClock::Coarse",
        }
    }

    fn clock(self) -> PublishClock {
        if self == Mode::ShmCoarse {
            PublishClock::Coarse
        } else {
            PublishClock::Precise
        }
    }
}

/// The echo side: answers every ping with the same value, until STOP.
fn echo(mode: Mode, root: &Path) {
    pin_to_cpu(1);
    match mode {
        Mode::CacheLine => {
            let shared = Shared::open(root);
            println!("ready");
            let (ping, pong) = (shared.word(PING_LINE), shared.word(PONG_LINE));
            let mut last = 0;
            loop {
                let v = ping.load(Ordering::Acquire);
                if v == last {
                    std::hint::spin_loop();
                    continue;
                }
                last = v;
                pong.store(v, Ordering::Release);
                if v == STOP {
                    return;
                }
            }
        }
        Mode::Seqlock => {
            let shared = Shared::open(root);
            println!("ready");
            let mut seen = 0;
            loop {
                let (s, v) = shared.seqlock_read_new(PING_SEQ, PING_DATA, seen);
                seen = s;
                shared.seqlock_write(PONG_SEQ, PONG_DATA, v);
                if v == STOP {
                    return;
                }
            }
        }
        Mode::Shm | Mode::ShmCoarse => {
            let mut ping = Subscriber::<u64>::builder("ping")
                .root(root)
                .open()
                .expect("ping");
            let mut pong = Publisher::<u64>::builder("pong")
                .root(root)
                .clock(mode.clock())
                .create()
                .expect("pong");
            println!("ready");
            loop {
                if let Some(s) = ping.try_recv().expect("read") {
                    pong.publish(&s.value).unwrap();
                    if s.value == STOP {
                        return;
                    }
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

/// Kills the echo process if the benchmark ends early.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs WARMUP + ROUND_TRIPS round trips; returns the measured ones (ns), sorted.
fn run(mode: Mode, root: &Path) -> Vec<u64> {
    let _ = std::fs::remove_file(root.join("reference"));
    let shared = Shared::open(root);
    let _ = std::fs::remove_file(root.join("shm.ping"));
    let _ = std::fs::remove_file(root.join("shm.pong"));
    let mut ping = Publisher::<u64>::builder("ping")
        .root(root)
        .clock(mode.clock())
        .create()
        .expect("ping");
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, format!("{} {}", mode.name(), root.display()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the echo process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready");
    let _peer = Peer(child);
    let mut pong = Subscriber::<u64>::builder("pong")
        .root(root)
        .open()
        .expect("pong");
    let (ping_line, pong_line) = (shared.word(PING_LINE), shared.word(PONG_LINE));
    let mut pong_seen = 0;
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    for i in 1..=(WARMUP + ROUND_TRIPS) as u64 {
        let t0 = Instant::now();
        match mode {
            Mode::CacheLine => {
                ping_line.store(i, Ordering::Release);
                while pong_line.load(Ordering::Acquire) != i {
                    std::hint::spin_loop();
                }
            }
            Mode::Seqlock => {
                shared.seqlock_write(PING_SEQ, PING_DATA, i);
                loop {
                    let (s, v) = shared.seqlock_read_new(PONG_SEQ, PONG_DATA, pong_seen);
                    pong_seen = s;
                    if v == i {
                        break;
                    }
                }
            }
            Mode::Shm | Mode::ShmCoarse => {
                ping.publish(&i).unwrap();
                loop {
                    if pong.try_recv().expect("read").is_some_and(|s| s.value == i) {
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
        }
        if i > WARMUP as u64 {
            samples.push(t0.elapsed().as_nanos() as u64);
        }
    }
    match mode {
        Mode::CacheLine => ping_line.store(STOP, Ordering::Release),
        Mode::Seqlock => shared.seqlock_write(PING_SEQ, PING_DATA, STOP),
        Mode::Shm | Mode::ShmCoarse => {
            ping.publish(&STOP).unwrap();
        }
    }
    samples.sort_unstable();
    samples
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A private directory for the files, removed at the end.
struct Root(PathBuf);

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (mode, root) = spec.split_once(' ').expect("mode and root");
        let mode = Mode::ALL
            .into_iter()
            .find(|m| m.name() == mode)
            .expect("known mode");
        echo(mode, Path::new(root));
        return;
    }
    // `cargo test --benches` runs this without `--bench`: nothing to check beyond starting.
    if !std::env::args().any(|a| a == "--bench") {
        println!("pingpong: run with `cargo bench -p shm-benches --bench pingpong`");
        return;
    }
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let root = Root(base.join(format!("shm-bench-pingpong.{}", std::process::id())));
    std::fs::create_dir_all(&root.0).expect("bench root");
    pin_to_cpu(0);
    println!(
        "cross-process round trip (ping-pong of a u64, both sides busy-polling, pinned to CPUs 0 and 1), {ROUND_TRIPS} round trips each"
    );
    println!(
        "{:<32}{:>10}{:>10}{:>10}{:>14}{:>14}",
        "channel", "p50 ns", "p99 ns", "p99.9 ns", "p50 / seqlock", "p99 / seqlock"
    );
    let results: Vec<(Mode, Vec<u64>)> = Mode::ALL
        .into_iter()
        .map(|m| (m, run(m, &root.0)))
        .collect();
    let seqlock = &results[1].1;
    let (s50, s99) = (percentile(seqlock, 0.5), percentile(seqlock, 0.99));
    for (mode, samples) in &results {
        let (p50, p99) = (percentile(samples, 0.5), percentile(samples, 0.99));
        println!(
            "{:<32}{p50:>10}{p99:>10}{:>10}{:>14.2}{:>14.2}",
            mode.label(),
            percentile(samples, 0.999),
            p50 as f64 / s50 as f64,
            p99 as f64 / s99 as f64
        );
    }
}
