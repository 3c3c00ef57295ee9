//! The machinery behind every publisher, typed or not: the topic file it holds and the publish
//! path over bytes. [`Publisher<T>`](crate::Publisher) publishes a Rust type through it;
//! [`AnyPublisher`](crate::dynamic::AnyPublisher) a type described at run time.

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::create::{Attempt, Created, Plan, file_mode, read_last, read_ring};
use super::{MAX_BUFFER_NUM, MIN_BUFFER_NUM, MIN_LENDING_BUFFER_NUM, PublishClock, Takeover};
use crate::discovery::Generation;
use crate::error::{CreateError, IoFailure, PublishError};
use crate::name::{TopicName, default_root};
use crate::owner::PublisherProcess;
use crate::schema::TopicSchema;
use crate::segment::lend::LendWords;
use crate::segment::{Continues, Layout, LayoutError, MAX_SEQ, ReadWrite, Segment};
use crate::sys::Readers;
use crate::sys::{self, ProcessIdentity};

/// The options every publisher builder has.
#[derive(Debug, Clone)]
pub(crate) struct PubOptions {
    pub(crate) topic: String,
    /// `None`: the default ([`DEFAULT_BUFFER_NUM`](super::DEFAULT_BUFFER_NUM), or
    /// [`DEFAULT_LENDING_BUFFER_NUM`](super::DEFAULT_LENDING_BUFFER_NUM) for a lending topic).
    pub(crate) buffer_num: Option<usize>,
    pub(crate) mode: Option<u32>,
    /// Users and groups given read access by an access ACL (services across users): the file
    /// is made with `mode` and these readers, and a file taken over gets exactly them.
    pub(crate) readers: Readers,
    /// Make a lending topic (see [`PublisherBuilder::lending`](super::PublisherBuilder::lending)).
    pub(crate) lending: bool,
    pub(crate) root: Option<PathBuf>,
    pub(crate) clock: PublishClock,
}

impl PubOptions {
    pub(crate) fn new(topic: &str) -> PubOptions {
        PubOptions {
            topic: topic.to_owned(),
            buffer_num: None,
            mode: None,
            readers: Readers::default(),
            lending: false,
            root: None,
            clock: PublishClock::Precise,
        }
    }
}

/// How often a publisher looks whether its file is still the topic's (a stat of the path, on
/// the publish that finds this much time passed since the last look): a file removed by hand
/// (`rm`, a clean-up such as systemd's `RemoveIPC`) is made again within this time.
const CHECK_FILE_EVERY_NS: u64 = 100_000_000;

/// A publisher without its value type.
pub(crate) struct PublisherCore {
    /// Shared with the byte loans of untyped publishers ([`crate::dynamic::BytesLoan`]), which
    /// keep the mapping alive.
    seg: Arc<Segment<ReadWrite>>,
    /// The slot lent by the last `loan_raw` and not yet committed (any other write ends it).
    loaned: Option<(u64, u32)>,
    /// Slots of a lending topic a claim must not take (a binding's loan whose views are still
    /// alive).
    avoid: Vec<u32>,
    schema: Arc<TopicSchema>,
    topic: TopicName,
    root: PathBuf,
    path: PathBuf,
    /// When the next publish looks at the path (`0`: at once, also while refused).
    next_check: u64,
    /// Another publisher made the topic after this one's file was removed: this one stops.
    displaced: Option<PublisherProcess>,
    next_seq: u64,
    /// `next_seq % slot_count`, kept up to date without a division.
    next_slot: u32,
    slot_count: u32,
    clock: PublishClock,
    takeover: Option<Takeover>,
    fork_generation: u64,
    /// The user's generation file this publisher announced its topic to, kept mapped while it
    /// lives so that creating many topics maps it once.
    _generation: Option<Arc<Generation>>,
    /// The mode and readers asked for, if a mode was: what a file made again gets.
    access: Option<(u32, Readers)>,
}

impl PublisherCore {
    /// Creates the topic with values of `schema`, or takes it over from a publisher that is
    /// gone.
    pub(crate) fn create(
        mut options: PubOptions,
        schema: Arc<TopicSchema>,
    ) -> Result<PublisherCore, CreateError> {
        let topic = TopicName::new(&options.topic).map_err(CreateError::InvalidName)?;
        let buffer_num = options.buffer_num.unwrap_or(if options.lending {
            super::DEFAULT_LENDING_BUFFER_NUM
        } else {
            super::DEFAULT_BUFFER_NUM
        });
        let min = if options.lending {
            MIN_LENDING_BUFFER_NUM
        } else {
            MIN_BUFFER_NUM
        };
        if !(min..=MAX_BUFFER_NUM).contains(&buffer_num) {
            return Err(CreateError::InvalidBufferNum {
                requested: buffer_num,
                min,
                max: MAX_BUFFER_NUM,
            });
        }
        if let Some(mode) = options
            .mode
            .filter(|m| m & 0o600 != 0o600 || m & !0o644 != 0)
        {
            return Err(CreateError::InvalidMode { mode });
        }
        let layout = layout_of(&schema, buffer_num as u32, options.lending)?;
        // Absolute: the publisher looks at its path again later, whatever the working directory
        // has become meanwhile.
        let root = std::path::absolute(options.root.unwrap_or_else(default_root))
            .map_err(|e| IoFailure::new(Path::new("."), "resolve the topic directory", e))?;
        let path = root.join(topic.file_name());
        if !options.readers.is_empty() && options.mode.is_none() {
            options.mode = Some(super::DEFAULT_MODE);
        }
        let plan = plan(
            &root,
            &path,
            &topic,
            layout,
            &schema,
            options.mode,
            &options.readers,
        );
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
                seg.set_runs(&schema);
                let slot_count = seg.layout().slot_count;
                let generation = plan.generation.take();
                return Ok(PublisherCore {
                    loaned: None,
                    avoid: Vec::new(),
                    next_slot: (next_seq % u64::from(slot_count)) as u32,
                    slot_count,
                    clock: options.clock,
                    seg: Arc::new(seg),
                    schema,
                    topic,
                    root,
                    path,
                    next_check: sys::monotonic_ns() + CHECK_FILE_EVERY_NS,
                    displaced: None,
                    next_seq,
                    takeover,
                    fork_generation,
                    _generation: generation,
                    access: options.mode.map(|m| (m, options.readers.clone())),
                });
            }
        }
        Err(CreateError::Io(IoFailure::new(
            path,
            "create",
            io::Error::other("the topic file kept changing under concurrent publishers"),
        )))
    }

    /// Publishes the value at `src` and returns its sequence number, or refuses in a child
    /// process made by `fork` after the publisher was created, or after a damaged file's
    /// numbers ran out. Wait-free: no lock, no allocation, no syscall (the timestamp comes from
    /// the vDSO clock) unless a subscriber sleeps waiting for a value (then one `FUTEX_WAKE`),
    /// except the look at the path every [`CHECK_FILE_EVERY_NS`] (see `check_file`).
    ///
    /// # Safety
    /// `src` is valid for reads of `schema().size()` initialised bytes that form a valid value
    /// (every `bool` 0 or 1).
    #[inline]
    pub(crate) unsafe fn publish_raw(&mut self, src: *const u8) -> Result<u64, PublishError> {
        // SAFETY: the caller's contract.
        unsafe { self.publish_raw_at(src, None) }
    }

    /// [`publish_raw`](Self::publish_raw), stamped with `published` (ns on `CLOCK_MONOTONIC`,
    /// at most now) if given, else now.
    ///
    /// # Safety
    /// As `publish_raw`.
    #[inline]
    pub(crate) unsafe fn publish_raw_at(
        &mut self,
        src: *const u8,
        published: Option<u64>,
    ) -> Result<u64, PublishError> {
        let now = self.begin()?;
        // A loan not committed by now is given up (its slot may be claimed again).
        self.loaned = None;
        let stamp = published.map_or(now, |t| t.min(now));
        if self.seg.is_lending() {
            let seq = self.next_seq;
            let previous = self.seg.newest_slot();
            // SAFETY: `src` holds `elem_size` initialised bytes (the caller's contract);
            // `1 <= seq <= MAX_SEQ` (`begin`); this process holds the publisher lock.
            unsafe {
                self.seg
                    .write_lent(seq, self.next_slot, &self.avoid, stamp, src)
            }
            .ok_or_else(|| self.all_pinned())?;
            self.lent(seq, previous);
            return Ok(seq);
        }
        let (seq, slot) = (self.next_seq, self.next_slot);
        self.next_seq = seq.wrapping_add(1);
        self.next_slot = if slot + 1 == self.slot_count {
            0
        } else {
            slot + 1
        };
        // SAFETY: `src` holds `elem_size` initialised bytes (the caller's contract; the file's
        // element size is the schema's); `slot` is `seq % slot_count`; `1 <= seq <= MAX_SEQ`
        // (numbers start at 1 or after a validated last number, and were checked above); this
        // process holds the publisher lock.
        unsafe { self.seg.write_slot(slot, seq, stamp, src) };
        Ok(seq)
    }

    /// Publishes a value of the topic's bounded sequence type from its parts, `len` and the
    /// bytes of its elements, each copied once, straight into the slot (no value assembled
    /// first); returns its sequence number. A lending topic's value goes into a claimed slot,
    /// as a loan's would.
    ///
    /// # Safety
    /// The topic's type is a bounded sequence (its length word, then its elements) of
    /// capacity at least `len`, and `elems` are `len` valid elements of it (initialised; every
    /// `bool` 0 or 1).
    pub(crate) unsafe fn publish_sequence(
        &mut self,
        len: u64,
        elems: &[u8],
    ) -> Result<u64, PublishError> {
        if self.seg.is_lending() {
            let (seq, index, data) = self.loan_raw()?;
            // SAFETY: the slot was just claimed: no other process writes or reads it until the
            // commit; its value starts 8-aligned with the length word, and the elements after
            // it fit (capacity at least `len`, the caller's contract); `elems` is the caller's.
            // (`ptr::copy`: elements read from this publisher's own earlier loan may be that
            // very slot.)
            unsafe {
                data.cast::<u64>().write(len);
                std::ptr::copy(
                    elems.as_ptr(),
                    data.add(crate::schema::BOUNDED_DATA_OFFSET as usize),
                    elems.len(),
                );
            }
            // SAFETY: the loan just taken, whose length and elements are valid; the room past
            // them is made valid by `commit_sequence`.
            return Ok(unsafe { self.commit_sequence(seq, index, len) });
        }
        let now = self.begin()?;
        self.loaned = None;
        let (seq, slot) = (self.next_seq, self.next_slot);
        self.next_seq = seq.wrapping_add(1);
        self.next_slot = if slot + 1 == self.slot_count {
            0
        } else {
            slot + 1
        };
        // SAFETY: a bounded sequence of room for `len` valid elements (the caller's contract);
        // `slot` is `seq % slot_count`; `1 <= seq <= MAX_SEQ` (`begin`); this process holds
        // the publisher lock.
        unsafe { self.seg.write_sequence_slot(slot, seq, now, len, elems) };
        Ok(seq)
    }

    /// What every write does first: refuses in a forked child, looks at the path when it is
    /// time, refuses past the last sequence number; returns the time now.
    #[inline]
    fn begin(&mut self) -> Result<u64, PublishError> {
        if sys::current_fork_generation() != self.fork_generation {
            return Err(PublishError::ForkedProcess);
        }
        let now = match self.clock {
            PublishClock::Precise => sys::monotonic_ns(),
            PublishClock::Coarse => sys::monotonic_coarse_ns(),
        };
        if now >= self.next_check {
            self.check_file(now)?;
        }
        if self.next_seq > MAX_SEQ {
            return Err(PublishError::SequenceExhausted);
        }
        Ok(now)
    }

    fn all_pinned(&self) -> PublishError {
        PublishError::AllPinned {
            topic: self.topic.as_str().to_owned(),
            slots: self.slot_count,
        }
    }

    /// Value `seq` was written into a slot of this lending topic, replacing the newest value in
    /// slot `previous`: the next claim starts there. That slot is the one most recently
    /// written but the newest, so its memory is the likeliest in this CPU's caches (a 1 MiB
    /// copy into it took half the time of one into the slot written longest ago), and a
    /// reader that copied it out is done with it by the next publish. A lending topic thus
    /// keeps its two newest values at least (more while slots are pinned): its slots are for
    /// readers holding values, not a history of them.
    fn lent(&mut self, seq: u64, previous: u32) {
        self.next_seq = seq + 1;
        self.next_slot = previous;
    }

    /// Claims a slot of this lending topic for the next value, to be written in place:
    /// `(sequence number, the slot's value)`. Nothing is visible to subscribers until
    /// [`commit_loan`](Self::commit_loan); a loan never committed leaves the slot unused.
    pub(crate) fn loan_raw(&mut self) -> Result<(u64, u32, *mut u8), PublishError> {
        if !self.seg.is_lending() {
            return Err(PublishError::NotLending {
                topic: self.topic.as_str().to_owned(),
            });
        }
        self.begin()?;
        let seq = self.next_seq;
        let index = self
            .seg
            .claim_slot(seq, self.next_slot, &self.avoid)
            .ok_or_else(|| self.all_pinned())?;
        self.loaned = Some((seq, index));
        Ok((seq, index, self.seg.slot_data(index)))
    }

    /// The segment a loan's slot lives in (kept alive by whoever holds this).
    pub(crate) fn segment(&self) -> &Arc<Segment<ReadWrite>> {
        &self.seg
    }

    /// Whether `(seq, index)` is the loan `loan_raw` gave last, uncommitted, with no other
    /// write since.
    pub(crate) fn is_current_loan(&self, seq: u64, index: u32) -> bool {
        self.loaned == Some((seq, index))
    }

    /// Gives the current loan up (its slot may be claimed again; nothing was published).
    pub(crate) fn give_up_loan(&mut self) {
        self.loaned = None;
    }

    /// Slots of this lending topic no claim may take from now on (replacing the last list).
    pub(crate) fn avoid_slots(&mut self, slots: Vec<u32>) {
        self.avoid = slots;
    }

    /// Publishes the value written into the slot of [`loan_raw`](Self::loan_raw) (as `seq`,
    /// stamped now).
    ///
    /// # Safety
    /// `(seq, index)` is the last loan of this publisher, uncommitted, and the slot holds a
    /// valid value of the topic's type.
    pub(crate) unsafe fn commit_loan(&mut self, seq: u64, index: u32) -> u64 {
        self.loaned = None;
        let now = match self.clock {
            PublishClock::Precise => sys::monotonic_ns(),
            PublishClock::Coarse => sys::monotonic_coarse_ns(),
        };
        let previous = self.seg.newest_slot();
        self.seg.commit_slot(index, seq, now);
        self.lent(seq, previous);
        seq
    }

    /// Publishes a loan of a bounded sequence of `len` elements ([`commit_loan`]), after
    /// making the room past them valid: it holds what the slot held before (an earlier
    /// value's elements, or whatever a loan given up there left), and readers that borrow the
    /// value check its whole room. Room that is not valid (only possible for elements with
    /// `bool`s or strings) is zeroed.
    ///
    /// [`commit_loan`]: Self::commit_loan
    ///
    /// # Safety
    /// As `commit_loan`, for a topic of a bounded sequence whose slot holds a valid length
    /// `len` and `len` valid elements.
    pub(crate) unsafe fn commit_sequence(&mut self, seq: u64, index: u32, len: u64) -> u64 {
        if self.schema.needs_validation() {
            let size = self.schema.size();
            let used = self.schema.sequence_bytes(len).min(size);
            let data = self.seg.slot_data(index);
            // SAFETY: the claimed slot holds `size` bytes that no other process writes until
            // the commit, and nothing else refers to them meanwhile; `used <= size`.
            let room =
                unsafe { std::slice::from_raw_parts(data.add(used).cast_const(), size - used) };
            if self.schema.validate_elements(room).is_err() {
                // SAFETY: as above; zeros are valid elements.
                unsafe { std::ptr::write_bytes(data.add(used), 0, size - used) };
            }
        }
        // SAFETY: the caller's contract, and the room is now valid.
        unsafe { self.commit_loan(seq, index) }
    }

    /// Whether this process is the one that created the publisher (not a child forked since).
    pub(crate) fn in_own_process(&self) -> bool {
        sys::current_fork_generation() == self.fork_generation
    }

    /// Whether this is a lending topic.
    pub(crate) fn is_lending(&self) -> bool {
        self.seg.is_lending()
    }

    /// Looks whether the path still names this publisher's file; if it was removed or replaced
    /// by hand, makes the topic file again (continuing the sequence numbers, with the last
    /// value, in the same lineage, so subscribers follow without seeing a value twice), unless
    /// another publisher made the topic meanwhile: then this one is displaced for good (two
    /// live publishers of one topic must never write).
    #[cold]
    #[inline(never)]
    fn check_file(&mut self, now: u64) -> Result<(), PublishError> {
        if let Some(by) = &self.displaced {
            return Err(PublishError::Displaced {
                topic: self.topic.as_str().to_owned(),
                by: by.clone(),
            });
        }
        // Looked at again after the interval whatever happens: a failure is retried then, not
        // on every publish.
        self.next_check = now + CHECK_FILE_EVERY_NS;
        // Only a path that names another file, or none, means "removed": a look that fails
        // otherwise (a directory made unreadable for a moment) says nothing.
        if !self.seg.named_elsewhere(&self.path) {
            return Ok(());
        }
        match self.recreate() {
            Ok(()) => Ok(()),
            // A running process publishes the topic now: readers follow its file, and this one
            // stops for good (its own file stays unnamed).
            Err(CreateError::Busy { owner, .. }) if owner.pid != 0 => {
                self.seg.retire();
                self.displaced = Some(owner.clone());
                self.next_check = 0;
                Err(PublishError::Displaced {
                    topic: self.topic.as_str().to_owned(),
                    by: owner,
                })
            }
            // Anything else (a file held a moment by a removal or a publisher taking over, a
            // full file system, another user's file at the path) is tried again later.
            Err(e) => Err(PublishError::FileLost {
                topic: self.topic.as_str().to_owned(),
                why: e.to_string(),
            }),
        }
    }

    /// The mode and readers a file made again gets: those asked for when readers were named
    /// (the file's mode shows their mask, not the mode asked for), else the file's own.
    fn access_again(&self) -> io::Result<(u32, Readers)> {
        match &self.access {
            Some((mode, readers)) if !readers.is_empty() => Ok((*mode, readers.clone())),
            _ => Ok((file_mode(self.seg.file())?, Readers::default())),
        }
    }

    /// Makes this publisher's topic file again at its path (see [`check_file`]).
    fn recreate(&mut self) -> Result<(), CreateError> {
        let last = self.next_seq - 1;
        let continues = Continues {
            seq_base: last,
            lineage: Some(self.seg.lineage()),
        };
        let carried = if last > 0 {
            read_last(&self.seg).filter(|c| c.seq == last)
        } else {
            None
        };
        let (mode, readers) = self
            .access_again()
            .map_err(|e| IoFailure::new(&self.path, "inspect", e))?;
        let plan = plan(
            &self.root,
            &self.path,
            &self.topic,
            *self.seg.layout(),
            &self.schema,
            Some(mode),
            &readers,
        );
        for _ in 0..16 {
            if let Attempt::Done(created) = plan.recreate(continues, carried.clone(), mode)? {
                let Created {
                    mut seg, next_seq, ..
                } = *created;
                seg.use_light_fence();
                seg.set_runs(&self.schema);
                // The file no longer named: subscribers still on it reattach at once.
                self.seg.retire();
                self.seg = Arc::new(seg);
                self.loaned = None;
                self.next_seq = next_seq;
                self.next_slot = (next_seq % u64::from(self.slot_count)) as u32;
                if let Some(g) = plan.generation.take() {
                    self._generation = Some(g);
                }
                return Ok(());
            }
        }
        Err(CreateError::Io(IoFailure::new(
            self.path.clone(),
            "create",
            io::Error::other("the topic file kept changing under concurrent publishers"),
        )))
    }

    /// Replaces this publisher's file with one of `schema` (a bounded sequence of the same
    /// elements with more room): the same slots and mode, its numbering and lineage continued,
    /// the values of its ring carried over (the room grows at its end, so a value of the old
    /// type is one of the new, its bytes followed by zeros). Subscribers attached to the old file
    /// reattach at once. The path must still name this publisher's file: a removal by hand is
    /// dealt with first, as a publish would.
    pub(crate) fn replace_type(&mut self, schema: Arc<TopicSchema>) -> Result<(), PublishError> {
        if self.seg.named_elsewhere(&self.path) {
            self.check_file(sys::monotonic_ns())?;
        }
        let failed = |e: CreateError| PublishError::FileLost {
            topic: self.topic.as_str().to_owned(),
            why: e.to_string(),
        };
        let lending = self.seg.layout().lend_entries > 0;
        let layout = layout_of(&schema, self.slot_count, lending).map_err(failed)?;
        let last = self.next_seq - 1;
        let continues = Continues {
            seq_base: last,
            lineage: Some(self.seg.lineage()),
        };
        // Every value the ring still holds, so that a reader of every value (`try_recv_all`)
        // loses none to the change.
        let carried: Vec<_> = read_ring(&self.seg, last)
            .into_iter()
            .map(|c| c.widened(schema.size()))
            .filter(|c| c.is_valid(&schema))
            .collect();
        let (mode, readers) = self
            .access_again()
            .map_err(|e| failed(IoFailure::new(&self.path, "inspect", e).into()))?;
        let plan = plan(
            &self.root,
            &self.path,
            &self.topic,
            layout,
            &schema,
            Some(mode),
            &readers,
        );
        let Some(mut seg) = plan.replace_own(continues, carried, mode).map_err(failed)? else {
            return Err(failed(CreateError::Io(IoFailure::new(
                self.path.clone(),
                "replace",
                io::Error::other("the new file could not take the topic's name"),
            ))));
        };
        let generation = plan.generation.take();
        drop(plan);
        seg.use_light_fence();
        seg.set_runs(&schema);
        // The old file no longer named: subscribers still on it reattach at once.
        self.seg.retire();
        self.seg = Arc::new(seg);
        self.loaned = None;
        self.schema = schema;
        self.next_slot = (self.next_seq % u64::from(self.slot_count)) as u32;
        if let Some(g) = generation {
            self._generation = Some(g);
        }
        Ok(())
    }

    pub(crate) fn schema(&self) -> &Arc<TopicSchema> {
        &self.schema
    }

    pub(crate) fn topic(&self) -> &str {
        self.topic.as_str()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn buffer_num(&self) -> usize {
        self.slot_count as usize
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub(crate) fn takeover(&self) -> Option<&Takeover> {
        self.takeover.as_ref()
    }
}

/// The layout of a file of `slots` values of `schema` (a lending topic's with a pin entry per
/// subscriber it can serve: one pin each, two slots left for the newest value and the next),
/// or why it cannot be made.
fn layout_of(schema: &TopicSchema, slots: u32, lending: bool) -> Result<Layout, CreateError> {
    let entries = if lending {
        slots
            .saturating_sub(2)
            .clamp(1, crate::segment::MAX_LEND_ENTRIES)
    } else {
        0
    };
    Layout::of(schema, slots, entries).map_err(|e| match e {
        LayoutError::ElemSize(_) | LayoutError::TotalSize => CreateError::TooLarge {
            bytes: (schema.size() as u64).saturating_mul(u64::from(slots)),
        },
        other => CreateError::UnsupportedType {
            detail: format!("{}: {other}", other.field()),
        },
    })
}

/// The plan of creating (or making again) the file of `topic` with values of `schema`.
fn plan<'a>(
    root: &'a Path,
    path: &'a Path,
    topic: &'a TopicName,
    layout: Layout,
    schema: &'a TopicSchema,
    mode: Option<u32>,
    readers: &'a Readers,
) -> Plan<'a> {
    Plan {
        root,
        path,
        topic,
        layout,
        schema,
        mode,
        readers,
        me: ProcessIdentity::current(),
        generation: RefCell::new(None),
    }
}

impl Drop for PublisherCore {
    /// Gives the topic up: releases the publisher lock (the file and its last value stay, for
    /// subscribers and for the next publisher) and wakes subscribers blocked in a wait, which
    /// then report the publisher gone. In a forked child the lock is the parent's: left alone.
    fn drop(&mut self) {
        if sys::current_fork_generation() == self.fork_generation {
            self.seg.release();
        }
    }
}
