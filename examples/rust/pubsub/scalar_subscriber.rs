//! Prints each new `bool`, `i64` or `f64` value (or `f32`, `i8` … `u64`: `--type u32`) of a topic, for instance one a Python program
//! publishes. Can be started before the publisher.
//!
//! ```text
//! cargo run -p shm-examples --example scalar_subscriber -- --type f64 --topic demo/temperature [--count 0] [--timeout 0]
//! ```
//! Prints `subscribed to '<topic>'`, then `<seq> <value>` per new value (floats with their
//! exact bits). Exits after `--count` values (0: never) or fails after `--timeout` seconds
//! (0: never); a topic of another type exits with status 4.

use std::time::{Duration, Instant};

use shm::{RecvError, SubscribeError, Subscriber};
use shm_examples::{Args, Scalar, with_scalar_type};

/// What `--help` prints.
const USAGE: &str = "Prints each new `bool`, `i64` or `f64` value (or `f32`, `i8` … `u64`: `--type u32`) of a topic, for instance one a Python program\npublishes. Can be started before the publisher.\n\nUsage:\n  scalar_subscriber --type f64 --topic demo/temperature [--count 0] [--timeout 0]";

fn fail(e: SubscribeError) -> ! {
    eprintln!("scalar_subscriber: {e}");
    let mismatch = matches!(e, SubscribeError::SchemaMismatch(_));
    std::process::exit(if mismatch { 4 } else { 1 });
}

fn run<T: Scalar>() {
    let args = Args::from_env(USAGE);
    let topic: String = args.get("topic", "demo/value".to_owned());
    let count: u64 = args.get("count", 0);
    let timeout: f64 = args.get("timeout", 0.0);
    let mut subscriber = Subscriber::<T>::new(&topic).unwrap_or_else(|e| fail(e));
    println!("subscribed to '{topic}'");
    let deadline = (timeout > 0.0).then(|| Instant::now() + Duration::from_secs_f64(timeout));
    let mut received = 0;
    while count == 0 || received < count {
        let waited = match deadline {
            Some(d) => subscriber.recv_deadline(d),
            None => subscriber.recv(),
        };
        match waited {
            Ok(sample) => {
                println!("{} {}", sample.seq, sample.value.show());
                received += 1;
            }
            Err(RecvError::Timeout { .. }) => {
                eprintln!(
                    "scalar_subscriber: timed out after {timeout} s with {received} value(s)"
                );
                std::process::exit(3);
            }
            // Keep waiting: a restarted publisher takes the topic over.
            Err(e @ RecvError::PublisherGone { .. }) => eprintln!("scalar_subscriber: {e}"),
            Err(RecvError::Subscribe(e)) => fail(e),
            Err(e) => {
                eprintln!("scalar_subscriber: {e}");
                std::process::exit(1);
            }
        }
    }
}

fn main() {
    let args = Args::from_env(USAGE);
    let ty: String = args.get("type", "f64".to_owned());
    with_scalar_type!(ty.as_str(), run);
}
