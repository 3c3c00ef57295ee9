//! Writing in place: a slot of a lending topic lent to its publisher ([`Loan`]).

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

use super::Publisher;
use super::core::PublisherCore;
use crate::error::PublishError;
use crate::message::ShmMessage;
use crate::schema::BOUNDED_DATA_OFFSET;

/// A slot of a lending topic, lent to its publisher to write the next value in place (see
/// [`Publisher::loan`]). It dereferences to the value; [`publish`](Loan::publish) makes it the
/// topic's newest value (as [`Publisher::publish`] would, without copying it). Dropping it
/// publishes nothing.
///
/// No subscriber reads the slot while it is lent: a lending topic's readers pin what they read,
/// and the publisher lends only a slot nobody pins.
#[must_use = "call .publish() to publish the value; dropping the loan publishes nothing"]
pub struct Loan<'a, T: ?Sized> {
    core: &'a mut PublisherCore,
    loan_seq: u64,
    loan_slot: u32,
    loan_ptr: *mut T,
    /// A slice loan: where its length word goes, and the length, stored on publish.
    len_word: Option<(*mut u64, u64)>,
    _value: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> Loan<'a, T> {
    /// The sequence number the value gets when published.
    pub fn seq(&self) -> u64 {
        self.loan_seq
    }

    fn cast<U: ?Sized>(self, value: *mut U) -> Loan<'a, U> {
        Loan {
            core: self.core,
            loan_seq: self.loan_seq,
            loan_slot: self.loan_slot,
            loan_ptr: value,
            len_word: self.len_word,
            _value: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for Loan<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the slot is this publisher's alone until it is published (claimed: no
        // subscriber pins it, no other process writes a topic whose publisher lock this one
        // holds), it is aligned for `T` (slots are aligned to the type), and it holds a valid
        // `T` (zeros, a value the caller wrote, or `MaybeUninit`).
        unsafe { &*self.loan_ptr }
    }
}

impl<T: ?Sized> DerefMut for Loan<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the loan is borrowed mutably, so this is the only reference.
        unsafe { &mut *self.loan_ptr }
    }
}

impl<T: ShmMessage> Loan<'_, T> {
    /// Publishes the value written in place and returns its sequence number. Wait-free, no
    /// copy: the stores of a publish's bookkeeping, and a `FUTEX_WAKE` only if a subscriber
    /// sleeps waiting for a value.
    ///
    /// # Errors
    /// [`PublishError::ForkedProcess`] in a child made by `fork` while the loan was out: the
    /// slot is the parent's publisher's; nothing is published.
    pub fn publish(self) -> Result<u64, PublishError> {
        self.commit()
    }
}

impl<T: ShmMessage> Loan<'_, [T]> {
    /// Publishes the elements written in place (see [`Loan::publish`]).
    ///
    /// # Errors
    /// As [`Loan::publish`].
    pub fn publish(self) -> Result<u64, PublishError> {
        self.commit()
    }
}

impl<T: ?Sized> Loan<'_, T> {
    fn commit(self) -> Result<u64, PublishError> {
        if !self.core.in_own_process() {
            return Err(PublishError::ForkedProcess);
        }
        if let Some((word, len)) = self.len_word {
            // SAFETY: the length word of the slot's bounded sequence, 8-aligned, in the claimed
            // slot that only this publisher touches until the commit below.
            unsafe { word.write(len) };
            // SAFETY: the loan is this publisher's last, uncommitted (`&mut` kept any other
            // away), of a slice whose `len` elements were all written (`assume_init`'s
            // contract).
            return Ok(unsafe {
                self.core
                    .commit_sequence(self.loan_seq, self.loan_slot, len)
            });
        }
        // SAFETY: the loan is this publisher's last, uncommitted (`&mut` kept any other away),
        // and the slot holds a valid value of a message type.
        Ok(unsafe { self.core.commit_loan(self.loan_seq, self.loan_slot) })
    }
}

impl<'a, T: ShmMessage> Loan<'a, MaybeUninit<T>> {
    /// The loan of the value, once written whole.
    ///
    /// # Safety
    /// Every byte of the value was written, and they form a valid `T`.
    pub unsafe fn assume_init(self) -> Loan<'a, T> {
        let value = self.loan_ptr.cast::<T>();
        self.cast(value)
    }

    /// Writes `value` into the slot and returns the loan of it.
    pub fn write(mut self, value: T) -> Loan<'a, T> {
        (*self).write(value);
        // SAFETY: just written whole.
        unsafe { self.assume_init() }
    }

    /// The loan of the value with the slot's bytes as they are (an earlier value of the topic,
    /// or zeros), to change only part of it: a frame whose changed rows are written, or a
    /// benchmark writing two words of a large value. For a type with checks (`bool`s, bounded
    /// sequences or strings), which such bytes might fail, the slot is zeroed first.
    pub fn reuse(self) -> Loan<'a, T> {
        if T::SCHEMA.needs_validation() || T::SCHEMA.has_bounded() {
            // SAFETY: the slot's `size_of::<T>()` bytes are writable (claimed), and zeros are
            // a valid `T` (ShmMessage's contract).
            unsafe { std::ptr::write_bytes(self.loan_ptr.cast::<T>(), 0, 1) };
        }
        // SAFETY: the slot's bytes are initialised memory of the mapped file (zeros, or bytes
        // of values of this type written before, possibly a mix of two of them if a publisher
        // was killed mid-write), and for a type without checks every bit pattern is a valid
        // `T`; a type with checks was zeroed above.
        unsafe { self.assume_init() }
    }
}

impl<'a, T: ShmMessage> Loan<'a, [MaybeUninit<T>]> {
    /// The loan of the elements, once written.
    ///
    /// # Safety
    /// Every element was written with a valid `T`.
    pub unsafe fn assume_init(self) -> Loan<'a, [T]> {
        let value = self.loan_ptr as *mut [T];
        self.cast(value)
    }

    /// The loan of the elements with the slot's bytes as they are (see
    /// [`Loan::reuse`](Loan#method.reuse)); elements of a type with checks are zeroed first.
    pub fn reuse(self) -> Loan<'a, [T]> {
        if T::SCHEMA.needs_validation() || T::SCHEMA.has_bounded() {
            // SAFETY: the loan's elements are writable bytes of the claimed slot, and zeros
            // are valid `T`s (ShmMessage's contract).
            unsafe { std::ptr::write_bytes(self.loan_ptr.cast::<T>(), 0, self.loan_ptr.len()) };
        }
        // SAFETY: as in `Loan::reuse`: initialised bytes, valid for a type without checks.
        unsafe { self.assume_init() }
    }
}

impl<T: ShmMessage> Publisher<T> {
    /// Lends the slot the next value goes into, zeroed, to write it in place; the value is
    /// published by [`Loan::publish`]. No copy at any size: a camera frame written by a
    /// driver straight into shared memory. Needs a lending topic
    /// ([`PublisherBuilder::lending`](crate::PublisherBuilder::lending)).
    ///
    /// ```no_run
    /// # #[derive(shm::ShmMessage, Clone, Copy)] #[repr(C)] struct Frame { seq: u64, pixels: [u8; 1 << 20] }
    /// let mut camera = shm::Publisher::<Frame>::builder("camera").lending(true).create()?;
    /// let mut frame = camera.loan()?;
    /// frame.pixels[0] = 255;
    /// frame.publish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`PublishError::NotLending`] on a copying topic; [`PublishError::AllPinned`] when every
    /// slot but the newest value's is held by subscribers; otherwise as
    /// [`publish`](Publisher::publish).
    pub fn loan(&mut self) -> Result<Loan<'_, T>, PublishError> {
        let loan = self.loan_uninit()?;
        // SAFETY: the slot's `size_of::<T>()` bytes are writable (claimed), and zeros are a
        // valid `T` (ShmMessage's contract).
        unsafe {
            std::ptr::write_bytes(loan.loan_ptr.cast::<T>(), 0, 1);
            Ok(loan.assume_init())
        }
    }

    /// As [`loan`](Publisher::loan), without zeroing the slot (it holds an earlier value, or
    /// bytes of one): for large values the caller writes whole anyway, which then cost no
    /// `memset`. [`Loan::write`] or [`Loan::assume_init`] make it a loan of a `T`.
    pub fn loan_uninit(&mut self) -> Result<Loan<'_, MaybeUninit<T>>, PublishError> {
        let (seq, index, data) = self.core.loan_raw()?;
        Ok(Loan {
            core: &mut self.core,
            loan_seq: seq,
            loan_slot: index,
            loan_ptr: data.cast::<MaybeUninit<T>>(),
            len_word: None,
            _value: PhantomData,
        })
    }
}

impl<T: ShmMessage> Publisher<[T]> {
    /// Lends the slot the next value goes into, as `len` zeroed elements to write in place
    /// (see [`Publisher::loan`]); `len` may be at most the room, or grow it as
    /// [`publish`](Publisher::publish) does.
    pub fn loan_slice(&mut self, len: usize) -> Result<Loan<'_, [T]>, PublishError> {
        let loan = self.loan_slice_uninit(len)?;
        // SAFETY: the loan's `len` elements are writable bytes of the claimed slot, and zeros
        // are valid `T`s (ShmMessage's contract).
        unsafe {
            std::ptr::write_bytes(loan.loan_ptr.cast::<T>(), 0, len);
            Ok(loan.assume_init())
        }
    }

    /// As [`loan_slice`](Publisher::loan_slice), without zeroing the elements: write each of
    /// them, then [`Loan::assume_init`].
    pub fn loan_slice_uninit(
        &mut self,
        len: usize,
    ) -> Result<Loan<'_, [MaybeUninit<T>]>, PublishError> {
        self.make_room(len)?;
        let (seq, index, data) = self.core.loan_raw()?;
        // SAFETY: the slot holds a bounded sequence of `T` with room for at least `len`
        // elements (`make_room`): its length word at offset 0, its elements from offset 8.
        let elements = unsafe { data.add(BOUNDED_DATA_OFFSET as usize) };
        Ok(Loan {
            core: &mut self.core,
            loan_seq: seq,
            loan_slot: index,
            loan_ptr: std::ptr::slice_from_raw_parts_mut(elements.cast::<MaybeUninit<T>>(), len),
            len_word: Some((data.cast::<u64>(), len as u64)),
            _value: PhantomData,
        })
    }
}
