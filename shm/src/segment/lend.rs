//! Lending topics: values written in place by the publisher and read in place by subscribers,
//! kept apart by *pins*. `docs/FORMAT.md`, "Lending topics", specifies the words and argues the
//! protocol; in short:
//!
//! - a subscriber *pins* the slot it reads: it stores the slot's number in a pin word of its
//!   entry in the file's pin table, then (full fence) checks that the slot still holds the
//!   value it wants. From then on the publisher never writes that slot, so the subscriber may
//!   read it with plain loads, or lend it out as `&T`, until it clears the pin;
//! - the publisher *claims* a slot before it writes one: not the newest value's, and pinned by
//!   no one. It marks the slot as being written (odd stamp), then (full fence) checks the pins
//!   again: a subscriber that pinned the slot meanwhile makes it give the slot back (the old
//!   stamp restored, nothing written) and take another. A slot it keeps is its own: no
//!   subscriber reads it until the publisher names it the newest value.
//!
//! The two fences make a store-buffering pair: the publisher's check and the subscriber's check
//! cannot both miss the other's store. Publishing never waits for a subscriber: a slot that is
//! pinned is skipped, and when every slot but the newest is pinned the publish fails
//! ([`PublishError::AllPinned`](crate::PublishError::AllPinned)) after reclaiming the pins of
//! subscribers that are gone (each subscriber holds a lock on its entry while it lives).
//!
//! A subscriber that may only read the file (another user's, on a topic its publisher opened to
//! group or others with mode `0o640`/`0o644`) cannot store pin words: it pins a slot with an
//! open-file-description *read lock* on a byte named after the slot, past the end of the file,
//! and the publisher of such a topic asks the kernel for a lock on that byte after its fence.
//! The kernel's lock table is one more store-buffering pair, ordered by the kernel's own lock,
//! and the kernel drops a killed subscriber's locks.
//!
//! Written once, generic over [`LendWords`], like the ring: the loom model (`verify/`) checks
//! this code.

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use memmap2::{MmapOptions, MmapRaw};

use super::header::{MAX_SEQ, MODE_LOCK_PINS, OFF_NEWEST_SLOT, PIN_ENTRY_SIZE, PINS_PER_ENTRY};
use super::ring::{TopicWords, TopicWordsMut};
use super::{ReadOnly, ReadWrite, Segment};
use crate::copy;
use crate::sys::{self, GuardedFile};

/// The byte of the topic file whose lock serialises taking and reclaiming pin entries.
const ENTRIES_LOCK_BYTE: u64 = 1;
/// How long taking a pin entry waits for another process taking or reclaiming one.
const ENTRIES_LOCK_WAIT: Duration = Duration::from_secs(2);
/// Byte `LOCK_PIN_BASE + slot` (past the end of any topic file): a read lock on it pins the slot
/// for a subscriber that may only read the file.
pub(crate) const LOCK_PIN_BASE: u64 = 1 << 40;
/// Bytes `LOCK_RESERVE_BASE + k`, `k < slot_count`: each read lock reserves one pin for a
/// subscriber that may only read the file.
pub(crate) const LOCK_RESERVE_BASE: u64 = 1 << 41;
/// The `entry` a subscriber that pins with locks passes for its pins (it has no entry).
#[doc(hidden)]
pub const LOCK_ENTRY: u32 = u32::MAX;
/// Attempts of a subscriber that pins with locks to reserve its pins against others doing the
/// same at the same moment.
const RESERVE_ATTEMPTS: u32 = 20;

/// The words of a lending topic beyond the ring's. Every access is atomic.
#[doc(hidden)]
pub trait LendWords: TopicWords {
    /// The slot of the value the publish sequence names (a Relaxed load).
    fn newest_slot(&self) -> u32;
    /// Number of pin entries.
    fn entries(&self) -> u32;
    /// Word `word` of pin entry `entry` (a Relaxed load): word 0 holds the pins the entry's
    /// subscriber reserved, words 1..=7 a slot number plus one each (0: no pin).
    fn pin(&self, entry: u32, word: u32) -> u64;
}

/// The words a lending topic's publisher writes.
#[doc(hidden)]
pub trait LendWordsMut: LendWords + TopicWordsMut {
    /// Stores the newest value's slot (Relaxed; the publish sequence's release store follows).
    fn set_newest_slot(&self, index: u32);

    /// The publisher's full fence between marking a slot and looking at the pins again. Its
    /// own method only so that the model's negative control can remove this one fence.
    #[inline(always)]
    fn fence_after_claim() {
        Self::fence(Ordering::SeqCst);
    }

    /// Whether a subscriber that may only read the file pins slot `index` with a lock (asked
    /// after the fence). `false` where no such subscriber can exist (an owner-only topic).
    fn pinned_by_lock(&self, index: u32) -> bool;
}

/// The pins a subscriber writes: the words of its own entry, or its locks.
#[doc(hidden)]
pub trait PinWordsMut: LendWords {
    /// Stores word `word` of entry `entry` (a slot number plus one, or 0 to unpin). `false`
    /// when the pin could not be taken (nothing pinned): a read tries again.
    fn set_pin(&self, entry: u32, word: u32, value: u64, order: Ordering) -> bool;
}

/// Whether some subscriber pins slot `index`.
#[inline]
fn pinned<M: LendWords>(m: &M, index: u32) -> bool {
    let want = u64::from(index) + 1;
    (0..m.entries()).any(|e| (1..=PINS_PER_ENTRY).any(|w| m.pin(e, w) == want))
}

/// The publisher's claim of a slot to write value `seq` into, trying the slots from `start`
/// on: not the newest value's slot, not one of `avoid`, and pinned by no subscriber. `None` when every other slot
/// is pinned. The slot returned is marked as being written (odd stamp) and no subscriber reads
/// it until [`commit`]; the caller may write it with plain stores.
#[doc(hidden)]
pub fn claim<M: LendWordsMut>(m: &M, seq: u64, start: u32, avoid: &[u32]) -> Option<u32> {
    debug_assert!((1..=MAX_SEQ).contains(&seq));
    let n = m.slot_count();
    // The publisher's own words: what it stored last.
    let newest = if m.publish_seq() == 0 {
        u32::MAX
    } else {
        m.newest_slot()
    };
    // Subscribers keep at most `slot_count - 2` slots pinned at any moment, but a subscriber
    // moving a pin from one slot to another ahead of one pass can make every slot look pinned
    // to it: a few passes.
    for k in 0..n * CLAIM_PASSES {
        let c = (start % n + k % n) % n;
        // Pinned ones are skipped before they are marked: an odd stamp on a pinned slot, even
        // for a moment, makes a read of every value miss the value it holds.
        if c == newest || avoid.contains(&c) || pinned(m, c) || m.pinned_by_lock(c) {
            continue;
        }
        let old = m.stamp(c);
        m.set_stamp(c, (seq << 1) | 1, Ordering::Relaxed);
        // The publisher's half of the store-buffering pair: the odd stamp, then the pins.
        M::fence_after_claim();
        if pinned(m, c) || m.pinned_by_lock(c) {
            // Pinned meanwhile: give it back untouched.
            m.set_stamp(c, old, Ordering::Release);
            continue;
        }
        // Orders the reads of the subscribers that unpinned this slot (release) before the
        // writes to come.
        M::fence(Ordering::Acquire);
        return Some(c);
    }
    None
}

/// Passes over the slots a claim makes before it reports every slot pinned.
const CLAIM_PASSES: u32 = 3;

/// Names value `seq`, written into the claimed slot `index`, the newest: its time and stamp,
/// the newest slot, the publish sequence, then the wake-up handshake as in `ring::write`.
#[doc(hidden)]
pub fn commit<M: LendWordsMut>(m: &M, light_fence: bool, index: u32, seq: u64, time_ns: u64) {
    m.set_time(index, time_ns);
    m.set_stamp(index, seq << 1, Ordering::Release);
    m.set_newest_slot(index);
    super::ring::name_and_wake(m, light_fence, seq);
}

/// What [`pin_newest`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Pin {
    /// Nothing was ever published.
    Empty,
    /// The newest value is numbered `newer_than` or less: nothing pinned.
    Seen(u64),
    /// Value `seq` in slot `index` is pinned: unchanged until [`unpin`].
    At {
        /// Its sequence number.
        seq: u64,
        /// Its slot.
        index: u32,
    },
    /// The publisher moved on meanwhile: try again.
    Retry,
    /// The header names a sequence number no publisher writes: a damaged file.
    Corrupt(u64),
    /// The header names a slot the file does not have: a damaged file.
    BadSlot(u32),
}

/// Pins the newest value with pin word `word` of entry `entry` (which must be clear), unless it
/// is numbered `newer_than` or less.
#[doc(hidden)]
pub fn pin_newest<M: PinWordsMut>(m: &M, entry: u32, word: u32, newer_than: u64) -> Pin {
    let seq = m.publish_seq();
    M::fence(Ordering::Acquire);
    if seq > MAX_SEQ {
        return Pin::Corrupt(seq);
    }
    if seq == 0 {
        return Pin::Empty;
    }
    let index = m.newest_slot();
    if index >= m.slot_count() {
        return Pin::BadSlot(index);
    }
    // The value in the newest slot may be one after the one named: a publisher killed between
    // storing the newest slot and the publish sequence leaves it so (a complete value, its
    // stamp even), and every read must find it, not retry forever.
    let stamp = m.stamp(index);
    let seq = if stamp & 1 == 0 && stamp >> 1 > seq && stamp >> 1 <= MAX_SEQ {
        stamp >> 1
    } else {
        seq
    };
    if seq <= newer_than {
        return Pin::Seen(seq);
    }
    if pin_slot(m, entry, word, seq, index) {
        Pin::At { seq, index }
    } else {
        Pin::Retry
    }
}

/// Pins value `seq` wherever it is (for reads of every value still in the ring): its slot, or
/// `None` if no slot holds it any more.
#[doc(hidden)]
pub fn pin_value<M: PinWordsMut>(m: &M, entry: u32, word: u32, seq: u64) -> Option<u32> {
    let index = (0..m.slot_count()).find(|i| m.stamp(*i) == seq << 1)?;
    pin_slot(m, entry, word, seq, index).then_some(index)
}

/// The subscriber's half of the store-buffering pair: the pin, then the stamp. `true` if slot
/// `index` holds value `seq` and is pinned; `false` (pin cleared) if not.
fn pin_slot<M: PinWordsMut>(m: &M, entry: u32, word: u32, seq: u64, index: u32) -> bool {
    // Release, though the fence follows: a pin word reused for another slot must still order
    // the reads made under its previous pin before a publisher that sees this store.
    if !m.set_pin(entry, word, u64::from(index) + 1, Ordering::Release) {
        return false;
    }
    M::fence(Ordering::SeqCst);
    if m.stamp(index) != seq << 1 {
        m.set_pin(entry, word, 0, Ordering::Release);
        return false;
    }
    // Orders the reads of the slot after the check (and after the publisher's release of it).
    M::fence(Ordering::Acquire);
    true
}

/// Releases a pin: every read of the slot made before happens before the publisher writes it
/// again.
#[doc(hidden)]
pub fn unpin<M: PinWordsMut>(m: &M, entry: u32, word: u32) {
    m.set_pin(entry, word, 0, Ordering::Release);
}

// ---------------------------------------------------------------------------------------------
// The pin table of a mapped topic file.
// ---------------------------------------------------------------------------------------------

/// A subscriber's pins in a lending topic: an entry of the pin table (when it may write the
/// file), or read locks (when it may only read it); which of its pin words are in use.
pub(crate) struct Pins {
    /// The open file description holding the entry's lock or the pin locks (registered for
    /// `fork`: a child holds no share of them).
    lock: GuardedFile,
    kind: PinKind,
    /// Pin words this subscriber reserved (its `max_borrowed`).
    reserved: u32,
    /// Bit `w - 1` set: pin word `w` holds a borrowed value or a read under way.
    held: AtomicU32,
    generation: u64,
}

enum PinKind {
    /// Entry `entry` of the pin table, locked (write lock on `lock_byte`) through `lock`; the
    /// writable mapping of the table.
    Entry {
        map: MmapRaw,
        entry: u32,
        lock_byte: u64,
    },
    /// Read locks through `lock` (opened for reading only): on the reservation bytes it holds
    /// for as long as it lives, and on `LOCK_PIN_BASE + slot` for each pinned slot.
    Locks(Mutex<LockPins>),
}

/// The slots the pin words of a subscriber that pins with locks name. A lock is per open file
/// description, not counted: two words pinning one slot share one lock, released with the last.
struct LockPins {
    /// Slot pinned by word `w` (index `w - 1`), or `u32::MAX`.
    slots: [u32; PINS_PER_ENTRY as usize],
}

/// Why a subscriber could not take its pins.
#[derive(Debug)]
pub(crate) enum PinFailure {
    /// This process may only read the file, and the topic is its owner's only (mode `0o600`:
    /// its publisher asks for no locks).
    ReadOnly,
    /// The topic cannot serve another subscriber: it would need this many slots.
    Full {
        needed: u32,
    },
    Io(io::Error),
}

impl From<io::Error> for PinFailure {
    fn from(e: io::Error) -> PinFailure {
        PinFailure::Io(e)
    }
}

/// Takes the lock on the pin entries (a short hold by a live process; a write lock for a
/// subscriber that takes an entry, a read lock for one that reserves pins with locks), waiting
/// up to [`ENTRIES_LOCK_WAIT`].
fn lock_entries(file: &std::fs::File, write: bool) -> io::Result<bool> {
    let deadline = Instant::now() + ENTRIES_LOCK_WAIT;
    loop {
        let locked = if write {
            sys::try_lock_byte(file, ENTRIES_LOCK_BYTE)?
        } else {
            sys::try_read_lock_byte(file, ENTRIES_LOCK_BYTE)?
        };
        if locked {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn entries_kept_locked() -> PinFailure {
    PinFailure::Io(io::Error::other(
        "another process kept the topic's pin table locked",
    ))
}

impl<A: super::Access> Segment<A> {
    /// Whether this is a lending topic.
    #[inline]
    pub(crate) fn is_lending(&self) -> bool {
        self.layout.lend_entries > 0
    }

    fn pin_word_offset(&self, entry: u32, word: u32) -> u64 {
        self.layout.pins_offset + u64::from(entry) * PIN_ENTRY_SIZE + u64::from(word) * 8
    }

    fn entry_lock_byte(&self, entry: u32) -> u64 {
        self.layout.pins_offset + u64::from(entry) * PIN_ENTRY_SIZE
    }

    /// Pointer to the value in slot `index`.
    pub(crate) fn slot_data(&self, index: u32) -> *mut u8 {
        self.at(self.layout.slots_offset
            + u64::from(index) * self.layout.stride
            + u64::from(self.layout.data_offset))
    }

    /// Whether subscribers that may only read the file can pin slots with locks: a lending
    /// topic made readable by group or others, marked so in its header (`MODE_LOCK_PINS`,
    /// fixed when the file was made). Its publisher then asks for those locks in every claim.
    #[inline]
    pub(crate) fn lock_pins_allowed(&self) -> bool {
        self.is_lending() && self.fixed.mode & MODE_LOCK_PINS != 0
    }

    /// Pins reserved by the live entries of the pin table, as seen through `file` (which holds
    /// none of their locks).
    fn entry_reservations(&self, file: &std::fs::File) -> io::Result<u32> {
        let mut used = 0u32;
        for e in 0..self.layout.lend_entries {
            let reserved = self.pin(e, 0);
            if reserved != 0 && sys::byte_locked_by_other(file, self.entry_lock_byte(e))? {
                used = used.saturating_add(reserved.min(u64::from(PINS_PER_ENTRY)) as u32);
            }
        }
        Ok(used)
    }

    /// Pins reserved with locks by subscribers that may only read the file, other than through
    /// `file` (0 where none can exist).
    pub(crate) fn lock_reservations(&self, file: &std::fs::File) -> io::Result<u32> {
        if !self.lock_pins_allowed() {
            return Ok(0);
        }
        Ok(locked_bytes(file, LOCK_RESERVE_BASE, self.layout.slot_count)?.len() as u32)
    }
}

/// The `k < count` whose byte `base + k` an open file description other than `file`'s holds a
/// lock on: the reservations (`LOCK_RESERVE_BASE`) or pinned slots (`LOCK_PIN_BASE`) of
/// subscribers that pin with locks.
pub(crate) fn locked_bytes(file: &std::fs::File, base: u64, count: u32) -> io::Result<Vec<u32>> {
    let mut locked = Vec::new();
    for k in 0..count {
        if sys::byte_locked_by_other(file, base + u64::from(k))? {
            locked.push(k);
        }
    }
    Ok(locked)
}

impl<A: super::Access> LendWords for Segment<A> {
    #[inline]
    fn newest_slot(&self) -> u32 {
        self.load_u32(OFF_NEWEST_SLOT)
    }

    #[inline]
    fn entries(&self) -> u32 {
        self.layout.lend_entries
    }

    #[inline]
    fn pin(&self, entry: u32, word: u32) -> u64 {
        debug_assert!(entry < self.layout.lend_entries && word <= PINS_PER_ENTRY);
        // SAFETY: pin words are 8-aligned words of the (validated) pin table, accessed by every
        // process only as 8-byte atomics.
        unsafe { copy::load_u64(self.at(self.pin_word_offset(entry, word))) }
    }
}

impl LendWordsMut for Segment<ReadWrite> {
    #[inline]
    fn set_newest_slot(&self, index: u32) {
        self.store_u32(OFF_NEWEST_SLOT, index, Ordering::Relaxed);
    }

    #[inline]
    fn pinned_by_lock(&self, index: u32) -> bool {
        // The mapping's open file description holds no locks, so every pin lock is another's.
        // An error counts as pinned: the slot is skipped, never overwritten.
        self.lock_pins_allowed()
            && sys::byte_locked_by_other(&self.file, LOCK_PIN_BASE + u64::from(index))
                .unwrap_or(true)
    }
}

impl PinWordsMut for Segment<ReadOnly> {
    #[inline]
    fn set_pin(&self, entry: u32, word: u32, value: u64, order: Ordering) -> bool {
        let Some(pins) = self.own_pins() else {
            debug_assert!(self.pins.is_some(), "a pin stored without pins");
            return false;
        };
        debug_assert!((1..=PINS_PER_ENTRY).contains(&word));
        match &pins.kind {
            PinKind::Entry {
                map, entry: own, ..
            } => {
                debug_assert!(entry == *own);
                let off = u64::from(entry) * PIN_ENTRY_SIZE + u64::from(word) * 8;
                // SAFETY: the pin map covers the whole pin table, writable; `off` is an
                // 8-aligned word of this subscriber's entry, accessed by every process only as
                // an 8-byte atomic.
                unsafe { copy::store_u64(map.as_mut_ptr().add(off as usize), value, order) }
                true
            }
            PinKind::Locks(slots) => {
                debug_assert!(entry == LOCK_ENTRY);
                let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
                let w = (word - 1) as usize;
                let file: &std::fs::File = &pins.lock;
                if value == 0 {
                    let old = std::mem::replace(&mut slots.slots[w], u32::MAX);
                    if old != u32::MAX && !slots.slots.contains(&old) {
                        // Orders this subscriber's reads of the slot before the publisher's
                        // next look at the lock (the kernel's lock is the release).
                        let _ = sys::unlock_byte(file, LOCK_PIN_BASE + u64::from(old));
                    }
                    return true;
                }
                let index = (value - 1) as u32;
                let shared = slots.slots.contains(&index);
                if !shared
                    && !matches!(
                        sys::try_read_lock_byte(file, LOCK_PIN_BASE + u64::from(index)),
                        Ok(true)
                    )
                {
                    return false;
                }
                slots.slots[w] = index;
                true
            }
        }
    }
}

impl Segment<ReadOnly> {
    /// Takes the pins of a subscriber of this lending topic that holds at most `max` values at
    /// once: locks a free entry of the pin table (reclaiming those of subscribers that are
    /// gone), or, when this process may only read the file, reserves `max` pins with locks; if
    /// the topic's slots can serve it. Nothing for a copying topic.
    pub(crate) fn take_pin_entry(&mut self, max: u32) -> Result<(), PinFailure> {
        if !self.is_lending() {
            return Ok(());
        }
        let read_only = |e: &io::Error| {
            matches!(
                e.raw_os_error(),
                Some(libc::EACCES | libc::EPERM | libc::EROFS)
            )
        };
        let opened = sys::open_registered(|| sys::reopen_writable(&self.file).map(|f| (f, ())))
            .and_then(|(lock, ())| {
                let f = sys::reopen_writable(&self.file)?;
                let map = MmapOptions::new()
                    .offset(self.layout.pins_offset)
                    .len((u64::from(self.layout.lend_entries) * PIN_ENTRY_SIZE) as usize)
                    .map_raw(&f)?;
                Ok((lock, map))
            });
        let (lock, map) = match opened {
            Ok(opened) => opened,
            Err(e) if read_only(&e) && self.lock_pins_allowed() => {
                return self.take_lock_pins(max);
            }
            Err(e) if read_only(&e) => return Err(PinFailure::ReadOnly),
            Err(e) => return Err(PinFailure::Io(e)),
        };
        if !lock_entries(&lock, true)? {
            return Err(entries_kept_locked());
        }
        let taken = self.choose_entry(&lock, &map, max);
        let _ = sys::unlock_byte(&lock, ENTRIES_LOCK_BYTE);
        let entry = taken?;
        self.pins = Some(Pins {
            lock,
            kind: PinKind::Entry {
                map,
                entry,
                lock_byte: self.entry_lock_byte(entry),
            },
            reserved: max,
            held: AtomicU32::new(0),
            generation: sys::current_fork_generation(),
        });
        Ok(())
    }

    /// With the entries locked: reclaims the entries of subscribers that are gone, counts the
    /// pins the others reserved (in the table and with locks), and takes (locks, reserves) a
    /// free entry if the slots suffice.
    fn choose_entry(
        &self,
        lock: &std::fs::File,
        map: &MmapRaw,
        max: u32,
    ) -> Result<u32, PinFailure> {
        let store = |entry: u32, word: u32, value: u64| {
            let off = u64::from(entry) * PIN_ENTRY_SIZE + u64::from(word) * 8;
            // SAFETY: as in `set_pin`, for a word of an entry this process holds locked.
            unsafe { copy::store_u64(map.as_mut_ptr().add(off as usize), value, Ordering::Release) }
        };
        let clear = |entry: u32| {
            for w in 1..=PINS_PER_ENTRY {
                store(entry, w, 0);
            }
            store(entry, 0, 0);
        };
        let mut used = self.lock_reservations(lock)?;
        let mut free = None;
        for e in 0..self.layout.lend_entries {
            let reserved = self.pin(e, 0);
            // A free entry, or one of a subscriber that is gone (its lock went with it).
            if !sys::try_lock_byte(lock, self.entry_lock_byte(e))? {
                used = used.saturating_add(reserved.min(u64::from(PINS_PER_ENTRY)) as u32);
                continue;
            }
            clear(e);
            if free.is_none() {
                free = Some(e);
            } else {
                sys::unlock_byte(lock, self.entry_lock_byte(e))?;
            }
        }
        let needed = used.saturating_add(max).saturating_add(2);
        match free {
            Some(e) if needed <= self.layout.slot_count => {
                store(e, 0, u64::from(max));
                Ok(e)
            }
            Some(e) => {
                sys::unlock_byte(lock, self.entry_lock_byte(e))?;
                Err(PinFailure::Full { needed })
            }
            None => Err(PinFailure::Full {
                needed: needed.max(self.layout.slot_count + 1),
            }),
        }
    }

    /// Reserves `max` pins with read locks, for a subscriber that may only read the file: under
    /// a read lock on the entries (so no entry is taken meanwhile), counts the pins others
    /// reserved, locks `max` free reservation bytes, and counts again; another subscriber
    /// reserving at the same moment makes both let go and try again a moment later.
    fn take_lock_pins(&mut self, max: u32) -> Result<(), PinFailure> {
        let (lock, ()) =
            sys::open_registered(|| sys::reopen_readonly(&self.file).map(|f| (f, ())))?;
        let file: &std::fs::File = &lock;
        for attempt in 0..RESERVE_ATTEMPTS {
            if attempt > 0 {
                let pause = 200 + sys::random_u64() % 2000;
                std::thread::sleep(Duration::from_micros(pause));
            }
            if !lock_entries(file, false)? {
                return Err(entries_kept_locked());
            }
            let reserved = self.reserve_with_locks(file, max);
            let _ = sys::unlock_byte(file, ENTRIES_LOCK_BYTE);
            match reserved? {
                Ok(()) => {
                    self.pins = Some(Pins {
                        lock,
                        kind: PinKind::Locks(Mutex::new(LockPins {
                            slots: [u32::MAX; PINS_PER_ENTRY as usize],
                        })),
                        reserved: max,
                        held: AtomicU32::new(0),
                        generation: sys::current_fork_generation(),
                    });
                    return Ok(());
                }
                Err(Some(n)) => return Err(PinFailure::Full { needed: n }),
                Err(None) => {}
            }
        }
        Err(PinFailure::Io(io::Error::other(format!(
            "other subscribers kept reserving pins at the same moments ({RESERVE_ATTEMPTS} \
             attempts); try again"
        ))))
    }

    /// One attempt of [`take_lock_pins`](Self::take_lock_pins): `Ok(Ok(()))` reserved,
    /// `Ok(Err(Some(needed)))` the topic cannot serve it, `Ok(Err(None))` another subscriber
    /// reserved at the same moment (nothing held).
    fn reserve_with_locks(
        &self,
        file: &std::fs::File,
        max: u32,
    ) -> io::Result<Result<(), Option<u32>>> {
        let slots = self.layout.slot_count;
        let used = |s: &Self| -> io::Result<u32> {
            Ok(s.entry_reservations(file)?
                .saturating_add(s.lock_reservations(file)?))
        };
        let needed = used(self)?.saturating_add(max).saturating_add(2);
        if needed > slots {
            return Ok(Err(Some(needed)));
        }
        let mut mine = Vec::new();
        for k in 0..slots {
            if mine.len() == max as usize {
                break;
            }
            let byte = LOCK_RESERVE_BASE + u64::from(k);
            if !sys::byte_locked_by_other(file, byte)? && sys::try_read_lock_byte(file, byte)? {
                mine.push(byte);
            }
        }
        // Counted again with ours held: another subscriber that took a byte of ours, or
        // reserved beside us, shows here.
        let shared = mine
            .iter()
            .map(|b| sys::byte_locked_by_other(file, *b))
            .collect::<io::Result<Vec<bool>>>()?;
        let again = used(self)?;
        if mine.len() == max as usize
            && !shared.contains(&true)
            && again.saturating_add(max).saturating_add(2) <= slots
        {
            return Ok(Ok(()));
        }
        for b in mine {
            sys::unlock_byte(file, b)?;
        }
        Ok(Err(None))
    }

    /// This process's pin entry: `None` without one, or in a child forked after it was taken
    /// (the entry is the parent's: a child touches none of its words).
    fn own_pins(&self) -> Option<&Pins> {
        self.pins
            .as_ref()
            .filter(|p| p.generation == sys::current_fork_generation())
    }

    /// Whether this segment's pin entry belongs to a parent process (this one was forked from
    /// it after the entry was taken): the child must take its own.
    pub(crate) fn pins_inherited(&self) -> bool {
        self.pins
            .as_ref()
            .is_some_and(|p| p.generation != sys::current_fork_generation())
    }

    /// A free pin word of this subscriber's, now marked in use, with its entry
    /// ([`LOCK_ENTRY`] for one that pins with locks); `None` when it holds as many values as
    /// it reserved.
    pub(crate) fn take_pin_word(&self) -> Option<(u32, u32)> {
        let pins = self.own_pins()?;
        let entry = pins.entry();
        let mut held = pins.held.load(Ordering::Relaxed);
        loop {
            let free = (!held).trailing_zeros();
            if free >= pins.reserved {
                return None;
            }
            // Acquire: pairs with the release of the word by the thread that used it last.
            match pins.held.compare_exchange_weak(
                held,
                held | (1 << free),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some((entry, free + 1)),
                Err(now) => held = now,
            }
        }
    }

    /// Clears pin word `word` (see [`unpin`]) and gives it back.
    pub(crate) fn release_pin_word(&self, word: u32) {
        let Some(pins) = self.own_pins() else { return };
        unpin(self, pins.entry(), word);
        self.release_word_bit(word);
    }

    /// Copies the newest value (unless it is numbered `newer_than` or less) into `dst` with
    /// plain copies of the pinned slot. `Err(())`: this subscriber holds no free pin word.
    ///
    /// # Safety
    /// `dst` is valid for writes of `layout().elem_size` bytes and is not shared memory.
    pub(crate) unsafe fn read_lent(
        &self,
        newer_than: u64,
        dst: *mut u8,
    ) -> Result<super::SlotRead, ()> {
        let (entry, word) = self.take_pin_word().ok_or(())?;
        let read = match pin_newest(self, entry, word, newer_than) {
            Pin::Empty => super::SlotRead::Empty,
            Pin::Seen(seq) => super::SlotRead::Seen { seq },
            Pin::Retry => super::SlotRead::Retry,
            Pin::Corrupt(publish_seq) => super::SlotRead::Corrupt { publish_seq },
            Pin::BadSlot(slot) => super::SlotRead::BadSlot { slot },
            Pin::At { seq, index } => super::SlotRead::Done {
                seq,
                // SAFETY: pinned just now with `word`; `dst` is the caller's.
                time_ns: unsafe { self.copy_and_unpin(entry, word, index, dst) },
            },
        };
        self.release_word_bit(word);
        Ok(read)
    }

    /// Copies value `seq` into `dst` if a slot still holds it. `Err(())`: no free pin word.
    ///
    /// # Safety
    /// As [`read_lent`](Self::read_lent).
    pub(crate) unsafe fn read_lent_exact(&self, seq: u64, dst: *mut u8) -> Result<Option<u64>, ()> {
        let (entry, word) = self.take_pin_word().ok_or(())?;
        let found = pin_value(self, entry, word, seq).map(|index| {
            // SAFETY: pinned just now with `word`; `dst` is the caller's.
            unsafe { self.copy_and_unpin(entry, word, index, dst) }
        });
        self.release_word_bit(word);
        Ok(found)
    }

    fn release_word_bit(&self, word: u32) {
        if let Some(pins) = self.own_pins() {
            pins.held.fetch_and(!(1 << (word - 1)), Ordering::Release);
        }
    }

    /// Pins the newest value (unless numbered `newer_than` or less) for a borrow: the pin word
    /// stays taken until [`release_pin_word`](Self::release_pin_word). `Err(())`: no free pin
    /// word.
    pub(crate) fn pin_for_borrow(&self, newer_than: u64) -> Result<(Pin, u32), ()> {
        let (entry, word) = self.take_pin_word().ok_or(())?;
        let pin = pin_newest(self, entry, word, newer_than);
        if !matches!(pin, Pin::At { .. }) {
            self.release_word_bit(word);
        }
        Ok((pin, word))
    }

    /// Copies the value of slot `index` into `dst`, then unpins it; returns its publish time.
    ///
    /// # Safety
    /// Slot `index` is pinned by pin word `word` of this subscriber's entry `entry`; `dst` as
    /// in [`read_lent`](Self::read_lent).
    unsafe fn copy_and_unpin(&self, entry: u32, word: u32, index: u32, dst: *mut u8) -> u64 {
        // SAFETY: the caller's contract: nobody writes the pinned slot until the unpin below;
        // it holds `elem_size` bytes.
        unsafe {
            copy::copy_plain(
                self.slot_data(index),
                dst,
                self.layout.elem_size as usize,
                self.runs(),
                true,
            )
        }
        let time_ns = self.time(index);
        unpin(self, entry, word);
        time_ns
    }
}

impl Pins {
    /// The `entry` its pin words are passed with: its entry of the pin table, or
    /// [`LOCK_ENTRY`] for a subscriber that pins with locks.
    fn entry(&self) -> u32 {
        match self.kind {
            PinKind::Entry { entry, .. } => entry,
            PinKind::Locks(_) => LOCK_ENTRY,
        }
    }
}

impl Drop for Pins {
    /// Clears this subscriber's pins and reservation, then lets its entry go (closing the
    /// lock's description releases the lock, and the pin locks of one that pins with locks).
    /// In a forked child the entry is the parent's: left alone.
    fn drop(&mut self) {
        if self.generation != sys::current_fork_generation() {
            return;
        }
        let PinKind::Entry {
            map,
            entry,
            lock_byte,
        } = &self.kind
        else {
            // Its pins and reservations, now: a child forked meanwhile that kept a copy of the
            // description (one beyond those the fork handler gives up) would hold them on.
            let _ = sys::unlock_from(&self.lock, LOCK_PIN_BASE);
            return;
        };
        for w in (1..=PINS_PER_ENTRY).chain([0]) {
            let off = u64::from(*entry) * PIN_ENTRY_SIZE + u64::from(w) * 8;
            // SAFETY: as in `set_pin`: a word of this subscriber's own entry.
            unsafe { copy::store_u64(map.as_mut_ptr().add(off as usize), 0, Ordering::Release) }
        }
        let _ = sys::unlock_byte(&self.lock, *lock_byte);
    }
}

impl Segment<ReadWrite> {
    /// Claims a slot for value `seq` (see [`claim`]), trying from `start` and skipping
    /// `avoid`; when every slot is
    /// pinned, reclaims the entries of subscribers that are gone and tries once more.
    pub(crate) fn claim_slot(&self, seq: u64, start: u32, avoid: &[u32]) -> Option<u32> {
        claim(self, seq, start, avoid).or_else(|| {
            if self.reclaim_pins() {
                claim(self, seq, start, avoid)
            } else {
                None
            }
        })
    }

    /// See [`commit`].
    pub(crate) fn commit_slot(&self, index: u32, seq: u64, time_ns: u64) {
        commit(self, self.light_fence, index, seq, time_ns);
    }

    /// Clears the pin entries of subscribers that are gone (their locks are): the cold path of
    /// a claim that found every slot pinned. `true` if it cleared any.
    #[cold]
    fn reclaim_pins(&self) -> bool {
        let file: &std::fs::File = &self.file;
        if !matches!(sys::try_lock_byte(file, ENTRIES_LOCK_BYTE), Ok(true)) {
            return false;
        }
        let mut cleared = false;
        for e in 0..self.layout.lend_entries {
            let in_use = (0..=PINS_PER_ENTRY).any(|w| self.pin(e, w) != 0);
            if !in_use || !matches!(sys::try_lock_byte(file, self.entry_lock_byte(e)), Ok(true)) {
                continue;
            }
            for w in 0..=PINS_PER_ENTRY {
                // SAFETY: a pin word of the pin table in this writable mapping, accessed only
                // atomically; its entry is locked by this process (its subscriber is gone).
                unsafe {
                    copy::store_u64(self.at(self.pin_word_offset(e, w)), 0, Ordering::Release)
                }
            }
            cleared = true;
            let _ = sys::unlock_byte(file, self.entry_lock_byte(e));
        }
        let _ = sys::unlock_byte(file, ENTRIES_LOCK_BYTE);
        cleared
    }

    /// Writes value `seq` by copy into a claimed slot of this lending topic and names it the
    /// newest; `false` (nothing written) when every slot is pinned.
    ///
    /// # Safety
    /// `src` is valid for reads of `layout().elem_size` initialised bytes; `1 <= seq <=
    /// MAX_SEQ`; the caller holds the publisher lock.
    pub(crate) unsafe fn write_lent(
        &self,
        seq: u64,
        start: u32,
        avoid: &[u32],
        time_ns: u64,
        src: *const u8,
    ) -> Option<u32> {
        let index = self.claim_slot(seq, start, avoid)?;
        // SAFETY: the slot is claimed: no process reads or writes it until `commit_slot`; it
        // holds `elem_size` bytes, and `src` as many (the caller's contract). The room past a
        // checked bounded part's length is zeroed: the slot's earlier bytes there may be a
        // refused loan's, and borrowers check the whole value.
        unsafe {
            copy::copy_plain(
                src,
                self.slot_data(index),
                self.layout.elem_size as usize,
                self.runs(),
                true,
            )
        };
        self.commit_slot(index, seq, time_ns);
        Some(index)
    }
}
