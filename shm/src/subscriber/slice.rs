//! Slice subscribers: `Subscriber<[T]>` reads any bounded sequence of `T` (a slice topic of
//! any room, a `BoundedVec<T, N>` topic, a Python `seq[T, N]` topic) into a `Vec<T>` it is
//! given, following a publisher that grows the topic.

use std::marker::PhantomData;
use std::sync::Arc;

use super::core::{Core, Expect};
use super::read::{BatchDst, Dst, Lent, Mode};
use super::wait::{Sleeper, Step, Wait, WaitStep};
use super::{Sample, Subscriber, SubscriberBuilder};
use crate::error::{RecvError, SubscribeError};
use crate::message::ShmMessage;
use crate::schema::{BOUNDED_DATA_OFFSET, TopicSchema};

/// Where a slice subscriber copies a value: 8-aligned words, grown to the topic's value size.
struct Words<'a>(&'a mut Vec<u64>);

// SAFETY: `room` returns the start of at least `size` bytes of process-local `u64`s, which
// accept any bytes.
unsafe impl Dst for Words<'_> {
    fn room(&mut self, size: usize) -> *mut u8 {
        let words = size.div_ceil(8);
        if self.0.len() < words {
            self.0.resize(words, 0);
        }
        self.0.as_mut_ptr().cast()
    }
}

/// The elements of the valid bounded sequence of `T` at the start of `words` (as a read left
/// it), copied into `out` (its old elements dropped).
/// The elements of the bounded sequence in a pinned slot of a lending topic, copied into `out`.
fn take_lent<T: ShmMessage>(lent: &Lent, out: &mut Vec<T>) {
    let data = lent.data();
    // SAFETY: the slot is pinned (no process writes it) and holds a valid bounded sequence of
    // `T` (checked by the read): its length word at offset 0, 8-aligned.
    let len = unsafe { data.cast::<u64>().read() };
    let room = (lent.size() - BOUNDED_DATA_OFFSET as usize) / size_of::<T>().max(1);
    let len = usize::try_from(len).unwrap_or(usize::MAX).min(room);
    out.clear();
    out.reserve(len);
    // SAFETY: `len` elements of `T` lie in the slot from byte 8 (inside its room), valid `T`s;
    // `out` has room for them, and process-local memory does not overlap the mapping.
    unsafe {
        std::ptr::copy_nonoverlapping(
            data.add(BOUNDED_DATA_OFFSET as usize),
            out.as_mut_ptr().cast::<u8>(),
            len * size_of::<T>(),
        );
        out.set_len(len);
    }
}

fn take<T: ShmMessage>(words: &[u64], out: &mut Vec<T>) {
    let bytes = size_of_val(words);
    // A valid value's length is at most its room, which lies inside `words`; clamped anyway.
    let room = (bytes - BOUNDED_DATA_OFFSET as usize) / size_of::<T>().max(1);
    let len = usize::try_from(words[0]).unwrap_or(usize::MAX).min(room);
    out.clear();
    out.reserve(len);
    // SAFETY: `len` elements of `T` lie in `words` from byte 8 (8-aligned, and `T` is aligned to
    // at most 8: the sequence's schema says so), validated as `T`s by the read; `out` has room
    // for `len` elements, and the regions do not overlap. `T` has no destructor worth running
    // for the elements it had (ShmMessage types are plain data; `clear` ran them anyway).
    unsafe {
        std::ptr::copy_nonoverlapping(
            words
                .as_ptr()
                .cast::<u8>()
                .add(BOUNDED_DATA_OFFSET as usize),
            out.as_mut_ptr().cast::<u8>(),
            len * size_of::<T>(),
        );
        out.set_len(len);
    }
}

/// A batch read of a slice subscriber: each value copied out of the words into a `Vec`.
struct SliceBatch<'a, T> {
    words: Words<'a>,
    out: &'a mut Vec<Sample<Vec<T>>>,
}

// SAFETY: as `Words`.
unsafe impl<T: ShmMessage> Dst for SliceBatch<'_, T> {
    fn room(&mut self, size: usize) -> *mut u8 {
        self.words.room(size)
    }
}

// SAFETY: as above; `commit` is called after a consistent, validated copy into `room`.
unsafe impl<T: ShmMessage> BatchDst for SliceBatch<'_, T> {
    fn commit(&mut self, sample: Sample<()>, _: &Arc<TopicSchema>) {
        let mut items = Vec::new();
        take(self.words.0, &mut items);
        self.out.push(sample.map(|()| items));
    }
}

impl<T: ShmMessage> SubscriberBuilder<[T]> {
    pub(crate) fn open_slice(self) -> Result<Subscriber<[T]>, SubscribeError> {
        let elem = Arc::new(TopicSchema::of(T::SCHEMA));
        Ok(Subscriber {
            core: Core::open(self.options, Expect::SequenceOf(elem.clone()))?,
            schema: elem,
            words: Vec::new(),
            _type: PhantomData,
        })
    }
}

/// The reads of a slice subscriber, behind the API of [`Subscriber`] ([`TopicType`]'s
/// implementation for slices), and what only slices have.
///
/// [`TopicType`]: crate::TopicType
impl<T: ShmMessage> Subscriber<[T]> {
    /// One read (the newest value, or with `next` one newer than the last one returned) into
    /// `out`.
    pub(crate) fn read_into_slice(
        &mut self,
        next: bool,
        out: &mut Vec<T>,
    ) -> Result<Option<Sample<()>>, SubscribeError> {
        let mode = if next { Mode::Next } else { Mode::Latest };
        if self.core.is_lending() {
            // Straight from the pinned slot into `out`: one copy, of the elements only.
            let (read, lent) = self.core.borrow_raw(mode)?;
            if let Some(lent) = lent {
                take_lent::<T>(&lent, out);
            }
            return Ok(read.sample);
        }
        let read = self.core.read_raw(mode, &mut Words(&mut self.words))?;
        if read.sample.is_some() {
            take(&self.words, out);
        }
        Ok(read.sample)
    }

    /// As [`read_into_slice`](Self::read_into_slice), into a new `Vec`.
    pub(crate) fn read_slice(
        &mut self,
        next: bool,
    ) -> Result<Option<Sample<Vec<T>>>, SubscribeError> {
        let mut out = Vec::new();
        Ok(self
            .read_into_slice(next, &mut out)?
            .map(|s| s.map(|()| out)))
    }

    /// Every new value the ring holds, appended to `out`.
    pub(crate) fn read_all_slice(
        &mut self,
        out: &mut Vec<Sample<Vec<T>>>,
    ) -> Result<usize, SubscribeError> {
        let mut batch = SliceBatch {
            words: Words(&mut self.words),
            out,
        };
        self.core.read_all(&mut batch)
    }

    /// One step of a blocking wait.
    pub(crate) fn wait_step_slice(
        &mut self,
        wait: &mut Wait,
    ) -> Result<WaitStep<Vec<T>>, RecvError> {
        Ok(
            match self.core.wait_step(wait, &mut Words(&mut self.words))? {
                Step::Ready(s) => {
                    let mut out = Vec::new();
                    take(&self.words, &mut out);
                    WaitStep::Ready(s.map(|()| out))
                }
                Step::Block(sleeper) => WaitStep::Block(sleeper),
            },
        )
    }

    /// One step of a blocking wait, into `out` (which keeps its allocation).
    pub(crate) fn wait_step_into_slice(
        &mut self,
        wait: &mut Wait,
        out: &mut Vec<T>,
    ) -> Result<WaitStep<()>, RecvError> {
        if self.core.is_lending() {
            let mut lent = None;
            let step = self.core.wait_step_by(wait, |core, mode| {
                let (read, l) = core.borrow_raw(mode)?;
                lent = l;
                Ok(read)
            })?;
            return Ok(match (step, lent) {
                (Step::Ready(sample), Some(lent)) => {
                    take_lent::<T>(&lent, out);
                    WaitStep::Ready(sample)
                }
                (Step::Ready(_), None) => WaitStep::Block(Sleeper::pause(0)),
                (Step::Block(sleeper), _) => WaitStep::Block(sleeper),
            });
        }
        Ok(
            match self.core.wait_step(wait, &mut Words(&mut self.words))? {
                Step::Ready(sample) => {
                    take(&self.words, out);
                    WaitStep::Ready(sample)
                }
                Step::Block(sleeper) => WaitStep::Block(sleeper),
            },
        )
    }

    /// The room of the topic attached to (the most elements its values hold), if attached.
    pub fn max_len(&self) -> Option<usize> {
        usize::try_from(self.core.schema()?.sequence_cap()?).ok()
    }

    /// The element type's schema.
    pub fn element_schema(&self) -> &Arc<TopicSchema> {
        &self.schema
    }
}
