//! A topic file mapped into this process: opening and validating it, creating a new one, and
//! the header fields the rest of the runtime reads. `docs/FORMAT.md` is the specification.
//!
//! - [`header`]: the fixed header, the layout it implies and its validation;
//! - [`ring`]: the slot ring (publish, find and copy the newest value);
//! - [`wake`]: the wake-up handshake of blocking waits (ticket, sleep, doorbell, wake);
//! - [`claim`]: taking a file's publisher lock, and who may own a file we adopt.

mod claim;
pub(crate) mod header;
pub(crate) mod inspect;
pub(crate) mod lend;
pub(crate) mod ring;
pub(crate) mod wake;

use std::fs::File;
use std::marker::PhantomData;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use memmap2::{MmapOptions, MmapRaw};
use zerocopy::{FromBytes, IntoBytes};

use crate::copy::{self, Run};
use crate::error::{FormatError, IoFailure};
use crate::owner::PublisherProcess;
use crate::schema::{SchemaDesc, TopicSchema, schema_hash_of_encoding};
use crate::sys::{GuardedFile, ProcessIdentity};

pub(crate) use claim::{Claim, LockedFile, claim};
pub(crate) use header::{
    FIXED_SIZE, FixedHeader, HEADER_SIZE, Layout, LayoutError, MAX_LEND_ENTRIES, MAX_SEQ,
    MAX_SLOTS, PINS_PER_ENTRY, STATE_LIVE, STATE_RETIRED,
};
use header::{
    OFF_NODE_NAME, OFF_NODE_PID, OFF_OWNER_COUNT, OFF_OWNER_NAME, OFF_OWNER_PID, OFF_OWNER_START,
    OFF_PUBLISH_SEQ, OFF_STATE,
};
pub(crate) use ring::{Cursor, Located, SlotRead};

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

impl From<FormatError> for OpenFailure {
    fn from(e: FormatError) -> OpenFailure {
        OpenFailure::Format(e)
    }
}

/// A mapped, validated topic file.
pub(crate) struct Segment<A: Access> {
    map: MmapRaw,
    file: GuardedFile,
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
    /// What a publish or read copies of a value whose type holds bounded sequences or strings
    /// (set by [`Segment::set_runs`]); `None`: the whole value.
    runs: Option<Arc<[Run]>>,
    /// Subscribers of a lending topic only: their pin entry (see [`lend`]).
    pins: Option<lend::Pins>,
    _access: PhantomData<A>,
}

impl<A: Access> Segment<A> {
    /// Maps an opened topic file and validates every header field against the file's size
    /// before anything else is read from it.
    pub(crate) fn open(
        file: impl Into<GuardedFile>,
        path: &Path,
    ) -> Result<Segment<A>, OpenFailure> {
        let file = file.into();
        let meta = file
            .metadata()
            .map_err(|e| OpenFailure::Io(IoFailure::new(path, "inspect", e)))?;
        if !meta.file_type().is_file() {
            return Err(FormatError::NotAFile.into());
        }
        if meta.len() < HEADER_SIZE {
            return Err(FormatError::TooSmall {
                size: meta.len(),
                min: HEADER_SIZE,
            }
            .into());
        }
        let opts = MmapOptions::new();
        let map = if A::WRITABLE {
            // The publisher's lock sits on `file`'s description: map through another one.
            crate::sys::reopen_for_mapping(&file).and_then(|m| opts.map_raw(&m))
        } else {
            opts.map_raw_read_only(&*file)
        }
        .map_err(|e| OpenFailure::Io(IoFailure::new(path, "map", e)))?;
        // The file may have shrunk since `metadata`: from here on only the mapping's length
        // counts.
        let size = map.len() as u64;
        if size < HEADER_SIZE {
            return Err(FormatError::TooSmall {
                size,
                min: HEADER_SIZE,
            }
            .into());
        }
        let mut raw = [0u8; FIXED_SIZE];
        // SAFETY: the mapping is page-aligned and at least HEADER_SIZE (> FIXED_SIZE) bytes;
        // header words are only ever accessed as 8-byte atomics; `raw` is local.
        unsafe { copy::load(map.as_ptr(), raw.as_mut_ptr(), FIXED_SIZE) };
        let fixed = FixedHeader::read_from_bytes(&raw).expect("FIXED_SIZE bytes");
        let layout = fixed.validate(size)?;
        let seg = Segment::from_parts(map, file, fixed, layout, &meta);
        let h = schema_hash_of_encoding(&seg.schema_bytes());
        if h != fixed.schema_hash {
            return Err(FormatError::SchemaCorrupt {
                detail: format!(
                    "stored schema hashes to {h:#018x}, the header says {:#018x}",
                    fixed.schema_hash
                ),
            }
            .into());
        }
        let state = seg.state();
        if state != STATE_LIVE && state != STATE_RETIRED {
            return Err(FormatError::Inconsistent {
                field: "state",
                detail: format!("unknown state {state}"),
            }
            .into());
        }
        Ok(seg)
    }

    fn from_parts(
        map: MmapRaw,
        file: GuardedFile,
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
            runs: None,
            pins: None,
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

    /// The stored schema, decoded and checked against the header.
    pub(crate) fn topic_schema(&self) -> Result<TopicSchema, FormatError> {
        let schema =
            TopicSchema::decode(&self.schema_bytes()).map_err(|e| FormatError::SchemaCorrupt {
                detail: e.to_string(),
            })?;
        self.check_schema_size(schema.desc())?;
        Ok(schema)
    }

    fn check_schema_size(&self, desc: &SchemaDesc) -> Result<(), FormatError> {
        if desc.size != self.layout.elem_size || desc.align != self.layout.elem_align {
            return Err(FormatError::SchemaCorrupt {
                detail: format!(
                    "schema says {} bytes aligned to {}, the header {} aligned to {}",
                    desc.size, desc.align, self.layout.elem_size, self.layout.elem_align
                ),
            });
        }
        Ok(())
    }

    /// The stored schema, decoded.
    pub(crate) fn schema_desc(&self) -> Result<SchemaDesc, FormatError> {
        let desc =
            SchemaDesc::decode(&self.schema_bytes()).map_err(|e| FormatError::SchemaCorrupt {
                detail: e.to_string(),
            })?;
        self.check_schema_size(&desc)?;
        Ok(desc)
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Copies values of `schema` (this file's) run by run, each bounded sequence or string only
    /// up to its length. Without this, values are copied whole, which is as correct but slower.
    pub(crate) fn set_runs(&mut self, schema: &TopicSchema) {
        if schema.size() as u64 == self.layout.elem_size {
            self.runs = schema.runs().cloned();
        }
    }

    /// See [`set_runs`](Self::set_runs).
    pub(super) fn runs(&self) -> Option<&[Run]> {
        self.runs.as_deref()
    }

    pub(crate) fn schema_hash(&self) -> u64 {
        self.fixed.schema_hash
    }

    pub(crate) fn seq_base(&self) -> u64 {
        self.fixed.seq_base
    }

    /// The numbering this file belongs to: sequence numbers of two files compare only if their
    /// lineages are equal.
    pub(crate) fn lineage(&self) -> u64 {
        self.fixed.lineage
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Whether `path` names a different file than this segment's, or none (a failed look
    /// counts as replaced: the reader looks again by reopening).
    pub(crate) fn replaced_at(&self, path: &Path) -> bool {
        self.names_another(path).unwrap_or(true)
    }

    /// Whether `path` surely names another file than this segment's, or none: as
    /// [`replaced_at`](Self::replaced_at), but a look that fails for another reason than a
    /// missing file says "no".
    pub(crate) fn named_elsewhere(&self, path: &Path) -> bool {
        self.names_another(path).unwrap_or(false)
    }

    fn names_another(&self, path: &Path) -> std::io::Result<bool> {
        match std::fs::symlink_metadata(path) {
            Ok(m) => Ok(m.dev() != self.dev || m.ino() != self.ino),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn state(&self) -> u32 {
        self.load_u32(OFF_STATE)
    }

    pub(crate) fn publish_seq(&self) -> u64 {
        self.load_u64(OFF_PUBLISH_SEQ)
    }

    /// Who published (or last published) this topic.
    pub(crate) fn owner(&self) -> PublisherProcess {
        let mut name = [0u8; 16];
        name[..8].copy_from_slice(&self.load_u64(OFF_OWNER_NAME).to_ne_bytes());
        name[8..].copy_from_slice(&self.load_u64(OFF_OWNER_NAME + 8).to_ne_bytes());
        let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
        let mut node = [0u8; crate::node::MAX_NODE_NAME];
        for (i, chunk) in node.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&self.load_u64(OFF_NODE_NAME + 8 * i as u64).to_ne_bytes());
        }
        let pid = self.load_u32(OFF_OWNER_PID);
        // The name is the owner's only if the owner wrote it (not an older version's
        // publisher that took over, nor one half-way through taking over).
        let node_name = if self.load_u32(OFF_NODE_PID) == pid {
            crate::node::from_header(&node)
        } else {
            String::new()
        };
        PublisherProcess {
            pid,
            process_name: String::from_utf8_lossy(&name[..end]).into_owned(),
            start_ticks: self.load_u64(OFF_OWNER_START),
            node_name,
        }
    }
}

/// What a new file continues: the numbering and lineage of the file it replaces, if any.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Continues {
    /// The last sequence number of the replaced file (0 for a file made anew).
    pub(crate) seq_base: u64,
    /// Its lineage (`None` for a file made anew, which starts its own).
    pub(crate) lineage: Option<u64>,
}

impl Segment<ReadWrite> {
    /// Writes a fresh header into `file` (sized to `layout.total_size`, not yet named, so no
    /// other process can see it) and maps it.
    pub(crate) fn init(
        file: LockedFile,
        path: &Path,
        layout: Layout,
        schema_hash: u64,
        schema: &[u8],
        continues: Continues,
        mode: u32,
    ) -> Result<Segment<ReadWrite>, IoFailure> {
        let file = file.into_inner();
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
        let segment_id = crate::sys::random_nonzero_u64();
        let fixed = FixedHeader {
            magic: header::MAGIC,
            version: header::FORMAT_VERSION,
            header_size: HEADER_SIZE as u32,
            segment_id,
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
            seq_base: continues.seq_base,
            // A lending topic other users may read: its publishers ask for their pin locks.
            mode: if layout.lend_entries > 0 && mode & 0o044 != 0 {
                mode | header::MODE_LOCK_PINS
            } else {
                mode
            },
            lend_entries: layout.lend_entries,
            lineage: continues.lineage.unwrap_or(segment_id),
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
        let node = crate::node::header_bytes();
        for (i, chunk) in node.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let off = OFF_NODE_NAME + 8 * i as u64;
            self.store_u64(off, u64::from_ne_bytes(word), Ordering::Relaxed);
        }
        // Last: the name is this owner's from now on.
        self.store_u32(OFF_NODE_PID, me.pid, Ordering::Release);
        let n = self.load_u64(OFF_OWNER_COUNT);
        self.store_u64(OFF_OWNER_COUNT, n.wrapping_add(1), Ordering::Relaxed);
    }

    /// Lets publishes use the light half of the wake-up fence, if this process could register
    /// for the heavy half (see `sys::register_for_heavy_fences`); returns whether it did.
    pub(crate) fn use_light_fence(&mut self) -> bool {
        self.light_fence = crate::sys::register_for_heavy_fences();
        self.light_fence
    }
}
