//! A lending topic's words on loom: the runtime's own claim, commit, pin and unpin
//! (`shm::__model`), with each slot's value in a `loom::cell::UnsafeCell` that the writer
//! writes and readers read with *plain* accesses, as the runtime does in a lending topic. loom
//! reports any access to a value that the protocol does not order (a read while it is written,
//! a write while it is pinned) as a causality violation; the checks also compare the words
//! read.

use loom::cell::UnsafeCell;
use loom::sync::Mutex;
use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};
pub use shm::__model::LOCK_ENTRY;
use shm::__model::{
    LendWords, LendWordsMut, PINS_PER_ENTRY, Pin, PinWordsMut, TopicWords, TopicWordsMut, claim,
    commit, pin_newest, pin_value, unpin,
};

use crate::{StoreBudget, value_of};

/// Weakenings of the lending protocol for its negative controls.
pub mod weaken {
    use std::sync::atomic::{AtomicBool, Ordering};

    static NO_CLAIM_FENCE: AtomicBool = AtomicBool::new(false);
    static NO_LOCK_CHECK: AtomicBool = AtomicBool::new(false);

    /// The publisher's full fence between marking a slot and checking its pins is gone (the
    /// subscriber's fence stays).
    pub fn drop_claim_fence() {
        NO_CLAIM_FENCE.store(true, Ordering::Relaxed);
    }

    pub(crate) fn claim_fence_dropped() -> bool {
        NO_CLAIM_FENCE.load(Ordering::Relaxed)
    }

    /// The publisher no longer asks the kernel for pin locks (as if the topic were owner-only
    /// while a subscriber that may only read it pins with locks).
    pub fn ignore_lock_pins() {
        NO_LOCK_CHECK.store(true, Ordering::Relaxed);
    }

    pub(crate) fn lock_pins_ignored() -> bool {
        NO_LOCK_CHECK.load(Ordering::Relaxed)
    }
}

/// The kernel's lock table for the pin bytes of one subscriber that pins with locks: which
/// slot each of its pin words names, and how many locks each slot's byte carries. One mutex,
/// as the kernel's lock of the file's lock list orders every lock, unlock and query.
struct LockTable {
    words: [u32; PINS_PER_ENTRY as usize],
    locks: Vec<u32>,
}

struct Slot {
    stamp: AtomicU64,
    time: AtomicU64,
    value: UnsafeCell<[u64; 2]>,
}

/// The words of a lending topic with `slots` slots and `entries` pin entries.
pub struct Lender {
    slots: Vec<Slot>,
    publish_seq: AtomicU64,
    newest_slot: AtomicU32,
    pins: Vec<[AtomicU64; 8]>,
    /// The pin locks of a subscriber that may only read the file (entry [`LOCK_ENTRY`]).
    locks: Mutex<LockTable>,
    /// Stores the writer may still make before it is "killed".
    stores_left: StoreBudget,
}

// SAFETY: the cells are accessed only through loom's `UnsafeCell`, which checks every access
// for races; everything else is atomic.
unsafe impl Sync for Lender {}

impl Lender {
    /// An empty lending topic.
    pub fn new(slots: u32, entries: u32) -> Lender {
        Lender {
            slots: (0..slots)
                .map(|_| Slot {
                    stamp: AtomicU64::new(0),
                    time: AtomicU64::new(0),
                    value: UnsafeCell::new([0, 0]),
                })
                .collect(),
            publish_seq: AtomicU64::new(0),
            newest_slot: AtomicU32::new(0),
            pins: (0..entries)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
            locks: Mutex::new(LockTable {
                words: [u32::MAX; PINS_PER_ENTRY as usize],
                locks: vec![0; slots as usize],
            }),
            stores_left: StoreBudget::new(),
        }
    }

    /// From now on the writer makes at most `stores` more stores, then behaves as killed.
    pub fn kill_after(&self, stores: usize) {
        self.stores_left.kill_after(stores);
    }

    /// A new publisher takes over: it writes normally again.
    pub fn revive(&self) {
        self.stores_left.revive();
    }

    fn alive(&self) -> bool {
        self.stores_left.spend()
    }

    /// Publishes value `seq` as the runtime's lending publish does: claims a slot (from
    /// `start`), writes it with plain stores, commits. `None` when every slot is pinned.
    pub fn publish(&self, seq: u64, start: u32) -> Option<u32> {
        loom::thread::yield_now();
        let index = claim(self, seq, start, &[])?;
        if self.alive() {
            // A plain write of the claimed slot: loom checks nobody reads it meanwhile.
            self.slots[index as usize].value.with_mut(|v| {
                // SAFETY: `v` points to the cell's value; loom reports any access the
                // protocol does not order against this one.
                unsafe { *v = value_of(seq) }
            });
        }
        commit(self, false, index, seq, seq);
        Some(index)
    }

    /// Pins the newest value with pin word `word` of `entry` (retrying a bounded number of
    /// times) and reads it with plain loads: `Some((seq, words))`, still pinned; `None` if
    /// nothing was published or every attempt was overtaken.
    pub fn borrow(&self, entry: u32, word: u32) -> Option<(u64, u32, [u64; 2])> {
        for _ in 0..2 {
            // A scheduling point: loom's search otherwise misses some orders of a thread's
            // first loads against another's stores (found while writing this model).
            loom::thread::yield_now();
            match pin_newest(self, entry, word, 0) {
                Pin::At { seq, index } => return Some((seq, index, self.read(index))),
                Pin::Retry => continue,
                Pin::Empty => return None,
                other => panic!("a valid lending topic read as {other:?}"),
            }
        }
        None
    }

    /// The value of slot `index`, read with plain loads (the caller pins it).
    pub fn read(&self, index: u32) -> [u64; 2] {
        self.slots[index as usize].value.with(|v| {
            // SAFETY: `v` points to the cell's value; the slot is pinned, and loom reports any
            // write the protocol does not order against this read.
            unsafe { *v }
        })
    }

    /// Pins value `seq` wherever it is (as a read of every value does) and reads it: `Some`
    /// (still pinned) or `None` if no slot holds it (any more).
    pub fn borrow_value(&self, entry: u32, word: u32, seq: u64) -> Option<(u32, [u64; 2])> {
        let index = pin_value(self, entry, word, seq)?;
        Some((index, self.read(index)))
    }

    /// Releases a pin.
    pub fn unpin(&self, entry: u32, word: u32) {
        unpin(self, entry, word);
    }
}

impl TopicWords for Lender {
    fn slot_count(&self) -> u32 {
        self.slots.len() as u32
    }

    fn stamp(&self, index: u32) -> u64 {
        self.slots[index as usize].stamp.load(Ordering::Relaxed)
    }

    fn time(&self, index: u32) -> u64 {
        self.slots[index as usize].time.load(Ordering::Relaxed)
    }

    unsafe fn copy_out(&self, _index: u32, _dst: *mut u8) {
        unreachable!("a lending topic is read under pins, with plain loads")
    }

    fn publish_seq(&self) -> u64 {
        self.publish_seq.load(Ordering::Relaxed)
    }

    fn fence(order: Ordering) {
        fence(order);
    }
}

impl TopicWordsMut for Lender {
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

    unsafe fn copy_in(&self, _index: u32, _src: *const u8) {
        unreachable!("a lending topic is written in claimed slots, with plain stores")
    }

    fn set_publish_seq(&self, seq: u64, order: Ordering) {
        if self.alive() {
            self.publish_seq.store(seq, order);
        }
    }

    fn sleeping(&self) -> u32 {
        0
    }

    fn wake_sleepers(&self) {}

    fn light_fence() {}
}

impl LendWords for Lender {
    fn newest_slot(&self) -> u32 {
        self.newest_slot.load(Ordering::Relaxed)
    }

    fn entries(&self) -> u32 {
        self.pins.len() as u32
    }

    fn pin(&self, entry: u32, word: u32) -> u64 {
        self.pins[entry as usize][word as usize].load(Ordering::Relaxed)
    }
}

impl LendWordsMut for Lender {
    fn set_newest_slot(&self, index: u32) {
        if self.alive() {
            self.newest_slot.store(index, Ordering::Relaxed);
        }
    }

    fn fence_after_claim() {
        if !weaken::claim_fence_dropped() {
            fence(Ordering::SeqCst);
        }
    }

    fn pinned_by_lock(&self, index: u32) -> bool {
        !weaken::lock_pins_ignored() && self.locks.lock().unwrap().locks[index as usize] > 0
    }
}

impl PinWordsMut for Lender {
    fn set_pin(&self, entry: u32, word: u32, value: u64, order: Ordering) -> bool {
        assert!((1..=PINS_PER_ENTRY).contains(&word));
        if entry != LOCK_ENTRY {
            self.pins[entry as usize][word as usize].store(value, order);
            return true;
        }
        // A read lock on the slot's byte, or its release: as the runtime's `set_pin` does, one
        // lock per slot however many words name it.
        let mut table = self.locks.lock().unwrap();
        let w = (word - 1) as usize;
        let old = std::mem::replace(&mut table.words[w], u32::MAX);
        if old != u32::MAX && !table.words.contains(&old) {
            table.locks[old as usize] -= 1;
        }
        if value != 0 {
            let index = (value - 1) as u32;
            if !table.words.contains(&index) {
                table.locks[index as usize] += 1;
            }
            table.words[w] = index;
        }
        true
    }
}

/// Scenarios shared by the lending checks and their negative control.
pub mod scenario {
    /// The tightest race of the protocol: values 1 and 2 are in slots 0 and 1 (2 the newest);
    /// a reader pins value 1 (as a read of every value does) while the publisher claims a
    /// slot for value 3 starting at slot 0, and writes and commits it. Either the reader's
    /// check fails (nothing read), or the publisher sees the pin and takes slot 2.
    pub fn pin_against_claim() {
        pin_against_claim_by(0);
    }

    /// [`pin_against_claim`] with a reader that may only read the file: it pins with a lock,
    /// which the publisher asks for before it marks the slot and after its fence.
    pub fn lock_pin_against_claim() {
        pin_against_claim_by(LOCK_ENTRY);
    }

    fn pin_against_claim_by(entry: u32) {
        let topic = Arc::new(Lender::new(3, 1));
        topic.publish(1, 0).unwrap();
        topic.publish(2, 1).unwrap();
        let publisher = {
            let topic = topic.clone();
            thread::spawn(move || topic.publish(3, 0).expect("a free slot"))
        };
        if let Some((index, words)) = topic.borrow_value(entry, 1, 1) {
            assert_eq!(words, value_of(1), "torn value 1");
            assert_eq!(topic.read(index), words, "changed under a borrow");
            topic.unpin(entry, 1);
        }
        publisher.join().unwrap();
    }

    use loom::sync::Arc;
    use loom::thread;

    use super::{LOCK_ENTRY, Lender};
    use crate::value_of;

    /// One pin word used twice: a reader pins value 1 (slot 0), reads it, unpins, and pins the
    /// newest value (2, slot 1) with the same word, while the publisher claims slot 0 for value
    /// 3: the reads of slot 0 must happen before its new value is written, although the
    /// publisher may see only the word's second pin.
    pub fn pin_word_reused() {
        let topic = Arc::new(Lender::new(3, 1));
        topic.publish(1, 0).unwrap();
        topic.publish(2, 1).unwrap();
        let publisher = {
            let topic = topic.clone();
            thread::spawn(move || topic.publish(3, 0).expect("a free slot"))
        };
        if let Some((index, words)) = topic.borrow_value(0, 1, 1) {
            assert_eq!(words, value_of(1), "torn value 1");
            topic.unpin(0, 1);
            let _ = index;
        }
        if let Some((seq, _, words)) = topic.borrow(0, 1) {
            assert_eq!(words, value_of(seq), "torn value at seq {seq}");
            topic.unpin(0, 1);
        }
        publisher.join().unwrap();
    }

    /// A publisher writes values 1 to `values` into `slots` slots while a borrower (pin entry
    /// `entry`, or [`LOCK_ENTRY`] for one that pins with locks) borrows twice, each time
    /// reading the pinned value, reading it again after the publisher may have moved on
    /// (unchanged: "changed under a borrow"), then unpinning.
    pub fn borrower_and_publisher(slots: u32, values: u64, entry: u32) {
        let topic = Arc::new(Lender::new(slots, 1));
        let publisher = {
            let topic = topic.clone();
            thread::spawn(move || {
                let mut start = 0;
                for seq in 1..=values {
                    let index = topic.publish(seq, start).expect("a free slot");
                    start = index + 1;
                }
            })
        };
        let mut newest = 0;
        for _ in 0..2 {
            if let Some((seq, index, words)) = topic.borrow(entry, 1) {
                assert_eq!(words, value_of(seq), "torn value at seq {seq}");
                assert!(seq >= newest, "seq {seq} after {newest}");
                newest = seq;
                thread::yield_now();
                assert_eq!(topic.read(index), words, "changed under a borrow");
                topic.unpin(entry, 1);
            }
        }
        publisher.join().unwrap();
    }
}
