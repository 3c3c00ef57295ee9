//! The values of one import pattern waiting to be written locally: the newest are kept, the
//! oldest dropped when there are too many or they take too many bytes (latest-value topics:
//! a slow local side never delays new values, and a peer's burst of large values never holds
//! more than the bytes allowed).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use zenoh::sample::Sample;

/// A bounded queue of samples, filled from Zenoh's threads, emptied by a bridge thread.
pub(crate) struct Ring {
    queue: Mutex<Queue>,
    ready: Condvar,
    max_items: usize,
    max_bytes: usize,
}

#[derive(Default)]
struct Queue {
    samples: VecDeque<Sample>,
    bytes: usize,
}

impl Ring {
    /// A ring of at most `max_items` samples and `max_bytes` of payload (one sample larger than
    /// that is kept alone).
    pub(crate) fn new(max_items: usize, max_bytes: usize) -> Ring {
        Ring {
            queue: Mutex::default(),
            ready: Condvar::new(),
            max_items: max_items.max(1),
            max_bytes,
        }
    }

    /// Adds a sample, dropping the oldest ones it does not leave room for.
    pub(crate) fn push(&self, sample: Sample) {
        let size = sample.payload().len();
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        while !q.samples.is_empty()
            && (q.samples.len() >= self.max_items || q.bytes.saturating_add(size) > self.max_bytes)
        {
            if let Some(old) = q.samples.pop_front() {
                q.bytes -= old.payload().len();
            }
        }
        q.bytes += size;
        q.samples.push_back(sample);
        drop(q);
        self.ready.notify_one();
    }

    /// The oldest sample, waiting at most `timeout` for one.
    pub(crate) fn pop(&self, timeout: Duration) -> Option<Sample> {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let (mut q, _) = self
            .ready
            .wait_timeout_while(q, timeout, |q| q.samples.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        let sample = q.samples.pop_front()?;
        q.bytes -= sample.payload().len();
        Some(sample)
    }
}
