//! Filters lidar `Scan`s (a string, a sequence of numbers and a sequence of structs, each of a
//! length that changes every scan): reads each from one topic, keeps the ranges within
//! `--max-range` and the echoes of at least `--min-intensity`, and publishes the result on
//! another. Any language's `Scan` with the same fields is the same type, so a Python process
//! can be on either side.
//!
//! ```text
//! cargo run -p shm-examples --example scan_filter -- --in demo/scan --out demo/scan_filtered \
//!     [--max-range inf] [--min-intensity 0] [--count 0]
//! ```
//! Prints `filtered #<seq> frame_id="<frame>" ranges=<in>-><out> echoes=<in>-><out>` per scan.

use std::time::Duration;

use shm::{BoundedVec, Publisher, RecvError, Subscriber};
use shm_examples::{Args, Scan};

/// What `--help` prints.
const USAGE: &str = "Filters lidar `Scan`s (a string, a sequence of numbers and a sequence of structs, each of a\nlength that changes every scan): reads each from one topic, keeps the ranges within\n`--max-range` and the echoes of at least `--min-intensity`, and publishes the result on\nanother. Any language's `Scan` with the same fields is the same type, so a Python process\ncan be on either side.\n\nUsage:\n  scan_filter --in demo/scan --out demo/scan_filtered \\\n      [--max-range inf] [--min-intensity 0] [--count 0]";

fn main() {
    let args = Args::from_env(USAGE);
    let input: String = args.get("in", "demo/scan".to_owned());
    let output: String = args.get("out", "demo/scan_filtered".to_owned());
    let max_range: f32 = args.get("max-range", f32::INFINITY);
    let min_intensity: u16 = args.get("min-intensity", 0);
    let count: u64 = args.get("count", 0);
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("scan_filter: {e}");
        std::process::exit(1)
    };
    let mut subscriber = Subscriber::<Scan>::new(&input).unwrap_or_else(|e| fail(&e));
    let mut publisher = Publisher::<Scan>::new(&output).unwrap_or_else(|e| fail(&e));
    println!("filtering '{input}' to '{output}'");
    // One scan reused for every output (17 KiB of room; only what it holds is copied).
    let mut out = Box::new(Scan {
        stamp_ns: 0,
        frame_id: Default::default(),
        ranges: BoundedVec::new(),
        echoes: BoundedVec::new(),
    });
    let mut filtered = 0;
    while count == 0 || filtered < count {
        let sample = match subscriber.recv_timeout(Duration::from_secs(30)) {
            Ok(sample) => sample,
            Err(RecvError::PublisherGone { .. }) => continue,
            Err(e) => fail(&e),
        };
        let scan = &sample.value;
        out.stamp_ns = scan.stamp_ns;
        out.frame_id = scan.frame_id;
        out.ranges.clear();
        for &r in scan.ranges.iter().filter(|r| **r <= max_range) {
            out.ranges.push(r);
        }
        out.echoes.clear();
        for e in scan.echoes.iter().filter(|e| e.intensity >= min_intensity) {
            out.echoes.push(*e);
        }
        publisher.publish(&out).unwrap_or_else(|e| fail(&e));
        filtered += 1;
        println!(
            "filtered #{} frame_id={} ranges={}->{} echoes={}->{}",
            sample.seq,
            shm::dynamic::quoted(&scan.frame_id),
            scan.ranges.len(),
            out.ranges.len(),
            scan.echoes.len(),
            out.echoes.len()
        );
    }
}
