//! Prints the poses published on a topic. Can be started before the publisher.
//!
//! ```text
//! cargo run -p shm-examples --example pose_subscriber -- [--topic demo/robot/pose] [--count 0] [--timeout 0]
//! ```
//! Exits after `--count` new values (0: never) or `--timeout` seconds (0: never). Sleeps in the
//! kernel between values (a blocking `recv_timeout`, woken by the publisher), so it uses no
//! CPU while it waits.

use std::time::{Duration, Instant};

use shm::{RecvError, Subscriber};
use shm_examples::{Args, DEFAULT_TOPIC, Pose};

/// What `--help` prints.
const USAGE: &str = "Prints the poses published on a topic. Can be started before the publisher.\n\nUsage:\n  pose_subscriber [--topic demo/robot/pose] [--count 0] [--timeout 0]";

fn main() {
    let args = Args::from_env(USAGE);
    let topic: String = args.get("topic", DEFAULT_TOPIC.to_owned());
    let count: u64 = args.get("count", 0);
    let timeout: f64 = args.get("timeout", 0.0);

    let mut subscriber = match Subscriber::<Pose>::new(&topic) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pose_subscriber: {e}");
            std::process::exit(1);
        }
    };
    println!("subscribed to '{topic}'; waiting for poses");
    let deadline = (timeout > 0.0).then(|| Instant::now() + Duration::from_secs_f64(timeout));
    let mut received = 0;
    while count == 0 || received < count {
        let waited = match deadline {
            Some(d) => subscriber.recv_deadline(d),
            None => subscriber.recv(),
        };
        match waited {
            Ok(sample) => {
                let p = sample.value;
                println!(
                    "sub #{}: x={:+.3} y={:+.3} tracking={} ({} µs after publish{})",
                    sample.seq,
                    p.position[0],
                    p.position[1],
                    p.tracking,
                    sample.age().as_micros(),
                    match sample.missed {
                        0 => String::new(),
                        n => format!(", {n} missed"),
                    }
                );
                received += 1;
            }
            Err(RecvError::Timeout { .. }) => {
                eprintln!("pose_subscriber: timed out after {timeout} s with {received} pose(s)");
                std::process::exit(3);
            }
            // Keep waiting: a restarted publisher takes the topic over.
            Err(e @ RecvError::PublisherGone { .. }) => eprintln!("pose_subscriber: {e}"),
            Err(e) => {
                eprintln!("pose_subscriber: {e}");
                std::process::exit(1);
            }
        }
    }
}
