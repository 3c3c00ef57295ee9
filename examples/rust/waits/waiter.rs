//! Blocking waits and freshness on an `f64` topic: waits for new values (sleeping in the kernel
//! until the publisher wakes it), returns every new value the ring still holds (and counts those
//! it no longer holds as missed), says when nothing came in time or the publisher went away, and
//! stops cleanly on Ctrl-C (within `--timeout-ms`).
//!
//! ```text
//! cargo run -p shm-examples --example waiter -- [--topic demo/temperature] [--timeout-ms 1000] [--max-age-ms 0] [--count 0]
//! cargo run -p shm-examples --example scalar_publisher -- --type f64 --topic demo/temperature   # another terminal: type numbers
//! ```

use std::time::Duration;

use shm::{RecvError, Subscriber};
use shm_examples::Args;

/// What `--help` prints.
const USAGE: &str = "Blocking waits and freshness on an `f64` topic: waits for new values (sleeping in the kernel\nuntil the publisher wakes it), returns every new value the ring still holds (and counts those\nit no longer holds as missed), says when nothing came in time or the publisher went away, and\nstops cleanly on Ctrl-C (within `--timeout-ms`).\n\nUsage:\n  waiter [--topic demo/temperature] [--timeout-ms 1000] [--max-age-ms 0] [--count 0]\n  scalar_publisher --type f64 --topic demo/temperature   # another terminal: type numbers";

fn main() {
    let args = Args::from_env(USAGE);
    let topic: String = args.get("topic", "demo/temperature".to_owned());
    let timeout = Duration::from_millis(args.get("timeout-ms", 1000));
    let max_age_ms: u64 = args.get("max-age-ms", 0);
    let count: u64 = args.get("count", 0);
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("waiter: {e}");
        std::process::exit(1)
    };

    // Ctrl-C and SIGTERM set a flag instead of killing the process mid-line.
    let _signals = shm::stop::install();
    let mut builder = Subscriber::<f64>::builder(&topic);
    if max_age_ms > 0 {
        // Values older than this count as no value: a publisher that stopped publishing is
        // not read as if its last value were current.
        builder = builder.max_age(Duration::from_millis(max_age_ms));
    }
    let mut subscriber = builder.open().unwrap_or_else(|e| fail(&e));
    println!("waiting on '{topic}'");
    let mut received = 0;
    while (count == 0 || received < count) && !shm::stop::requested() {
        // Every new value the ring still holds, oldest first, once there is one: a reader that
        // must see every value it can (`recv_timeout` would return only the newest).
        match subscriber.recv_all_timeout(timeout) {
            Ok(samples) => {
                for sample in samples {
                    received += 1;
                    println!(
                        "#{} {} ({} µs after publish, {} missed)",
                        sample.seq,
                        sample.value,
                        sample.age().as_micros(),
                        sample.missed
                    );
                }
            }
            Err(RecvError::Timeout { .. }) => {
                // A wait ends early when a publisher it saw alive exits; one that started
                // after the exit (or before any publisher) runs to its timeout.
                let alive = subscriber.publisher_alive().unwrap_or_else(|e| fail(&e));
                let note = if alive { "" } else { " (no publisher)" };
                println!("nothing new within {} ms{note}", timeout.as_millis());
            }
            // The publisher exited or was killed: keep waiting for another one.
            Err(RecvError::PublisherGone { .. }) => println!("the publisher is gone"),
            Err(e) => fail(&e),
        }
    }
    println!("done after {received} value(s)");
}
