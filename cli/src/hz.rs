//! `shm hz`: how often a topic's values are published, measured from their publish times and
//! sequence numbers (so the rate is exact even when the tool cannot print every value).

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use shm::Sample;
use shm::dynamic::RawValue;

use crate::common::{self, Owner};
use crate::echo::Follow;
use crate::{Failure, out, out_json};

/// Arguments of `shm hz`.
#[derive(Args, Debug)]
pub(crate) struct HzArgs {
    #[command(flatten)]
    each: EachSecond,
    /// Statistics over the last this many values (2 to 1000000).
    #[arg(long, short, default_value_t = 1000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(2..=1_000_000))]
    window: u32,
}

/// What `hz`, `bw` and `delay` share: the topic, how many reports, JSON or text, whose file.
#[derive(Args, Debug)]
pub(crate) struct EachSecond {
    /// The topic.
    pub(crate) topic: String,
    /// Stop after this many reports (one per second).
    #[arg(long = "count", short = 'n', value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,
    /// One JSON object per report.
    #[arg(long)]
    pub(crate) json: bool,
    #[arg(long, default_value = "me", help = common::OWNER_HELP)]
    pub(crate) owner: Owner,
}

/// The values seen in the window: `(seq, publish time ns)`, oldest first.
struct Window {
    seen: VecDeque<(u64, u64)>,
    capacity: usize,
}

/// One report's numbers.
#[derive(Debug, PartialEq)]
struct Stats {
    /// Values published per second over the window (from sequence numbers: includes values
    /// the tool missed).
    rate_hz: f64,
    /// Intervals between consecutive values (`seq` and `seq + 1`) both seen, ns.
    mean_ns: f64,
    min_ns: u64,
    max_ns: u64,
    std_ns: f64,
    intervals: usize,
}

impl Window {
    fn push(&mut self, seq: u64, time_ns: u64) {
        // A topic recreated from scratch restarts its sequence: start the window again.
        if self
            .seen
            .back()
            .is_some_and(|&(s, t)| seq <= s || time_ns < t)
        {
            self.seen.clear();
        }
        if self.seen.len() == self.capacity {
            self.seen.pop_front();
        }
        self.seen.push_back((seq, time_ns));
    }

    fn stats(&self) -> Option<Stats> {
        let (&(s0, t0), &(s1, t1)) = (self.seen.front()?, self.seen.back()?);
        if s1 == s0 || t1 == t0 {
            return None;
        }
        let intervals: Vec<u64> = self
            .seen
            .iter()
            .zip(self.seen.iter().skip(1))
            .filter(|((a, _), (b, _))| b - a == 1)
            .map(|((_, ta), (_, tb))| tb - ta)
            .collect();
        let n = intervals.len() as f64;
        let mean = intervals.iter().sum::<u64>() as f64 / n.max(1.0);
        let var = intervals
            .iter()
            .map(|&d| (d as f64 - mean).powi(2))
            .sum::<f64>()
            / n.max(1.0);
        Some(Stats {
            rate_hz: (s1 - s0) as f64 * 1e9 / (t1 - t0) as f64,
            mean_ns: mean,
            min_ns: intervals.iter().copied().min().unwrap_or(0),
            max_ns: intervals.iter().copied().max().unwrap_or(0),
            std_ns: var.sqrt(),
            intervals: intervals.len(),
        })
    }
}

pub(crate) fn hz(root: Option<&Path>, args: &HzArgs) -> Result<(), Failure> {
    if args.window < 2 {
        return Err(Failure::new(
            "--window: at least 2 values are needed for a rate",
        ));
    }
    let window = Window {
        seen: VecDeque::new(),
        capacity: args.window as usize,
    };
    // The window, the values missed since the start, the unit of the intervals.
    let state = (window, 0u64, None);
    every_second(
        root,
        &args.each,
        state,
        |(window, missed, _), sample| {
            window.push(sample.seq, sample.published.as_nanos());
            *missed += sample.missed;
        },
        |(window, missed, unit), new, alive| {
            report(args, window.stats(), new, *missed, alive, unit)
        },
    )
}

/// The loop of `hz`, `bw` and `delay`: follows the topic from now on, hands every new value to
/// `on_value` (all of them, oldest first, as the ring still holds them), and once a second
/// calls `report` with how many came since the last report and whether the publisher lives;
/// `count` reports, or until stopped. Both work on `state`.
pub(crate) fn every_second<S>(
    root: Option<&Path>,
    each: &EachSecond,
    mut state: S,
    mut on_value: impl FnMut(&mut S, &Sample<RawValue>),
    mut report: impl FnMut(&mut S, u64, bool) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let (topic, count) = (each.topic.as_str(), each.count);
    let mut follow = Follow::new(common::subscriber(root, topic, each.owner)?);
    // Only values published from now on.
    follow.sub().latest().map_err(common::subscribe_failure)?;
    if !follow.sub().is_attached() {
        crate::note(format_args!(
            "shm: waiting for topic '{topic}' to be published"
        ));
    }
    let (mut reports, mut new) = (0u64, 0u64);
    let mut next_report = Instant::now() + Duration::from_secs(1);
    while count.is_none_or(|n| reports < n) {
        let left = next_report.saturating_duration_since(Instant::now());
        for sample in follow.wait(Some(left), true)?.unwrap_or_default() {
            on_value(&mut state, &sample);
            new += 1;
        }
        if Instant::now() < next_report {
            continue;
        }
        next_report += Duration::from_secs(1);
        reports += 1;
        // (A topic not created yet has no publisher to be gone.)
        let sub = follow.sub();
        let alive = new > 0 || !sub.is_attached() || sub.publisher_alive().unwrap_or(true);
        report(&mut state, new, alive)?;
        new = 0;
    }
    Ok(())
}

/// What a report of `hz`, `bw` or `delay` says when it has no figures: `new` values came since
/// the last report (0 or 1), `alive` whether the publisher lives.
pub(crate) fn no_values(new: u64, alive: bool) -> &'static str {
    match (new, alive) {
        (0, false) => "no new values: the publisher is gone",
        (0, true) => "no new values",
        _ => "one value so far",
    }
}

/// The unit intervals print in: `(ns per unit, its name)`, chosen by the first mean interval
/// and kept while the mean stays from a tenth of that unit to 10,000 of it, so that lines
/// compare at a glance (no `999.8 µs` then `1.0 ms`).
type Unit = (f64, &'static str);

fn unit_for(mean_ns: f64, kept: Option<Unit>) -> Unit {
    if let Some((scale, name)) = kept
        && (scale / 10.0..scale * 10_000.0).contains(&mean_ns)
    {
        return (scale, name);
    }
    match mean_ns {
        x if x < 1e3 => (1.0, "ns"),
        x if x < 1e6 => (1e3, "µs"),
        x if x < 1e9 => (1e6, "ms"),
        _ => (1e9, "s"),
    }
}

/// One report: the window's statistics, unless no value came since the last report (then the
/// old rate would be a lie about the present); `alive` says whether the publisher still runs.
fn report(
    args: &HzArgs,
    stats: Option<Stats>,
    new: u64,
    missed: u64,
    alive: bool,
    unit: &mut Option<Unit>,
) -> Result<(), Failure> {
    let stats = stats.filter(|_| new > 0);
    if args.each.json {
        return out_json(&match stats {
            Some(s) => json!({
                "rate_hz": s.rate_hz, "mean_interval_ns": s.mean_ns, "min_interval_ns": s.min_ns,
                "max_interval_ns": s.max_ns, "std_interval_ns": s.std_ns,
                "intervals": s.intervals, "new": new, "missed_total": missed,
                "publisher_alive": alive,
            }),
            None => json!({
                "rate_hz": null, "new": new, "missed_total": missed, "publisher_alive": alive,
            }),
        });
    }
    let Some(s) = stats else {
        return out(no_values(new, alive));
    };
    let (scale, name) = unit_for(s.mean_ns, *unit);
    *unit = Some((scale, name));
    let ns = |x: f64| {
        let v = x / scale;
        let decimals = if v < 10.0 {
            3
        } else if v < 100.0 {
            2
        } else {
            1
        };
        format!("{v:.decimals$} {name}")
    };
    let mut line = format!("rate {:.2} Hz", s.rate_hz);
    if s.intervals > 0 {
        line.push_str(&format!(
            "  interval mean {}  min {}  max {}  std dev {}  ({} intervals)",
            ns(s.mean_ns),
            ns(s.min_ns as f64),
            ns(s.max_ns as f64),
            ns(s.std_ns),
            s.intervals
        ));
    }
    if missed > 0 {
        line.push_str(&format!("  missed {missed} since the start"));
    }
    out(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(values: &[(u64, u64)], capacity: usize) -> Window {
        let mut w = Window {
            seen: VecDeque::new(),
            capacity,
        };
        for &(s, t) in values {
            w.push(s, t);
        }
        w
    }

    #[test]
    fn rate_counts_missed_values_and_intervals_only_consecutive_ones() {
        // 100 Hz publisher; the tool saw seq 1, 2, 3 and 6 (4 and 5 overwritten).
        let ms = 1_000_000;
        let w = window(&[(1, 0), (2, 10 * ms), (3, 21 * ms), (6, 50 * ms)], 10);
        let s = w.stats().unwrap();
        assert!((s.rate_hz - 100.0).abs() < 1e-9, "{s:?}");
        assert_eq!((s.intervals, s.min_ns, s.max_ns), (2, 10 * ms, 11 * ms));
        assert!((s.mean_ns - 10.5 * ms as f64).abs() < 1e-6);
        assert!((s.std_ns - 0.5 * ms as f64).abs() < 1e-6);
    }

    #[test]
    fn intervals_keep_their_unit_across_lines() {
        let first = unit_for(999_800.0, None);
        assert_eq!(first, (1e3, "µs"));
        // Around the µs/ms boundary the unit stays; far away it changes.
        assert_eq!(unit_for(1_000_200.0, Some(first)), first);
        assert_eq!(unit_for(2e9, Some(first)), (1e9, "s"));
        assert_eq!(unit_for(50.0, Some(first)), (1.0, "ns"));
    }

    #[test]
    fn window_keeps_the_newest_and_restarts_with_the_topic() {
        let w = window(&[(1, 0), (2, 1000), (3, 3000)], 2);
        assert_eq!(w.stats().unwrap().min_ns, 2000);
        let w = window(&[(5, 0), (6, 1000), (1, 5000)], 10);
        assert!(w.stats().is_none(), "one value since the topic restarted");
    }
}
