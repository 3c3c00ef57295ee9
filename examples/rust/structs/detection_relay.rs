//! Relays `Detection`s (nested structs, a 2-D array, a bool): reads each from one topic and
//! publishes it, changed in every kind of field, on another. Any language's `Detection` with the
//! same fields is the same type, so a Python process can be on either side.
//!
//! ```text
//! cargo run -p shm-examples --example detection_relay -- --in demo/detections --out demo/relayed [--count 0]
//! ```
//! Each relayed value: `label` + 1, `valid` negated, the boxes swapped, every score doubled.
//! Prints `relayed #<seq> label=<label> valid=<valid>`.

use std::time::Duration;

use shm::{Publisher, RecvError, Subscriber};
use shm_examples::{Args, Detection};

/// What `--help` prints.
const USAGE: &str = "Relays `Detection`s (nested structs, a 2-D array, a bool): reads each from one topic and\npublishes it, changed in every kind of field, on another. Any language's `Detection` with the\nsame fields is the same type, so a Python process can be on either side.\n\nUsage:\n  detection_relay --in demo/detections --out demo/relayed [--count 0]";

fn relay(d: Detection) -> Detection {
    Detection {
        boxes: [d.boxes[1], d.boxes[0]],
        scores: d.scores.map(|row| row.map(|s| s * 2.0)),
        label: d.label.wrapping_add(1),
        valid: !d.valid,
        _reserved: [0],
    }
}

fn main() {
    let args = Args::from_env(USAGE);
    let input: String = args.get("in", "demo/detections".to_owned());
    let output: String = args.get("out", "demo/relayed".to_owned());
    let count: u64 = args.get("count", 0);
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("detection_relay: {e}");
        std::process::exit(1)
    };
    let mut subscriber = Subscriber::<Detection>::new(&input).unwrap_or_else(|e| fail(&e));
    let mut publisher = Publisher::<Detection>::new(&output).unwrap_or_else(|e| fail(&e));
    println!("relaying '{input}' to '{output}'");
    let mut relayed = 0;
    while count == 0 || relayed < count {
        match subscriber.recv_timeout(Duration::from_secs(30)) {
            Ok(sample) => {
                let out = relay(sample.value);
                publisher.publish(&out).unwrap_or_else(|e| fail(&e));
                relayed += 1;
                println!(
                    "relayed #{} label={} valid={}",
                    sample.seq, out.label, out.valid
                );
            }
            Err(RecvError::PublisherGone { .. }) => continue,
            Err(e) => fail(&e),
        }
    }
}
