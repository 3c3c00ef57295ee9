//! Relays point clouds on slice topics (`Subscriber<[Point]>`, `Publisher<[Point]>`): reads
//! each cloud from one topic (whatever its room), keeps the points within `--radius` of the
//! sensor, and publishes them on another topic whose room starts at `--room` points and grows
//! (doubling) when a cloud does not fit. Subscribers of the output, in any language, follow
//! the growth without losing a cloud.
//!
//! ```text
//! cargo run -p shm-examples --example cloud_relay -- --in demo/cloud --out demo/cloud_near \
//!     [--radius inf] [--room 1024] [--count 0]
//! ```
//! Prints `relayed #<seq> points=<in>-><out> room=<room of the output>` per cloud.

use std::time::Duration;

use shm::{Publisher, RecvError, Subscriber};
use shm_examples::{Args, Point};

/// What `--help` prints.
const USAGE: &str = "Relays point clouds on slice topics (`Subscriber<[Point]>`, `Publisher<[Point]>`): reads\neach cloud from one topic (whatever its room), keeps the points within `--radius` of the\nsensor, and publishes them on another topic whose room starts at `--room` points and grows\n(doubling) when a cloud does not fit. Subscribers of the output, in any language, follow\nthe growth without losing a cloud.\n\nUsage:\n  cloud_relay --in demo/cloud --out demo/cloud_near \\\n      [--radius inf] [--room 1024] [--count 0]";

fn main() {
    let args = Args::from_env(USAGE);
    let input: String = args.get("in", "demo/cloud".to_owned());
    let output: String = args.get("out", "demo/cloud_near".to_owned());
    let radius: f32 = args.get("radius", f32::INFINITY);
    let room: usize = args.get("room", 1024);
    let count: u64 = args.get("count", 0);
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("cloud_relay: {e}");
        std::process::exit(1)
    };
    let mut subscriber = Subscriber::<[Point]>::new(&input).unwrap_or_else(|e| fail(&e));
    let mut publisher = Publisher::<[Point]>::builder(&output)
        .max_len(room)
        .grow(true)
        .create()
        .unwrap_or_else(|e| fail(&e));
    println!("relaying '{input}' to '{output}'");
    // Both reused: a cloud is copied into `cloud`, the points kept into `near`.
    let (mut cloud, mut near) = (Vec::new(), Vec::new());
    let mut relayed = 0;
    while count == 0 || relayed < count {
        let sample = match subscriber.recv_timeout_into(&mut cloud, Duration::from_secs(30)) {
            Ok(sample) => sample,
            Err(RecvError::PublisherGone { .. }) => continue,
            Err(e) => fail(&e),
        };
        near.clear();
        near.extend(
            cloud
                .iter()
                .filter(|p| (p.x * p.x + p.y * p.y + p.z * p.z).sqrt() <= radius),
        );
        publisher.publish(&near).unwrap_or_else(|e| fail(&e));
        relayed += 1;
        println!(
            "relayed #{} points={}->{} room={}",
            sample.seq,
            cloud.len(),
            near.len(),
            publisher.max_len()
        );
    }
}
