//! Prints the poses published on a topic. Can be started before the publisher.
//!
//! ```text
//! cargo run -p shm-examples --example pose_subscriber -- [--topic demo/robot/pose] [--count 0] [--timeout 0]
//! ```
//! Exits after `--count` new values (0: never) or `--timeout` seconds (0: never).

use std::time::{Duration, Instant};

use shm::Subscriber;
use shm_examples::{Args, DEFAULT_TOPIC, Pose};

fn main() {
    let args = Args::from_env();
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
    let start = Instant::now();
    let mut received = 0;
    while count == 0 || received < count {
        if timeout > 0.0 && start.elapsed().as_secs_f64() > timeout {
            eprintln!("pose_subscriber: timed out after {timeout} s with {received} pose(s)");
            std::process::exit(3);
        }
        match subscriber.try_recv() {
            Ok(Some(sample)) => {
                let p = sample.value;
                println!(
                    "sub #{}: x={:+.3} y={:+.3} tracking={} ({} µs after publish)",
                    sample.seq,
                    p.position[0],
                    p.position[1],
                    p.tracking,
                    sample.published.elapsed().as_micros()
                );
                received += 1;
            }
            Ok(None) => std::thread::sleep(Duration::from_micros(200)),
            Err(e) => {
                eprintln!("pose_subscriber: {e}");
                std::process::exit(1);
            }
        }
    }
}
