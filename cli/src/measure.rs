//! `shm bw` and `shm delay`: the bandwidth of a topic (bytes per second), and how long its
//! values take from publish to read, measured once a second like `shm hz`.

use std::collections::VecDeque;
use std::path::Path;

use clap::Args;
use serde_json::json;
use shm::schema::{BOUNDED_DATA_OFFSET, DescKind};

use crate::hz::{EachSecond, every_second, no_values};
use crate::{Failure, format, out, out_json};

/// Arguments of `shm bw`.
#[derive(Args, Debug)]
pub(crate) struct BwArgs {
    #[command(flatten)]
    each: EachSecond,
    /// Over the last this many values (2 to 1000000).
    #[arg(long, short, default_value_t = 100, value_name = "N",
          value_parser = clap::value_parser!(u32).range(2..=1_000_000))]
    window: u32,
}

/// Arguments of `shm delay`.
#[derive(Args, Debug)]
pub(crate) struct DelayArgs {
    #[command(flatten)]
    each: EachSecond,
    /// Statistics over the last this many values (1 to 1000000).
    #[arg(long, short, default_value_t = 1000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    window: u32,
}

/// A value's bytes that carry data: a bounded sequence's or string's length word and filled
/// part, else the whole value.
fn data_bytes(value: &shm::dynamic::RawValue) -> u64 {
    let desc = value.schema.desc();
    // The length word that starts a bounded value (docs/FORMAT.md).
    let length_at = |bytes: &[u8], _| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[..8]);
        u64::from_ne_bytes(word)
    };
    match &desc.kind {
        DescKind::Sequence { elem, cap } => {
            BOUNDED_DATA_OFFSET + length_at(&value.bytes, 0).min(*cap) * elem.size
        }
        DescKind::String { cap } => BOUNDED_DATA_OFFSET + length_at(&value.bytes, 0).min(*cap),
        _ => desc.size,
    }
}

/// The last values seen: `(seq, publish time ns, data bytes)`, oldest first.
struct Seen {
    values: VecDeque<(u64, u64, u64)>,
    capacity: usize,
}

impl Seen {
    fn push(&mut self, entry: (u64, u64, u64)) {
        // A topic recreated from scratch restarts its sequence: start again.
        if self
            .values
            .back()
            .is_some_and(|&(s, t, _)| entry.0 <= s || entry.1 < t)
        {
            self.values.clear();
        }
        if self.values.len() == self.capacity {
            self.values.pop_front();
        }
        self.values.push_back(entry);
    }

    /// `(bytes per second, mean bytes per value, values per second)` over the window: the
    /// mean size of the values seen times the rate their sequence numbers and publish times
    /// give (values the tool missed count at the mean size).
    fn bandwidth(&self) -> Option<(f64, f64, f64)> {
        let (&(s0, t0, _), &(s1, t1, _)) = (self.values.front()?, self.values.back()?);
        if s1 == s0 || t1 <= t0 {
            return None;
        }
        let rate = (s1 - s0) as f64 * 1e9 / (t1 - t0) as f64;
        let mean = self.values.iter().map(|v| v.2 as f64).sum::<f64>() / self.values.len() as f64;
        Some((mean * rate, mean, rate))
    }
}

pub(crate) fn bw(root: Option<&Path>, args: &BwArgs) -> Result<(), Failure> {
    let seen = Seen {
        values: VecDeque::new(),
        capacity: args.window as usize,
    };
    every_second(
        root,
        &args.each,
        seen,
        |seen, sample| {
            seen.push((
                sample.seq,
                sample.published.as_nanos(),
                data_bytes(&sample.value),
            ));
        },
        |seen, new, alive| {
            let stats = seen.bandwidth().filter(|_| new > 0);
            if args.each.json {
                return out_json(&match stats {
                    Some((bps, mean, hz)) => json!({
                        "bytes_per_s": bps, "mean_value_bytes": mean, "rate_hz": hz,
                        "new": new, "publisher_alive": alive,
                    }),
                    None => json!({ "bytes_per_s": null, "new": new, "publisher_alive": alive }),
                });
            }
            match stats {
                Some((bps, mean, hz)) => out(format!(
                    "bw {}/s  ({} per value, {hz:.2} Hz, over {} values)",
                    format::bytes(bps.round() as u64),
                    format::bytes(mean.round() as u64),
                    seen.values.len()
                )),
                None => out(no_values(new, alive)),
            }
        },
    )
}

pub(crate) fn delay(root: Option<&Path>, args: &DelayArgs) -> Result<(), Failure> {
    let delays: VecDeque<u64> = VecDeque::new();
    let capacity = args.window as usize;
    every_second(
        root,
        &args.each,
        delays,
        |delays, sample| {
            if delays.len() == capacity {
                delays.pop_front();
            }
            delays.push_back(sample.published.elapsed().as_nanos() as u64);
        },
        |delays, new, alive| {
            if new == 0 || delays.is_empty() {
                if args.each.json {
                    return out_json(
                        &json!({ "mean_ns": null, "new": new, "publisher_alive": alive }),
                    );
                }
                return out(no_values(new, alive));
            }
            let n = delays.len() as f64;
            let mean = delays.iter().map(|&d| d as f64).sum::<f64>() / n;
            let std = (delays
                .iter()
                .map(|&d| (d as f64 - mean).powi(2))
                .sum::<f64>()
                / n)
                .sqrt();
            let (min, max) = (
                delays.iter().copied().min().unwrap_or(0),
                delays.iter().copied().max().unwrap_or(0),
            );
            if args.each.json {
                return out_json(&json!({
                    "mean_ns": mean, "min_ns": min, "max_ns": max, "std_ns": std,
                    "values": delays.len(), "new": new, "publisher_alive": alive,
                }));
            }
            let ns = |x: f64| format::duration_ns(x.round() as u64);
            out(format!(
                "delay mean {}  min {}  max {}  std dev {}  ({} values)",
                ns(mean),
                ns(min as f64),
                ns(max as f64),
                ns(std),
                delays.len()
            ))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_is_the_mean_size_times_the_rate() {
        let mut seen = Seen {
            values: VecDeque::new(),
            capacity: 10,
        };
        // 100 Hz, values of 1000 and 3000 bytes; seq 3 was missed.
        let ms = 1_000_000;
        for v in [(1, 0, 1000), (2, 10 * ms, 3000), (4, 30 * ms, 2000)] {
            seen.push(v);
        }
        let (bps, mean, hz) = seen.bandwidth().unwrap();
        assert!((hz - 100.0).abs() < 1e-9 && (mean - 2000.0).abs() < 1e-9);
        assert!((bps - 200_000.0).abs() < 1e-6);
        seen.push((1, 40 * ms, 5));
        assert!(seen.bandwidth().is_none(), "restarted topic");
    }
}
