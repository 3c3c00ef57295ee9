//! Benchmarks live in `benches/`; run them with `make bench` or
//! `cargo bench -p shm-benches`. This library holds what several of them share: a private topic
//! directory, a child process that is killed if the benchmark ends early, percentiles, and CPU
//! pinning.

use std::path::{Path, PathBuf};
use std::process::Child;

/// A private topic directory under `/dev/shm` (or the temporary directory), removed on drop.
pub struct Root(pub PathBuf);

impl Root {
    /// A new directory named after `label` and this process.
    pub fn new(label: &str) -> Root {
        let dir = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let root = Root(dir.join(format!("shm-bench-{label}.{}", std::process::id())));
        std::fs::create_dir_all(&root.0).expect("bench root");
        root
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process, killed and reaped if the benchmark ends early.
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `p` quantile (0 to 1) of sorted samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Nanoseconds as microseconds with one decimal.
pub fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

/// Whether `cargo bench` runs this benchmark (it passes `--bench`); `cargo test --benches`
/// only checks that it starts.
pub fn benchmarking(name: &str) -> bool {
    let on = std::env::args().any(|a| a == "--bench");
    if !on {
        println!("{name}: run with `cargo bench -p shm-benches --bench {name}`");
    }
    on
}

/// Pins this thread to `cpu` when two or more CPUs are online (counted with `sysconf`, not
/// `available_parallelism`, which a pinned parent's affinity would limit); else does nothing.
pub fn pin_to_cpu(cpu: usize) {
    // SAFETY: sysconf only reads a system value.
    if unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) } < 2 {
        return;
    }
    // SAFETY: `set` is a plain bitmask struct, all-zero valid; CPU_SET and sched_setaffinity
    // only touch it and this thread's affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}
