//! The publishing side of a topic.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use std::cell::RefCell;
use std::sync::Arc;

use crate::discovery::{self, Generation};
use crate::error::{CreateError, FormatError, IoFailure, OwnerInfo};
use crate::message::ShmMessage;
use crate::name::{TopicName, default_root};
use crate::segment::{
    Claim, Continues, Layout, LayoutError, LockedFile, MAX_SEQ, MAX_SLOTS, OpenFailure, ReadWrite,
    STATE_LIVE, Segment, claim,
};
use crate::sys::{self, ProcessIdentity};

/// Default number of slots in a topic's ring (the seed's `buffer_num=3`).
pub const DEFAULT_BUFFER_NUM: usize = 3;
/// Largest `buffer_num` accepted.
pub const MAX_BUFFER_NUM: usize = MAX_SLOTS as usize;
/// Smallest `buffer_num` accepted: with two slots the publisher always writes a slot readers
/// are not reading, so a publisher killed mid-write can never take the last value with it.
pub const MIN_BUFFER_NUM: usize = 2;
/// Default permission mode of a new topic file: owner read/write only.
pub const DEFAULT_MODE: u32 = 0o600;

/// Publishes values of `T` on one topic. One live publisher per topic.
///
/// Creating a publisher creates the topic's file, or takes it over when its previous publisher
/// is gone (exited, crashed or killed). When the previous file has the same type and slot
/// count it is reused in place, so subscribers keep the last value and see sequence numbers
/// continue; otherwise a new file replaces it atomically (carrying the last value over when the
/// type is the same) and attached subscribers reattach to it.
///
/// ```no_run
/// let mut publisher = shm::Publisher::<f64>::new("sensors/temperature")?;
/// publisher.publish(&21.5);
/// # Ok::<(), shm::CreateError>(())
/// ```
pub struct Publisher<T: ShmMessage> {
    seg: Segment<ReadWrite>,
    topic: TopicName,
    path: PathBuf,
    next_seq: u64,
    /// `next_seq % slot_count`, kept up to date without a division.
    next_slot: u32,
    slot_count: u32,
    timestamps: Timestamps,
    takeover: Option<Takeover>,
    fork_generation: u64,
    /// The user's generation file this publisher announced its topic to, kept mapped while it
    /// lives so that creating many topics maps it once.
    _generation: Option<Arc<Generation>>,
    _type: PhantomData<fn(&T)>,
}

/// How a publisher stamps its values with their publish time ([`Sample::published`]).
///
/// [`Sample::published`]: crate::Sample::published
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Timestamps {
    /// `CLOCK_MONOTONIC` to the nanosecond (the default): about 20 ns of each publish.
    #[default]
    Precise,
    /// The same clock as of the kernel's last timer tick (`CLOCK_MONOTONIC_COARSE`, 1–4 ms
    /// resolution; never ahead of the precise clock): a few ns. For publishers whose rate
    /// matters more than their subscribers' view of a value's age, which then reads up to a
    /// tick too old (so `max_age` expires values up to a tick early).
    Coarse,
}

/// Errors of [`Publisher::try_publish`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The publisher was created in a parent process, and this is a child made by `fork`:
    /// two processes writing one topic would defeat its consistency checks.
    ForkedProcess,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::ForkedProcess => f.write_str(
                "this publisher belongs to the process that created it, not to a child made by fork; create the publisher in the child instead (or use a spawn/forkserver start method)",
            ),
        }
    }
}

impl std::error::Error for PublishError {}

/// What a new publisher found when it took over an existing topic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Takeover {
    /// The publisher recorded in the old header (no longer running).
    pub previous_owner: OwnerInfo,
    /// The last sequence number published before; this publisher continues after it.
    pub last_seq: u64,
    /// Whether subscribers still see the last value.
    pub kept_last_value: bool,
    /// Whether the file was replaced (another type or `buffer_num`) rather than reused.
    pub recreated: bool,
}

/// Options for creating a [`Publisher`]; see [`Publisher::builder`].
#[must_use = "call .create() to create the publisher"]
pub struct PublisherBuilder<T: ShmMessage> {
    topic: String,
    buffer_num: usize,
    mode: Option<u32>,
    root: Option<PathBuf>,
    timestamps: Timestamps,
    _type: PhantomData<fn(&T)>,
}

impl<T: ShmMessage> fmt::Debug for PublisherBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublisherBuilder")
            .field("topic", &self.topic)
            .field("type", &T::SCHEMA.type_name())
            .field("buffer_num", &self.buffer_num)
            .field("mode", &self.mode)
            .field("root", &self.root)
            .field("timestamps", &self.timestamps)
            .finish()
    }
}

impl<T: ShmMessage> PublisherBuilder<T> {
    /// How values are stamped with their publish time (default [`Timestamps::Precise`]).
    pub fn timestamps(mut self, timestamps: Timestamps) -> Self {
        self.timestamps = timestamps;
        self
    }

    /// Number of slots in the ring (default 3). More slots let slow readers finish a copy while
    /// the publisher keeps writing; each costs one message-size slot of memory.
    pub fn buffer_num(mut self, n: usize) -> Self {
        self.buffer_num = n;
        self
    }

    /// Permission bits of the topic file (default `0o600`, owner only). Must include `0o600`
    /// and may add read access: `0o640` lets the owner's group subscribe, `0o644` everyone.
    /// Subscribers need no write access, so none can be given (a blocking wait in a process
    /// that may only read the file looks for new values every millisecond instead of being
    /// woken). When set, it also applies
    /// to an existing topic file this publisher takes over; when not set, a taken-over file
    /// keeps its mode.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Directory of topic files (default: `$SHM_ROOT`, else `/dev/shm`).
    pub fn root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.root = Some(dir.into());
        self
    }

    /// Creates the topic, or takes it over from a publisher that is gone.
    pub fn create(self) -> Result<Publisher<T>, CreateError> {
        let topic = TopicName::new(&self.topic).map_err(CreateError::InvalidName)?;
        if !(MIN_BUFFER_NUM..=MAX_BUFFER_NUM).contains(&self.buffer_num) {
            return Err(CreateError::InvalidBufferNum {
                requested: self.buffer_num,
                min: MIN_BUFFER_NUM,
                max: MAX_BUFFER_NUM,
            });
        }
        if let Some(mode) = self.mode.filter(|m| m & 0o600 != 0o600 || m & !0o644 != 0) {
            return Err(CreateError::InvalidMode { mode });
        }
        let schema = T::SCHEMA.encode();
        let layout = Layout::compute(
            size_of::<T>() as u64,
            align_of::<T>() as u64,
            self.buffer_num as u32,
            schema.len() as u64,
        )
        .map_err(|e| match e {
            LayoutError::ElemSize(_) | LayoutError::TotalSize => CreateError::TooLarge {
                bytes: (size_of::<T>() as u64).saturating_mul(self.buffer_num as u64),
            },
            other => CreateError::UnsupportedType {
                detail: format!("{}: {other}", other.field()),
            },
        })?;
        let root = self.root.unwrap_or_else(default_root);
        let path = root.join(topic.file_name());
        let plan = Plan {
            root: &root,
            path: &path,
            topic: &topic,
            layout,
            schema: &schema,
            schema_hash: T::SCHEMA.hash(),
            validate: &|bytes| T::SCHEMA.bytes_valid(bytes),
            mode: self.mode,
            me: ProcessIdentity::current(),
            generation: RefCell::new(None),
        };
        let fork_generation = sys::fork_generation()
            .map_err(|e| IoFailure::new(&root, "register the fork handler for", e))?;
        // Each pass either finishes or observed another process change the path meanwhile.
        for _ in 0..16 {
            if let Attempt::Done(created) = plan.attempt()? {
                let Created {
                    mut seg,
                    next_seq,
                    takeover,
                } = *created;
                seg.use_light_fence();
                let slot_count = seg.layout().slot_count;
                let generation = plan.generation.take();
                return Ok(Publisher {
                    next_slot: (next_seq % u64::from(slot_count)) as u32,
                    slot_count,
                    timestamps: self.timestamps,
                    seg,
                    topic,
                    path,
                    next_seq,
                    takeover,
                    fork_generation,
                    _generation: generation,
                    _type: PhantomData,
                });
            }
        }
        Err(CreateError::Io {
            path,
            action: "create",
            source: io::Error::other("the topic file kept changing under concurrent publishers"),
        })
    }
}

/// Everything needed to create or take over one topic file.
struct Plan<'a> {
    root: &'a Path,
    path: &'a Path,
    topic: &'a TopicName,
    layout: Layout,
    schema: &'a [u8],
    schema_hash: u64,
    /// Whether a value's bytes are valid for the schema (a carried value is checked first).
    validate: &'a dyn Fn(&[u8]) -> bool,
    /// The mode asked for, if any.
    mode: Option<u32>,
    me: ProcessIdentity,
    /// The generation file announced to, kept mapped by the publisher for its next creation.
    generation: RefCell<Option<Arc<Generation>>>,
}

/// A consistent copy of the last value of a segment being replaced.
struct Carried {
    seq: u64,
    time_ns: u64,
    bytes: Vec<u8>,
}

/// A publisher's file, ready: what [`Plan::attempt`] made.
struct Created {
    seg: Segment<ReadWrite>,
    /// The first sequence number this publisher writes.
    next_seq: u64,
    takeover: Option<Takeover>,
}

/// The outcome of one [`Plan::attempt`].
enum Attempt {
    /// Another process changed the path meanwhile: look again.
    Raced,
    Done(Box<Created>),
}

impl Plan<'_> {
    /// One try at creating or taking over the file.
    fn attempt(&self) -> Result<Attempt, CreateError> {
        let locked = match claim(self.path)? {
            Claim::Absent => {
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
            Claim::Moved => return Ok(Attempt::Raced),
            Claim::Locked(locked) => locked,
        };
        let old = match Segment::<ReadWrite>::open(locked.into_inner(), self.path) {
            Ok(s) => s,
            Err(OpenFailure::Format(source)) => return Err(self.format_error(source)),
            Err(OpenFailure::Io(e)) => return Err(e.into()),
        };
        let published = old.publish_seq();
        // A publisher killed between stamping a slot and naming it in the publish sequence
        // leaves a stamp above it: continue after that too, so that no stamp is reused.
        let last_seq = published.max(old.seq_base()).max(old.highest_stamped_seq());
        if last_seq >= MAX_SEQ {
            // Only a damaged or hostile file gets there: continuing would wrap the numbers.
            return Err(self.format_error(FormatError::Inconsistent {
                field: "publish_seq",
                detail: format!(
                    "the file holds sequence number {last_seq}, at or above the largest one {MAX_SEQ}"
                ),
            }));
        }
        let same_type = old.schema_hash() == self.schema_hash;
        let mut takeover = Takeover {
            previous_owner: old.owner(),
            last_seq,
            kept_last_value: same_type && published != 0,
            recreated: false,
        };
        if same_type && *old.layout() == self.layout && old.state() == STATE_LIVE {
            if let Some(mode) = self.mode {
                set_mode(old.file(), mode)
                    .map_err(|e| IoFailure::new(self.path, "set the mode of", e))?;
            }
            old.set_owner(&self.me);
            return Ok(Attempt::Done(Box::new(Created {
                seg: old,
                next_seq: last_seq + 1,
                takeover: Some(takeover),
            })));
        }
        let carried = if same_type && old.layout().elem_size == self.layout.elem_size {
            read_last(&old).filter(|c| (self.validate)(&c.bytes))
        } else {
            None
        };
        takeover.kept_last_value = carried.is_some();
        takeover.recreated = true;
        // Unless asked otherwise, the new file is as accessible as the one it replaces (which is
        // ours: `claim` refuses other users' files), so its subscribers can follow it.
        let mode = match self.mode {
            Some(m) => m,
            None => file_mode(old.file()).map_err(|e| IoFailure::new(self.path, "inspect", e))?,
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
        carried: Option<Carried>,
        replace: bool,
        mode: u32,
    ) -> Result<Option<Segment<ReadWrite>>, CreateError> {
        let io = |action| move |e| CreateError::from(IoFailure::new(self.path, action, e));
        let (file, staged) = sys::create_unnamed(self.root, mode).map_err(|e| {
            CreateError::from(IoFailure::new(self.root, "create a topic file in", e))
        })?;
        let result = (|| {
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
                self.schema_hash,
                self.schema,
                continues,
                mode,
            )?;
            if let Some(c) = carried {
                // SAFETY: `c.bytes` has exactly `elem_size` bytes (same type, same size), and
                // its sequence number is a complete stamp of the old file, at most MAX_SEQ.
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
fn read_last(old: &Segment<ReadWrite>) -> Option<Carried> {
    let mut bytes = vec![0u8; old.layout().elem_size as usize];
    // SAFETY: `bytes` has `elem_size` writable bytes.
    let (seq, time_ns) = unsafe { old.read_highest(bytes.as_mut_ptr()) }?;
    Some(Carried {
        seq,
        time_ns,
        bytes,
    })
}

/// The mode a file keeps when it is replaced: its read bits, and always owner read/write.
fn file_mode(file: &std::fs::File) -> io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(file.metadata()?.permissions().mode() & 0o644 | 0o600)
}

/// Gives a reused topic file the mode this publisher asked for.
fn set_mode(file: &std::fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if file.metadata()?.permissions().mode() & 0o7777 != mode {
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

impl<T: ShmMessage> Publisher<T> {
    /// Creates (or takes over) `topic` with default options: 3 slots, mode `0o600`, in
    /// `$SHM_ROOT` or `/dev/shm`.
    pub fn new(topic: &str) -> Result<Publisher<T>, CreateError> {
        Publisher::builder(topic).create()
    }

    /// Options for creating a publisher.
    ///
    /// ```no_run
    /// let publisher = shm::Publisher::<[f32; 16]>::builder("lidar/ranges")
    ///     .buffer_num(5)
    ///     .mode(0o640)
    ///     .create()?;
    /// # Ok::<(), shm::CreateError>(())
    /// ```
    pub fn builder(topic: &str) -> PublisherBuilder<T> {
        PublisherBuilder {
            topic: topic.to_owned(),
            buffer_num: DEFAULT_BUFFER_NUM,
            mode: None,
            root: None,
            timestamps: Timestamps::Precise,
            _type: PhantomData,
        }
    }

    /// Publishes a value and returns its sequence number. Wait-free: no lock, no allocation,
    /// no syscall (the timestamp comes from the vDSO clock) unless a subscriber sleeps waiting
    /// for a value (then one `FUTEX_WAKE`).
    ///
    /// # Panics
    /// In a child process made by `fork` after this publisher was created (see
    /// [`try_publish`](Publisher::try_publish)).
    #[inline]
    pub fn publish(&mut self, value: &T) -> u64 {
        match self.try_publish(value) {
            Ok(seq) => seq,
            Err(e) => forked_publisher(e),
        }
    }

    /// Publishes a value and returns its sequence number, or refuses in a child process made by
    /// `fork` after this publisher was created (two writers would defeat the seqlock).
    #[inline]
    pub fn try_publish(&mut self, value: &T) -> Result<u64, PublishError> {
        if sys::current_fork_generation() != self.fork_generation {
            return Err(PublishError::ForkedProcess);
        }
        let (seq, slot) = (self.next_seq, self.next_slot);
        self.next_seq = seq.wrapping_add(1);
        self.next_slot = if slot + 1 == self.slot_count {
            0
        } else {
            slot + 1
        };
        let now = match self.timestamps {
            Timestamps::Precise => sys::monotonic_ns(),
            Timestamps::Coarse => sys::monotonic_coarse_ns(),
        };
        // SAFETY: `value` is a `T`, whose `size_of::<T>() == elem_size` bytes are all
        // initialised (ShmMessage guarantees no padding); `slot` is `seq % slot_count`.
        unsafe {
            self.seg
                .write_slot(slot, seq, now, (value as *const T).cast::<u8>())
        };
        Ok(seq)
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        self.topic.as_str()
    }

    /// The topic file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of slots in the ring.
    pub fn buffer_num(&self) -> usize {
        self.seg.layout().slot_count as usize
    }

    /// The sequence number the next `publish` will return.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// What this publisher took over, if the topic existed.
    pub fn takeover(&self) -> Option<&Takeover> {
        self.takeover.as_ref()
    }
}

impl<T: ShmMessage> Drop for Publisher<T> {
    /// Gives the topic up: releases the publisher lock (the file and its last value stay, for
    /// subscribers and for the next publisher) and wakes subscribers blocked in a wait, which
    /// then report the publisher gone. In a forked child the lock is the parent's: left alone.
    fn drop(&mut self) {
        if sys::current_fork_generation() == self.fork_generation {
            self.seg.release();
        }
    }
}

#[cold]
#[inline(never)]
fn forked_publisher(e: PublishError) -> ! {
    panic!("{e}")
}

impl<T: ShmMessage> fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic.as_str())
            .field("type", &T::SCHEMA.type_name())
            .field("buffer_num", &self.buffer_num())
            .field("next_seq", &self.next_seq)
            .field("path", &self.path)
            .finish()
    }
}
