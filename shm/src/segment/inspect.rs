//! Looking at topic files without subscribing to them: what the `shm` tool lists and describes.
//! Files are read with `pread`, never mapped, so a file another user truncates meanwhile gives a
//! short read (an error for that file), never a SIGBUS in the tool; every header is validated
//! as a subscriber validates it.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zerocopy::FromBytes;

use super::header::{
    FIXED_SIZE, FixedHeader, HEADER_SIZE, MAX_SEQ, OFF_NEWEST_SLOT, OFF_NODE_NAME, OFF_NODE_PID,
    OFF_OWNER_COUNT, OFF_OWNER_NAME, OFF_OWNER_PID, OFF_OWNER_START, OFF_PUBLISH_SEQ, OFF_SLEEPING,
    OFF_STATE, PIN_ENTRY_SIZE, PINS_PER_ENTRY, STATE_LIVE,
};
use crate::discovery::GENERATION_PREFIX;
use crate::error::{FormatError, InspectError, IoFailure};
use crate::name::{TopicName, default_root};
use crate::owner::{FileOwner, PublisherProcess};
use crate::schema::{TopicSchema, schema_hash_of_encoding};
use crate::subscriber::Timestamp;

/// What a topic file says about its topic: type, layout, publisher, newest value, owner.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TopicInfo {
    /// The topic name.
    pub topic: String,
    /// The file.
    pub path: PathBuf,
    /// The message type.
    pub schema: Arc<TopicSchema>,
    /// Number of slots (`buffer_num`).
    pub slots: u32,
    /// Bytes from one slot to the next.
    pub stride: u64,
    /// Offset of the first slot.
    pub slots_offset: u64,
    /// File size in bytes.
    pub file_size: u64,
    /// The file's owner and mode.
    pub owner: FileOwner,
    /// The (last) publisher recorded in the header.
    pub publisher: PublisherProcess,
    /// Whether a live publisher holds the topic's lock now.
    pub publisher_alive: bool,
    /// How many publishers have owned the file.
    pub publishers: u64,
    /// Sequence number of the newest value (0: none yet).
    pub last_seq: u64,
    /// When the newest value was published.
    pub last_published: Option<Timestamp>,
    /// When the file was created, ns since the Unix epoch.
    pub created_unix_ns: u64,
    /// The last sequence number of the file this one replaced (0 if none).
    pub seq_base: u64,
    /// Whether a subscriber sleeps waiting for a value (or asked to, and died).
    pub sleeping: bool,
    /// Whether the file was replaced or removed (it is still named only for a moment).
    pub retired: bool,
    /// A lending topic's subscribers and pins (`None` for a copying topic).
    pub lending: Option<LendingInfo>,
}

/// What a lending topic's pin table says now (see `docs/FORMAT.md`, "Lending topics").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LendingInfo {
    /// Pin entries: the most subscribers the topic serves.
    pub entries: u32,
    /// Entries taken by subscribers (live, or gone and not reclaimed yet).
    pub subscribers: u32,
    /// Slots those subscribers reserved (each may hold that many values at once).
    pub reserved: u32,
    /// Distinct slots pinned right now (values borrowed or being copied).
    pub pinned: u32,
    /// Of `reserved`, the slots reserved by subscribers that may only read the file (other
    /// users'), which pin with locks and take no entry.
    pub reserved_by_readers: u32,
}

/// One directory entry of a topic directory.
#[derive(Debug)]
#[non_exhaustive]
pub enum Entry {
    /// A topic file.
    Topic(Box<TopicInfo>),
    /// A file named like a topic (`shm.*`) that is not a valid one (damaged, foreign, another
    /// format version), or that could not be read.
    Invalid {
        /// The file.
        path: PathBuf,
        /// The topic its name decodes to, if it does.
        topic: Option<String>,
        /// Why it is not a topic.
        error: InspectError,
    },
    /// A user's generation file (`.shm-generation.<uid>`, see `docs/FORMAT.md`).
    Generation {
        /// The file.
        path: PathBuf,
    },
    /// Anything else in the directory.
    Other {
        /// The file.
        path: PathBuf,
    },
}

/// Every entry of the topic directory `root` (`None`: `$SHM_ROOT`, else `/dev/shm`), sorted by
/// file name. A file that is not a topic is listed as such; nothing in it stops the listing.
///
/// Only the names are read up front: each file is opened and described when the iterator
/// reaches it, so a listing holds one file's description at a time, and the work per file is
/// bounded by what its header may hold (a schema of at most 1 MiB, decoded in time linear in
/// its length), whatever size of value it claims.
pub fn list(root: Option<&Path>) -> io::Result<Entries> {
    let root = root.map_or_else(default_root, Path::to_path_buf);
    let mut names: Vec<_> = std::fs::read_dir(&root)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort();
    Ok(Entries {
        root,
        names: names.into_iter(),
        keep: None,
    })
}

/// Which topics a listing describes (by topic name).
type TopicFilter = Box<dyn FnMut(&str) -> bool>;

/// The entries of a topic directory, described one at a time; see [`list`].
pub struct Entries {
    root: PathBuf,
    names: std::vec::IntoIter<std::ffi::OsString>,
    keep: Option<TopicFilter>,
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("root", &self.root)
            .field("left", &self.names.len())
            .finish_non_exhaustive()
    }
}

impl Entries {
    /// Only the topic files whose topic name `keep` accepts; other files (topics or not) are
    /// skipped without being opened.
    pub fn topics_where(mut self, keep: impl FnMut(&str) -> bool + 'static) -> Entries {
        self.keep = Some(Box::new(keep));
        self
    }
}

impl Iterator for Entries {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let file_name = self.names.next()?;
            let path = self.root.join(&file_name);
            let name = file_name.to_string_lossy();
            if let Some(keep) = self.keep.as_mut() {
                let topic = name
                    .starts_with(crate::name::FILE_PREFIX)
                    .then(|| TopicName::from_file_name(&name))
                    .flatten();
                match topic {
                    Some(t) if keep(t.as_str()) => {}
                    _ => continue,
                }
            }
            return Some(describe(&self.root, path, &name));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.names.len()))
    }
}

/// The entry of the file `name` in `root`.
fn describe(root: &Path, path: PathBuf, name: &str) -> Entry {
    if name.starts_with(GENERATION_PREFIX) {
        return Entry::Generation { path };
    }
    if !name.starts_with(crate::name::FILE_PREFIX) {
        return Entry::Other { path };
    }
    let topic = TopicName::from_file_name(name).map(|t| t.as_str().to_owned());
    match (&topic, inspect_file(&path)) {
        (Some(topic), Ok(mut info)) => {
            info.topic.clone_from(topic);
            Entry::Topic(Box::new(info))
        }
        (_, Err(error)) => Entry::Invalid { path, topic, error },
        (None, Ok(_)) => Entry::Invalid {
            path,
            topic: None,
            error: InspectError::Format {
                path: root.join(name),
                source: FormatError::Inconsistent {
                    field: "file name",
                    detail: "a valid topic file whose name is not a topic name (one an older \
                             version allowed: `shm clean --invalid` removes it, or rename it)"
                        .into(),
                },
            },
        },
    }
}

/// What the file of `topic` in `root` (`None`: `$SHM_ROOT`, else `/dev/shm`) says.
pub fn inspect(root: Option<&Path>, topic: &str) -> Result<TopicInfo, InspectError> {
    let name = TopicName::new(topic).map_err(InspectError::InvalidName)?;
    let root = root.map_or_else(default_root, Path::to_path_buf);
    let mut info = inspect_file(&root.join(name.file_name()))?;
    name.as_str().clone_into(&mut info.topic);
    Ok(info)
}

/// What the topic file at `path` says (its `topic` field is left empty).
fn inspect_file(path: &Path) -> Result<TopicInfo, InspectError> {
    let io_err = |action: &'static str| {
        move |source: io::Error| InspectError::Io(IoFailure::new(path, action, source))
    };
    let format = |source: FormatError| InspectError::Format {
        path: path.to_path_buf(),
        source,
    };
    let file = match crate::sys::open_existing(path, false) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(InspectError::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err("open")(e)),
    };
    let meta = file.metadata().map_err(io_err("inspect"))?;
    if !meta.is_file() {
        return Err(format(FormatError::NotAFile));
    }
    let size = meta.len();
    if size < HEADER_SIZE {
        return Err(format(FormatError::TooSmall {
            size,
            min: HEADER_SIZE,
        }));
    }
    let mut raw = [0u8; FIXED_SIZE];
    read_exact_at(&file, &mut raw, 0).map_err(io_err("read"))?;
    let fixed = FixedHeader::read_from_bytes(&raw).expect("FIXED_SIZE bytes");
    let layout = fixed.validate(size).map_err(format)?;
    let mut encoding = vec![0u8; layout.schema_len as usize];
    read_exact_at(&file, &mut encoding, HEADER_SIZE).map_err(io_err("read"))?;
    let hash = schema_hash_of_encoding(&encoding);
    if hash != fixed.schema_hash {
        return Err(format(FormatError::SchemaCorrupt {
            detail: format!(
                "stored schema hashes to {hash:#018x}, the header says {:#018x}",
                fixed.schema_hash
            ),
        }));
    }
    let schema = TopicSchema::decode(&encoding).map_err(|e| {
        format(FormatError::SchemaCorrupt {
            detail: e.to_string(),
        })
    })?;
    if schema.size() as u64 != layout.elem_size || schema.align() as u64 != layout.elem_align {
        return Err(format(FormatError::SchemaCorrupt {
            detail: "the schema's size or alignment is not the header's".into(),
        }));
    }
    let word = |off: u64| -> Result<u64, InspectError> {
        let mut b = [0u8; 8];
        read_exact_at(&file, &mut b, off).map_err(io_err("read"))?;
        Ok(u64::from_ne_bytes(b))
    };
    let word32 = |off: u64| -> Result<u32, InspectError> {
        let mut b = [0u8; 4];
        read_exact_at(&file, &mut b, off).map_err(io_err("read"))?;
        Ok(u32::from_ne_bytes(b))
    };
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(&word(OFF_OWNER_NAME)?.to_ne_bytes());
    name[8..].copy_from_slice(&word(OFF_OWNER_NAME + 8)?.to_ne_bytes());
    let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
    let mut node = [0u8; crate::node::MAX_NODE_NAME];
    for (i, chunk) in node.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&word(OFF_NODE_NAME + 8 * i as u64)?.to_ne_bytes());
    }
    let pid = word32(OFF_OWNER_PID)?;
    // The name is the owner's only if the owner wrote it (see `Segment::owner`).
    let node_name = if word32(OFF_NODE_PID)? == pid {
        crate::node::from_header(&node)
    } else {
        String::new()
    };
    let publisher = PublisherProcess {
        pid,
        process_name: String::from_utf8_lossy(&name[..end]).into_owned(),
        start_ticks: word(OFF_OWNER_START)?,
        node_name,
    };
    // The newest complete value: the one the publish sequence names, or the one after it if a
    // publisher was killed between stamping it and naming it.
    let slot =
        |seq: u64| layout.slots_offset + (seq % u64::from(layout.slot_count)) * layout.stride;
    let published = word(OFF_PUBLISH_SEQ)?.min(MAX_SEQ);
    let mut last = (0, None);
    for seq in [published + 1, published] {
        if seq != 0 && word(slot(seq))? == seq << 1 {
            last = (seq, Some(Timestamp(word(slot(seq) + 8)?)));
            break;
        }
    }
    let publisher_alive =
        crate::sys::publisher_lock_held(&file).map_err(io_err("query the lock of"))?;
    let lending = if layout.lend_entries == 0 {
        None
    } else {
        // The newest value of a lending topic is in the slot the header names.
        let published = word(OFF_PUBLISH_SEQ)?.min(MAX_SEQ);
        let index = u64::from(word32(OFF_NEWEST_SLOT)?);
        let at = layout.slots_offset + index * layout.stride;
        last = (0, None);
        if published != 0 && index < u64::from(layout.slot_count) && word(at)? == published << 1 {
            last = (published, Some(Timestamp(word(at + 8)?)));
        }
        let mut table = vec![0u8; (u64::from(layout.lend_entries) * PIN_ENTRY_SIZE) as usize];
        read_exact_at(&file, &mut table, layout.pins_offset).map_err(io_err("read"))?;
        let words: Vec<u64> = table
            .chunks_exact(8)
            .map(|w| u64::from_ne_bytes(w.try_into().expect("8 bytes")))
            .collect();
        let (mut subscribers, mut reserved, mut pinned) = (0, 0u32, Vec::new());
        for entry in words.chunks_exact(8) {
            if entry[0] != 0 {
                subscribers += 1;
                reserved = reserved.saturating_add(entry[0].min(u64::from(PINS_PER_ENTRY)) as u32);
            }
            for p in &entry[1..] {
                if *p != 0 && *p <= u64::from(layout.slot_count) && !pinned.contains(p) {
                    pinned.push(*p);
                }
            }
        }
        // Subscribers that may only read the file reserve and pin with locks (a topic made
        // readable by group or others).
        let mut by_locks = 0;
        if fixed.mode & super::header::MODE_LOCK_PINS != 0 {
            let bytes = |base| {
                super::lend::locked_bytes(&file, base, layout.slot_count)
                    .map_err(io_err("query the pin locks of"))
            };
            by_locks = bytes(super::lend::LOCK_RESERVE_BASE)?.len() as u32;
            for slot in bytes(super::lend::LOCK_PIN_BASE)? {
                let p = u64::from(slot) + 1;
                if !pinned.contains(&p) {
                    pinned.push(p);
                }
            }
        }
        Some(LendingInfo {
            entries: layout.lend_entries,
            subscribers,
            reserved: reserved.saturating_add(by_locks),
            pinned: pinned.len() as u32,
            reserved_by_readers: by_locks,
        })
    };
    Ok(TopicInfo {
        topic: String::new(),
        path: path.to_path_buf(),
        schema: Arc::new(schema),
        slots: layout.slot_count,
        stride: layout.stride,
        slots_offset: layout.slots_offset,
        file_size: size,
        owner: FileOwner::of(&meta),
        publisher,
        publisher_alive,
        publishers: word(OFF_OWNER_COUNT)?,
        last_seq: last.0,
        last_published: last.1,
        created_unix_ns: fixed.created_realtime_ns,
        seq_base: fixed.seq_base,
        sleeping: word32(OFF_SLEEPING)? != 0,
        retired: word32(OFF_STATE)? != STATE_LIVE,
        lending,
    })
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset)
}

/// The size of the file of a topic of `schema` with `buffer_num` slots (what a publisher
/// creates, on a file system that allocates it all), or `None` if no such topic can be made
/// (a slot count out of range, a file above the format's limit). For budgets, such as a
/// bridge's limit on what peers may make it create.
pub fn topic_file_size(schema: &TopicSchema, buffer_num: usize) -> Option<u64> {
    let slots = u32::try_from(buffer_num).ok()?;
    super::Layout::of(schema, slots, 0)
        .ok()
        .map(|layout| layout.total_size)
}

/// The uid owning the file at `path` (for the tool's listing of generation files).
pub fn file_owner(path: &Path) -> io::Result<FileOwner> {
    std::fs::symlink_metadata(path).map(|m| FileOwner::of(&m))
}
