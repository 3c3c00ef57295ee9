//! The blocking wait: its public state ([`Wait`], [`WaitStep`], [`Sleeper`], re-exported as
//! [`crate::wait`]) and the step a subscriber core takes (`Core::wait_step`), beside the core it
//! reads. With `segment/wake.rs` (the handshake with the publisher) this is the whole wait
//! protocol; `docs/FORMAT.md`, "Blocking waits", argues it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{Attach, Core, Dst, Mode};
use crate::error::{IoFailure, RecvError, SubscribeError};
use crate::segment::{ReadOnly, Segment};
use crate::{Sample, sys};

/// How often a sleeping wait wakes up on its own to check that the publisher is alive and that
/// the topic file was not removed or replaced by hand. Bounds how late such events are noticed
/// (a publisher's clean exit and the library's own replacements wake sleepers at once).
pub const CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// Overrides [`CHECK_INTERVAL`] (in ms) when set; for tests, which raise it to show that every
/// wake-up comes from the publisher, not from the periodic check.
pub const CHECK_INTERVAL_ENV: &str = "SHM_WAIT_CHECK_MS";

/// [`CHECK_INTERVAL`] in ns, or the override from [`CHECK_INTERVAL_ENV`].
pub(crate) fn check_interval_ns() -> u64 {
    static NS: OnceLock<u64> = OnceLock::new();
    *NS.get_or_init(|| {
        std::env::var(CHECK_INTERVAL_ENV)
            .ok()
            .and_then(|ms| ms.parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map_or(CHECK_INTERVAL.as_nanos() as u64, |ms| {
                ms.saturating_mul(1_000_000)
            })
    })
}
/// While the topic file does not exist, a wait looks for it this often.
pub(crate) const DETACHED_POLL_NS: u64 = 5_000_000;
/// A subscriber that may only read the topic file (another user's topic created with mode
/// 0o640 or 0o644) cannot ask the publisher for a wake-up; it looks at the topic this often.
pub(crate) const UNREGISTERED_POLL_NS: u64 = 1_000_000;
/// Default spin before sleeping; see [`SubscriberBuilder::spin`](crate::SubscriberBuilder::spin).
pub const DEFAULT_SPIN: Duration = Duration::from_micros(20);
/// A spinning wait yields the CPU (`sched_yield`) once every this many polls. A publisher that
/// woke a sleeping peer and then waits itself (a request/reply exchange) otherwise keeps the
/// woken peer, which the kernel often queues on the waker's CPU, from running until the spin
/// ends: the peer's wake-up took 2.5× a one-way wake-up here, and 0.5× with the yield
/// (`benches/benches/exchange.rs`). Every 16 polls keeps a back-to-back round trip, where
/// both sides spin on their own CPUs, at its pure-spin latency.
const SPIN_YIELD_EVERY: u32 = 16;

/// The state of one blocking wait, across its steps; see
/// [`Subscriber::wait_step`](crate::Subscriber::wait_step).
#[derive(Debug, Clone)]
pub struct Wait {
    pub(crate) start_ns: u64,
    /// `CLOCK_MONOTONIC` ns; `u64::MAX` for no deadline.
    pub(crate) deadline_ns: u64,
    /// Read (and mark as seen) the value the wait ends with, or only report that it exists.
    pub(crate) consume: bool,
    pub(crate) spin_pending: bool,
    /// Whether the publisher was seen alive during this wait (so that its death ends it).
    pub(crate) saw_alive: bool,
    pub(crate) next_check_ns: u64,
    /// The wake word when the last futex sleep began: if it changed and there is no new value,
    /// the publisher left or the file was retired, so the next step checks the topic at once.
    pub(crate) last_ticket: Option<u32>,
}

impl Wait {
    fn new(timeout: Option<Duration>, consume: bool) -> Wait {
        let start_ns = sys::monotonic_ns();
        let deadline_ns = timeout
            .and_then(|t| u64::try_from(t.as_nanos()).ok())
            .map_or(u64::MAX, |t| start_ns.saturating_add(t));
        Wait {
            start_ns,
            deadline_ns,
            consume,
            spin_pending: true,
            saw_alive: false,
            next_check_ns: 0,
            last_ticket: None,
        }
    }

    /// A wait for the next value newer than the last one the subscriber returned, which the
    /// wait then returns (and marks as seen). `None`: no deadline.
    pub fn for_next(timeout: Option<Duration>) -> Wait {
        Wait::new(timeout, true)
    }

    /// A wait until such a value is available, without reading it: the next
    /// [`try_recv`](crate::Subscriber::try_recv) returns it.
    pub fn for_available(timeout: Option<Duration>) -> Wait {
        Wait::new(timeout, false)
    }

    /// Whether the wait ends by reading the value ([`for_next`](Wait::for_next)) rather than
    /// only reporting it ([`for_available`](Wait::for_available)).
    pub fn reads(&self) -> bool {
        self.consume
    }

    /// Time since the wait began.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(sys::monotonic_ns().saturating_sub(self.start_ns))
    }
}

/// What a wait does next; see [`Subscriber::wait_step`](crate::Subscriber::wait_step).
#[derive(Debug)]
#[must_use = "block on the sleeper, or use the sample"]
pub enum WaitStep<T> {
    /// A new value: the wait is over. (With [`Wait::for_available`] it was not marked as seen.)
    Ready(Sample<T>),
    /// Nothing new yet: call [`Sleeper::block`], then step again.
    Block(Sleeper),
}

/// Blocks a waiting thread until the topic may have changed; holds no borrow of the subscriber,
/// so it can block on another thread or with a language runtime's lock released.
#[must_use = "call .block()"]
pub struct Sleeper(Sleep);

impl std::fmt::Debug for Sleeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (how, until) = match &self.0 {
            Sleep::Pause(until) => ("pause", until),
            Sleep::Spin { until, .. } => ("spin", until),
            Sleep::Futex { until, .. } => ("futex", until),
        };
        f.debug_struct("Sleeper")
            .field("how", &how)
            .field("until_ns", until)
            .finish()
    }
}

enum Sleep {
    /// Sleep until this time (no topic file to wait on).
    Pause(u64),
    /// Spin until the publish sequence passes `seen`, or until `until`.
    Spin {
        seg: Arc<Segment<ReadOnly>>,
        seen: u64,
        until: u64,
    },
    /// Sleep on the topic's futex until woken or until `until`.
    Futex {
        seg: Arc<Segment<ReadOnly>>,
        ticket: u32,
        seen: u64,
        until: u64,
    },
}

impl Sleeper {
    pub(crate) fn pause(until_ns: u64) -> Sleeper {
        Sleeper(Sleep::Pause(until_ns))
    }

    pub(crate) fn spin(seg: Arc<Segment<ReadOnly>>, seen: u64, until_ns: u64) -> Sleeper {
        Sleeper(Sleep::Spin {
            seg,
            seen,
            until: until_ns,
        })
    }

    pub(crate) fn futex(
        seg: Arc<Segment<ReadOnly>>,
        ticket: u32,
        seen: u64,
        until_ns: u64,
    ) -> Sleeper {
        Sleeper(Sleep::Futex {
            seg,
            ticket,
            seen,
            until: until_ns,
        })
    }

    /// Blocks until the topic may have changed, or at most until the next check this wait
    /// must make (never longer than [`CHECK_INTERVAL`], nor past the wait's deadline). May
    /// return early, e.g. on a signal.
    pub fn block(self) {
        match self.0 {
            Sleep::Pause(until) => {
                let left = until.saturating_sub(sys::monotonic_ns());
                if left > 0 {
                    std::thread::sleep(Duration::from_nanos(left));
                }
            }
            Sleep::Spin { seg, seen, until } => spin_until(until, || seg.moved_past(seen)),
            Sleep::Futex {
                seg,
                ticket,
                seen,
                until,
            } => seg.sleep(ticket, seen, until, UNREGISTERED_POLL_NS),
        }
    }
}

/// Polls `done` until it says so or `CLOCK_MONOTONIC` reaches `until_ns`, yielding the CPU
/// every [`SPIN_YIELD_EVERY`] polls.
pub(crate) fn spin_until(until_ns: u64, mut done: impl FnMut() -> bool) {
    let mut spins = 0u32;
    while !done() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) && sys::monotonic_ns() >= until_ns {
            return;
        }
        if spins.is_multiple_of(SPIN_YIELD_EVERY) {
            // A process this one just woke (the other side of a request/reply exchange) is
            // often queued on this CPU: let it run now rather than after the spin.
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// A subscriber, typed or not, as the blocking reads see it: one step of a wait, and every new
/// value the ring holds.
pub(crate) trait Waits {
    /// What a read returns.
    type Value;
    /// One step of a wait (`wait_step`).
    fn step(&mut self, wait: &mut Wait) -> Result<WaitStep<Self::Value>, RecvError>;
    /// Every new value still in the ring (`try_recv_all`).
    fn all(&mut self) -> Result<Vec<Sample<Self::Value>>, SubscribeError>;
}

/// Steps `wait` until it ends with a value (`recv`, `recv_timeout`).
pub(crate) fn recv_until<S: Waits>(
    s: &mut S,
    mut wait: Wait,
) -> Result<Sample<S::Value>, RecvError> {
    loop {
        match s.step(&mut wait)? {
            WaitStep::Ready(sample) => return Ok(sample),
            WaitStep::Block(sleeper) => sleeper.block(),
        }
    }
}

/// Steps `wait` (one that does not read) until a new value exists, then returns every new
/// value still in the ring (`recv_all_timeout`).
pub(crate) fn recv_all_until<S: Waits>(
    s: &mut S,
    mut wait: Wait,
) -> Result<Vec<Sample<S::Value>>, RecvError> {
    loop {
        match s.step(&mut wait)? {
            WaitStep::Ready(_) => {
                let all = s.all()?;
                if !all.is_empty() {
                    return Ok(all);
                }
                // Gone from the ring (or too old) between the two looks: wait again.
            }
            WaitStep::Block(sleeper) => sleeper.block(),
        }
    }
}

/// What one step of a core wait decided: a value (read into the step's destination, with the
/// schema it was read with), or a sleeper.
pub(crate) enum Step {
    /// A value (of the schema the core is attached with).
    Ready(Sample<()>),
    Block(Sleeper),
}

impl Core {
    /// One step of a blocking wait (see [`Subscriber::wait_step`](crate::Subscriber::wait_step)),
    /// reading into `dst`.
    pub(crate) fn wait_step(
        &mut self,
        wait: &mut Wait,
        dst: &mut impl Dst,
    ) -> Result<Step, RecvError> {
        self.wait_step_by(wait, |core, mode| core.read_raw(mode, dst))
    }

    /// One step of a blocking wait whose reads are `read` (a copy into a destination, or a
    /// borrow).
    pub(crate) fn wait_step_by(
        &mut self,
        wait: &mut Wait,
        mut read_in: impl FnMut(&mut Core, Mode) -> Result<super::read::Read, SubscribeError>,
    ) -> Result<Step, RecvError> {
        // Read before looking at the topic: a wake-up after this point is not lost.
        let ticket = match &self.state {
            Attach::Ready(seg, _) => Some((Arc::clone(seg), seg.wake_ticket())),
            _ => None,
        };
        let mode = if wait.consume { Mode::Next } else { Mode::Peek };
        let read = read_in(self, mode)?;
        if let Some(sample) = read.sample {
            return Ok(Step::Ready(sample));
        }
        if let Attach::Ready(seg, _) = &self.state
            && seg.publish_seq() > read.seen
        {
            // The header names a newer value than following the stamps found (a moment ago
            // it was being written, or the stamps have a gap): look it up from the header.
            self.cursor = None;
        }
        let now = sys::monotonic_ns();
        if now >= wait.deadline_ns {
            return Err(RecvError::Timeout {
                topic: self.topic().to_owned(),
                waited: Duration::from_nanos(now.saturating_sub(wait.start_ns)),
            });
        }
        // (A topic of another type made `read` fail above.)
        let seg = match &self.state {
            Attach::Ready(seg, _) => Arc::clone(seg),
            _ => {
                return Ok(Step::Block(Sleeper::pause(
                    wait.deadline_ns.min(now + DETACHED_POLL_NS),
                )));
            }
        };
        let ticket = match ticket {
            Some((before, ticket)) if Arc::ptr_eq(&before, &seg) => ticket,
            // Attached to another file during this step: look at it again at once.
            _ => return Ok(Step::Block(Sleeper::pause(now))),
        };
        if wait.spin_pending {
            wait.spin_pending = false;
            if self.spin_ns > 0 {
                let spin = self.spin_ns.min(check_interval_ns());
                let until = wait.deadline_ns.min(now.saturating_add(spin));
                return Ok(Step::Block(Sleeper::spin(seg, read.seen, until)));
            }
        }
        let woken = wait.last_ticket.is_some_and(|t| t != ticket);
        if now >= wait.next_check_ns || woken {
            wait.next_check_ns = now.saturating_add(check_interval_ns());
            // Removed or replaced by hand: nothing in the mapping says so, and nobody will
            // wake this file's sleepers. Look at the path again at once.
            if seg.replaced_at(self.path()) {
                self.attach()?;
                return Ok(Step::Block(Sleeper::pause(now)));
            }
            let alive = sys::publisher_lock_held(seg.file()).map_err(|e| {
                SubscribeError::from(IoFailure::new(self.path(), "query the lock of", e))
            })?;
            if alive {
                wait.saw_alive = true;
            } else if wait.saw_alive {
                // Its last value may have arrived between the read above and its exit: every
                // value published before the lock was released is visible now.
                if let Some(sample) = read_in(self, mode)?.sample {
                    return Ok(Step::Ready(sample));
                }
                let owner = seg.owner();
                return Err(RecvError::PublisherGone {
                    topic: self.topic().to_owned(),
                    still_running: sys::process_is_running(owner.pid, owner.start_ticks),
                    owner,
                });
            }
        }
        wait.last_ticket = Some(ticket);
        let until = wait.deadline_ns.min(wait.next_check_ns);
        Ok(Step::Block(Sleeper::futex(seg, ticket, read.seen, until)))
    }
}
