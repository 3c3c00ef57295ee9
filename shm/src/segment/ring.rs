//! The slot ring: how a value is published into a slot and how readers find and copy the newest
//! one (a per-slot seqlock whose stamps carry the sequence number). `docs/FORMAT.md`, "Slots and
//! the publish protocol", is the specification and argues why it is correct.
//!
//! The algorithm is written once, generic over [`TopicWords`]: the words of a topic file as the
//! protocol sees them. [`Segment`](super::Segment) implements it with 8-byte atomics on the
//! shared mapping; the loom model (`verify/`) implements it with loom's atomics, so the code that
//! is model-checked is the code that runs.

use std::sync::atomic::Ordering;

use super::header::{MAX_SEQ, OFF_PUBLISH_SEQ, OFF_SLEEPING};
use super::{Access, ReadWrite, Segment};
use crate::copy;

/// The words of one topic file that the read protocol touches. Every access is atomic; the
/// orderings are the protocol's.
#[doc(hidden)]
pub trait TopicWords {
    /// Number of slots in the ring (at least 1).
    fn slot_count(&self) -> u32;
    /// Slot `index`'s stamp (a Relaxed load).
    fn stamp(&self, index: u32) -> u64;
    /// Slot `index`'s publish time (a Relaxed load).
    fn time(&self, index: u32) -> u64;
    /// Copies slot `index`'s value out with Relaxed word loads.
    ///
    /// # Safety
    /// `dst` is valid for writes of one value (the element size) and is not shared memory.
    unsafe fn copy_out(&self, index: u32, dst: *mut u8);
    /// The publish sequence (a Relaxed load).
    fn publish_seq(&self) -> u64;
    /// A memory fence (`std::sync::atomic::fence`, or the model's).
    fn fence(order: Ordering);

    /// The acquire fence between the stamps [`read_next`] followed and its fallback load of the
    /// publish sequence. Its own method only so that the model's negative control can remove
    /// this one fence and show the model finds what it prevents.
    #[inline(always)]
    fn fence_before_fallback() {
        Self::fence(Ordering::Acquire);
    }
}

/// The words the publisher writes: only a writable mapping (the publisher's) has them.
#[doc(hidden)]
pub trait TopicWordsMut: TopicWords {
    /// Stores slot `index`'s stamp.
    fn set_stamp(&self, index: u32, stamp: u64, order: Ordering);
    /// Stores slot `index`'s publish time (Relaxed).
    fn set_time(&self, index: u32, time_ns: u64);
    /// Copies a value into slot `index` with Relaxed word stores.
    ///
    /// # Safety
    /// `src` is valid for reads of one initialised value; the caller is the only writer.
    unsafe fn copy_in(&self, index: u32, src: *const u8);
    /// Stores the publish sequence.
    fn set_publish_seq(&self, seq: u64, order: Ordering);
    /// The "a subscriber sleeps" flag (a Relaxed load).
    fn sleeping(&self) -> u32;
    /// Clears the flag, bumps the wake word and wakes every sleeper.
    fn wake_sleepers(&self);
    /// The publisher's light half of the wake-up fence: a compiler fence, whose heavy half
    /// sleeping subscribers issue with `membarrier` (a full fence in the model).
    fn light_fence();
}

/// Where a reader last found the newest value of a segment; see [`read_next`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub struct Cursor {
    /// Sequence number of that value.
    pub seq: u64,
    /// Its slot.
    pub index: u32,
}

/// The outcome of one attempt to read the newest slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum SlotRead {
    /// Nothing was ever published in this segment.
    Empty,
    /// A consistent copy of the value with this sequence number and publish time.
    Done {
        /// The value's sequence number.
        seq: u64,
        /// Its publish time.
        time_ns: u64,
    },
    /// The writer was (or had just been) writing the slot; try again.
    Retry,
    /// The newest value has this sequence number, which is not above the one the reader asked
    /// to skip to (it has it already): nothing was copied.
    Seen {
        /// The value's sequence number.
        seq: u64,
    },
    /// The header names a sequence number no publisher can have written: a damaged file.
    Corrupt {
        /// The publish sequence found.
        publish_seq: u64,
    },
    /// A lending topic's header names a slot the file does not have: a damaged file.
    BadSlot {
        /// The slot named.
        slot: u32,
    },
}

/// Publishes `src` as value `seq` into slot `index` (`seq % slot_count`), then asks whether a
/// subscriber sleeps and wakes it: see `docs/FORMAT.md`. Single writer: the caller holds the
/// publisher lock. Wait-free: a fixed number of stores, no allocation, and no syscall unless a
/// subscriber sleeps waiting for this value.
///
/// `light_fence`: this process registered for `membarrier`, so the store of the publish
/// sequence and the load of the sleeping flag need only a compiler fence between them.
///
/// # Safety
/// `src` is valid for reads of one initialised value, `index == seq % slot_count`, and
/// `1 <= seq <= MAX_SEQ`.
#[inline]
#[doc(hidden)]
pub unsafe fn write<M: TopicWordsMut>(
    m: &M,
    light_fence: bool,
    index: u32,
    seq: u64,
    time_ns: u64,
    src: *const u8,
) {
    write_with(m, light_fence, index, seq, time_ns, |m| {
        // SAFETY: the caller's contract (`src` holds one value).
        unsafe { m.copy_in(index, src) }
    });
}

/// [`write`], with the value's bytes stored by `fill` (with Relaxed word stores into slot
/// `index`'s value, and nothing else) between the odd and the even stamp: for a value made of
/// parts, stored without assembling it first.
///
/// Not `unsafe` itself: `fill` holds the unsafety of its stores; the caller keeps
/// `index == seq % slot_count` and `1 <= seq <= MAX_SEQ` (checked in debug builds).
#[inline]
pub(crate) fn write_with<M: TopicWordsMut>(
    m: &M,
    light_fence: bool,
    index: u32,
    seq: u64,
    time_ns: u64,
    fill: impl FnOnce(&M),
) {
    debug_assert_eq!(u64::from(index), seq % u64::from(m.slot_count()));
    debug_assert!((1..=MAX_SEQ).contains(&seq));
    let stamp = seq << 1;
    m.set_stamp(index, stamp | 1, Ordering::Relaxed);
    // Orders the odd stamp before the data stores, for readers that fence after copying.
    M::fence(Ordering::Release);
    m.set_time(index, time_ns);
    fill(m);
    m.set_stamp(index, stamp, Ordering::Release);
    name_and_wake(m, light_fence, seq);
}

/// The end of every publish: stores the publish sequence, then looks at the sleeping flag with
/// a full fence in between (the wake-up handshake, see `wake::sleep`): either its light half,
/// or a sequentially consistent fence when this process could not register for the heavy half.
#[inline]
pub(super) fn name_and_wake<M: TopicWordsMut>(m: &M, light_fence: bool, seq: u64) {
    m.set_publish_seq(seq, Ordering::Release);
    if light_fence {
        M::light_fence();
    } else {
        M::fence(Ordering::SeqCst);
    }
    if m.sleeping() != 0 {
        m.wake_sleepers();
    }
}

/// Where the newest value is, as [`locate`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Located {
    /// Nothing was ever published in this segment.
    Empty,
    /// The newest complete value has this sequence number and lives in this slot.
    At(u64, u32),
    /// The header names a sequence number no publisher can have written: a damaged file.
    Corrupt(u64),
}

/// The newest value, starting from `cursor` (the newest value this reader found before in this
/// segment; `None` at first), without copying it.
///
/// Values are written to consecutive slots with stamps `seq << 1`, so from the cursor the reader
/// follows the slots whose stamps carry the next sequence numbers: the newest complete value is
/// the last of that run. That touches the cache line of the slot it reads (and of the next, to
/// see that it is not newer), not the header's publish sequence, which a polling reader would
/// otherwise pull across CPUs on every publish as well. Without a cursor, or when the publisher
/// lapped the ring since, it starts from the publish sequence and follows the stamps after it
/// too: a publisher killed between completing a slot and naming it there leaves that slot one
/// after it, and every read must return that value, not only those that happen to follow.
#[inline]
#[doc(hidden)]
pub fn locate<M: TopicWords>(m: &M, cursor: Option<Cursor>) -> Located {
    if let Some(found) = cursor.and_then(|c| follow(m, c)) {
        return Located::At(found.0, found.1);
    }
    // Orders the stamps `follow` saw before this load: a stamp of value `v` is stored
    // (release) after `publish_seq = v - 1`, so having seen it, this load returns at least
    // `v - 1`, never an older number (or 0) than a value this reader returned. (Found by the
    // loom model: without it a weakly ordered CPU may read "no value" here after a value.) An
    // odd stamp of value `w` a lap later is covered by the release fence of the write before
    // it: `publish_seq >= w - 2 >= c + n - 1`.
    M::fence_before_fallback();
    let named = m.publish_seq();
    M::fence(Ordering::Acquire);
    if named > MAX_SEQ {
        return Located::Corrupt(named);
    }
    let index = (named % u64::from(m.slot_count())) as u32;
    match follow(m, Cursor { seq: named, index }) {
        Some((0, _)) => Located::Empty,
        Some((seq, index)) => Located::At(seq, index),
        // Lapped (or being lapped) since the publish sequence was stored: its own slot holds a
        // later value now, which the stamp check of the copy sees.
        None if named == 0 => Located::Empty,
        None => Located::At(named, index),
    }
}

/// One attempt to copy the newest value into `dst`: [`locate`], then the seqlock copy; on
/// success the cursor moves to that value. A newest value numbered `newer_than` or less is not
/// copied ([`SlotRead::Seen`]): a reader polling for something new costs a few loads, not a
/// copy of the value it has.
///
/// # Safety
/// `dst` is valid for writes of one value and is not shared memory.
#[inline]
#[doc(hidden)]
pub unsafe fn read_next<M: TopicWords>(
    m: &M,
    cursor: &mut Option<Cursor>,
    newer_than: u64,
    dst: *mut u8,
) -> SlotRead {
    let (seq, index) = match locate(m, *cursor) {
        Located::At(seq, index) => (seq, index),
        Located::Empty => return SlotRead::Empty,
        Located::Corrupt(publish_seq) => return SlotRead::Corrupt { publish_seq },
    };
    if seq <= newer_than {
        return SlotRead::Seen { seq };
    }
    // SAFETY: the caller's contract.
    match unsafe { read_slot(m, index, seq, dst) } {
        Some(time_ns) => {
            *cursor = Some(Cursor { seq, index });
            SlotRead::Done { seq, time_ns }
        }
        None => SlotRead::Retry,
    }
}

/// Copies value `seq` into `dst` if its slot still holds it (not overwritten by a later lap, and
/// not being written): `Some(publish time)`, or `None` if it is gone.
///
/// # Safety
/// As [`read_next`].
#[inline]
#[doc(hidden)]
pub unsafe fn read_exact<M: TopicWords>(m: &M, seq: u64, dst: *mut u8) -> Option<u64> {
    let index = (seq % u64::from(m.slot_count())) as u32;
    // SAFETY: the caller's contract.
    unsafe { read_slot(m, index, seq, dst) }
}

/// From `from`, the newest value reachable by following consecutive stamps (`from` itself if the
/// next slot does not hold the next value); `None` when the publisher lapped the ring since (or
/// is lapping it).
#[inline]
fn follow<M: TopicWords>(m: &M, from: Cursor) -> Option<(u64, u32)> {
    let n = m.slot_count();
    let (mut seq, mut index) = (from.seq, from.index);
    for _ in 0..n {
        if seq >= MAX_SEQ {
            // No publisher writes beyond it (validated sources never start above it).
            return Some((seq, index));
        }
        let next = if index + 1 == n { 0 } else { index + 1 };
        let want = (seq + 1) << 1;
        let stamp = m.stamp(next);
        if stamp == want {
            (seq, index) = (seq + 1, next);
        } else if stamp > (want | 1) {
            return None; // written a lap later: the cursor fell behind
        } else {
            return Some((seq, index)); // older, or the next value is being written
        }
    }
    None
}

/// Copies value `seq` out of slot `index` with the seqlock check; `Some(publish time)` if the
/// copy is consistent and of that value. Value 0 is never published, so a zeroed slot is never
/// taken for it.
///
/// # Safety
/// As [`read_next`].
#[inline]
unsafe fn read_slot<M: TopicWords>(m: &M, index: u32, seq: u64, dst: *mut u8) -> Option<u64> {
    if seq == 0 || seq > MAX_SEQ {
        return None;
    }
    let want = seq << 1;
    let s1 = m.stamp(index);
    M::fence(Ordering::Acquire);
    if s1 != want {
        return None;
    }
    // SAFETY: the caller's contract.
    unsafe { m.copy_out(index, dst) };
    let time_ns = m.time(index);
    M::fence(Ordering::Acquire);
    (m.stamp(index) == s1).then_some(time_ns)
}

/// The highest sequence number of a complete value in any slot (0 if none): a publisher taking
/// the file over continues after it, so that no complete stamp is ever reused for other data
/// (readers that follow stamps rely on that). A value whose write was interrupted (odd stamp)
/// was never read, so its number may be reused. The caller checks the result against
/// [`MAX_SEQ`]: a larger one means a damaged file.
#[doc(hidden)]
pub fn highest_stamped_seq<M: TopicWords>(m: &M) -> u64 {
    (0..m.slot_count())
        .map(|i| m.stamp(i))
        .filter(|stamp| stamp & 1 == 0)
        .map(|stamp| stamp >> 1)
        .max()
        .unwrap_or(0)
}

/// Copies the complete value with the highest sequence number in the ring into `dst`: the
/// newest value of a file whose publisher is gone, even one killed before it named that value
/// in the publish sequence. `None` if no slot holds one (or a writer changed it meanwhile).
///
/// # Safety
/// As [`read_next`].
#[doc(hidden)]
pub unsafe fn read_highest<M: TopicWords>(m: &M, dst: *mut u8) -> Option<(u64, u64)> {
    let (index, stamp) = (0..m.slot_count())
        .map(|i| (i, m.stamp(i)))
        .filter(|(_, stamp)| stamp & 1 == 0 && *stamp != 0 && stamp >> 1 <= MAX_SEQ)
        .max_by_key(|(_, stamp)| *stamp)?;
    let seq = stamp >> 1;
    // SAFETY: the caller's contract.
    unsafe { read_slot(m, index, seq, dst) }.map(|time_ns| (seq, time_ns))
}

// ---------------------------------------------------------------------------------------------
// The ring of a mapped topic file.
// ---------------------------------------------------------------------------------------------

impl<A: Access> Segment<A> {
    fn slot_at(&self, index: u32) -> *mut u8 {
        self.at(self.layout.slots_offset + u64::from(index) * self.layout.stride)
    }

    /// See [`read_next`].
    ///
    /// # Safety
    /// `dst` is valid for writes of `layout().elem_size` bytes and is not shared memory.
    #[inline]
    pub(crate) unsafe fn read_next(
        &self,
        cursor: &mut Option<Cursor>,
        newer_than: u64,
        dst: *mut u8,
    ) -> SlotRead {
        // SAFETY: the caller's contract.
        unsafe { read_next(self, cursor, newer_than, dst) }
    }

    /// See [`locate`].
    pub(crate) fn locate(&self, cursor: Option<Cursor>) -> Located {
        locate(self, cursor)
    }

    /// See [`read_exact`].
    ///
    /// # Safety
    /// As [`Segment::read_next`].
    pub(crate) unsafe fn read_exact(&self, seq: u64, dst: *mut u8) -> Option<u64> {
        if self.is_lending() {
            // Only the publisher reads a lending topic without pins: its own file, which
            // nobody else writes. Its values sit in any slot.
            debug_assert!(A::WRITABLE);
            let index = (0..self.layout.slot_count).find(|i| self.stamp(*i) == seq << 1)?;
            // SAFETY: the caller's contract.
            return unsafe { read_slot(self, index, seq, dst) };
        }
        // SAFETY: the caller's contract.
        unsafe { read_exact(self, seq, dst) }
    }

    /// See [`highest_stamped_seq`].
    pub(crate) fn highest_stamped_seq(&self) -> u64 {
        highest_stamped_seq(self)
    }

    /// See [`read_highest`].
    ///
    /// # Safety
    /// As [`Segment::read_next`].
    pub(crate) unsafe fn read_highest(&self, dst: *mut u8) -> Option<(u64, u64)> {
        // SAFETY: the caller's contract.
        unsafe { read_highest(self, dst) }
    }
}

impl<A: Access> TopicWords for Segment<A> {
    #[inline]
    fn slot_count(&self) -> u32 {
        self.layout.slot_count
    }

    #[inline]
    fn stamp(&self, index: u32) -> u64 {
        debug_assert!(index < self.layout.slot_count);
        // SAFETY: slot stamps are 8-aligned words inside the validated slot area, accessed only
        // as 8-byte atomics.
        unsafe { copy::load_u64(self.slot_at(index)) }
    }

    #[inline]
    fn time(&self, index: u32) -> u64 {
        debug_assert!(index < self.layout.slot_count);
        // SAFETY: the publish-time word of a slot, 8-aligned and accessed only atomically.
        unsafe { copy::load_u64(self.slot_at(index).add(8)) }
    }

    #[inline]
    unsafe fn copy_out(&self, index: u32, dst: *mut u8) {
        debug_assert!(index < self.layout.slot_count);
        let src = self
            .slot_at(index)
            .wrapping_add(self.layout.data_offset as usize);
        match self.runs() {
            // SAFETY: the data area starts 8-aligned at `data_offset` and its rounded-up length
            // fits in the stride; every process accesses it only as 8-byte atomic words. `dst`
            // is the caller's, valid for `elem_size` bytes.
            None => unsafe { copy::load(src, dst, self.layout.elem_size as usize) },
            // SAFETY: as above; the runs are those of this file's schema, whose values are
            // `elem_size` bytes (`set_runs`), so they lie inside the value and start 8-aligned.
            Some(runs) => unsafe { copy::load_runs(src, dst, runs) },
        }
    }

    #[inline]
    fn publish_seq(&self) -> u64 {
        self.load_u64(OFF_PUBLISH_SEQ)
    }

    #[inline(always)]
    fn fence(order: Ordering) {
        std::sync::atomic::fence(order);
    }
}

impl TopicWordsMut for Segment<ReadWrite> {
    #[inline]
    fn set_stamp(&self, index: u32, stamp: u64, order: Ordering) {
        debug_assert!(index < self.layout.slot_count);
        // SAFETY: as `stamp`, in this writable mapping.
        unsafe { copy::store_u64(self.slot_at(index), stamp, order) }
    }

    #[inline]
    fn set_time(&self, index: u32, time_ns: u64) {
        debug_assert!(index < self.layout.slot_count);
        // SAFETY: as `time`, in this writable mapping.
        unsafe { copy::store_u64(self.slot_at(index).add(8), time_ns, Ordering::Relaxed) }
    }

    #[inline]
    unsafe fn copy_in(&self, index: u32, src: *const u8) {
        debug_assert!(index < self.layout.slot_count);
        let dst = self
            .slot_at(index)
            .wrapping_add(self.layout.data_offset as usize);
        match self.runs() {
            // SAFETY: as `copy_out`, in this writable mapping; `src` is the caller's.
            None => unsafe { copy::store(dst, src, self.layout.elem_size as usize) },
            // SAFETY: as `copy_out`'s runs, in this writable mapping.
            Some(runs) => unsafe { copy::store_runs(dst, src, runs) },
        }
    }

    #[inline]
    fn set_publish_seq(&self, seq: u64, order: Ordering) {
        self.store_u64(OFF_PUBLISH_SEQ, seq, order);
    }

    #[inline]
    fn sleeping(&self) -> u32 {
        self.load_u32(OFF_SLEEPING)
    }

    fn wake_sleepers(&self) {
        Segment::<ReadWrite>::wake_sleepers(self);
    }

    #[inline(always)]
    fn light_fence() {
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    }
}

impl Segment<ReadWrite> {
    /// Publishes `src` (`elem_size` bytes) as value `seq` into slot `index` (`seq % slot_count`,
    /// which the caller keeps track of, sparing a division on every publish). See [`write`].
    ///
    /// # Safety
    /// `src` is valid for reads of `layout().elem_size` initialised bytes; `index == seq %
    /// slot_count`; `1 <= seq <= MAX_SEQ`; the caller holds the publisher lock.
    #[inline]
    pub(crate) unsafe fn write_slot(&self, index: u32, seq: u64, time_ns: u64, src: *const u8) {
        // SAFETY: the caller's contract.
        unsafe { write(self, self.light_fence, index, seq, time_ns, src) }
    }

    /// Publishes a bounded sequence of `len` elements as value `seq` into slot `index`, as
    /// [`write_slot`](Self::write_slot) does a whole value: its length word, then the
    /// `elems.len()` bytes of its elements from `elems`, straight from the caller's memory
    /// (the room past them is left as it was: readers of a sequence copy up to its length).
    ///
    /// # Safety
    /// The topic's values are a bounded sequence (its length word at byte 0, its elements
    /// from byte 8); `len` is at most its capacity and `elems` are `len` valid elements,
    /// initialised and not in shared memory; `index`, `seq` and the lock as for `write_slot`.
    pub(crate) unsafe fn write_sequence_slot(
        &self,
        index: u32,
        seq: u64,
        time_ns: u64,
        len: u64,
        elems: &[u8],
    ) {
        debug_assert!(8 + elems.len() <= self.layout.elem_size as usize);
        debug_assert!(len == 0 || (elems.len() as u64).is_multiple_of(len));
        let dst = self.slot_data(index);
        write_with(self, self.light_fence, index, seq, time_ns, |_| {
            // SAFETY: the value starts 8-aligned at `slot_data` and is accessed by every
            // process only as 8-byte atomic words; its length word and the `elems.len()`
            // bytes after it lie inside it (the caller's contract: at most its capacity),
            // and `elems` is the caller's own memory.
            unsafe {
                copy::store_u64(dst, len, Ordering::Relaxed);
                copy::store(dst.add(8), elems.as_ptr(), elems.len());
            }
        });
    }

    /// [`write_slot`](Self::write_slot), computing the slot.
    ///
    /// # Safety
    /// As `write_slot`, without the condition on `index`.
    pub(crate) unsafe fn write(&self, seq: u64, time_ns: u64, src: *const u8) {
        if self.is_lending() {
            // Values carried into a new file (no pins yet) in turn, each in its own slot.
            let start = (seq % u64::from(self.layout.slot_count)) as u32;
            // SAFETY: the caller's contract.
            unsafe { self.write_lent(seq, start, &[], time_ns, src) };
            return;
        }
        let index = (seq % u64::from(self.layout.slot_count)) as u32;
        // SAFETY: the caller's contract; `index` is `seq`'s slot.
        unsafe { self.write_slot(index, seq, time_ns, src) }
    }
}
