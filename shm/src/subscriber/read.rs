//! Reading: attach if needed, copy the newest value (or every value still in the ring) with the
//! seqlock, validate it, and decide its freshness against what this subscriber returned before.

use std::sync::Arc;

use super::attach::Attach;
use super::core::Core;
use super::{Sample, Timestamp};
use crate::error::{FormatError, SubscribeError};
use crate::schema::TopicSchema;
use crate::segment::lend::Pin;
use crate::segment::ring::TopicWords;
use crate::segment::{Cursor, Located, ReadOnly, Segment, SlotRead};
use crate::sys;

/// Read attempts before [`SubscribeError::Contended`]. A publisher has to lap the whole ring
/// while one copy is in flight to force a retry, so more than a few in a row is rare.
const MAX_ATTEMPTS: u32 = 1000;
/// How often a subscriber checks whether the topic file was removed or replaced behind its back
/// (by hand, not by this library, whose replacements are noticed at once): at most every 10 ms,
/// looking at the clock only on every 16th read so that reads stay cheap. (A subscriber that
/// reads once a second notices such a change within 16 reads.)
const REVALIDATE_EVERY_NS: u64 = 10_000_000;
const REVALIDATE_CLOCK_EVERY: u32 = 16;

/// What a read asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The newest value, new or not.
    Latest,
    /// A value newer than the last one returned, marked as returned.
    Next,
    /// Such a value, left unmarked.
    Peek,
}

/// Rate limit of the "was the file replaced by hand?" check.
#[derive(Default)]
pub(super) struct Recheck {
    next_ns: u64,
    reads: u32,
}

impl Recheck {
    /// Whether it is time to check that the file being read is still the topic's file.
    #[inline]
    pub(super) fn due(&mut self) -> bool {
        self.reads = self.reads.wrapping_add(1);
        if self.reads % REVALIDATE_CLOCK_EVERY != 1 {
            return false;
        }
        let now = sys::monotonic_ns();
        if now >= self.next_ns {
            self.next_ns = now + REVALIDATE_EVERY_NS;
            true
        } else {
            false
        }
    }
}

/// The last value a subscriber returned: its number within its lineage (the unbroken numbering
/// of a topic's files, see `docs/FORMAT.md`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Last {
    pub(super) seq: u64,
    /// 0 before the first value.
    pub(super) lineage: u64,
}

impl Last {
    /// Whether value `seq` of `lineage` was not returned before, and how many values this
    /// subscriber never saw before it (0 for its first value).
    fn freshness(self, seq: u64, lineage: u64) -> (bool, u64) {
        // Numbers compare within a lineage (a file and the files that replaced it); a file made
        // anew starts a lineage whose values this subscriber has never returned.
        let same_lineage = lineage == self.lineage;
        let is_new = !same_lineage || seq > self.seq;
        let missed = match (self.lineage, same_lineage, is_new) {
            (_, _, false) | (0, _, _) => 0,
            (_, true, true) => seq - self.seq - 1,
            (_, false, true) => seq - 1,
        };
        (is_new, missed)
    }
}

/// Where a read copies a value.
///
/// # Safety
/// [`room`](Dst::room) returns a pointer valid for writes of `size` bytes of process-local
/// memory, where writing any bytes is sound (a `MaybeUninit`, plain bytes, or a
/// type that accepts every bit pattern).
pub(crate) unsafe trait Dst {
    /// Room for one value of `size` bytes (the attached file's element size, which is its
    /// schema's size).
    fn room(&mut self, size: usize) -> *mut u8;

    /// Whether values of `schema` must be checked (have `bool`s). A typed destination knows
    /// at compile time, so its reads skip even the question.
    #[inline]
    fn needs_validation(&self, schema: &TopicSchema) -> bool {
        schema.needs_validation()
    }

    /// The one size this destination holds, if it holds one (a caller's buffer): a read of a
    /// topic whose values have another size is refused before anything is read, so the value
    /// stays unread for the next read.
    #[inline]
    fn fixed_len(&self) -> Option<usize> {
        None
    }
}

// SAFETY: a `Vec<u8>` resized to the value's size is that many writable, process-local bytes.
unsafe impl Dst for Vec<u8> {
    fn room(&mut self, size: usize) -> *mut u8 {
        self.resize(size, 0);
        self.as_mut_ptr()
    }
}

/// Where a batch read puts each value: [`Dst::room`] for the next one, then `commit` keeps it.
///
/// # Safety
/// As [`Dst`].
pub(crate) unsafe trait BatchDst: Dst {
    /// Keeps the value just copied into [`room`](Dst::room), valid, with its sample data.
    fn commit(&mut self, sample: Sample<()>, schema: &Arc<TopicSchema>);
}

/// A read's outcome: the sample (if any; its value was read with the schema the core is
/// attached with, [`Core::schema`]), and the newest sequence number it saw in the file (0:
/// none), which a blocking wait sleeps on.
pub(crate) struct Read {
    pub(crate) sample: Option<Sample<()>>,
    pub(crate) seen: u64,
}

impl Read {
    const NOTHING: Read = Read {
        sample: None,
        seen: 0,
    };
}

/// The file a subscriber is attached to, and the schema its values are read with.
struct Attached {
    seg: Arc<Segment<ReadOnly>>,
    schema: Arc<TopicSchema>,
}

impl Core {
    /// Attaches as needed (reattaching after a by-hand replacement); returns the attached
    /// segment and schema (clones: for the batch read), `None` if detached, or the mismatch.
    fn attached(&mut self) -> Result<Option<Attached>, SubscribeError> {
        if !self.ready()? {
            return Ok(None);
        }
        Ok(match &self.state {
            Attach::Ready(seg, schema) => Some(Attached {
                seg: seg.clone(),
                schema: schema.clone(),
            }),
            _ => None,
        })
    }

    /// For a wait set's watcher: attaches as needed and returns the attached file (`None`
    /// while detached).
    pub(crate) fn watched(&mut self) -> Result<Option<Arc<Segment<ReadOnly>>>, SubscribeError> {
        if !self.ready()? {
            return Ok(None);
        }
        Ok(match &self.state {
            Attach::Ready(seg, _) => Some(Arc::clone(seg)),
            _ => None,
        })
    }

    /// Reattaches if the attached file was removed or replaced by hand; whether it did (a
    /// failed reattach counts: the next read reports it).
    pub(crate) fn follow_replaced(&mut self) -> bool {
        if let Attach::Ready(seg, _) | Attach::Mismatch(seg, _) = &self.state
            && seg.replaced_at(&self.path)
        {
            let _ = self.attach();
            return true;
        }
        false
    }

    /// Whether the core is attached to (ready on) `seg`.
    pub(crate) fn is_attached_to(&self, seg: &Arc<Segment<ReadOnly>>) -> bool {
        matches!(&self.state, Attach::Ready(s, _) if Arc::ptr_eq(s, seg))
    }

    /// For a wait set's watcher, at the pace of a blocking wait's checks: follows a file
    /// removed or replaced by hand, then tells whether a live publisher holds the topic.
    pub(crate) fn watch_check(&mut self) -> Result<bool, SubscribeError> {
        if let Attach::Ready(seg, _) | Attach::Mismatch(seg, _) = &self.state
            && seg.replaced_at(&self.path)
        {
            self.attach()?;
        }
        match &self.state {
            Attach::Ready(seg, _) | Attach::Mismatch(seg, _) => {
                sys::publisher_lock_held(seg.file()).map_err(|e| {
                    crate::error::IoFailure::new(&self.path, "query the lock of", e).into()
                })
            }
            Attach::Detached => Ok(false),
        }
    }

    /// Attaches as needed (reattaching after a by-hand replacement): `true` if `self.state` is
    /// then `Ready`, `false` if detached, or the mismatch.
    fn ready(&mut self) -> Result<bool, SubscribeError> {
        let mut reattached = false;
        loop {
            self.attach_if_needed()?;
            let seg = match &self.state {
                Attach::Detached => return Ok(false),
                Attach::Mismatch(seg, _) | Attach::Ready(seg, _) => seg,
            };
            // A file removed or replaced by hand gives no sign inside the mapping: compare the
            // path with the mapping now and then.
            if !reattached && self.recheck.due() && seg.replaced_at(&self.path) {
                reattached = true;
                self.attach()?;
                continue;
            }
            return match &self.state {
                Attach::Ready(..) => Ok(true),
                Attach::Mismatch(_, m) => Err(SubscribeError::SchemaMismatch(m.clone())),
                Attach::Detached => Ok(false),
            };
        }
    }

    /// One read in `mode` into `dst`; on `Some`, `dst` holds a valid value of the returned
    /// schema (on `None` or an error it may hold a torn or stale copy).
    #[inline]
    pub(crate) fn read_raw(
        &mut self,
        mode: Mode,
        dst: &mut impl Dst,
    ) -> Result<Read, SubscribeError> {
        // Borrowed, not cloned: a reference count touched on every read costs more than the
        // read of a small value.
        if !self.ready()? {
            return Ok(Read::NOTHING);
        }
        let Attach::Ready(seg, schema) = &self.state else {
            return Ok(Read::NOTHING);
        };
        if let Some(given) = dst.fixed_len()
            && given != schema.size()
        {
            return Err(SubscribeError::WrongBufferSize {
                topic: self.topic.as_str().to_owned(),
                needed: schema.size(),
                given,
            });
        }
        let lineage = seg.lineage();
        // Only something newer than the last value returned is worth a copy to a read that
        // wants something new (in the same numbering).
        let newer_than = if mode != Mode::Latest && lineage == self.last.lineage {
            self.last.seq
        } else {
            0
        };
        let found = read_consistent(
            seg,
            schema,
            &mut self.cursor,
            newer_than,
            dst,
            &mut self.retries,
        )
        .map_err(|e| e.at(&self.topic, &self.path, self.max_borrowed))?;
        let (seq, time_ns) = match found {
            Found::Nothing => return Ok(Read::NOTHING),
            Found::Seen(seq) => {
                return Ok(Read {
                    sample: None,
                    seen: seq,
                });
            }
            Found::Copied(seq, time_ns) => (seq, time_ns),
        };
        Ok(self.conclude(mode, seq, time_ns, lineage))
    }

    /// What a read in `mode` that found value `seq` of `lineage`, published at `time_ns`,
    /// returns: the sample if it is fresh enough (marking it returned), or only what it saw.
    fn conclude(&mut self, mode: Mode, seq: u64, time_ns: u64, lineage: u64) -> Read {
        let nothing = Read {
            sample: None,
            seen: seq,
        };
        if self.expired(time_ns) {
            return nothing;
        }
        let (is_new, missed) = self.last.freshness(seq, lineage);
        if !is_new && mode != Mode::Latest {
            return nothing;
        }
        if is_new && mode != Mode::Peek {
            self.set_last(Last { seq, lineage });
        }
        let sample = Sample {
            value: (),
            seq,
            published: Timestamp(time_ns),
            is_new,
            missed,
        };
        Read {
            sample: Some(sample),
            seen: seq,
        }
    }

    /// One read in `mode` of a lending topic that pins the value instead of copying it: on a
    /// sample, the pinned slot (unchanged until the [`Lent`] is dropped), whose value is valid
    /// for the returned schema.
    pub(crate) fn borrow_raw(
        &mut self,
        mode: Mode,
    ) -> Result<(Read, Option<Lent>), SubscribeError> {
        if !self.ready()? {
            return Ok((Read::NOTHING, None));
        }
        let Attach::Ready(seg, schema) = &self.state else {
            return Ok((Read::NOTHING, None));
        };
        if !seg.is_lending() {
            return Err(SubscribeError::NotLending {
                topic: self.topic.as_str().to_owned(),
            });
        }
        let (seg, schema) = (Arc::clone(seg), Arc::clone(schema));
        let lineage = seg.lineage();
        let newer_than = if mode != Mode::Latest && lineage == self.last.lineage {
            self.last.seq
        } else {
            0
        };
        let failed = |core: &Core, f: ReadFailure| f.at(&core.topic, &core.path, core.max_borrowed);
        for attempt in 0..MAX_ATTEMPTS {
            let (pin, word) = seg
                .pin_for_borrow(newer_than)
                .map_err(|()| failed(self, ReadFailure::BorrowLimit))?;
            let (seq, index) = match pin {
                Pin::Empty => return Ok((Read::NOTHING, None)),
                Pin::Seen(seq) => {
                    return Ok((
                        Read {
                            sample: None,
                            seen: seq,
                        },
                        None,
                    ));
                }
                Pin::Corrupt(publish_seq) => {
                    return Err(failed(self, ReadFailure::Corrupt { publish_seq }));
                }
                Pin::BadSlot(slot) => return Err(failed(self, ReadFailure::BadSlot { slot })),
                Pin::Retry => {
                    self.retries += 1;
                    if attempt < 16 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                    continue;
                }
                Pin::At { seq, index } => (seq, index),
            };
            // Released (unpinned) when dropped, on every path from here.
            let lent = Lent {
                seg: Arc::clone(&seg),
                word,
                index,
            };
            if schema.needs_validation() {
                // SAFETY: the slot is pinned, so no process writes it while this view lives;
                // it holds the value's `size` bytes.
                let bytes = unsafe { std::slice::from_raw_parts(lent.data(), schema.size()) };
                if !schema.is_valid(bytes) {
                    return Err(failed(self, ReadFailure::InvalidValue { seq }));
                }
            }
            let time_ns = seg.time(index);
            let read = self.conclude(mode, seq, time_ns, lineage);
            let lent = read.sample.is_some().then_some(lent);
            return Ok((read, lent));
        }
        Err(failed(self, ReadFailure::Contended))
    }

    /// Every value newer than the last one returned that is still in the ring, oldest first,
    /// into `out`; returns how many. Values overwritten (or older than `max_age`) before they
    /// were read are counted in the next returned value's `missed`, never returned torn or out
    /// of order. The first batch of a subscriber holds whatever the ring holds.
    pub(crate) fn read_all(&mut self, out: &mut impl BatchDst) -> Result<usize, SubscribeError> {
        let Some(Attached { seg, schema }) = self.attached()? else {
            return Ok(0);
        };
        let located = if seg.is_lending() {
            match seg.publish_seq() {
                0 => Located::Empty,
                seq if seq > crate::segment::MAX_SEQ => Located::Corrupt(seq),
                seq => Located::At(seq, 0),
            }
        } else {
            seg.locate(self.cursor)
        };
        let newest = match located {
            Located::At(seq, _) => seq,
            Located::Empty => return Ok(0),
            Located::Corrupt(publish_seq) => {
                return Err(ReadFailure::Corrupt { publish_seq }.at(
                    &self.topic,
                    &self.path,
                    self.max_borrowed,
                ));
            }
        };
        let lineage = seg.lineage();
        let slots = u64::from(seg.layout().slot_count);
        // The last value returned in this lineage, or the ring's start for a first batch (or a
        // new lineage, whose earlier values count as missed).
        let (mut previous, first_batch) = match (self.last.lineage, self.last.lineage == lineage) {
            (0, _) => (newest.saturating_sub(slots), true),
            (_, true) => (self.last.seq, false),
            (_, false) => (0, false),
        };
        if previous >= newest {
            return Ok(0);
        }
        let mut count = 0;
        for seq in (previous + 1).max(newest.saturating_sub(slots - 1)).max(1)..=newest {
            let dst = out.room(schema.size());
            let time_ns = if seg.is_lending() {
                // SAFETY: `room` gives `schema.size()` writable process-local bytes (`Dst`'s
                // contract), and `schema` is the attached file's, whose element size it is.
                unsafe { seg.read_lent_exact(seq, dst) }.map_err(|()| {
                    ReadFailure::BorrowLimit.at(&self.topic, &self.path, self.max_borrowed)
                })?
            } else {
                // SAFETY: as above.
                unsafe { seg.read_exact(seq, dst) }
            };
            let Some(time_ns) = time_ns.filter(|t| !self.expired(*t)) else {
                continue; // overwritten (or too old) before it was read: missed
            };
            // SAFETY: `read_exact` initialised the value's bytes at `dst`, process-local.
            let bytes = unsafe { std::slice::from_raw_parts(dst, schema.size()) };
            if !schema.is_valid(bytes) {
                if count > 0 {
                    // The values before it are returned first; the next batch reports it.
                    break;
                }
                // Reported once, then passed over: the next batch goes on after it (a queue
                // of requests is not stopped by one bad value).
                self.last = Last { seq, lineage };
                self.share_last();
                return Err(SubscribeError::InvalidValue {
                    topic: self.topic.as_str().to_owned(),
                    seq,
                });
            }
            // A first batch reports nothing missed before its first value (as a first read).
            let missed = if first_batch && count == 0 {
                0
            } else {
                seq - previous - 1
            };
            out.commit(
                Sample {
                    value: (),
                    seq,
                    published: Timestamp(time_ns),
                    is_new: true,
                    missed,
                },
                &schema,
            );
            previous = seq;
            count += 1;
            self.last = Last { seq, lineage };
        }
        if count > 0 {
            self.share_last();
            self.cursor = Some(Cursor {
                seq: previous,
                index: (previous % slots) as u32,
            });
        }
        Ok(count)
    }

    /// Whether a value published at `time_ns` is older than `max_age`.
    fn expired(&self, time_ns: u64) -> bool {
        self.max_age_ns
            .is_some_and(|max| sys::monotonic_ns().saturating_sub(time_ns) > max)
    }
}

/// A slot of a lending topic pinned by this subscriber: unchanged until this is dropped, which
/// releases it.
pub(crate) struct Lent {
    seg: Arc<Segment<ReadOnly>>,
    word: u32,
    index: u32,
}

impl Lent {
    /// The value in the slot.
    pub(crate) fn data(&self) -> *const u8 {
        self.seg.slot_data(self.index).cast_const()
    }

    /// The value's size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.seg.layout().elem_size as usize
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.seg.release_pin_word(self.word);
    }
}

/// Why [`read_consistent`] failed, before the topic's name and path are known.
pub(super) enum ReadFailure {
    InvalidValue {
        seq: u64,
    },
    /// A lending topic, and every pin of this subscriber holds a borrowed value.
    BorrowLimit,
    Contended,
    Corrupt {
        publish_seq: u64,
    },
    /// A lending topic's header names a slot the file does not have.
    BadSlot {
        slot: u32,
    },
}

impl ReadFailure {
    fn at(
        self,
        topic: &crate::name::TopicName,
        path: &std::path::Path,
        max_borrowed: u32,
    ) -> SubscribeError {
        match self {
            ReadFailure::InvalidValue { seq } => SubscribeError::InvalidValue {
                topic: topic.as_str().to_owned(),
                seq,
            },
            ReadFailure::BorrowLimit => SubscribeError::BorrowLimit {
                topic: topic.as_str().to_owned(),
                max_borrowed,
            },
            ReadFailure::Contended => SubscribeError::Contended {
                topic: topic.as_str().to_owned(),
                attempts: MAX_ATTEMPTS,
            },
            ReadFailure::BadSlot { slot } => SubscribeError::Format {
                path: path.to_path_buf(),
                source: FormatError::Inconsistent {
                    field: "newest_slot",
                    detail: format!("slot {slot}, which the file does not have"),
                },
            },
            ReadFailure::Corrupt { publish_seq } => SubscribeError::Format {
                path: path.to_path_buf(),
                source: FormatError::Inconsistent {
                    field: "publish_seq",
                    detail: format!(
                        "{publish_seq} is above the largest sequence number a publisher writes"
                    ),
                },
            },
        }
    }
}

/// What [`read_consistent`] found.
enum Found {
    /// No value.
    Nothing,
    /// The newest value is this one, not above the one to skip to: not copied.
    Seen(u64),
    /// This value (sequence number, publish time), copied and valid.
    Copied(u64, u64),
}

/// Copies the newest value into `dst` with the seqlock protocol, retrying a bounded number of
/// times, and validates it, unless it is numbered `newer_than` or less (then `dst` is left
/// alone); on [`Found::Copied`], `dst` holds a valid value.
#[inline]
fn read_consistent(
    seg: &Segment<ReadOnly>,
    schema: &TopicSchema,
    cursor: &mut Option<Cursor>,
    newer_than: u64,
    dst: &mut impl Dst,
    retries: &mut u64,
) -> Result<Found, ReadFailure> {
    let room = dst.room(seg.layout().elem_size as usize);
    let lending = seg.is_lending();
    for attempt in 0..MAX_ATTEMPTS {
        let read = if lending {
            // SAFETY: as below, for `read_lent`.
            unsafe { seg.read_lent(newer_than, room) }.map_err(|()| ReadFailure::BorrowLimit)?
        } else {
            // SAFETY: `room` gives the segment's element size in writable process-local bytes
            // (`Dst`'s contract), which is what `read_next` writes.
            unsafe { seg.read_next(cursor, newer_than, room) }
        };
        match read {
            SlotRead::Empty => return Ok(Found::Nothing),
            SlotRead::Seen { seq } => return Ok(Found::Seen(seq)),
            SlotRead::Corrupt { publish_seq } => return Err(ReadFailure::Corrupt { publish_seq }),
            SlotRead::BadSlot { slot } => return Err(ReadFailure::BadSlot { slot }),
            SlotRead::Retry => {
                *retries += 1;
                if attempt < 16 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            SlotRead::Done { seq, time_ns } => {
                if dst.needs_validation(schema) {
                    // SAFETY: `read_next` initialised the value's bytes at `room`,
                    // process-local.
                    let bytes = unsafe { std::slice::from_raw_parts(room, schema.size()) };
                    if !schema.is_valid(bytes) {
                        return Err(ReadFailure::InvalidValue { seq });
                    }
                }
                return Ok(Found::Copied(seq, time_ns));
            }
        }
    }
    Err(ReadFailure::Contended)
}
