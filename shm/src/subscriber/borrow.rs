//! Reading in place: a slot of a lending topic lent to a subscriber ([`Borrowed`]).

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use super::read::{Lent, Mode};
use super::wait::{Step, Wait};
use super::{Sample, Subscriber, Timestamp};
use crate::error::{RecvError, SubscribeError};
use crate::message::ShmMessage;
use crate::schema::BOUNDED_DATA_OFFSET;

/// A value of a lending topic read in place (see [`Subscriber::borrow`]): it dereferences to
/// the value in the topic's slot, which stays unchanged until this is dropped (the publisher
/// writes other slots meanwhile). No copy at any size.
///
/// It keeps the slot pinned (and the topic file mapped) by itself, so it may outlive the
/// borrow of the subscriber that made it; a subscriber holds at most
/// [`max_borrowed`](crate::SubscriberBuilder::max_borrowed) of them at once. Hold it for as long
/// as the value is needed, not much longer: while it lives, its slot is one fewer for the
/// publisher.
pub struct Borrowed<T: ?Sized> {
    /// Keeps the slot pinned; dropping it releases the slot.
    _lent: Lent,
    borrowed_ptr: *const T,
    borrowed_info: Sample<()>,
}

impl<T: ?Sized> Borrowed<T> {
    /// The value's sequence number (as [`Sample::seq`]).
    pub fn seq(&self) -> u64 {
        self.borrowed_info.seq
    }

    /// When it was published (as [`Sample::published`]).
    pub fn published(&self) -> Timestamp {
        self.borrowed_info.published
    }

    /// Whether this subscriber had not returned it before (as [`Sample::is_new`]).
    pub fn is_new(&self) -> bool {
        self.borrowed_info.is_new
    }

    /// How many values it never saw before this one (as [`Sample::missed`]).
    pub fn missed(&self) -> u64 {
        self.borrowed_info.missed
    }
}

impl<T: ?Sized> Deref for Borrowed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the slot is pinned by `lent` for as long as `self` lives: the publisher
        // claims only slots nobody pins, so no process writes it meanwhile (docs/FORMAT.md,
        // "Lending topics"); the mapping is kept alive by `lent`; the slot is aligned for `T`
        // and its bytes were checked to be a valid `T` before this was made.
        unsafe { &*self.borrowed_ptr }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Borrowed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Borrowed")
            .field("value", &&**self)
            .field("seq", &self.borrowed_info.seq)
            .field("published", &self.borrowed_info.published)
            .field("is_new", &self.borrowed_info.is_new)
            .field("missed", &self.borrowed_info.missed)
            .finish()
    }
}

/// How a subscriber's borrows read the pinned slot: as one value, or as the elements of a
/// slice topic's bounded sequence.
trait Lend {
    /// The value in the slot `data` points to (pinned, checked to be valid).
    ///
    /// # Safety
    /// `data` points to a pinned slot holding a valid value of the attached topic's type.
    unsafe fn view(data: *const u8) -> *const Self;
}

impl<T: ShmMessage> Lend for T {
    unsafe fn view(data: *const u8) -> *const T {
        data.cast::<T>()
    }
}

impl<T: ShmMessage> Lend for [T] {
    unsafe fn view(data: *const u8) -> *const [T] {
        // SAFETY: the slot holds a bounded sequence of `T` (the attached schema's), valid, so
        // its length word (offset 0) is at most its room, whose elements follow from offset 8.
        unsafe {
            let len = data.cast::<u64>().read() as usize;
            let elements = data.add(BOUNDED_DATA_OFFSET as usize).cast::<T>();
            std::ptr::slice_from_raw_parts(elements, len)
        }
    }
}

fn lend<T: ?Sized + Lend>(
    s: &mut Subscriber<T>,
    mode: Mode,
) -> Result<Option<Borrowed<T>>, SubscribeError> {
    let (read, lent) = s.core.borrow_raw(mode)?;
    Ok(read.sample.zip(lent).map(|(info, lent)| Borrowed {
        // SAFETY: `borrow_raw` pinned the slot and checked its value.
        borrowed_ptr: unsafe { T::view(lent.data()) },
        _lent: lent,
        borrowed_info: info,
    }))
}

fn lend_waiting<T: ?Sized + Lend>(
    s: &mut Subscriber<T>,
    mut wait: Wait,
) -> Result<Borrowed<T>, RecvError> {
    loop {
        let mut lent = None;
        let step = s.core.wait_step_by(&mut wait, |core, mode| {
            let (read, l) = core.borrow_raw(mode)?;
            lent = l;
            Ok(read)
        })?;
        match (step, lent) {
            (Step::Ready(info), Some(lent)) => {
                return Ok(Borrowed {
                    // SAFETY: as in `lend`.
                    borrowed_ptr: unsafe { T::view(lent.data()) },
                    _lent: lent,
                    borrowed_info: info,
                });
            }
            (Step::Block(sleeper), _) => sleeper.block(),
            // A value without a slot cannot come out of `borrow_raw`.
            (Step::Ready(_), None) => {}
        }
    }
}

/// Borrowing, on lending topics ([`PublisherBuilder::lending`](crate::PublisherBuilder::lending)).
/// A copying topic refuses with [`SubscribeError::NotLending`].
impl<T: ShmMessage> Subscriber<T> {
    /// The newest value, in place, whether or not it was read before; `Ok(None)` if nothing
    /// was published yet. No copy at any size: a 24 MiB frame costs what an 8-byte value does.
    ///
    /// ```no_run
    /// # #[derive(shm::ShmMessage, Clone, Copy)] #[repr(C)] struct Frame { seq: u64, pixels: [u8; 1 << 20] }
    /// let mut camera = shm::Subscriber::<Frame>::new("camera")?;
    /// if let Some(frame) = camera.borrow()? {
    ///     println!("frame {} starts with {}", frame.seq(), frame.pixels[0]);
    /// } // the slot is released here
    /// # Ok::<(), shm::SubscribeError>(())
    /// ```
    ///
    /// # Errors
    /// [`SubscribeError::BorrowLimit`] when this subscriber holds `max_borrowed` values already;
    /// [`SubscribeError::NotLending`] on a copying topic; otherwise as
    /// [`latest`](Subscriber::latest).
    pub fn borrow(&mut self) -> Result<Option<Borrowed<T>>, SubscribeError> {
        lend(self, Mode::Latest)
    }

    /// The newest value, in place, if it is newer than the last one this subscriber returned
    /// (as [`try_recv`](Subscriber::try_recv)).
    pub fn try_borrow(&mut self) -> Result<Option<Borrowed<T>>, SubscribeError> {
        lend(self, Mode::Next)
    }

    /// Waits up to `timeout` for a value newer than the last one this subscriber returned, and
    /// lends it in place (as [`recv_timeout`](Subscriber::recv_timeout), which it waits like).
    pub fn borrow_timeout(&mut self, timeout: Duration) -> Result<Borrowed<T>, RecvError> {
        lend_waiting(self, Wait::for_next(Some(timeout)))
    }
}

/// Borrowing the elements of a slice topic, on lending topics.
impl<T: ShmMessage> Subscriber<[T]> {
    /// The newest value's elements, in place (as [`Subscriber::borrow`]).
    pub fn borrow(&mut self) -> Result<Option<Borrowed<[T]>>, SubscribeError> {
        lend(self, Mode::Latest)
    }

    /// The newest value's elements, in place, if newer than the last one returned.
    pub fn try_borrow(&mut self) -> Result<Option<Borrowed<[T]>>, SubscribeError> {
        lend(self, Mode::Next)
    }

    /// Waits up to `timeout` for a newer value, and lends its elements in place.
    pub fn borrow_timeout(&mut self, timeout: Duration) -> Result<Borrowed<[T]>, RecvError> {
        lend_waiting(self, Wait::for_next(Some(timeout)))
    }
}
