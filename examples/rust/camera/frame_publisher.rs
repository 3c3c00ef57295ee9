//! Publishes 640×480 RGB camera frames (900 KiB each): a bright bar sweeping across the image.
//!
//! ```text
//! cargo run -p shm-examples --example frame_publisher -- [--topic demo/camera] [--rate 30] [--count 0]
//! ```
//! Each publish copies the frame once into shared memory; a subscriber copies it once out
//! (`frame_subscriber`, or Python's `camera_subscriber.py`, whose `Frame` is the same type).

use std::time::{Duration, Instant};

use shm::{Publisher, Timestamp};
use shm_examples::{Args, FRAME_WIDTH, Frame};

fn main() {
    let args = Args::from_env();
    let topic: String = args.get("topic", "demo/camera".to_owned());
    let rate: f64 = args.get("rate", 30.0);
    let count: u64 = args.get("count", 0);
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("frame_publisher: {e}");
        std::process::exit(1)
    };

    // Eight slots: a reader that is slow to copy a frame out keeps its slot while the camera
    // goes on writing the others.
    let mut publisher = Publisher::<Frame>::builder(&topic)
        .buffer_num(8)
        .create()
        .unwrap_or_else(|e| fail(&e));
    println!("publishing 640x480 frames on '{topic}' at {rate} Hz");
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut frame = Frame::black();
    let mut n = 0;
    while count == 0 || n < count {
        let start = Instant::now();
        // Draw: the column `n` (mod the width) is white, the previous one black again.
        let (bar, old) = (
            n as usize % FRAME_WIDTH,
            (n as usize + FRAME_WIDTH - 1) % FRAME_WIDTH,
        );
        for row in frame.pixels.iter_mut() {
            row[old] = [0; 3];
            row[bar] = [255; 3];
        }
        frame.seq = n;
        frame.stamp_ns = Timestamp::now().as_nanos();
        let seq = publisher.publish(&frame).unwrap_or_else(|e| fail(&e));
        println!("published frame {n} (#{seq}) bar at x={bar}");
        n += 1;
        std::thread::sleep(period.saturating_sub(start.elapsed()));
    }
}
