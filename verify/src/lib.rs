//! A topic file's words on loom's atomics, so that loom can run the runtime's own publish, read
//! and wake-up code (`shm::__model`, generic over the memory it runs on) under every
//! interleaving and every weak-memory outcome it models.
//!
//! What is modelled and how:
//! - slot stamps, publish times, values (two words each), the publish sequence, the sleeping
//!   flag, the wake word and the state word are loom atomics, accessed with the orderings the
//!   protocol code asks for;
//! - the futex is a mutex and a condition variable: `futex_wait` sleeps while the wake word
//!   holds the ticket (checked under the mutex, as the kernel checks it under its bucket lock),
//!   and the publisher's wake notifies everyone; a wait that nothing wakes is a deadlock, which
//!   loom reports (a lost wake-up);
//! - the publisher's light fence plus a sleeper's `membarrier` is modelled as what their pairing
//!   provides, a sequentially consistent fence on the publisher's side (in the wake-up checks,
//!   where someone sleeps); in the ring checks, where nobody sleeps, as what it is then, nothing
//!   ([`weaken::drop_light_fence`]); the fallback (no membarrier) is the protocol's own
//!   sequentially consistent fence;
//! - a publisher killed at any point is a writer whose stores stop after a given number: every
//!   store it would make afterwards is dropped (see [`Ring::kill_after`]).
//!
//! Deadlines are not modelled: waits have none, so every wake-up must come from the protocol.
//! Nor are the generation counter of `discovery.rs` (its argument is a single release/acquire
//! pair around a syscall) or the whole `wait_step` (the checks model its ticket, look and sleep
//! order). loom bounds preemptions (3 here) and does not produce every weak-memory outcome (no
//! load buffering): the checks are bounded model checks, not proofs.

pub mod lend;

use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};
use loom::sync::{Condvar, Mutex};
use shm::__model::{STATE_LIVE, TopicWords, TopicWordsMut, WakeWords};

/// Weakenings of the protocol for the negative controls (`tests/control_*.rs`, one test per
/// binary): the model must catch each. Never set by the real checks.
pub mod weaken {
    use std::sync::atomic::{AtomicBool, Ordering};

    static NO_LIGHT_FENCE: AtomicBool = AtomicBool::new(false);
    static NO_ACQUIRE_RELEASE_FENCES: AtomicBool = AtomicBool::new(false);
    static NO_FENCE_BEFORE_FALLBACK: AtomicBool = AtomicBool::new(false);

    /// The publisher's light fence does nothing: what it is when no subscriber sleeps (a
    /// compiler fence, no `membarrier` pairs with it), so the ring checks run with this; for the
    /// wake-up control, as if sleepers issued no `membarrier`.
    pub fn drop_light_fence() {
        NO_LIGHT_FENCE.store(true, Ordering::Relaxed);
    }

    /// The reader's acquire fence before its fallback load of the publish sequence is gone.
    pub fn drop_fence_before_fallback() {
        NO_FENCE_BEFORE_FALLBACK.store(true, Ordering::Relaxed);
    }

    pub(crate) fn fence_before_fallback_dropped() -> bool {
        NO_FENCE_BEFORE_FALLBACK.load(Ordering::Relaxed)
    }

    /// Acquire and release fences do nothing (the seqlock's ordering is gone).
    pub fn drop_acquire_release_fences() {
        NO_ACQUIRE_RELEASE_FENCES.store(true, Ordering::Relaxed);
    }

    pub(crate) fn light_fence_dropped() -> bool {
        NO_LIGHT_FENCE.load(Ordering::Relaxed)
    }

    pub(crate) fn acquire_release_fences_dropped() -> bool {
        NO_ACQUIRE_RELEASE_FENCES.load(Ordering::Relaxed)
    }
}

/// The stores a writer may still make before it is "killed" (`usize::MAX`: never): every store
/// it would make afterwards is dropped.
pub(crate) struct StoreBudget(AtomicUsize);

impl StoreBudget {
    pub(crate) fn new() -> StoreBudget {
        StoreBudget(AtomicUsize::new(usize::MAX))
    }

    pub(crate) fn kill_after(&self, stores: usize) {
        self.0.store(stores, Ordering::Relaxed);
    }

    pub(crate) fn revive(&self) {
        self.0.store(usize::MAX, Ordering::Relaxed);
    }

    /// Whether the writer may make one more store (and counts it).
    pub(crate) fn spend(&self) -> bool {
        let left = self.0.load(Ordering::Relaxed);
        if left == 0 {
            return false;
        }
        if left != usize::MAX {
            self.0.store(left - 1, Ordering::Relaxed);
        }
        true
    }

    pub(crate) fn exhausted(&self) -> bool {
        self.0.load(Ordering::Relaxed) == 0
    }
}

/// One slot: stamp, publish time, and a value of two words.
struct Slot {
    stamp: AtomicU64,
    time: AtomicU64,
    value: [AtomicU64; 2],
}

/// The words of a topic file with `slots` slots of two-word values.
pub struct Ring {
    slots: Vec<Slot>,
    publish_seq: AtomicU64,
    sleeping: AtomicU32,
    wake: AtomicU32,
    state: AtomicU32,
    /// The publisher's lock (an open-file-description lock: kernel state, modelled as
    /// sequentially consistent).
    lock_held: AtomicBool,
    futex: Mutex<()>,
    woken: Condvar,
    /// Stores the writer may still make before it is "killed".
    stores_left: StoreBudget,
    /// Record futex sleeps instead of blocking (see [`Ring::recording`]).
    record_sleeps: bool,
    /// The ticket of the last recorded sleep (`u64::MAX`: none).
    slept_on: AtomicU64,
}

/// A value as the model writes it: both words carry the sequence number, so a copy mixing two
/// values (torn) shows as two different words.
pub fn value_of(seq: u64) -> [u64; 2] {
    [seq, seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)]
}

impl Ring {
    /// An empty, live topic file.
    pub fn new(slots: u32) -> Ring {
        Ring {
            slots: (0..slots)
                .map(|_| Slot {
                    stamp: AtomicU64::new(0),
                    time: AtomicU64::new(0),
                    value: [AtomicU64::new(0), AtomicU64::new(0)],
                })
                .collect(),
            publish_seq: AtomicU64::new(0),
            sleeping: AtomicU32::new(0),
            wake: AtomicU32::new(0),
            state: AtomicU32::new(STATE_LIVE),
            lock_held: AtomicBool::new(true),
            futex: Mutex::new(()),
            woken: Condvar::new(),
            stores_left: StoreBudget::new(),
            record_sleeps: false,
            slept_on: AtomicU64::new(u64::MAX),
        }
    }

    /// A ring whose futex sleeps return at once and are recorded: [`lost_wake_up`] then says
    /// whether a sleeper went to sleep on a ticket that nothing bumped afterwards. (A blocked
    /// thread that nobody wakes makes loom abort the process, which a test cannot observe.)
    ///
    /// [`lost_wake_up`]: Ring::lost_wake_up
    pub fn recording(slots: u32) -> Ring {
        Ring {
            record_sleeps: true,
            ..Ring::new(slots)
        }
    }

    /// With [`Ring::recording`]: whether a recorded sleep would never have been woken.
    pub fn lost_wake_up(&self) -> bool {
        let ticket = self.slept_on.load(Ordering::SeqCst);
        ticket != u64::MAX && u64::from(self.wake.load(Ordering::SeqCst)) == ticket
    }

    /// From now on the writer makes at most `stores` more stores to the ring's words, then
    /// behaves as killed: its later stores never happen.
    pub fn kill_after(&self, stores: usize) {
        self.stores_left.kill_after(stores);
    }

    /// A new publisher (taking the file over after the killed one) writes normally again.
    pub fn revive(&self) {
        self.stores_left.revive();
    }

    /// Whether the writer may make one more store (and counts it).
    fn alive(&self) -> bool {
        self.stores_left.spend()
    }

    /// Publishes `seq` (its slot computed) with the runtime's `write`.
    pub fn publish(&self, seq: u64, light_fence: bool) {
        let value = value_of(seq);
        let index = (seq % self.slots.len() as u64) as u32;
        // SAFETY: `value` is two initialised words, the model's value size; `index` is `seq`'s
        // slot; one writer thread at a time.
        unsafe { shm::__model::write(self, light_fence, index, seq, seq, value.as_ptr().cast()) };
    }

    /// One read attempt with the runtime's `read_next`: the outcome and the copied words.
    pub fn read(
        &self,
        cursor: &mut Option<shm::__model::Cursor>,
    ) -> (shm::__model::SlotRead, [u64; 2]) {
        let mut out = [0u64; 2];
        // SAFETY: `out` is two local words, the model's value size.
        let r = unsafe { shm::__model::read_next(self, cursor, 0, out.as_mut_ptr().cast()) };
        (r, out)
    }

    /// What a publisher taking the file over continues after: the largest of the publish
    /// sequence and the highest complete stamp (as `Plan::attempt` computes it).
    pub fn last_seq(&self) -> u64 {
        self.publish_seq
            .load(Ordering::Relaxed)
            .max(shm::__model::highest_stamped_seq(self))
    }

    /// The file is replaced or removed (`Segment::retire`): state retired, then every sleeper
    /// woken.
    pub fn retire(&self) {
        self.state
            .store(shm::__model::STATE_RETIRED, Ordering::SeqCst);
        TopicWordsMut::wake_sleepers(self);
    }

    /// The publisher's clean exit (`Segment::release`): unlocks, then wakes every sleeper.
    pub fn release(&self) {
        self.lock_held.store(false, Ordering::SeqCst);
        TopicWordsMut::wake_sleepers(self);
    }

    /// Whether the publisher's lock is held (`F_OFD_GETLK`), as a wait step asks after taking
    /// its ticket.
    pub fn lock_held(&self) -> bool {
        self.lock_held.load(Ordering::SeqCst)
    }
}

impl TopicWords for Ring {
    fn slot_count(&self) -> u32 {
        self.slots.len() as u32
    }

    fn stamp(&self, index: u32) -> u64 {
        self.slots[index as usize].stamp.load(Ordering::Relaxed)
    }

    fn time(&self, index: u32) -> u64 {
        self.slots[index as usize].time.load(Ordering::Relaxed)
    }

    unsafe fn copy_out(&self, index: u32, dst: *mut u8) {
        let slot = &self.slots[index as usize];
        for (i, word) in slot.value.iter().enumerate() {
            let w = word.load(Ordering::Relaxed);
            // SAFETY: the caller passes room for two words (the model's value size).
            unsafe { dst.cast::<u64>().add(i).write_unaligned(w) };
        }
    }

    fn publish_seq(&self) -> u64 {
        self.publish_seq.load(Ordering::Relaxed)
    }

    fn fence(order: Ordering) {
        if matches!(order, Ordering::Acquire | Ordering::Release)
            && weaken::acquire_release_fences_dropped()
        {
            return;
        }
        fence(order);
    }

    fn fence_before_fallback() {
        if !weaken::fence_before_fallback_dropped() {
            Self::fence(Ordering::Acquire);
        }
    }
}

impl TopicWordsMut for Ring {
    fn set_stamp(&self, index: u32, stamp: u64, order: Ordering) {
        if self.alive() {
            self.slots[index as usize].stamp.store(stamp, order);
        }
    }

    fn set_time(&self, index: u32, time_ns: u64) {
        if self.alive() {
            self.slots[index as usize]
                .time
                .store(time_ns, Ordering::Relaxed);
        }
    }

    unsafe fn copy_in(&self, index: u32, src: *const u8) {
        let slot = &self.slots[index as usize];
        for (i, word) in slot.value.iter().enumerate() {
            // SAFETY: the caller passes two initialised words.
            let w = unsafe { src.cast::<u64>().add(i).read_unaligned() };
            if self.alive() {
                word.store(w, Ordering::Relaxed);
            }
        }
    }

    fn set_publish_seq(&self, seq: u64, order: Ordering) {
        if self.alive() {
            self.publish_seq.store(seq, order);
        }
    }

    fn sleeping(&self) -> u32 {
        self.sleeping.load(Ordering::Relaxed)
    }

    fn wake_sleepers(&self) {
        if self.stores_left.exhausted() {
            return; // a killed publisher wakes nobody
        }
        self.sleeping.store(0, Ordering::SeqCst);
        self.wake.fetch_add(1, Ordering::SeqCst);
        let _guard = self.futex.lock().unwrap();
        self.woken.notify_all();
    }

    fn light_fence() {
        if weaken::light_fence_dropped() {
            return;
        }
        // The compiler fence that, paired with every sleeper's membarrier, acts as a full one.
        fence(Ordering::SeqCst);
    }
}

impl WakeWords for Ring {
    fn wake_word(&self) -> u32 {
        self.wake.load(Ordering::Relaxed)
    }

    fn state(&self) -> u32 {
        self.state.load(Ordering::Relaxed)
    }

    fn ask_for_wake_up(&self) -> bool {
        self.sleeping.store(1, Ordering::SeqCst);
        true
    }

    fn heavy_fence(&self) -> bool {
        // Its effect is in `light_fence`; a refused membarrier is not modelled (the sleeper
        // then polls, which needs time).
        true
    }

    fn futex_wait(&self, ticket: u32, _deadline_ns: u64) {
        let mut guard = self.futex.lock().unwrap();
        if self.record_sleeps {
            if self.wake.load(Ordering::SeqCst) == ticket {
                self.slept_on.store(u64::from(ticket), Ordering::SeqCst);
            }
            return;
        }
        while self.wake.load(Ordering::SeqCst) == ticket {
            guard = self.woken.wait(guard).unwrap();
        }
    }

    fn now_ns(&self) -> u64 {
        0
    }
}

/// Runs `f` under loom with the preemption bound every check and control uses.
pub fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

/// Scenarios shared by the checks and their negative controls (a control weakens the protocol
/// with [`weaken`], then runs the very scenario its check runs, and expects it to fail).
pub mod scenario {
    use loom::sync::Arc;
    use loom::thread;
    use shm::__model::{Cursor, SlotRead, sleep, wake_ticket};

    use super::{Ring, value_of};

    /// Up to `attempts` reads; the first that is not `Retry`, checked: whole ("torn value"),
    /// stamped with its own time, and not older than `*newest` (which it raises; "no value
    /// after a value" if it finds none after one).
    pub fn read_checked(ring: &Ring, cursor: &mut Option<Cursor>, newest: &mut u64, attempts: u32) {
        for _ in 0..attempts {
            match ring.read(cursor) {
                (SlotRead::Retry, _) => continue,
                (SlotRead::Empty, _) => {
                    assert_eq!(*newest, 0, "no value after a value");
                    return;
                }
                (SlotRead::Done { seq, time_ns }, words) => {
                    assert_eq!(words, value_of(seq), "torn value at seq {seq}");
                    assert_eq!(time_ns, seq, "time of another value");
                    assert!(seq >= *newest, "seq {seq} after {newest}");
                    *newest = seq;
                    return;
                }
                (SlotRead::Corrupt { .. } | SlotRead::BadSlot { .. }, _) => {
                    panic!("a valid ring read as damaged")
                }
                (SlotRead::Seen { .. }, _) => unreachable!("reads skip nothing here"),
            }
        }
    }

    /// A writer publishes values 1 to `values` into a ring of `slots` while a reader reads three
    /// times (each up to two attempts), every read checked ([`read_checked`]); once the writer
    /// is done, one more read returns the newest value, exactly.
    pub fn reader_and_writer(slots: u32, values: u64, light_fence: bool) {
        let ring = Arc::new(Ring::new(slots));
        let writer = {
            let ring = ring.clone();
            thread::spawn(move || {
                for seq in 1..=values {
                    ring.publish(seq, light_fence);
                }
            })
        };
        let mut cursor = None;
        let mut newest = 0;
        for _ in 0..3 {
            read_checked(&ring, &mut cursor, &mut newest, 2);
        }
        writer.join().unwrap();
        read_checked(&ring, &mut cursor, &mut newest, 1);
        assert_eq!(newest, values);
    }

    /// A subscriber takes its ticket, finds no value and sleeps (recorded, see
    /// [`Ring::recording`]) while a publisher publishes value 1; panics with "lost wake-up" if
    /// the sleep would never end.
    pub fn one_sleeper_one_publish() {
        let ring = Arc::new(Ring::recording(2));
        let waiter = {
            let ring = ring.clone();
            thread::spawn(move || {
                let ticket = wake_ticket(&*ring);
                let mut cursor = None;
                if let (SlotRead::Empty, _) = ring.read(&mut cursor) {
                    sleep(&*ring, ticket, 0, u64::MAX, 0);
                }
            })
        };
        ring.publish(1, true);
        waiter.join().unwrap();
        assert!(!ring.lost_wake_up(), "lost wake-up");
    }
}
