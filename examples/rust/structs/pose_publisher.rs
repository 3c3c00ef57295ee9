//! Publishes a robot pose moving on a circle.
//!
//! ```text
//! cargo run -p shm-examples --example pose_publisher -- [--topic demo/robot/pose] [--rate 10] [--count 0]
//! ```
//! `--count 0` publishes until interrupted.

use std::time::{Duration, Instant};

use shm::Publisher;
use shm_examples::{Args, DEFAULT_TOPIC, Pose};

/// What `--help` prints.
const USAGE: &str = "Publishes a robot pose moving on a circle.\n\nUsage:\n  pose_publisher [--topic demo/robot/pose] [--rate 10] [--count 0]";

fn main() {
    let args = Args::from_env(USAGE);
    let topic: String = args.get("topic", DEFAULT_TOPIC.to_owned());
    let rate: f64 = args.get("rate", 10.0);
    let count: u64 = args.get("count", 0);

    let mut publisher = match Publisher::<Pose>::new(&topic) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pose_publisher: {e}");
            std::process::exit(1);
        }
    };
    if let Some(t) = publisher.takeover() {
        println!(
            "took over '{topic}' from {} (last value #{}, kept: {})",
            t.previous_publisher, t.last_seq, t.kept_last_value
        );
    }
    println!(
        "publishing Pose on '{topic}' at {rate} Hz ({})",
        publisher.path().display()
    );
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut n = 0;
    while count == 0 || n < count {
        let pose = Pose::on_circle(start.elapsed().as_secs_f64());
        let seq = publisher.publish(&pose).unwrap_or_else(|e| {
            eprintln!("pose_publisher: {e}");
            std::process::exit(1)
        });
        println!(
            "pub #{seq}: x={:+.3} y={:+.3} tracking={}",
            pose.position[0], pose.position[1], pose.tracking
        );
        n += 1;
        std::thread::sleep(period);
    }
}
