//! The topic file: header layout, creation, validation and the per-slot seqlock.
//! `docs/FORMAT.md` is the specification of what is written here.

use std::fs::File;
use std::marker::PhantomData;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{Ordering, compiler_fence, fence};

use memmap2::{MmapOptions, MmapRaw};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::copy;
use crate::error::{FormatError, IoFailure, OwnerInfo};
use crate::schema::{SchemaDesc, schema_hash_of_encoding};
use crate::sys::ProcessIdentity;

/// First bytes of every topic file.
pub(crate) const MAGIC: [u8; 8] = *b"SHMTOPIC";
/// The format version this library writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// Bytes before the schema: fixed header, owner line, hot line, wait line.
pub(crate) const HEADER_SIZE: u64 = 320;
const FIXED_SIZE: usize = 128;
const CACHE_LINE: u64 = 64;
/// Stamp and publish time at the start of every slot.
const SLOT_META: u64 = 16;
/// Most slots a topic may have.
pub(crate) const MAX_SLOTS: u32 = 4096;
const MAX_ALIGN: u64 = 4096;
const MAX_ELEM_SIZE: u64 = 1 << 32;
const MAX_SCHEMA_LEN: u64 = 1 << 20;
const MAX_TOTAL: u64 = 1 << 40;

// Offsets of the mutable header words (all accessed atomically).
const OFF_OWNER_PID: u64 = 128;
const OFF_OWNER_START: u64 = 136;
const OFF_OWNER_NAME: u64 = 144; // 16 bytes, two words
const OFF_OWNER_COUNT: u64 = 160;
/// On the owner line, written only when the file is taken over or retired, so that readers,
/// which look at it on every read, never pull the publisher's hot line.
const OFF_STATE: u64 = 168;
const OFF_PUBLISH_SEQ: u64 = 200;
/// The futex word sleeping subscribers wait on; the publisher adds 1 before waking them.
const OFF_WAKE: u64 = 256;
/// Nonzero while a subscriber sleeps (or is about to) on the wake word; cleared by the wake.
const OFF_SLEEPING: u64 = 260;
/// Bytes a subscriber maps writable to sleep: the page holding the wake words.
const DOORBELL_LEN: usize = 4096;

/// The segment is the current one for its topic.
pub(crate) const STATE_LIVE: u32 = 1;
/// The segment was replaced or removed: subscribers must reopen the path.
pub(crate) const STATE_RETIRED: u32 = 2;

/// The immutable first 128 bytes of the header, written once before the file gets its name.
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct FixedHeader {
    magic: [u8; 8],
    version: u32,
    header_size: u32,
    segment_id: u64,
    schema_hash: u64,
    elem_size: u64,
    elem_align: u64,
    slot_count: u32,
    data_offset: u32,
    stride: u64,
    slots_offset: u64,
    total_size: u64,
    schema_offset: u32,
    schema_len: u32,
    created_realtime_ns: u64,
    created_monotonic_ns: u64,
    seq_base: u64,
    mode: u32,
    reserved0: u32,
    reserved1: u64,
}

const _: () = assert!(size_of::<FixedHeader>() == FIXED_SIZE);

/// Where everything lives in a segment; a pure function of element size and alignment, slot
/// count and schema length, so a reader recomputes it and compares instead of trusting offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) elem_size: u64,
    pub(crate) elem_align: u64,
    pub(crate) slot_count: u32,
    pub(crate) data_offset: u32,
    pub(crate) stride: u64,
    pub(crate) schema_len: u32,
    pub(crate) slots_offset: u64,
    pub(crate) total_size: u64,
}

impl Layout {
    /// The layout for these parameters, or which parameter is out of range.
    pub(crate) fn compute(
        elem_size: u64,
        elem_align: u64,
        slot_count: u32,
        schema_len: u64,
    ) -> Result<Layout, (&'static str, String)> {
        if !elem_align.is_power_of_two() || elem_align > MAX_ALIGN {
            return Err((
                "elem_align",
                format!("{elem_align} is not a power of two up to {MAX_ALIGN}"),
            ));
        }
        if elem_size > MAX_ELEM_SIZE || !elem_size.is_multiple_of(elem_align) {
            return Err((
                "elem_size",
                format!("{elem_size} is above {MAX_ELEM_SIZE} or not a multiple of the alignment"),
            ));
        }
        if slot_count == 0 || slot_count > MAX_SLOTS {
            return Err((
                "slot_count",
                format!("{slot_count} is not in 1..={MAX_SLOTS}"),
            ));
        }
        if schema_len == 0 || schema_len > MAX_SCHEMA_LEN {
            return Err((
                "schema_len",
                format!("{schema_len} is not in 1..={MAX_SCHEMA_LEN}"),
            ));
        }
        let slot_align = elem_align.max(CACHE_LINE);
        let data_offset = SLOT_META.next_multiple_of(elem_align.max(8));
        let stride = (data_offset + elem_size.next_multiple_of(8)).next_multiple_of(slot_align);
        let slots_offset = (HEADER_SIZE + schema_len).next_multiple_of(slot_align);
        let total = stride
            .checked_mul(u64::from(slot_count))
            .and_then(|s| s.checked_add(slots_offset))
            .filter(|t| *t <= MAX_TOTAL)
            .ok_or(("total_size", format!("more than {MAX_TOTAL} bytes")))?;
        Ok(Layout {
            elem_size,
            elem_align,
            slot_count,
            data_offset: data_offset as u32,
            stride,
            schema_len: schema_len as u32,
            slots_offset,
            total_size: total,
        })
    }
}

/// Access mode of a mapping, as a type: writes exist only on `Segment<ReadWrite>`.
pub(crate) trait Access {
    const WRITABLE: bool;
}
/// Read-only mapping (subscribers).
pub(crate) struct ReadOnly;
/// Read-write mapping (the publisher).
pub(crate) struct ReadWrite;
impl Access for ReadOnly {
    const WRITABLE: bool = false;
}
impl Access for ReadWrite {
    const WRITABLE: bool = true;
}

/// Why a file could not be used as a segment.
#[derive(Debug)]
pub(crate) enum OpenFailure {
    Format(FormatError),
    Io(IoFailure),
}

/// The outcome of trying to take the publisher lock of the file at a topic's path.
pub(crate) enum Claim {
    /// No file at the path.
    Absent,
    /// A live publisher holds it.
    Busy(OwnerInfo),
    /// Locked, but the path named another file by then: look again.
    Moved,
    /// Locked, and still the topic's file; the lock lasts as long as this descriptor.
    Locked(File),
}

/// Opens the file at `path` for writing and takes its publisher lock, checking afterwards that
/// the path still names the file that was locked (another publisher may have replaced it in
/// between). Shared by publishers taking a topic over and by topic removal.
pub(crate) fn claim(path: &Path) -> Result<Claim, IoFailure> {
    let file = match crate::sys::open_existing(path, true) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Claim::Absent),
        Err(e) => return Err(IoFailure::new(path, "open", e)),
    };
    if !crate::sys::try_lock_publisher(&file).map_err(|e| IoFailure::new(path, "lock", e))? {
        return Ok(Claim::Busy(live_owner(file, path)));
    }
    if !crate::sys::names_file(path, &file).map_err(|e| IoFailure::new(path, "inspect", e))? {
        return Ok(Claim::Moved);
    }
    Ok(Claim::Locked(file))
}

/// Who holds the lock of a topic file, for "busy" errors: the owner recorded in its header if
/// that process is still running, else "another process" (one that is just taking the topic
/// over and has not written its name yet, or a header that cannot be read).
fn live_owner(file: File, path: &Path) -> OwnerInfo {
    match Segment::<ReadOnly>::open(file, path) {
        Ok(seg) => {
            let owner = seg.owner();
            if crate::sys::process_is_running(owner.pid, owner.start_ticks) {
                owner
            } else {
                OwnerInfo::unknown()
            }
        }
        Err(_) => OwnerInfo::unknown(),
    }
}

/// The outcome of one attempt to read the newest slot.
pub(crate) enum SlotRead {
    /// Nothing was ever published in this segment.
    Empty,
    /// A consistent copy of the value with this sequence number and publish time.
    Done { seq: u64, time_ns: u64 },
    /// The writer was (or had just been) writing the slot; try again.
    Retry,
}

/// A mapped, validated topic file.
pub(crate) struct Segment<A: Access> {
    map: MmapRaw,
    file: File,
    fixed: FixedHeader,
    layout: Layout,
    dev: u64,
    ino: u64,
    /// Subscribers only: the writable mapping of the wake words, made on the first sleep
    /// (`None` when this process may only read the file).
    doorbell: OnceLock<Option<MmapRaw>>,
    /// Publishers only: this process is registered for heavy fences, so a publish needs only
    /// the light half of the wake-up handshake's fence (see `sys::heavy_fence`). Set by
    /// [`Segment::<ReadWrite>::use_light_fence`].
    light_fence: bool,
    _access: PhantomData<A>,
}

fn inconsistent(field: &'static str, detail: impl Into<String>) -> OpenFailure {
    OpenFailure::Format(FormatError::Inconsistent {
        field,
        detail: detail.into(),
    })
}

impl<A: Access> Segment<A> {
    /// Maps an opened topic file and validates every header field against the file's size
    /// before anything else is read from it.
    pub(crate) fn open(file: File, path: &Path) -> Result<Segment<A>, OpenFailure> {
        let meta = file
            .metadata()
            .map_err(|e| OpenFailure::Io(IoFailure::new(path, "inspect", e)))?;
        if !meta.file_type().is_file() {
            return Err(OpenFailure::Format(FormatError::NotAFile));
        }
        let size = meta.len();
        if size < HEADER_SIZE {
            return Err(OpenFailure::Format(FormatError::TooSmall {
                size,
                min: HEADER_SIZE,
            }));
        }
        let opts = MmapOptions::new();
        let map = if A::WRITABLE {
            // The publisher's lock sits on `file`'s description: map through another one.
            crate::sys::reopen_for_mapping(&file).and_then(|m| opts.map_raw(&m))
        } else {
            opts.map_raw_read_only(&file)
        }
        .map_err(|e| OpenFailure::Io(IoFailure::new(path, "map", e)))?;
        // The file may have shrunk since `metadata`: from here on only the mapping's length
        // counts.
        let size = map.len() as u64;
        if size < HEADER_SIZE {
            return Err(OpenFailure::Format(FormatError::TooSmall {
                size,
                min: HEADER_SIZE,
            }));
        }

        let mut raw = [0u8; FIXED_SIZE];
        // SAFETY: the mapping is page-aligned and at least HEADER_SIZE (> FIXED_SIZE) bytes;
        // header words are only ever accessed as 8-byte atomics; `raw` is local.
        unsafe { copy::load(map.as_ptr(), raw.as_mut_ptr(), FIXED_SIZE) };
        let fixed = FixedHeader::read_from_bytes(&raw).expect("FIXED_SIZE bytes");

        if fixed.magic != MAGIC {
            return Err(OpenFailure::Format(FormatError::BadMagic));
        }
        if fixed.version != FORMAT_VERSION {
            return Err(OpenFailure::Format(FormatError::UnsupportedVersion {
                found: fixed.version,
                supported: FORMAT_VERSION,
            }));
        }
        if u64::from(fixed.header_size) != HEADER_SIZE {
            return Err(inconsistent(
                "header_size",
                format!(
                    "{} (version {FORMAT_VERSION} has {HEADER_SIZE})",
                    fixed.header_size
                ),
            ));
        }
        if u64::from(fixed.schema_offset) != HEADER_SIZE {
            return Err(inconsistent(
                "schema_offset",
                format!(
                    "{} (version {FORMAT_VERSION} has {HEADER_SIZE})",
                    fixed.schema_offset
                ),
            ));
        }
        let layout = Layout::compute(
            fixed.elem_size,
            fixed.elem_align,
            fixed.slot_count,
            u64::from(fixed.schema_len),
        )
        .map_err(|(field, detail)| inconsistent(field, detail))?;
        let stored = [
            (
                "data_offset",
                u64::from(fixed.data_offset),
                u64::from(layout.data_offset),
            ),
            ("stride", fixed.stride, layout.stride),
            ("slots_offset", fixed.slots_offset, layout.slots_offset),
            ("total_size", fixed.total_size, layout.total_size),
        ];
        for (field, found, expected) in stored {
            if found != expected {
                return Err(inconsistent(
                    field,
                    format!("{found}, the layout implies {expected}"),
                ));
            }
        }
        if layout.total_size > size {
            return Err(OpenFailure::Format(FormatError::Truncated {
                size,
                needed: layout.total_size,
            }));
        }
        let seg = Segment::from_parts(map, file, fixed, layout, &meta);
        let blob = seg.schema_bytes();
        let h = schema_hash_of_encoding(&blob);
        if h != fixed.schema_hash {
            return Err(OpenFailure::Format(FormatError::SchemaCorrupt {
                detail: format!(
                    "stored schema hashes to {h:#018x}, the header says {:#018x}",
                    fixed.schema_hash
                ),
            }));
        }
        let state = seg.state();
        if state != STATE_LIVE && state != STATE_RETIRED {
            return Err(inconsistent("state", format!("unknown state {state}")));
        }
        Ok(seg)
    }

    fn from_parts(
        map: MmapRaw,
        file: File,
        fixed: FixedHeader,
        layout: Layout,
        meta: &std::fs::Metadata,
    ) -> Segment<A> {
        Segment {
            map,
            file,
            fixed,
            layout,
            dev: meta.dev(),
            ino: meta.ino(),
            doorbell: OnceLock::new(),
            light_fence: false,
            _access: PhantomData,
        }
    }

    /// Pointer to byte `off` of the mapping.
    ///
    /// Callers pass offsets that `Layout` (validated against the mapping's length at open)
    /// puts inside the mapping; the debug assertion re-checks that.
    fn at(&self, off: u64) -> *mut u8 {
        debug_assert!(off < self.map.len() as u64);
        // SAFETY: `off` is inside the mapping (see above), so the result stays in bounds of the
        // same allocation.
        unsafe { self.map.as_mut_ptr().add(off as usize) }
    }

    fn load_u64(&self, off: u64) -> u64 {
        debug_assert!(off.is_multiple_of(8) && off + 8 <= HEADER_SIZE);
        // SAFETY: header words are 8-aligned inside the (validated) header, accessed by every
        // process only as 8-byte atomics.
        unsafe { copy::load_u64(self.at(off)) }
    }

    fn load_u32(&self, off: u64) -> u32 {
        debug_assert!(off.is_multiple_of(4) && off + 4 <= HEADER_SIZE);
        // SAFETY: as `load_u64`, for the 4-byte header words.
        unsafe { copy::load_u32(self.at(off)) }
    }

    /// The stored canonical schema encoding.
    pub(crate) fn schema_bytes(&self) -> Vec<u8> {
        let len = self.layout.schema_len as usize;
        let mut out = vec![0u8; len];
        // SAFETY: the schema starts 8-aligned at HEADER_SIZE and its rounded-up length ends
        // before `slots_offset`, inside the mapping; it is written once, with atomic words,
        // before the file is published.
        unsafe { copy::load(self.at(HEADER_SIZE), out.as_mut_ptr(), len) };
        out
    }

    /// The stored schema, decoded.
    pub(crate) fn schema_desc(&self) -> Result<SchemaDesc, FormatError> {
        let desc =
            SchemaDesc::decode(&self.schema_bytes()).map_err(|e| FormatError::SchemaCorrupt {
                detail: e.to_string(),
            })?;
        if desc.size != self.layout.elem_size || desc.align != self.layout.elem_align {
            return Err(FormatError::SchemaCorrupt {
                detail: format!(
                    "schema says {} bytes aligned to {}, the header {} aligned to {}",
                    desc.size, desc.align, self.layout.elem_size, self.layout.elem_align
                ),
            });
        }
        Ok(desc)
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    pub(crate) fn schema_hash(&self) -> u64 {
        self.fixed.schema_hash
    }

    pub(crate) fn segment_id(&self) -> u64 {
        self.fixed.segment_id
    }

    pub(crate) fn seq_base(&self) -> u64 {
        self.fixed.seq_base
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Whether `path` names a different file than this segment's (or none).
    pub(crate) fn replaced_at(&self, path: &Path) -> bool {
        match std::fs::symlink_metadata(path) {
            Ok(m) => m.dev() != self.dev || m.ino() != self.ino,
            Err(_) => true,
        }
    }

    pub(crate) fn state(&self) -> u32 {
        self.load_u32(OFF_STATE)
    }

    pub(crate) fn publish_seq(&self) -> u64 {
        self.load_u64(OFF_PUBLISH_SEQ)
    }

    fn wake_word(&self) -> *const u32 {
        self.at(OFF_WAKE).cast::<u32>().cast_const()
    }

    /// Who published (or last published) this topic.
    pub(crate) fn owner(&self) -> OwnerInfo {
        let mut name = [0u8; 16];
        name[..8].copy_from_slice(&self.load_u64(OFF_OWNER_NAME).to_ne_bytes());
        name[8..].copy_from_slice(&self.load_u64(OFF_OWNER_NAME + 8).to_ne_bytes());
        let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
        OwnerInfo {
            pid: self.load_u32(OFF_OWNER_PID),
            process_name: String::from_utf8_lossy(&name[..end]).into_owned(),
            start_ticks: self.load_u64(OFF_OWNER_START),
        }
    }

    fn slot_at(&self, index: u32) -> *mut u8 {
        self.at(self.layout.slots_offset + u64::from(index) * self.layout.stride)
    }

    /// The stamp of slot `index`.
    fn stamp(&self, index: u32) -> u64 {
        // SAFETY: slot stamps are 8-aligned words inside the validated slot area, accessed only
        // as 8-byte atomics.
        unsafe { copy::load_u64(self.slot_at(index)) }
    }

    /// The highest sequence number of a complete value in any slot: a publisher taking the
    /// file over continues after it, so that no complete stamp is ever reused for other data
    /// (readers that follow stamps, see [`read_next`](Self::read_next), rely on that). A value
    /// whose write was interrupted (odd stamp) was never read, so its number may be reused.
    pub(crate) fn highest_stamped_seq(&self) -> u64 {
        (0..self.layout.slot_count)
            .map(|i| self.stamp(i))
            .filter(|stamp| stamp & 1 == 0)
            .map(|stamp| stamp >> 1)
            .max()
            .unwrap_or(0)
    }

    /// Copies the complete value with the highest sequence number in the ring into `dst`
    /// (`elem_size` bytes): the newest value of a file whose publisher is gone, even one killed
    /// before it named that value in the publish sequence. `None` if no slot holds one, or if a
    /// writer changed the slot during the copy.
    ///
    /// # Safety
    /// As [`read_next`](Self::read_next).
    pub(crate) unsafe fn read_highest(&self, dst: *mut u8) -> Option<(u64, u64)> {
        let (index, stamp) = (0..self.layout.slot_count)
            .map(|i| (i, self.stamp(i)))
            .filter(|(_, stamp)| stamp & 1 == 0 && *stamp != 0)
            .max_by_key(|(_, stamp)| *stamp)?;
        let seq = stamp >> 1;
        // SAFETY: the caller's contract.
        unsafe { self.read_slot(index, seq, dst) }.map(|time_ns| (seq, time_ns))
    }

    /// One attempt to copy the newest value into `dst` (`elem_size` bytes), starting from
    /// `cursor` (the newest value this reader found before in this segment; `Cursor::default()`
    /// at first), which it advances.
    ///
    /// Values are written to consecutive slots with stamps `seq << 1`, so from the cursor the
    /// reader follows the slots whose stamps carry the next sequence numbers: the newest
    /// complete value is the last of that run. That touches the cache line of the slot it
    /// reads (and of the next, to see that it is not newer), not the header's publish sequence,
    /// which a polling reader would otherwise pull across CPUs on every publish as well. Without
    /// a cursor, or when the publisher lapped the ring since, the publish sequence names the
    /// newest slot. Either way the slot's stamp must be exactly `seq << 1` (complete, and not a
    /// lap later) before and after the copy.
    ///
    /// # Safety
    /// `dst` is valid for writes of `layout().elem_size` bytes and is not shared memory.
    #[inline]
    pub(crate) unsafe fn read_next(&self, cursor: &mut Cursor, dst: *mut u8) -> SlotRead {
        let (seq, index) = match self.follow(*cursor) {
            Some(found) => found,
            None => {
                let seq = self.publish_seq();
                fence(Ordering::Acquire);
                if seq == 0 {
                    return SlotRead::Empty;
                }
                (seq, (seq % u64::from(self.layout.slot_count)) as u32)
            }
        };
        // SAFETY: the caller's contract.
        match unsafe { self.read_slot(index, seq, dst) } {
            Some(time_ns) => {
                *cursor = Cursor { seq, index };
                SlotRead::Done { seq, time_ns }
            }
            None => SlotRead::Retry,
        }
    }

    /// From `cursor`, the newest value reachable by following consecutive stamps; `None`
    /// without a cursor or when the publisher lapped the ring (or is lapping it).
    #[inline]
    fn follow(&self, cursor: Cursor) -> Option<(u64, u32)> {
        if cursor.seq == 0 {
            return None;
        }
        let n = self.layout.slot_count;
        let (mut seq, mut index) = (cursor.seq, cursor.index);
        for _ in 0..n {
            let next = if index + 1 == n { 0 } else { index + 1 };
            let want = seq.wrapping_add(1).wrapping_shl(1);
            let stamp = self.stamp(next);
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

    /// Copies value `seq` out of slot `index` with the seqlock check; `Some(publish time)` if
    /// the copy is consistent and of that value.
    ///
    /// # Safety
    /// As [`read_next`](Self::read_next).
    #[inline]
    unsafe fn read_slot(&self, index: u32, seq: u64, dst: *mut u8) -> Option<u64> {
        let slot = self.slot_at(index);
        let want = seq.wrapping_shl(1);
        let s1 = self.stamp(index);
        fence(Ordering::Acquire);
        if s1 != want {
            return None;
        }
        // SAFETY: the data area starts 8-aligned at `data_offset` and its rounded-up length fits
        // in the stride; the writer only stores 8-byte atomic words there. `dst` is the caller's.
        unsafe {
            copy::load(
                slot.add(self.layout.data_offset as usize),
                dst,
                self.layout.elem_size as usize,
            )
        };
        // SAFETY: the publish-time word of the slot, an 8-aligned word accessed atomically.
        let time_ns = unsafe { copy::load_u64(slot.add(8)) };
        fence(Ordering::Acquire);
        (self.stamp(index) == s1).then_some(time_ns)
    }
}

/// Where a reader last found the newest value of a segment; see [`Segment::read_next`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    seq: u64,
    index: u32,
}

impl Segment<ReadOnly> {
    /// The wake word's current value, read before a wait step looks at the topic (its value,
    /// the publisher's lock) and passed to [`sleep`](Self::sleep): anything that bumps the word
    /// after this read (a publish to sleepers, a retirement, the publisher's exit) makes that
    /// sleep return at once instead of being lost.
    pub(crate) fn wake_ticket(&self) -> u32 {
        // SAFETY: the wake word is a 4-aligned header word, accessed only atomically; a Relaxed
        // load, sound on this read-only mapping.
        let ticket = unsafe { copy::load_u32(self.wake_word().cast()) };
        // Orders the load before the sleeping flag's store in `sleep`.
        fence(Ordering::SeqCst);
        ticket
    }

    /// Sleeps until the publisher publishes something after `seen` (the newest sequence number
    /// the caller found), the segment is retired or released, or `deadline_ns`
    /// (`CLOCK_MONOTONIC`) passes. May return early; callers look at the topic again.
    ///
    /// The handshake with [`Segment::<ReadWrite>::write`]: the sleeper has read the wake word
    /// (`ticket`), sets the sleeping flag, and only then looks at the publish sequence; the
    /// publisher stores the sequence, then looks at the flag. A full fence separates the store
    /// from the load on each side (on the publisher's, split into a compiler fence and the
    /// sleeper's membarrier), so at least one sees the other's store: either the sleeper sees
    /// the new value and does not sleep, or the publisher sees the flag, bumps the wake word and
    /// wakes it (the kernel refuses to put it to sleep once the word differs from `ticket`).
    ///
    /// A process that may only read the file cannot set the flag; it sleeps at most
    /// `unregistered_poll_ns` at a time instead (and is woken early whenever a registered
    /// subscriber is).
    pub(crate) fn sleep(
        &self,
        ticket: u32,
        seen: u64,
        deadline_ns: u64,
        unregistered_poll_ns: u64,
    ) {
        let poll = deadline_ns.min(crate::sys::monotonic_ns() + unregistered_poll_ns);
        let until = match self.doorbell() {
            Some(bell) => {
                // SAFETY: the doorbell maps the first DOORBELL_LEN bytes of this file writable;
                // the flag is an aligned header word accessed only atomically.
                unsafe { copy::store_u32(bell.add(OFF_SLEEPING as usize), 1, Ordering::SeqCst) };
                fence(Ordering::SeqCst);
                // The heavy half of the fence that publishers registered for it leave out. If
                // the kernel refuses it, such a publisher could miss the flag: poll instead.
                if crate::sys::heavy_fence() {
                    deadline_ns
                } else {
                    poll
                }
            }
            None => poll,
        };
        // Newer than `seen` (which a reader following stamps may find a moment before the
        // publisher names it in the publish sequence, or forever if it died in between).
        if self.publish_seq() > seen || self.state() != STATE_LIVE {
            return;
        }
        // SAFETY: the wake word is a 4-aligned word of this live shared file mapping.
        unsafe { crate::sys::futex_wait(self.wake_word(), ticket, until) };
    }

    /// The writable mapping of the wake words, made once; `None` if this process may not open
    /// the file for writing (then for good), or could not now (then it tries again next time).
    fn doorbell(&self) -> Option<*mut u8> {
        if self.doorbell.get().is_none() {
            let mapped = crate::sys::reopen_writable(&self.file)
                .and_then(|file| MmapOptions::new().len(DOORBELL_LEN).map_raw(&file));
            match mapped {
                Ok(map) => {
                    let _ = self.doorbell.set(Some(map));
                }
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EACCES | libc::EPERM | libc::EROFS)
                    ) =>
                {
                    let _ = self.doorbell.set(None);
                }
                Err(_) => return None,
            }
        }
        self.doorbell
            .get()
            .and_then(Option::as_ref)
            .map(MmapRaw::as_mut_ptr)
    }
}

impl Segment<ReadWrite> {
    /// Writes a fresh header into `file` (sized to `layout.total_size`, not yet named, so no
    /// other process can see it) and maps it.
    pub(crate) fn init(
        file: File,
        path: &Path,
        layout: Layout,
        schema_hash: u64,
        schema: &[u8],
        seq_base: u64,
        mode: u32,
    ) -> Result<Segment<ReadWrite>, IoFailure> {
        // The publisher's lock sits on `file`'s description: map through another one.
        let map = crate::sys::reopen_for_mapping(&file)
            .and_then(|m| {
                MmapOptions::new()
                    .len(layout.total_size as usize)
                    .map_raw(&m)
            })
            .map_err(|e| IoFailure::new(path, "map", e))?;
        let meta = file
            .metadata()
            .map_err(|e| IoFailure::new(path, "inspect", e))?;
        let fixed = FixedHeader {
            magic: MAGIC,
            version: FORMAT_VERSION,
            header_size: HEADER_SIZE as u32,
            segment_id: crate::sys::random_u64(),
            schema_hash,
            elem_size: layout.elem_size,
            elem_align: layout.elem_align,
            slot_count: layout.slot_count,
            data_offset: layout.data_offset,
            stride: layout.stride,
            slots_offset: layout.slots_offset,
            total_size: layout.total_size,
            schema_offset: HEADER_SIZE as u32,
            schema_len: layout.schema_len,
            created_realtime_ns: crate::sys::realtime_ns(),
            created_monotonic_ns: crate::sys::monotonic_ns(),
            seq_base,
            mode,
            reserved0: 0,
            reserved1: 0,
        };
        assert_eq!(schema.len() as u64, u64::from(layout.schema_len));
        // SAFETY: the mapping is page-aligned and `total_size` bytes long, which covers the
        // header and the schema (rounded up to words, before `slots_offset`). Nobody else can
        // reach this unnamed file yet. Sources are local buffers of the given lengths.
        unsafe {
            copy::store(map.as_mut_ptr(), fixed.as_bytes().as_ptr(), FIXED_SIZE);
            copy::store(
                map.as_mut_ptr().add(HEADER_SIZE as usize),
                schema.as_ptr(),
                schema.len(),
            );
        }
        let seg = Segment::from_parts(map, file, fixed, layout, &meta);
        seg.store_u32(OFF_STATE, STATE_LIVE, Ordering::Release);
        Ok(seg)
    }

    fn store_u64(&self, off: u64, v: u64, order: Ordering) {
        debug_assert!(off.is_multiple_of(8) && off + 8 <= HEADER_SIZE);
        // SAFETY: an 8-aligned header word in a writable mapping, accessed only atomically.
        unsafe { copy::store_u64(self.at(off), v, order) }
    }

    fn store_u32(&self, off: u64, v: u32, order: Ordering) {
        debug_assert!(off.is_multiple_of(4) && off + 4 <= HEADER_SIZE);
        // SAFETY: a 4-aligned header word in a writable mapping, accessed only atomically.
        unsafe { copy::store_u32(self.at(off), v, order) }
    }

    /// Records this process as the topic's publisher.
    pub(crate) fn set_owner(&self, me: &ProcessIdentity) {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&me.name[..8]);
        b.copy_from_slice(&me.name[8..]);
        self.store_u32(OFF_OWNER_PID, me.pid, Ordering::Relaxed);
        self.store_u64(OFF_OWNER_START, me.start_ticks, Ordering::Relaxed);
        self.store_u64(OFF_OWNER_NAME, u64::from_ne_bytes(a), Ordering::Relaxed);
        self.store_u64(OFF_OWNER_NAME + 8, u64::from_ne_bytes(b), Ordering::Relaxed);
        let n = self.load_u64(OFF_OWNER_COUNT);
        self.store_u64(OFF_OWNER_COUNT, n.wrapping_add(1), Ordering::Relaxed);
    }

    /// Lets publishes use the light half of the wake-up fence, if this process could register
    /// for the heavy half (see `sys::register_for_heavy_fences`); returns whether it did.
    pub(crate) fn use_light_fence(&mut self) -> bool {
        self.light_fence = crate::sys::register_for_heavy_fences();
        self.light_fence
    }

    /// Tells attached subscribers to reopen the topic's path, and wakes those sleeping on it.
    pub(crate) fn retire(&self) {
        self.store_u32(OFF_STATE, STATE_RETIRED, Ordering::SeqCst);
        self.wake_sleepers();
    }

    /// Releases the publisher lock (the file stays), then wakes sleeping subscribers so they
    /// notice at once that the publisher is gone. Unconditionally: a subscriber that saw the
    /// lock held may not have set the sleeping flag yet, but it read the wake word before it
    /// looked at the lock, so the bump makes its sleep return (see `Segment::sleep`).
    pub(crate) fn release(&self) {
        let _ = crate::sys::unlock_publisher(&self.file);
        self.wake_sleepers();
    }

    /// Wakes every subscriber sleeping on this file. Only called when the sleeping flag is set
    /// (or on rare events: retirement, release), so a publisher nobody waits for makes no
    /// syscall.
    #[cold]
    #[inline(never)]
    fn wake_sleepers(&self) {
        self.store_u32(OFF_SLEEPING, 0, Ordering::SeqCst);
        // SAFETY: the wake word is a 4-aligned header word of this writable mapping, accessed
        // only atomically (and by the kernel's futex code, which only reads it).
        unsafe {
            copy::fetch_add_u32(self.at(OFF_WAKE), 1);
            crate::sys::futex_wake_all(self.wake_word());
        }
    }

    /// Publishes `src` (`elem_size` bytes) as value `seq`. Single writer: the caller holds the
    /// publisher lock. Wait-free: a fixed number of stores, no allocation, and no syscall
    /// unless a subscriber sleeps waiting for this value (then one `FUTEX_WAKE`).
    ///
    /// # Safety
    /// `src` is valid for reads of `layout().elem_size` initialised bytes.
    #[inline]
    pub(crate) unsafe fn write(&self, seq: u64, time_ns: u64, src: *const u8) {
        let index = seq % u64::from(self.layout.slot_count);
        // SAFETY: the caller's contract; `index` is `seq`'s slot.
        unsafe { self.write_slot(index as u32, seq, time_ns, src) }
    }

    /// [`write`](Self::write) for a caller that keeps track of `seq`'s slot (`seq % slot_count`)
    /// itself, sparing a division on every publish.
    ///
    /// # Safety
    /// As `write`, and `index == seq % slot_count`.
    #[inline]
    pub(crate) unsafe fn write_slot(&self, index: u32, seq: u64, time_ns: u64, src: *const u8) {
        debug_assert_eq!(u64::from(index), seq % u64::from(self.layout.slot_count));
        let slot = self.slot_at(index);
        let stamp = seq.wrapping_shl(1);
        // SAFETY: slot words are 8-aligned inside the validated slot area of this writable
        // mapping; every process accesses them only as 8-byte atomics.
        unsafe { copy::store_u64(slot, stamp | 1, Ordering::Relaxed) };
        // Orders the odd stamp before the data stores, for readers that fence after copying.
        fence(Ordering::Release);
        // SAFETY: as above, the time word of the slot.
        unsafe { copy::store_u64(slot.add(8), time_ns, Ordering::Relaxed) };
        // SAFETY: the data area is 8-aligned with room for `elem_size` rounded up to words;
        // `src` is the caller's.
        unsafe {
            copy::store(
                slot.add(self.layout.data_offset as usize),
                src,
                self.layout.elem_size as usize,
            )
        };
        // SAFETY: as above.
        unsafe { copy::store_u64(slot, stamp, Ordering::Release) };
        // Store the sequence, then look at the sleeping flag, with a full fence in between
        // (see `Segment::sleep`): either its light half, a compiler fence whose heavy half
        // sleeping subscribers issue (membarrier), or a sequentially consistent store and load.
        let sleeping = if self.light_fence {
            self.store_u64(OFF_PUBLISH_SEQ, seq, Ordering::Release);
            compiler_fence(Ordering::SeqCst);
            self.load_u32(OFF_SLEEPING)
        } else {
            self.store_u64(OFF_PUBLISH_SEQ, seq, Ordering::SeqCst);
            // SAFETY: an aligned header word of this writable mapping, accessed only atomically.
            unsafe { copy::load_u32_seqcst(self.at(OFF_SLEEPING)) }
        };
        if sleeping != 0 {
            self.wake_sleepers();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_cache_line_aligned() {
        let l = Layout::compute(8, 8, 3, 40).unwrap();
        assert_eq!(l.data_offset, 16);
        assert_eq!(l.stride, 64);
        assert_eq!(l.slots_offset, 384);
        assert_eq!(l.total_size, 384 + 3 * 64);
        let big = Layout::compute(65536, 8, 3, 40).unwrap();
        assert_eq!(big.stride, 65536 + 64);
        let aligned = Layout::compute(128, 128, 2, 40).unwrap();
        assert_eq!(aligned.data_offset, 128);
        assert_eq!(aligned.stride, 256);
        assert_eq!(aligned.slots_offset % 128, 0);
        let odd = Layout::compute(3, 1, 1, 40).unwrap();
        assert_eq!(odd.stride, 64);
    }

    /// A subscriber that asked for a wake-up and died leaves the flag set: the next publish
    /// answers it once (one syscall) and clears it, so later publishes make none. With either
    /// half of the publisher's fence (a process registered for membarrier or not).
    #[test]
    fn a_stale_wake_up_request_costs_one_wake() {
        let dir = std::env::temp_dir().join(format!("shm-seg-test.{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for light_fence in [true, false] {
            let path = dir.join(format!("topic-{light_fence}"));
            let layout = Layout::compute(8, 8, 3, 8).unwrap();
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .unwrap();
            file.set_len(layout.total_size).unwrap();
            let hash = schema_hash_of_encoding(&[0; 8]);
            let mut writer =
                Segment::<ReadWrite>::init(file, &path, layout, hash, &[0; 8], 0, 0o600).unwrap();
            writer.light_fence = light_fence;
            let reader =
                Segment::<ReadOnly>::open(std::fs::File::open(&path).unwrap(), &path).unwrap();
            assert_eq!(writer.load_u32(OFF_SLEEPING), 0);
            // A sleep whose deadline has passed still registers, then returns at once.
            reader.sleep(reader.wake_ticket(), 0, 0, 0);
            assert_eq!(writer.load_u32(OFF_SLEEPING), 1);
            let word = writer.load_u32(OFF_WAKE);
            let value = 5u64;
            // SAFETY: `value` has the 8 bytes of the element.
            unsafe { writer.write(1, 0, (&raw const value).cast()) };
            assert_eq!(
                writer.load_u32(OFF_SLEEPING),
                0,
                "the wake cleared the request"
            );
            assert_eq!(writer.load_u32(OFF_WAKE), word.wrapping_add(1));
            // SAFETY: as above.
            unsafe { writer.write(2, 0, (&raw const value).cast()) };
            assert_eq!(
                writer.load_u32(OFF_WAKE),
                word.wrapping_add(1),
                "no second wake"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn layout_refuses_out_of_range() {
        assert_eq!(Layout::compute(8, 3, 3, 40).unwrap_err().0, "elem_align");
        assert_eq!(Layout::compute(8, 8192, 3, 40).unwrap_err().0, "elem_align");
        assert_eq!(Layout::compute(12, 8, 3, 40).unwrap_err().0, "elem_size");
        assert_eq!(Layout::compute(8, 8, 0, 40).unwrap_err().0, "slot_count");
        assert_eq!(
            Layout::compute(8, 8, MAX_SLOTS + 1, 40).unwrap_err().0,
            "slot_count"
        );
        assert_eq!(Layout::compute(8, 8, 3, 0).unwrap_err().0, "schema_len");
        assert_eq!(
            Layout::compute(1 << 32, 8, MAX_SLOTS, 40).unwrap_err().0,
            "total_size"
        );
    }
}
