//! Creating a topic file, or taking an existing one over: the plan a publisher carries out,
//! one attempt at a time, against other processes changing the path meanwhile.

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::{DEFAULT_MODE, Takeover};
use crate::discovery::{self, Generation};
use crate::error::{CreateError, FormatError, IoFailure};
use crate::name::TopicName;
use crate::schema::TopicSchema;
use crate::segment::{
    Claim, Continues, Layout, LockedFile, MAX_SEQ, OpenFailure, ReadWrite, STATE_LIVE, Segment,
    claim,
};
use crate::sys::{self, ProcessIdentity, Readers};

/// Everything needed to create or take over one topic file.
pub(super) struct Plan<'a> {
    pub(super) root: &'a Path,
    pub(super) path: &'a Path,
    pub(super) topic: &'a TopicName,
    pub(super) layout: Layout,
    /// The values' type (a carried value is checked against it first).
    pub(super) schema: &'a TopicSchema,
    /// The mode asked for, if any.
    pub(super) mode: Option<u32>,
    /// Users and groups given read access besides the mode (an access ACL); only with a mode.
    pub(super) readers: &'a Readers,
    pub(super) me: ProcessIdentity,
    /// The generation file announced to, kept mapped by the publisher for its next creation.
    pub(super) generation: RefCell<Option<Arc<Generation>>>,
}

/// A consistent copy of the last value of a segment being replaced.
#[derive(Clone)]
pub(super) struct Carried {
    pub(super) seq: u64,
    time_ns: u64,
    bytes: Vec<u8>,
}

impl Carried {
    /// The value as one of a type `size` bytes long whose values start as this one's do (a
    /// bounded sequence with more room): its bytes followed by zeros.
    pub(super) fn widened(mut self, size: usize) -> Carried {
        self.bytes.resize(size, 0);
        self
    }

    /// Whether it is a valid value of `schema` (of its size).
    pub(super) fn is_valid(&self, schema: &TopicSchema) -> bool {
        self.bytes.len() == schema.size() && schema.is_valid(&self.bytes)
    }
}

/// A publisher's file, ready: what [`Plan::attempt`] made.
pub(super) struct Created {
    pub(super) seg: Segment<ReadWrite>,
    /// The first sequence number this publisher writes.
    pub(super) next_seq: u64,
    pub(super) takeover: Option<Takeover>,
}

/// What [`Plan::find`] found at the path.
enum Found {
    Absent,
    /// Another process changed the path meanwhile: look again.
    Raced,
    /// A file whose publisher is gone, locked and mapped.
    Old(Box<Segment<ReadWrite>>),
}

/// The outcome of one [`Plan::attempt`].
pub(super) enum Attempt {
    /// Another process changed the path meanwhile: look again.
    Raced,
    Done(Box<Created>),
}

impl Plan<'_> {
    /// What the path holds: nothing, a file another process changed meanwhile, or a file
    /// whose publisher is gone (locked now by this one, and mapped). A live publisher's file,
    /// another user's, or one that is not a topic is an error.
    fn find(&self) -> Result<Found, CreateError> {
        let locked = match claim(self.path)? {
            Claim::Absent => return Ok(Found::Absent),
            Claim::Busy(owner) => {
                return Err(CreateError::Busy {
                    topic: self.topic.as_str().to_owned(),
                    owner,
                });
            }
            Claim::Foreign(owner) => {
                return Err(CreateError::ForeignFile {
                    path: self.path.to_path_buf(),
                    owner,
                });
            }
            Claim::Moved => return Ok(Found::Raced),
            Claim::Locked(locked) => locked,
        };
        match Segment::<ReadWrite>::open(locked.into_inner(), self.path) {
            Ok(s) => Ok(Found::Old(Box::new(s))),
            Err(OpenFailure::Format(source)) => Err(self.format_error(source)),
            Err(OpenFailure::Io(e)) => Err(e.into()),
        }
    }

    /// The last sequence number of a file whose publisher is gone: the one it named, its base,
    /// or a stamp above them (a publisher killed between stamping a slot and naming it leaves
    /// one: continuing after it, no stamp is reused). Refused at `MAX_SEQ`: only a damaged or
    /// hostile file gets there, and continuing would wrap the numbers.
    fn last_seq(&self, old: &Segment<ReadWrite>) -> Result<u64, CreateError> {
        let last = old
            .publish_seq()
            .max(old.seq_base())
            .max(old.highest_stamped_seq());
        if last >= MAX_SEQ {
            return Err(self.format_error(FormatError::Inconsistent {
                field: "publish_seq",
                detail: format!(
                    "the file holds sequence number {last}, at or above the largest one {MAX_SEQ}"
                ),
            }));
        }
        Ok(last)
    }

    /// One try at creating or taking over the file.
    pub(super) fn attempt(&self) -> Result<Attempt, CreateError> {
        let old = match self.find()? {
            Found::Absent => {
                let mode = self.mode.unwrap_or(DEFAULT_MODE);
                return Ok(
                    match self.create_file(Continues::default(), None, false, mode)? {
                        Some(seg) => Attempt::Done(Box::new(Created {
                            seg,
                            next_seq: 1,
                            takeover: None,
                        })),
                        None => Attempt::Raced,
                    },
                );
            }
            Found::Raced => return Ok(Attempt::Raced),
            Found::Old(old) => *old,
        };
        let published = old.publish_seq();
        let last_seq = self.last_seq(&old)?;
        let same_type = old.schema_hash() == self.schema.hash();
        let mut takeover = Takeover {
            previous_publisher: old.owner(),
            last_seq,
            kept_last_value: same_type && published != 0,
            recreated: false,
        };
        // A lending topic made owner-only whose publisher now admits other users: its header
        // (fixed) says no reader pins with locks, so it is made anew with the new mode.
        let admits_readers = self.mode.is_some_and(|m| self.readers.mode(m) & 0o044 != 0)
            && old.is_lending()
            && !old.lock_pins_allowed();
        // A file some users were let read by name (a service's request or reply topic) is
        // never reused: a reader that opened it keeps reading whatever is written into it,
        // whatever its access list says now. It is made anew, with no value carried over when
        // readers are named (the old values were for the old readers).
        let named_readers = !self.readers.is_empty() || sys::has_acl(old.file());
        if same_type
            && *old.layout() == self.layout
            && old.state() == STATE_LIVE
            && !admits_readers
            && !named_readers
        {
            if let Some(mode) = self.mode {
                sys::set_access(old.file(), mode, self.readers)
                    .map_err(|e| IoFailure::new(self.path, "set the access of", e))?;
            }
            old.set_owner(&self.me);
            return Ok(Attempt::Done(Box::new(Created {
                seg: old,
                next_seq: last_seq + 1,
                takeover: Some(takeover),
            })));
        }
        let carried = if same_type
            && old.layout().elem_size == self.layout.elem_size
            && self.readers.is_empty()
        {
            read_last(&old).filter(|c| self.schema.is_valid(&c.bytes))
        } else {
            None
        };
        takeover.kept_last_value = carried.is_some();
        takeover.recreated = true;
        // Unless asked otherwise, the new file is as accessible as the one it replaces (which is
        // ours: `claim` refuses other users' files), so its subscribers can follow it; but not
        // to the group its access list's mask showed as group bits.
        let mode = match self.mode {
            Some(m) => m,
            None => file_mode(old.file())
                .map(|m| if named_readers { m & !0o070 } else { m })
                .map_err(|e| IoFailure::new(self.path, "inspect", e))?,
        };
        let continues = Continues {
            seq_base: last_seq,
            lineage: Some(old.lineage()),
        };
        match self.create_file(continues, carried, true, mode)? {
            Some(seg) => {
                old.retire();
                Ok(Attempt::Done(Box::new(Created {
                    seg,
                    next_seq: last_seq + 1,
                    takeover: Some(takeover),
                })))
            }
            None => Ok(Attempt::Raced),
        }
    }

    /// Names a new file for a publisher whose file was removed or replaced by hand (`continues`
    /// its numbering, `carried` its last value, `mode` its file's mode): at an empty path, or
    /// over a file no live publisher holds (which is retired); never over a live publisher's
    /// (`Busy`: another publisher created the topic meanwhile) or another user's file.
    pub(super) fn recreate(
        &self,
        mut continues: Continues,
        carried: Option<Carried>,
        mode: u32,
    ) -> Result<Attempt, CreateError> {
        let next = |continues: &Continues, seg| {
            Attempt::Done(Box::new(Created {
                seg,
                next_seq: continues.seq_base + 1,
                takeover: None,
            }))
        };
        let old = match self.find()? {
            Found::Absent => {
                return Ok(match self.create_file(continues, carried, false, mode)? {
                    Some(seg) => next(&continues, seg),
                    None => Attempt::Raced,
                });
            }
            Found::Raced => return Ok(Attempt::Raced),
            // A file made at the path meanwhile by a publisher that is gone: replaced.
            Found::Old(old) => *old,
        };
        let theirs = self.last_seq(&old)?;
        // Numbers continue after the higher of the two. If the other file's are higher, this
        // publisher's last value is not carried: given a higher number, a subscriber that read
        // it before would read it again as new; the next publish is the first value there.
        let carried = carried.filter(|_| theirs <= continues.seq_base);
        continues.seq_base = continues.seq_base.max(theirs);
        match self.create_file(continues, carried, true, mode)? {
            Some(seg) => {
                old.retire();
                Ok(next(&continues, seg))
            }
            None => Ok(Attempt::Raced),
        }
    }

    /// Names a new file over this publisher's own (which it holds locked, so no other
    /// publisher can be at the path): for a change of type by the publisher itself, with the
    /// values of its ring (`carried`, oldest first).
    pub(super) fn replace_own(
        &self,
        continues: Continues,
        carried: Vec<Carried>,
        mode: u32,
    ) -> Result<Option<Segment<ReadWrite>>, CreateError> {
        self.create_file(continues, carried, true, mode)
    }

    fn format_error(&self, source: FormatError) -> CreateError {
        CreateError::Format {
            path: self.path.to_path_buf(),
            source,
        }
    }

    /// Creates, initialises and names a new segment file. `Ok(None)` when another process
    /// named its own file first (only when not replacing).
    fn create_file(
        &self,
        continues: Continues,
        carried: impl IntoIterator<Item = Carried>,
        replace: bool,
        mode: u32,
    ) -> Result<Option<Segment<ReadWrite>>, CreateError> {
        let io = |action| move |e| CreateError::from(IoFailure::new(self.path, action, e));
        let created = sys::open_registered(|| sys::create_unnamed(self.root, mode));
        let (file, staged) = created.map_err(|e| {
            CreateError::from(IoFailure::new(self.root, "create a topic file in", e))
        })?;
        let result = (|| {
            if !self.readers.is_empty() {
                sys::set_access(&file, mode, self.readers).map_err(io("give readers access to"))?;
            }
            sys::warn_about_topic_file(self.root, &file, self.layout.total_size);
            file.set_len(self.layout.total_size).map_err(io("size"))?;
            sys::preallocate(&file, self.layout.total_size).map_err(io("allocate"))?;
            let Ok(locked) = LockedFile::lock(file).map_err(io("lock"))? else {
                return Err(IoFailure::new(
                    self.path,
                    "lock",
                    io::Error::other("a brand-new file is already locked"),
                )
                .into());
            };
            let seg = Segment::init(
                locked,
                self.path,
                self.layout,
                self.schema.hash(),
                self.schema.encoding(),
                continues,
                self.readers.mode(mode),
            )?;
            for c in carried {
                if c.bytes.len() as u64 != self.layout.elem_size {
                    continue;
                }
                // SAFETY: `c.bytes` has exactly `elem_size` bytes (checked; a valid value of
                // this type, checked by every caller), and its sequence number is a complete
                // stamp of the old file, at most MAX_SEQ (carried values come oldest first, at
                // most a ring of them, so each lands in its own slot).
                unsafe { seg.write(c.seq, c.time_ns, c.bytes.as_ptr()) };
            }
            seg.set_owner(&self.me);
            let linked = if replace {
                sys::link_replace(seg.file(), staged.as_deref(), self.path)
            } else {
                sys::link_new(seg.file(), staged.as_deref(), self.path)
            };
            match linked {
                Ok(()) => {
                    // After the name exists: subscribers waiting for it look now.
                    *self.generation.borrow_mut() = discovery::announce(self.root);
                    Ok(Some(seg))
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !replace => Ok(None),
                Err(e) => Err(io("name")(e)),
            }
        })();
        if let (Err(_), Some(s)) = (&result, &staged) {
            let _ = std::fs::remove_file(s);
        }
        result
    }
}

/// The newest complete value of a segment whose publisher is gone (so nothing is writing): the
/// one with the highest stamp, which a publisher killed before naming it in the publish sequence
/// may have left above it (readers following stamps may have returned it already).
pub(super) fn read_last(old: &Segment<ReadWrite>) -> Option<Carried> {
    let mut bytes = vec![0u8; old.layout().elem_size as usize];
    // SAFETY: `bytes` has `elem_size` writable bytes.
    let (seq, time_ns) = unsafe { old.read_highest(bytes.as_mut_ptr()) }?;
    Some(Carried {
        seq,
        time_ns,
        bytes,
    })
}

/// The complete values of the ring of a segment only this process writes (its publisher's
/// own), oldest first, up to value `last`: what a publisher changing its file carries over.
pub(super) fn read_ring(seg: &Segment<ReadWrite>, last: u64) -> Vec<Carried> {
    let slots = u64::from(seg.layout().slot_count);
    (last.saturating_sub(slots - 1).max(1)..=last)
        .filter_map(|seq| {
            let mut bytes = vec![0u8; seg.layout().elem_size as usize];
            // SAFETY: `bytes` has `elem_size` writable bytes.
            let time_ns = unsafe { seg.read_exact(seq, bytes.as_mut_ptr()) }?;
            Some(Carried {
                seq,
                time_ns,
                bytes,
            })
        })
        .collect()
}

/// The mode a file keeps when it is replaced: its read bits, and always owner read/write.
pub(super) fn file_mode(file: &std::fs::File) -> io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(file.metadata()?.permissions().mode() & 0o644 | 0o600)
}
