//! `shm echo`: each new value of a topic, decoded with the schema in its file.

use std::path::Path;
use std::time::Duration;

use clap::Args;
use shm::RecvError;
use shm::Sample;
use shm::dynamic::{AnySubscriber, RawValue};
use shm::wait::{Wait, WaitStep};

use crate::common::{self, Owner};
use shm::stop;

use crate::{Failure, format, out_with};

/// Arguments of `shm echo`.
#[derive(Args, Debug)]
pub(crate) struct EchoArgs {
    /// The topic.
    topic: String,
    /// Only this part of each value: a field, an element or a path (`position[0]`,
    /// `pose.heading`).
    #[arg(long, short, value_name = "PATH")]
    field: Option<String>,
    /// Stop after this many values.
    #[arg(long = "count", short = 'n', value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// One value, then stop (`-n 1`).
    #[arg(long, conflicts_with = "count")]
    once: bool,
    /// Every value still in the ring, oldest first (at the start too), not only the newest
    /// when several arrived at once; values overwritten unread are counted as missed.
    #[arg(long, short)]
    all: bool,
    /// Skip the values the topic holds now; print only values published after the start.
    #[arg(long)]
    new: bool,
    /// Fail if no new value arrives for this many seconds (default: wait for ever).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true,
          value_parser = common::seconds)]
    timeout: Option<Duration>,
    /// One JSON object per line: {"seq", "publish_time_ns" (on CLOCK_MONOTONIC, the clock of
    /// Python's time.monotonic_ns()), "missed", "value"}; NaN and infinities as "nan", "inf",
    /// "-inf".
    #[arg(long)]
    json: bool,
    /// Print long arrays whole. By default an array of more than 32 elements is cut short on a
    /// line, and a block of more than 256 numbers (an image, a point cloud) is summarised as its
    /// shape, type, min, max and mean, with --json too.
    #[arg(long)]
    full: bool,
    #[arg(long, default_value = "me", help = common::OWNER_HELP)]
    owner: Owner,
}

pub(crate) fn echo(root: Option<&Path>, args: &EchoArgs) -> Result<(), Failure> {
    let timeout = args.timeout;
    let mut follow = Follow::new(common::subscriber(root, &args.topic, args.owner)?);
    // A part the topic's type does not have is refused at once (with the fields there are),
    // not when a value comes.
    if let (Some(path), Some(schema)) = (&args.field, follow.sub().schema()) {
        schema.desc().locate(path).map_err(|why| {
            Failure::new(format!(
                "{why} (the topic's type is {})",
                schema.type_name()
            ))
        })?;
    }
    let mut printed = 0u64;
    let count = if args.once { Some(1) } else { args.count };
    let done = |printed: u64| count.is_some_and(|n| printed >= n);
    if done(0) {
        return Ok(());
    }
    // What the topic holds now comes first: its newest value, or with `--all` every value in
    // the ring. With `--new` it only counts as seen.
    let sub = follow.sub();
    let current = if args.all && !args.new {
        sub.try_recv_all()
    } else {
        sub.latest().map(|s| s.into_iter().collect())
    }
    .map_err(common::subscribe_failure)?;
    if current.is_empty() && !follow.sub().is_attached() {
        crate::note(format_args!(
            "shm: waiting for topic '{}' to be published",
            args.topic
        ));
    } else if current.is_empty() && !follow.sub().publisher_alive().unwrap_or(true) {
        crate::note(format_args!(
            "shm: topic '{}' has no value and its publisher is gone; waiting for a new one",
            args.topic
        ));
    }
    if !current.is_empty() {
        follow.saw_value();
    }
    if !args.new {
        for sample in current {
            // A value published before the start may be old: say how old.
            let age = sample.published.elapsed();
            if !args.json && age > Duration::from_secs(1) {
                crate::note(format_args!(
                    "shm: #{} was published {} ago",
                    sample.seq,
                    format::duration_ns(age.as_nanos() as u64)
                ));
            }
            print(args, &sample)?;
            printed += 1;
            if done(printed) {
                return Ok(());
            }
        }
    }
    while !done(printed) {
        let Some(samples) = follow.wait(timeout, args.all)? else {
            return Err(Failure::new(format!(
                "no new value on topic '{}' within {} s; is its publisher running?",
                args.topic,
                timeout.unwrap_or_default().as_secs_f64()
            )));
        };
        for sample in samples {
            print(args, &sample)?;
            printed += 1;
            if done(printed) {
                break;
            }
        }
    }
    Ok(())
}

/// A subscriber followed across publishers: says when the publisher is gone (once per
/// publisher, after its values), and waits for the next one.
pub(crate) struct Follow {
    sub: AnySubscriber,
    /// Values arrived since the publisher was last reported gone.
    fresh: bool,
}

impl Follow {
    pub(crate) fn new(sub: AnySubscriber) -> Follow {
        Follow { sub, fresh: false }
    }

    pub(crate) fn sub(&mut self) -> &mut AnySubscriber {
        &mut self.sub
    }

    /// Counts a value read outside [`Follow::wait_all`].
    pub(crate) fn saw_value(&mut self) {
        self.fresh = true;
    }

    /// Waits for a new value and returns it, or with `all` every new value the ring still
    /// holds, oldest first (`None`: none came within `timeout`). Values overwritten unread are
    /// counted in the next one's `missed`. A stop request ends the command quietly.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        all: bool,
    ) -> Result<Option<Vec<Sample<RawValue>>>, Failure> {
        let mut wait = Wait::for_available(timeout);
        loop {
            if stop::requested() {
                return Err(Failure::quiet());
            }
            match self.sub.wait_step(&mut wait) {
                Ok(WaitStep::Ready(_)) => {
                    let new = if all {
                        self.sub.try_recv_all()
                    } else {
                        self.sub.try_recv().map(|s| s.into_iter().collect())
                    }
                    .map_err(common::subscribe_failure)?;
                    if !new.is_empty() {
                        self.fresh = true;
                        return Ok(Some(new));
                    }
                }
                // At most the library's check interval (50 ms): a stop request, or a publisher
                // that left between two waits, is seen within that.
                Ok(WaitStep::Block(sleeper)) => {
                    sleeper.block();
                    if self.fresh && !self.sub.publisher_alive().unwrap_or(true) {
                        self.gone();
                    }
                }
                Err(RecvError::PublisherGone { .. }) => {
                    self.gone();
                    let left = timeout.map(|t| t.saturating_sub(wait.elapsed()));
                    wait = Wait::for_available(left);
                }
                Err(RecvError::Timeout { .. }) => return Ok(None),
                Err(RecvError::Subscribe(e)) => return Err(common::subscribe_failure(e)),
                Err(e) => return Err(Failure::new(e)),
            }
        }
    }

    fn gone(&mut self) {
        if std::mem::take(&mut self.fresh) {
            crate::note(format_args!(
                "shm: the publisher of '{}' is gone; waiting for a new one",
                self.sub.topic()
            ));
        }
    }
}

fn print(args: &EchoArgs, sample: &Sample<RawValue>) -> Result<(), Failure> {
    // Only the part asked for, found in the schema and printed from the bytes as the schema is
    // walked: nothing of the value is built first.
    let RawValue { bytes, schema, .. } = &sample.value;
    let (offset, desc) = schema
        .desc()
        .locate(args.field.as_deref().unwrap_or(""))
        .map_err(|why| {
            Failure::new(format!(
                "{why} (the topic's type is {})",
                schema.type_name()
            ))
        })?;
    let bytes = &bytes[offset as usize..(offset + desc.size) as usize];
    if args.json {
        return out_with(|w| {
            write!(
                w,
                "{{\"seq\":{},\"publish_time_ns\":{},\"missed\":{},\"value\":",
                sample.seq,
                sample.published.as_nanos(),
                sample.missed
            )?;
            format::write_json(desc, bytes, format::limits(args.full).1, w)?;
            w.write_all(b"}")
        });
    }
    let (limit, summarize_above) = format::limits(args.full);
    let value = shm::dynamic::show_summarized(desc, bytes, limit, summarize_above);
    out_with(|w| {
        if sample.missed > 0 {
            write!(w, "#{} ({} missed) {value}", sample.seq, sample.missed)
        } else {
            write!(w, "#{} {value}", sample.seq)
        }
    })
}
