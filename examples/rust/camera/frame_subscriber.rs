//! Reads camera frames in place and says where the bright bar is and how old each frame is.
//!
//! ```text
//! cargo run -p shm-examples --example frame_subscriber -- [--topic demo/camera] [--count 0] [--timeout 10]
//! ```
//! From a lending topic (`frame_publisher`) it borrows each new frame (`borrow_timeout`): no
//! copy, the slot stays unchanged until the frame is dropped. From a copying topic (Python's
//! `camera_publisher.py`) it waits for each new frame and copies it once into a buffer of its
//! own (`recv_timeout_into`).

use std::time::Duration;

use shm::{RecvError, SubscribeError, Subscriber, Timestamp};
use shm_examples::{Args, Frame};

/// What `--help` prints.
const USAGE: &str = "Reads camera frames in place and says where the bright bar is and how old each frame is.\n\nUsage:\n  frame_subscriber [--topic demo/camera] [--count 0] [--timeout 10]";

fn main() {
    let args = Args::from_env(USAGE);
    let topic: String = args.get("topic", "demo/camera".to_owned());
    let count: u64 = args.get("count", 0);
    let timeout: f64 = args.get("timeout", 10.0);
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("frame_subscriber: {e}");
        std::process::exit(1)
    };

    let mut subscriber = Subscriber::<Frame>::new(&topic).unwrap_or_else(|e| fail(&e));
    println!("subscribed to '{topic}'");
    let timeout = Duration::from_secs_f64(timeout);
    // For a copying topic: one buffer of our own, reused (on the heap: 900 KiB).
    let mut copy: Option<Box<Frame>> = None;
    let mut received = 0;
    while count == 0 || received < count {
        if copy.is_none() {
            match subscriber.borrow_timeout(timeout) {
                Ok(frame) => {
                    report(&frame, frame.seq(), frame.published(), frame.missed());
                    received += 1;
                    continue;
                }
                // A copying topic: read copies from now on.
                Err(RecvError::Subscribe(SubscribeError::NotLending { .. })) => {
                    copy = Some(Frame::black());
                }
                Err(e) => fail(&e),
            }
        }
        let frame = copy.as_mut().expect("a buffer");
        let sample = subscriber
            .recv_timeout_into(frame, timeout)
            .unwrap_or_else(|e| fail(&e));
        report(frame, sample.seq, sample.published, sample.missed);
        received += 1;
    }
}

fn report(frame: &Frame, seq: u64, published: Timestamp, missed: u64) {
    let bar = frame.pixels[0].iter().position(|p| *p == [255; 3]);
    println!(
        "frame {} (#{seq}) bar at x={} age {} µs{}",
        frame.seq,
        bar.map_or("none".to_owned(), |x| x.to_string()),
        published.elapsed().as_micros(),
        match missed {
            0 => String::new(),
            n => format!(", {n} skipped"),
        }
    );
}
