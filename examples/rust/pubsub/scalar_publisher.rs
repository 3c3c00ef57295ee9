//! Publishes `bool`, `i64` or `f64` values (or `f32`, `i8` … `u64`: `--type u32`) read from standard input, one per line: a bridge
//! from a shell pipeline or another program to a topic, which Python can subscribe to.
//!
//! ```text
//! seq 1 10 | cargo run -p shm-examples --example scalar_publisher -- --type i64 --topic demo/count
//! cargo run -p shm-examples --example scalar_publisher -- --type f64 --topic demo/temperature
//! ```
//! Values: `true`/`false`, decimal ints, floats (`21.5`, `-0.0`, `inf`, `nan`) or `0x` and 16
//! hex digits (a float's exact bits). After each value it prints `published <seq> <value>`.
//! It exits (releasing the topic) at the end of its input.

use std::io::BufRead;

use shm::Publisher;
use shm_examples::{Args, Scalar, with_scalar_type};

/// What `--help` prints.
const USAGE: &str = "Publishes `bool`, `i64` or `f64` values (or `f32`, `i8` … `u64`: `--type u32`) read from standard input, one per line: a bridge\nfrom a shell pipeline or another program to a topic, which Python can subscribe to.\n\nUsage:\n  seq 1 10 | scalar_publisher --type i64 --topic demo/count\n  scalar_publisher --type f64 --topic demo/temperature";

fn run<T: Scalar>() {
    let args = Args::from_env(USAGE);
    let topic: String = args.get("topic", "demo/value".to_owned());
    let buffer_num: usize = args.get("buffer-num", shm::DEFAULT_BUFFER_NUM);
    let mut publisher = match Publisher::<T>::builder(&topic)
        .buffer_num(buffer_num)
        .create()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("scalar_publisher: {e}");
            std::process::exit(1);
        }
    };
    println!("publishing '{topic}'");
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        match T::parse(text) {
            Some(value) => {
                let seq = publisher.publish(&value).unwrap_or_else(|e| {
                    eprintln!("scalar_publisher: {e}");
                    std::process::exit(1)
                });
                println!("published {seq} {}", value.show());
            }
            None => eprintln!(
                "scalar_publisher: not a {} value: {text:?}",
                std::any::type_name::<T>()
            ),
        }
    }
}

fn main() {
    let args = Args::from_env(USAGE);
    let ty: String = args.get("type", "f64".to_owned());
    with_scalar_type!(ty.as_str(), run);
}
