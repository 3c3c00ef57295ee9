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
//! Written once, generic over [`LendWords`], like the ring: the loom model (`verify/`) checks
//! this code.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use memmap2::{MmapOptions, MmapRaw};

use super::header::{MAX_SEQ, OFF_NEWEST_SLOT, PIN_ENTRY_SIZE, PINS_PER_ENTRY};
use super::ring::{TopicWords, TopicWordsMut};
use super::{ReadOnly, ReadWrite, Segment};
use crate::copy;
use crate::sys::{self, GuardedFile};

/// The byte of the topic file whose lock serialises taking and reclaiming pin entries.
const ENTRIES_LOCK_BYTE: u64 = 1;
/// How long taking a pin entry waits for another process taking or reclaiming one.
const ENTRIES_LOCK_WAIT: Duration = Duration::from_secs(2);

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
}

/// The pin words a subscriber writes: those of its own entry.
#[doc(hidden)]
pub trait PinWordsMut: LendWords {
    /// Stores word `word` of entry `entry`.
    fn set_pin(&self, entry: u32, word: u32, value: u64, order: Ordering);
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
        if c == newest || avoid.contains(&c) || pinned(m, c) {
            continue;
        }
        let old = m.stamp(c);
        m.set_stamp(c, (seq << 1) | 1, Ordering::Relaxed);
        // The publisher's half of the store-buffering pair: the odd stamp, then the pins.
        M::fence_after_claim();
        if pinned(m, c) {
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
    m.set_pin(entry, word, u64::from(index) + 1, Ordering::Release);
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

/// A subscriber's pin entry in a lending topic: its lock (held while the subscriber lives), the
/// writable mapping of the pin table, and which of its pin words are in use.
pub(crate) struct Pins {
    /// The open file description holding the entry's lock (registered for `fork`: a child
    /// holds no share of it).
    lock: GuardedFile,
    map: MmapRaw,
    entry: u32,
    /// Pin words this subscriber reserved (its `max_borrowed`).
    reserved: u32,
    /// Bit `w - 1` set: pin word `w` holds a borrowed value or a read under way.
    held: AtomicU32,
    generation: u64,
    lock_byte: u64,
}

/// Why a subscriber could not take a pin entry.
#[derive(Debug)]
pub(crate) enum PinFailure {
    /// This process may only read the file.
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

/// Takes the lock on the pin entries (a short hold by a live process), waiting up to
/// [`ENTRIES_LOCK_WAIT`].
fn lock_entries(file: &std::fs::File) -> io::Result<bool> {
    let deadline = Instant::now() + ENTRIES_LOCK_WAIT;
    loop {
        if sys::try_lock_byte(file, ENTRIES_LOCK_BYTE)? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
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
}

impl PinWordsMut for Segment<ReadOnly> {
    #[inline]
    fn set_pin(&self, entry: u32, word: u32, value: u64, order: Ordering) {
        let Some(pins) = self.own_pins() else {
            debug_assert!(self.pins.is_some(), "a pin stored without a pin entry");
            return;
        };
        debug_assert!(entry == pins.entry && word <= PINS_PER_ENTRY);
        let off = u64::from(entry) * PIN_ENTRY_SIZE + u64::from(word) * 8;
        // SAFETY: the pin map covers the whole pin table, writable; `off` is an 8-aligned word
        // of this subscriber's entry, accessed by every process only as an 8-byte atomic.
        unsafe { copy::store_u64(pins.map.as_mut_ptr().add(off as usize), value, order) }
    }
}

impl Segment<ReadOnly> {
    /// Takes a pin entry of this lending topic for a subscriber that holds at most `max`
    /// values at once: locks a free entry (reclaiming those of subscribers that are gone), if
    /// the topic's slots can serve it. Nothing for a copying topic.
    pub(crate) fn take_pin_entry(&mut self, max: u32) -> Result<(), PinFailure> {
        if !self.is_lending() {
            return Ok(());
        }
        let writable = |e: io::Error| match e.raw_os_error() {
            Some(libc::EACCES | libc::EPERM | libc::EROFS) => PinFailure::ReadOnly,
            _ => PinFailure::Io(e),
        };
        let (lock, ()) = sys::open_registered(|| sys::reopen_writable(&self.file).map(|f| (f, ())))
            .map_err(writable)?;
        let map = sys::reopen_writable(&self.file)
            .and_then(|f| {
                MmapOptions::new()
                    .offset(self.layout.pins_offset)
                    .len((u64::from(self.layout.lend_entries) * PIN_ENTRY_SIZE) as usize)
                    .map_raw(&f)
            })
            .map_err(writable)?;
        if !lock_entries(&lock)? {
            return Err(PinFailure::Io(io::Error::other(
                "another process kept the topic's pin table locked",
            )));
        }
        let taken = self.choose_entry(&lock, &map, max);
        let _ = sys::unlock_byte(&lock, ENTRIES_LOCK_BYTE);
        let entry = taken?;
        self.pins = Some(Pins {
            lock,
            map,
            entry,
            reserved: max,
            held: AtomicU32::new(0),
            generation: sys::current_fork_generation(),
            lock_byte: self.entry_lock_byte(entry),
        });
        Ok(())
    }

    /// With the entries locked: reclaims the entries of subscribers that are gone, counts the
    /// pins the others reserved, and takes (locks, reserves) a free entry if the slots suffice.
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
        let mut used = 0u32;
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

    /// A free pin word of this subscriber's entry, now marked in use; `None` when it holds as
    /// many values as it reserved.
    pub(crate) fn take_pin_word(&self) -> Option<(u32, u32)> {
        let pins = self.own_pins()?;
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
                Ok(_) => return Some((pins.entry, free + 1)),
                Err(now) => held = now,
            }
        }
    }

    /// Clears pin word `word` (see [`unpin`]) and gives it back.
    pub(crate) fn release_pin_word(&self, word: u32) {
        let Some(pins) = self.own_pins() else { return };
        unpin(self, pins.entry, word);
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

impl Drop for Pins {
    /// Clears this subscriber's pins and reservation, then lets its entry go (closing the
    /// lock's description releases the lock). In a forked child the entry is the parent's:
    /// left alone.
    fn drop(&mut self) {
        if self.generation != sys::current_fork_generation() {
            return;
        }
        for w in (1..=PINS_PER_ENTRY).chain([0]) {
            let off = u64::from(self.entry) * PIN_ENTRY_SIZE + u64::from(w) * 8;
            // SAFETY: as in `set_pin`: a word of this subscriber's own entry.
            unsafe {
                copy::store_u64(
                    self.map.as_mut_ptr().add(off as usize),
                    0,
                    Ordering::Release,
                )
            }
        }
        let _ = sys::unlock_byte(&self.lock, self.lock_byte);
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
        // holds `elem_size` bytes, and `src` as many (the caller's contract).
        unsafe {
            copy::copy_plain(
                src,
                self.slot_data(index),
                self.layout.elem_size as usize,
                self.runs(),
                false,
            )
        };
        self.commit_slot(index, seq, time_ns);
        Some(index)
    }
}
