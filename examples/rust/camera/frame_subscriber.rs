//! Reads camera frames into one buffer of its own (no allocation per frame) and says where the
//! bright bar is and how old each frame is.
//!
//! ```text
//! cargo run -p shm-examples --example frame_subscriber -- [--topic demo/camera] [--count 0] [--timeout 10]
//! ```
//! Waits in the kernel for each frame (`wait_step`, which returns once a new frame exists
//! without copying it), then copies it straight from the topic into its buffer with
//! `latest_into`: 900 KiB cross memory once.

use std::time::Duration;

use shm::Subscriber;
use shm::wait::{Wait, WaitStep};
use shm_examples::{Args, Frame};

fn main() {
    let args = Args::from_env();
    let topic: String = args.get("topic", "demo/camera".to_owned());
    let count: u64 = args.get("count", 0);
    let timeout: f64 = args.get("timeout", 10.0);
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("frame_subscriber: {e}");
        std::process::exit(1)
    };

    let mut subscriber = Subscriber::<Frame>::new(&topic).unwrap_or_else(|e| fail(&e));
    println!("subscribed to '{topic}'");
    let mut frame = Frame::black();
    let mut received = 0;
    while count == 0 || received < count {
        // Wait for a new frame without reading it...
        let mut wait = Wait::for_available(Some(Duration::from_secs_f64(timeout)));
        loop {
            match subscriber.wait_step(&mut wait) {
                Ok(WaitStep::Ready(_)) => break,
                Ok(WaitStep::Block(sleeper)) => sleeper.block(),
                Err(e) => fail(&e),
            }
        }
        // ...then copy the newest one straight into our buffer.
        let Some(sample) = subscriber
            .latest_into(&mut frame)
            .unwrap_or_else(|e| fail(&e))
        else {
            continue;
        };
        let bar = frame.pixels[0].iter().position(|p| *p == [255; 3]);
        println!(
            "frame {} (#{}) bar at x={} age {} µs{}",
            frame.seq,
            sample.seq,
            bar.map_or("none".to_owned(), |x| x.to_string()),
            sample.age().as_micros(),
            match sample.missed {
                0 => String::new(),
                n => format!(", {n} skipped"),
            }
        );
        received += 1;
    }
}
