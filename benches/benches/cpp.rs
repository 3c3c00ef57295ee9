//! C++ next to Rust, in one run (`make bench-cpp`): publish, `latest` and a cross-process round
//! trip (p50) of an 8-byte value, the same loops in both languages. The C++ side is
//! `shm_cpp_bench` (shm-c/bench/bench.cpp, built in release by CMake; `SHM_CPP_BENCH` names
//! it), over <shm/shm.hpp> and the C API; the Rust side is `shm::Publisher<u64>` /
//! `Subscriber<u64>`. Rounds alternate between the languages; the table gives each one's median
//! over the rounds and the ratio C++ / Rust.
//!
//! Each side pins itself to CPU 0 and its echo process to CPU 1 (when there are two).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use shm::{Publisher, Subscriber};
use shm_benches::{Root, pin_to_cpu};

const CHILD_ENV: &str = "SHM_BENCH_CPP_ECHO";
const OPS: u64 = 2_000_000;
const WARMUP: u64 = 200_000;
const ROUND_TRIPS: usize = 100_000;
const ROUND_TRIP_WARMUP: u64 = 10_000;
const STOP: u64 = u64::MAX;
const ROUNDS: usize = 7;

fn publish_ns(root: &Path) -> f64 {
    let mut publisher = Publisher::<u64>::builder("publish")
        .root(root)
        .create()
        .expect("publisher");
    for i in 0..WARMUP {
        publisher.publish(&i).unwrap();
    }
    let t0 = Instant::now();
    for i in 0..OPS {
        publisher.publish(&i).unwrap();
    }
    t0.elapsed().as_nanos() as f64 / OPS as f64
}

fn latest_ns(root: &Path) -> f64 {
    let mut publisher = Publisher::<u64>::builder("latest")
        .root(root)
        .create()
        .expect("publisher");
    publisher.publish(&42).unwrap();
    let mut subscriber = Subscriber::<u64>::builder("latest")
        .root(root)
        .open()
        .expect("subscriber");
    let mut read = || {
        let sample = subscriber.latest().unwrap().expect("a value");
        std::hint::black_box(sample.value);
    };
    for _ in 0..WARMUP {
        read();
    }
    let t0 = Instant::now();
    for _ in 0..OPS {
        read();
    }
    t0.elapsed().as_nanos() as f64 / OPS as f64
}

fn echo(root: &Path) {
    pin_to_cpu(1);
    let mut ping = Subscriber::<u64>::builder("ping")
        .root(root)
        .open()
        .expect("ping");
    let mut pong = Publisher::<u64>::builder("pong")
        .root(root)
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

fn roundtrip_p50_ns(root: &Path) -> f64 {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, root)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the echo process");
    let mut ping = Publisher::<u64>::builder("ping")
        .root(root)
        .create()
        .expect("ping");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready");
    let mut pong = Subscriber::<u64>::builder("pong")
        .root(root)
        .open()
        .expect("pong");
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    for i in 1..=ROUND_TRIP_WARMUP + ROUND_TRIPS as u64 {
        let t0 = Instant::now();
        ping.publish(&i).unwrap();
        loop {
            if pong.try_recv().expect("read").is_some_and(|s| s.value == i) {
                break;
            }
            std::hint::spin_loop();
        }
        if i > ROUND_TRIP_WARMUP {
            samples.push(t0.elapsed().as_nanos() as u64);
        }
    }
    ping.publish(&STOP).unwrap();
    let _ = child.wait();
    samples.sort_unstable();
    samples[samples.len() / 2] as f64
}

/// publish, latest, round trip.
type Round = [f64; 3];

fn rust_round(n: usize) -> Round {
    let root = Root::new(&format!("cpp-rust{n}"));
    [
        publish_ns(&root.0),
        latest_ns(&root.0),
        roundtrip_p50_ns(&root.0),
    ]
}

fn cpp_round(exe: &Path, n: usize) -> Round {
    let root = Root::new(&format!("cpp-cpp{n}"));
    let out = Command::new(exe)
        .arg(&root.0)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed: {}",
        exe.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |key: &str| -> f64 {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {text:?}"))
    };
    [
        field("publish_ns"),
        field("latest_ns"),
        field("roundtrip_p50_ns"),
    ]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        echo(Path::new(&root));
        return;
    }
    // `cargo test --benches` runs this without `--bench`: nothing to check beyond starting.
    if !std::env::args().any(|a| a == "--bench") {
        println!("cpp: run with `make bench-cpp`");
        return;
    }
    let exe = PathBuf::from(
        std::env::var_os("SHM_CPP_BENCH")
            .expect("SHM_CPP_BENCH names shm_cpp_bench (make bench-cpp builds it)"),
    );
    pin_to_cpu(0);
    let mut rust = Vec::new();
    let mut cpp = Vec::new();
    for n in 0..ROUNDS {
        // Alternate which language goes first, so that drift over the run hits both alike.
        if n % 2 == 0 {
            rust.push(rust_round(n));
            cpp.push(cpp_round(&exe, n));
        } else {
            cpp.push(cpp_round(&exe, n));
            rust.push(rust_round(n));
        }
    }
    println!(
        "C++ (<shm/shm.hpp> over the C API) next to Rust, 8-byte values, median of {ROUNDS} alternating rounds"
    );
    println!("{:<28} {:>12} {:>12} {:>10}", "", "Rust", "C++", "C++/Rust");
    let names = ["publish (ns/op)", "latest (ns/op)", "round trip p50 (ns)"];
    for (i, name) in names.iter().enumerate() {
        let r = median(rust.iter().map(|x| x[i]).collect());
        let c = median(cpp.iter().map(|x| x[i]).collect());
        println!("{name:<28} {r:>12.1} {c:>12.1} {:>9.2}×", c / r);
    }
}
