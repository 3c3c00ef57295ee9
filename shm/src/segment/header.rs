//! The topic file's header: constants, the fixed 128 bytes written once at creation, the layout
//! they imply, and their validation, a pure function of those bytes and the file's size (so it
//! can be fuzzed without files). `docs/FORMAT.md` is the specification.

use std::fmt;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::error::FormatError;

/// First bytes of every topic file.
pub(crate) const MAGIC: [u8; 8] = *b"SHMTOPIC";
/// The format version this library writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 3;
/// Bytes before the schema: fixed header, owner line, hot line, wait line.
pub(crate) const HEADER_SIZE: u64 = 320;
/// Bytes of the [`FixedHeader`].
pub(crate) const FIXED_SIZE: usize = 128;
const CACHE_LINE: u64 = 64;
/// Stamp and publish time at the start of every slot.
const SLOT_META: u64 = 16;
/// Most slots a topic may have.
pub(crate) const MAX_SLOTS: u32 = 4096;
const MAX_ALIGN: u64 = 4096;
const MAX_ELEM_SIZE: u64 = crate::schema::MAX_MESSAGE_SIZE;
const MAX_SCHEMA_LEN: u64 = 1 << 20;
const MAX_TOTAL: u64 = 1 << 40;
/// Largest sequence number a file may hold (in `seq_base`, `publish_seq` or a stamp). Far beyond
/// what a publisher reaches (146 years at one value per ns), and small enough that `seq + 1`
/// and the stamp `seq << 1 | 1` never overflow: a file claiming more is damaged or hostile.
pub const MAX_SEQ: u64 = 1 << 62;

/// Most pin entries a lending topic may have: the most subscribers it serves.
pub const MAX_LEND_ENTRIES: u32 = 64;
/// Bytes of one pin entry: a word of pins reserved, then [`PINS_PER_ENTRY`] pin words.
pub(crate) const PIN_ENTRY_SIZE: u64 = 64;
/// Pin words of one entry: the most values one subscriber of a lending topic may hold at once
/// ([`SubscriberBuilder::max_borrowed`](crate::SubscriberBuilder::max_borrowed)).
pub const PINS_PER_ENTRY: u32 = 7;
/// Bit of the header's `mode` (above the permission bits) set by a lending topic's publisher
/// that asks for the pin locks of subscribers that may only read the file: only then may they
/// pin with locks. A reader built before it refuses the file (its `mode` check), so no
/// publisher that ignores the locks ever writes such a file.
pub(crate) const MODE_LOCK_PINS: u32 = 1 << 16;
const PAGE: u64 = 4096;

// Offsets of the mutable header words (all accessed atomically).
pub(super) const OFF_OWNER_PID: u64 = 128;
pub(super) const OFF_OWNER_START: u64 = 136;
/// 16 bytes, two words.
pub(super) const OFF_OWNER_NAME: u64 = 144;
pub(super) const OFF_OWNER_COUNT: u64 = 160;
/// On the owner line, written only when the file is taken over or retired, so that readers,
/// which look at it on every read, never pull the publisher's hot line.
pub(super) const OFF_STATE: u64 = 168;
pub(super) const OFF_PUBLISH_SEQ: u64 = 200;
/// Lending topics: the slot of the value `publish_seq` names (a u32), stored before it.
pub(super) const OFF_NEWEST_SLOT: u64 = 208;
/// The futex word sleeping subscribers wait on; the publisher adds 1 before waking them.
pub(super) const OFF_WAKE: u64 = 256;
/// Nonzero while a subscriber sleeps (or is about to) on the wake word; cleared by the wake.
pub(super) const OFF_SLEEPING: u64 = 260;
/// The pid of the publisher that wrote `node_name` (shown only with that owner).
pub(super) const OFF_NODE_PID: u64 = 264;
/// The publisher's node name (UTF-8, NUL-padded, `MAX_NODE_NAME` bytes: six u64 words).
pub(super) const OFF_NODE_NAME: u64 = 272;

/// The segment is the current one for its topic.
pub const STATE_LIVE: u32 = 1;
/// The segment was replaced or removed: subscribers must reopen the path.
pub const STATE_RETIRED: u32 = 2;

/// The immutable first 128 bytes of the header, written once before the file gets its name.
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct FixedHeader {
    pub(super) magic: [u8; 8],
    pub(super) version: u32,
    pub(super) header_size: u32,
    pub(super) segment_id: u64,
    pub(super) schema_hash: u64,
    pub(super) elem_size: u64,
    pub(super) elem_align: u64,
    pub(super) slot_count: u32,
    pub(super) data_offset: u32,
    pub(super) stride: u64,
    pub(super) slots_offset: u64,
    pub(super) total_size: u64,
    pub(super) schema_offset: u32,
    pub(super) schema_len: u32,
    pub(super) created_realtime_ns: u64,
    pub(super) created_monotonic_ns: u64,
    pub(super) seq_base: u64,
    pub(super) mode: u32,
    /// 0 for a copying topic; for a lending topic, the number of pin entries (see
    /// `docs/FORMAT.md`, "Lending topics").
    pub(super) lend_entries: u32,
    /// The `segment_id` of the first file of this topic's unbroken numbering: a file made anew
    /// starts a lineage, a replacement continues the one of the file it replaces.
    pub(super) lineage: u64,
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
    /// Pin entries of a lending topic (0: a copying topic, no pin table).
    pub(crate) lend_entries: u32,
    /// Where the pin table starts (page-aligned; equal to `slots_offset` without one).
    pub(crate) pins_offset: u64,
}

/// Which layout parameter is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LayoutError {
    /// The alignment is not a power of two up to 4096.
    Align(u64),
    /// The element size is above 4 GiB or not a multiple of the alignment.
    ElemSize(u64),
    /// The slot count is not in 2..=4096.
    SlotCount(u32),
    /// The schema encoding is empty or longer than 1 MiB.
    SchemaLen(u64),
    /// A lending topic's pin entries are not in 1..=64.
    LendEntries(u32),
    /// The file would exceed 1 TiB.
    TotalSize,
}

impl LayoutError {
    /// The header field it concerns.
    pub(crate) fn field(self) -> &'static str {
        match self {
            LayoutError::Align(_) => "elem_align",
            LayoutError::ElemSize(_) => "elem_size",
            LayoutError::SlotCount(_) => "slot_count",
            LayoutError::SchemaLen(_) => "schema_len",
            LayoutError::LendEntries(_) => "lend_entries",
            LayoutError::TotalSize => "total_size",
        }
    }
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::Align(a) => write!(f, "{a} is not a power of two up to {MAX_ALIGN}"),
            LayoutError::ElemSize(s) => write!(
                f,
                "{s} is above {MAX_ELEM_SIZE} or not a multiple of the alignment"
            ),
            LayoutError::SlotCount(n) => write!(f, "{n} is not in 2..={MAX_SLOTS}"),
            LayoutError::SchemaLen(n) => write!(f, "{n} is not in 1..={MAX_SCHEMA_LEN}"),
            LayoutError::LendEntries(n) => {
                write!(
                    f,
                    "{n} pin entries, where a topic has 0 or 1..={MAX_LEND_ENTRIES}"
                )
            }
            LayoutError::TotalSize => write!(f, "more than {MAX_TOTAL} bytes"),
        }
    }
}

impl From<LayoutError> for FormatError {
    fn from(e: LayoutError) -> FormatError {
        FormatError::Inconsistent {
            field: e.field(),
            detail: e.to_string(),
        }
    }
}

impl Layout {
    /// The layout of a topic of `schema` with `slot_count` slots (and `lend_entries` pin
    /// entries: 0 for a copying topic).
    pub(crate) fn of(
        schema: &crate::schema::TopicSchema,
        slot_count: u32,
        lend_entries: u32,
    ) -> Result<Layout, LayoutError> {
        Layout::with_pins(
            schema.size() as u64,
            schema.align() as u64,
            slot_count,
            schema.encoding().len() as u64,
            lend_entries,
        )
    }

    /// The layout of a copying topic for these parameters, or which parameter is out of range.
    #[cfg(test)]
    pub(crate) fn compute(
        elem_size: u64,
        elem_align: u64,
        slot_count: u32,
        schema_len: u64,
    ) -> Result<Layout, LayoutError> {
        Layout::with_pins(elem_size, elem_align, slot_count, schema_len, 0)
    }

    /// The layout for these parameters (`lend_entries`: 0, or the pin entries of a lending
    /// topic), or which parameter is out of range.
    pub(crate) fn with_pins(
        elem_size: u64,
        elem_align: u64,
        slot_count: u32,
        schema_len: u64,
        lend_entries: u32,
    ) -> Result<Layout, LayoutError> {
        if lend_entries > MAX_LEND_ENTRIES {
            return Err(LayoutError::LendEntries(lend_entries));
        }
        if !elem_align.is_power_of_two() || elem_align > MAX_ALIGN {
            return Err(LayoutError::Align(elem_align));
        }
        if elem_size > MAX_ELEM_SIZE || !elem_size.is_multiple_of(elem_align) {
            return Err(LayoutError::ElemSize(elem_size));
        }
        // One slot would leave readers nothing but the slot being written (and, after a crash
        // mid-publish, no value at all): two is the least.
        if !(2..=MAX_SLOTS).contains(&slot_count) {
            return Err(LayoutError::SlotCount(slot_count));
        }
        if schema_len == 0 || schema_len > MAX_SCHEMA_LEN {
            return Err(LayoutError::SchemaLen(schema_len));
        }
        let slot_align = elem_align.max(CACHE_LINE);
        let data_offset = SLOT_META.next_multiple_of(elem_align.max(8));
        let stride = (data_offset + elem_size.next_multiple_of(8)).next_multiple_of(slot_align);
        // A lending topic's pin table starts on a page of its own (subscribers map it
        // writable, and only it), and its slots on the next page after it.
        let (pins_offset, slots_offset) = if lend_entries == 0 {
            let slots = (HEADER_SIZE + schema_len).next_multiple_of(slot_align);
            (slots, slots)
        } else {
            let pins = (HEADER_SIZE + schema_len).next_multiple_of(PAGE);
            let end = pins + u64::from(lend_entries) * PIN_ENTRY_SIZE;
            (pins, end.next_multiple_of(slot_align.max(PAGE)))
        };
        let total = stride
            .checked_mul(u64::from(slot_count))
            .and_then(|s| s.checked_add(slots_offset))
            .filter(|t| *t <= MAX_TOTAL)
            .ok_or(LayoutError::TotalSize)?;
        Ok(Layout {
            elem_size,
            elem_align,
            slot_count,
            data_offset: data_offset as u32,
            stride,
            schema_len: schema_len as u32,
            slots_offset,
            total_size: total,
            lend_entries,
            pins_offset,
        })
    }
}

fn inconsistent(field: &'static str, detail: impl Into<String>) -> FormatError {
    FormatError::Inconsistent {
        field,
        detail: detail.into(),
    }
}

impl FixedHeader {
    /// Checks every field of a header read from a file of `file_size` bytes, and returns the
    /// layout it describes. Everything a reader later trusts (offsets inside the file, sequence
    /// numbers that cannot overflow) is established here; the schema's hash is checked by the
    /// caller, which reads the schema at the offsets validated here.
    pub(crate) fn validate(&self, file_size: u64) -> Result<Layout, FormatError> {
        if self.magic != MAGIC {
            return Err(FormatError::BadMagic);
        }
        if self.version != FORMAT_VERSION {
            return Err(FormatError::UnsupportedVersion {
                found: self.version,
                supported: FORMAT_VERSION,
            });
        }
        if u64::from(self.header_size) != HEADER_SIZE {
            return Err(inconsistent(
                "header_size",
                format!(
                    "{} (version {FORMAT_VERSION} has {HEADER_SIZE})",
                    self.header_size
                ),
            ));
        }
        if u64::from(self.schema_offset) != HEADER_SIZE {
            return Err(inconsistent(
                "schema_offset",
                format!(
                    "{} (version {FORMAT_VERSION} has {HEADER_SIZE})",
                    self.schema_offset
                ),
            ));
        }
        let layout = Layout::with_pins(
            self.elem_size,
            self.elem_align,
            self.slot_count,
            u64::from(self.schema_len),
            self.lend_entries,
        )?;
        let stored = [
            (
                "data_offset",
                u64::from(self.data_offset),
                u64::from(layout.data_offset),
            ),
            ("stride", self.stride, layout.stride),
            ("slots_offset", self.slots_offset, layout.slots_offset),
            ("total_size", self.total_size, layout.total_size),
        ];
        for (field, found, expected) in stored {
            if found != expected {
                return Err(inconsistent(
                    field,
                    format!("{found}, the layout implies {expected}"),
                ));
            }
        }
        if layout.total_size > file_size {
            return Err(FormatError::Truncated {
                size: file_size,
                needed: layout.total_size,
            });
        }
        if self.schema_hash == 0 {
            return Err(inconsistent("schema_hash", "0 (hashes are never 0)"));
        }
        if self.segment_id == 0 || self.lineage == 0 {
            return Err(inconsistent(
                if self.segment_id == 0 {
                    "segment_id"
                } else {
                    "lineage"
                },
                "0 (identifiers are never 0)",
            ));
        }
        if self.seq_base > MAX_SEQ {
            return Err(inconsistent(
                "seq_base",
                format!(
                    "{} is above the largest sequence number {MAX_SEQ}",
                    self.seq_base
                ),
            ));
        }
        if self.mode & !(0o7777 | MODE_LOCK_PINS) != 0 {
            return Err(inconsistent(
                "mode",
                format!("{:#o} is not a mode", self.mode),
            ));
        }
        Ok(layout)
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
        let odd = Layout::compute(3, 1, 2, 40).unwrap();
        assert_eq!(odd.stride, 64);
    }

    #[test]
    fn layout_refuses_out_of_range() {
        let field = |r: Result<Layout, LayoutError>| r.unwrap_err().field();
        assert_eq!(field(Layout::compute(8, 3, 3, 40)), "elem_align");
        assert_eq!(field(Layout::compute(8, 8192, 3, 40)), "elem_align");
        assert_eq!(field(Layout::compute(12, 8, 3, 40)), "elem_size");
        assert_eq!(field(Layout::compute(8, 8, 0, 40)), "slot_count");
        assert_eq!(field(Layout::compute(8, 8, 1, 40)), "slot_count");
        assert_eq!(
            field(Layout::compute(8, 8, MAX_SLOTS + 1, 40)),
            "slot_count"
        );
        assert_eq!(field(Layout::compute(8, 8, 3, 0)), "schema_len");
        assert_eq!(
            field(Layout::compute(1 << 32, 8, MAX_SLOTS, 40)),
            "total_size"
        );
    }

    fn valid() -> FixedHeader {
        let layout = Layout::compute(8, 8, 3, 40).unwrap();
        FixedHeader {
            magic: MAGIC,
            version: FORMAT_VERSION,
            header_size: HEADER_SIZE as u32,
            segment_id: 7,
            schema_hash: 9,
            elem_size: 8,
            elem_align: 8,
            slot_count: 3,
            data_offset: layout.data_offset,
            stride: layout.stride,
            slots_offset: layout.slots_offset,
            total_size: layout.total_size,
            schema_offset: HEADER_SIZE as u32,
            schema_len: 40,
            created_realtime_ns: 0,
            created_monotonic_ns: 0,
            seq_base: 0,
            mode: 0o600,
            lend_entries: 0,
            lineage: 7,
        }
    }

    #[test]
    fn a_valid_header_gives_its_layout() {
        let h = valid();
        assert_eq!(
            h.validate(h.total_size).unwrap(),
            Layout::compute(8, 8, 3, 40).unwrap()
        );
        assert!(matches!(
            h.validate(h.total_size - 1),
            Err(FormatError::Truncated { .. })
        ));
    }

    #[test]
    fn out_of_range_numbers_and_reserved_bytes_are_refused() {
        let field = |h: FixedHeader| match h.validate(1 << 20) {
            Err(FormatError::Inconsistent { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(FixedHeader {
                seq_base: MAX_SEQ + 1,
                ..valid()
            }),
            "seq_base"
        );
        assert_eq!(
            field(FixedHeader {
                lend_entries: MAX_LEND_ENTRIES + 1,
                ..valid()
            }),
            "lend_entries"
        );
        // A lending header must describe the lending layout (its slots after the pin table).
        assert_eq!(
            field(FixedHeader {
                lend_entries: 1,
                ..valid()
            }),
            "slots_offset"
        );
        assert_eq!(
            field(FixedHeader {
                lineage: 0,
                ..valid()
            }),
            "lineage"
        );
        assert_eq!(
            field(FixedHeader {
                schema_hash: 0,
                ..valid()
            }),
            "schema_hash"
        );
        assert_eq!(
            field(FixedHeader {
                mode: 0o10_0644,
                ..valid()
            }),
            "mode"
        );
        assert!(matches!(
            FixedHeader {
                version: 2,
                ..valid()
            }
            .validate(1 << 20),
            Err(FormatError::UnsupportedVersion { found: 2, .. })
        ));
    }
}
