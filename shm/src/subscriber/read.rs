//! One read: attach if needed, copy the newest value with the seqlock, validate it, and decide
//! its freshness against what this subscriber returned before.

use std::mem::MaybeUninit;

use super::attach::Attach;
use super::{Sample, Subscriber, Timestamp};
use crate::error::{FormatError, SubscribeError};
use crate::message::ShmMessage;
use crate::name::TopicName;
use crate::segment::{Cursor, ReadOnly, Segment, SlotRead};
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

/// A read's outcome: the sample (if any) and the newest sequence number it saw in the file
/// (0: none), which a blocking wait sleeps on.
pub(crate) struct Read<S> {
    pub(crate) sample: Option<S>,
    pub(crate) seen: u64,
}

impl<T: ShmMessage> Subscriber<T> {
    /// One read in `mode`.
    #[inline]
    pub(crate) fn read(&mut self, mode: Mode) -> Result<Read<Sample<T>>, SubscribeError> {
        let mut buf = MaybeUninit::<T>::uninit();
        // SAFETY: `buf` is process-local and has room for a `T`.
        let read = unsafe { self.read_raw(mode, &mut buf)? };
        Ok(Read {
            sample: read.sample.map(|m| Sample {
                // SAFETY: `read_raw` returned a sample, so it left a valid `T` in `buf`.
                value: unsafe { buf.assume_init() },
                seq: m.seq,
                published: m.published,
                is_new: m.is_new,
                missed: m.missed,
            }),
            seen: read.seen,
        })
    }

    /// One read in `mode` into `dst`; on `Some`, `dst` holds a valid `T` (on `None` or an
    /// error it may hold a torn or stale copy).
    ///
    /// # Safety
    /// Writing any bytes to `dst` must be sound: `dst` is process-local, and either a
    /// `MaybeUninit` or `T` accepts every bit pattern (`!T::SCHEMA.needs_validation()`).
    pub(super) unsafe fn read_raw(
        &mut self,
        mode: Mode,
        dst: &mut MaybeUninit<T>,
    ) -> Result<Read<Sample<()>>, SubscribeError> {
        let mut reattached = false;
        loop {
            self.attach_if_needed()?;
            let (found, lineage) = match &self.state {
                Attach::Detached => {
                    return Ok(Read {
                        sample: None,
                        seen: 0,
                    });
                }
                Attach::Mismatch(seg, m) => {
                    if !reattached && self.recheck.due() && seg.replaced_at(&self.path) {
                        reattached = true;
                        self.state = Attach::Detached;
                        self.attach()?;
                        continue;
                    }
                    return Err(SubscribeError::SchemaMismatch(m.clone()));
                }
                Attach::Ready(seg) => {
                    // A file removed or replaced by hand gives no sign inside the mapping:
                    // compare the path with the mapping now and then.
                    if !reattached && self.recheck.due() && seg.replaced_at(&self.path) {
                        reattached = true;
                        self.attach()?;
                        continue;
                    }
                    let found = read_consistent::<T>(
                        seg,
                        &mut self.cursor,
                        dst,
                        &mut self.retries,
                        &self.topic,
                    )
                    .map_err(|e| e.at(&self.path))?;
                    (found, seg.lineage())
                }
            };
            let Some(mut sample) = found else {
                return Ok(Read {
                    sample: None,
                    seen: 0,
                });
            };
            let seen = sample.seq;
            if let Some(max_age) = self.max_age_ns
                && sys::monotonic_ns().saturating_sub(sample.published.0) > max_age
            {
                return Ok(Read { sample: None, seen });
            }
            // Numbers compare within a lineage (a file and the files that replaced it); a file
            // made anew starts a lineage whose values this subscriber has never returned.
            let same_lineage = lineage == self.last.lineage;
            sample.is_new = !same_lineage || sample.seq > self.last.seq;
            if !sample.is_new {
                return Ok(Read {
                    sample: (mode == Mode::Latest).then_some(sample),
                    seen,
                });
            }
            sample.missed = match (self.last.lineage, same_lineage) {
                (0, _) => 0,
                (_, true) => sample.seq - self.last.seq - 1,
                (_, false) => sample.seq - 1,
            };
            if mode != Mode::Peek {
                self.last = Last {
                    seq: sample.seq,
                    lineage,
                };
            }
            return Ok(Read {
                sample: Some(sample),
                seen,
            });
        }
    }
}

/// Why [`read_consistent`] failed, before the topic's path is known.
pub(super) enum ReadFailure {
    Subscribe(SubscribeError),
    Corrupt { publish_seq: u64 },
}

impl ReadFailure {
    fn at(self, path: &std::path::Path) -> SubscribeError {
        match self {
            ReadFailure::Subscribe(e) => e,
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

/// Copies the newest value into `dst` with the seqlock protocol, retrying a bounded number of
/// times, and validates it; on `Some`, `dst` holds a valid `T`.
#[inline]
fn read_consistent<T: ShmMessage>(
    seg: &Segment<ReadOnly>,
    cursor: &mut Option<Cursor>,
    dst: &mut MaybeUninit<T>,
    retries: &mut u64,
    topic: &TopicName,
) -> Result<Option<Sample<()>>, ReadFailure> {
    for attempt in 0..MAX_ATTEMPTS {
        // SAFETY: `dst` has `size_of::<T>()` writable bytes, which `attach` checked equals the
        // segment's element size, and is process-local.
        match unsafe { seg.read_next(cursor, dst.as_mut_ptr().cast::<u8>()) } {
            SlotRead::Empty => return Ok(None),
            SlotRead::Corrupt { publish_seq } => {
                return Err(ReadFailure::Corrupt { publish_seq });
            }
            SlotRead::Retry => {
                *retries += 1;
                if attempt < 16 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            SlotRead::Done { seq, time_ns } => {
                if T::SCHEMA.needs_validation() {
                    // SAFETY: `read_next` initialised all `size_of::<T>()` bytes of `dst`;
                    // this slice is over process-local memory.
                    let bytes = unsafe {
                        std::slice::from_raw_parts(dst.as_ptr().cast::<u8>(), size_of::<T>())
                    };
                    if !T::SCHEMA.bytes_valid(bytes) {
                        return Err(ReadFailure::Subscribe(SubscribeError::InvalidValue {
                            topic: topic.as_str().to_owned(),
                            seq,
                        }));
                    }
                }
                // All bytes of `dst` are initialised, form a consistent copy of a published
                // value, and passed `T`'s validation: ShmMessage guarantees they are a `T`.
                return Ok(Some(Sample {
                    value: (),
                    seq,
                    published: Timestamp(time_ns),
                    is_new: false,
                    missed: 0,
                }));
            }
        }
    }
    Err(ReadFailure::Subscribe(SubscribeError::Contended {
        topic: topic.as_str().to_owned(),
        attempts: MAX_ATTEMPTS,
    }))
}
