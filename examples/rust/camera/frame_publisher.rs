//! Publishes 640×480 RGB camera frames (900 KiB each): a bright bar sweeping across the image.
//!
//! ```text
//! cargo run -p shm-examples --example frame_publisher -- [--topic demo/camera] [--rate 30] [--count 0]
//! ```
//! A lending topic: each frame is drawn in place, in a slot of shared memory no reader sees
//! until it is published (`loan`), so it is never copied; subscribers borrow it in place
//! (`frame_subscriber`) or copy it out (Python's `camera_subscriber.py`, whose `Frame` is the
//! same type).

use std::time::{Duration, Instant};

use shm::{Publisher, Timestamp};
use shm_examples::{Args, FRAME_WIDTH, Frame};

/// What `--help` prints.
const USAGE: &str = "Publishes 640×480 RGB camera frames (900 KiB each): a bright bar sweeping across the image.\n\nUsage:\n  frame_publisher [--topic demo/camera] [--rate 30] [--count 0]";

fn main() {
    let args = Args::from_env(USAGE);
    let topic: String = args.get("topic", "demo/camera".to_owned());
    let rate: f64 = args.get("rate", 30.0);
    let count: u64 = args.get("count", 0);
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("frame_publisher: {e}");
        std::process::exit(1)
    };

    // A lending topic of 10 slots: subscribers may hold 8 frames at once (one each, by
    // default) while the camera goes on writing the others.
    let mut publisher = Publisher::<Frame>::builder(&topic)
        .lending(true)
        .create()
        .unwrap_or_else(|e| fail(&e));
    println!("publishing 640x480 frames on '{topic}' at {rate} Hz");
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut n = 0;
    while count == 0 || n < count {
        let start = Instant::now();
        // Draw in place: a black frame (the loan is zeroed) whose column `n` (mod the width)
        // is white.
        let bar = n as usize % FRAME_WIDTH;
        let mut frame = publisher.loan().unwrap_or_else(|e| fail(&e));
        for row in frame.pixels.iter_mut() {
            row[bar] = [255; 3];
        }
        frame.seq = n;
        frame.stamp_ns = Timestamp::now().as_nanos();
        let seq = frame.publish().unwrap_or_else(|e| fail(&e));
        println!("published frame {n} (#{seq}) bar at x={bar}");
        n += 1;
        std::thread::sleep(period.saturating_sub(start.elapsed()));
    }
}
