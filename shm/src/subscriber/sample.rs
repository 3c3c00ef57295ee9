//! What a read returns: a value with its sequence number, publish time and freshness.

use std::time::Duration;

use crate::sys;

/// A point on `CLOCK_MONOTONIC`, the clock shared by all processes of the machine (the clock of
/// Python's `time.monotonic_ns()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub(crate) u64);

impl Timestamp {
    /// Now.
    pub fn now() -> Timestamp {
        Timestamp(sys::monotonic_ns())
    }

    /// Nanoseconds on `CLOCK_MONOTONIC`.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since this timestamp (zero if it lies in the future).
    pub fn elapsed(self) -> Duration {
        Duration::from_nanos(sys::monotonic_ns().saturating_sub(self.0))
    }

    /// The time `age` before now (the clock's start, at most): when a value `age` old was
    /// published.
    pub fn ago(age: Duration) -> Timestamp {
        let age = u64::try_from(age.as_nanos()).unwrap_or(u64::MAX);
        Timestamp(sys::monotonic_ns().saturating_sub(age))
    }
}

/// A value read from a topic, with its sequence number, publish time and freshness.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Sample<T> {
    /// The value.
    pub value: T,
    /// Its sequence number: 1 for a topic's first value, +1 per publish, continued by a
    /// publisher that takes the topic over. Restarts only when the topic file is removed.
    pub seq: u64,
    /// When it was published.
    pub published: Timestamp,
    /// Whether this subscriber had not returned this value before. Always true from
    /// [`try_recv`](crate::Subscriber::try_recv) and the blocking waits;
    /// [`latest`](crate::Subscriber::latest) returns the same value again (with
    /// `is_new == false`) until a newer one is published.
    pub is_new: bool,
    /// How many values were published between the previous new value this subscriber returned
    /// and this one, which it never saw (0 for the first value it reads, and when not new). This
    /// is a latest-value topic, not a queue: a slow reader skips values, and this says how many.
    /// After the topic file was removed and made anew, the values of the new file before this
    /// one.
    pub missed: u64,
}

impl<T> Sample<T> {
    /// The same sample with its value converted (sequence number, time and freshness kept).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sample<U> {
        Sample {
            value: f(self.value),
            seq: self.seq,
            published: self.published,
            is_new: self.is_new,
            missed: self.missed,
        }
    }

    /// The value, and the sample without it (sequence number, time and freshness).
    pub fn into_parts(self) -> (T, Sample<()>) {
        let Sample {
            value,
            seq,
            published,
            is_new,
            missed,
        } = self;
        let rest = Sample {
            value: (),
            seq,
            published,
            is_new,
            missed,
        };
        (value, rest)
    }

    /// Time since the value was published.
    pub fn age(&self) -> Duration {
        self.published.elapsed()
    }
}
