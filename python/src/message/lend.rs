//! Lending topics from Python: a value written in place (`Publisher.loan()`) or read in place
//! (`Subscriber.borrow()`), as a message whose bytes are the topic's slot ([`SlotBuffer`]), for
//! the length of a `with` block.
//!
//! The slot's bytes reach Python through the buffer protocol (numpy arrays of array fields),
//! and every export is counted. When the block ends the message stops reading its slot (its
//! fields raise); arrays exported from it that are still alive then:
//! - of a borrow, keep the slot pinned, unchanged, until the last of them is released (they
//!   read the value they were taken from, never a reused slot);
//! - of a loan, make the block end with `BufferError` and nothing published: an array that
//!   outlived the block could write a value subscribers are reading. The slot is kept out of
//!   use until those arrays are gone.

use std::ffi::{c_int, c_void};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use shm::dynamic::{BorrowedBytes, BytesLoan};

/// What keeps a slot's memory valid and reserved: a loan (the publisher's claim, and the
/// mapping), or a borrow (the pin, and the mapping).
pub(crate) enum Keep {
    Loan(BytesLoan),
    /// Held for what dropping it does: unpin the slot.
    Borrow {
        _pin: BorrowedBytes,
    },
}

/// The bytes of a slot of a lending topic, lent to Python: a buffer (read-only for a borrow)
/// whose exports are counted, valid while its loan or borrow lasts.
#[pyclass(module = "shm_pub_sub", name = "_SlotBuffer", frozen)]
pub(crate) struct SlotBuffer {
    /// The slot's first byte (an address: the memory stays mapped while `keep` holds it).
    addr: usize,
    len: usize,
    readonly: bool,
    /// The slot of a loan (to keep it out of use while exports outlive the block).
    slot: u32,
    /// Until the `with` block ends.
    live: AtomicBool,
    /// Buffers exported and not released yet.
    exports: AtomicUsize,
    keep: Mutex<Option<Keep>>,
}

impl SlotBuffer {
    /// The bytes of a loan, writable.
    pub(crate) fn of_loan(loan: BytesLoan) -> SlotBuffer {
        SlotBuffer {
            addr: loan.as_mut_ptr() as usize,
            len: loan.len(),
            readonly: false,
            slot: loan.slot(),
            live: AtomicBool::new(true),
            exports: AtomicUsize::new(0),
            keep: Mutex::new(Some(Keep::Loan(loan))),
        }
    }

    /// The bytes of a borrow, read-only.
    pub(crate) fn of_borrow(borrowed: BorrowedBytes) -> SlotBuffer {
        SlotBuffer {
            addr: borrowed.as_ptr() as usize,
            len: borrowed.len(),
            readonly: true,
            slot: u32::MAX,
            live: AtomicBool::new(true),
            exports: AtomicUsize::new(0),
            keep: Mutex::new(Some(Keep::Borrow { _pin: borrowed })),
        }
    }

    fn ended() -> PyErr {
        PyValueError::new_err(
            "this value was lent from a topic's shared memory for its `with` block, which has \
             ended; copy what you need inside the block (value.copy(), numpy.copy(...))",
        )
    }

    /// Runs `f` on the slot's bytes while the loan or borrow lasts (no Python code may run in
    /// `f`).
    pub(crate) fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
        if !self.live.load(Ordering::Acquire) {
            return Err(SlotBuffer::ended());
        }
        // SAFETY: while live, the slot is this process's alone to write (a loan: claimed, no
        // process reads it) or pinned (a borrow: no process writes it), and mapped (`keep`);
        // the GIL is held, so the block cannot end while `f` runs.
        Ok(f(unsafe {
            std::slice::from_raw_parts(self.addr as *const u8, self.len)
        }))
    }

    /// As [`with_bytes`](Self::with_bytes), to write them (a borrow refuses).
    pub(crate) fn with_bytes_mut<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> PyResult<R> {
        if self.readonly {
            return Err(PyValueError::new_err(
                "a borrowed value is read-only (its publisher's subscribers share it); change a \
                 copy: value.copy()",
            ));
        }
        if !self.live.load(Ordering::Acquire) {
            return Err(SlotBuffer::ended());
        }
        // SAFETY: as in `with_bytes`: a live loan's slot is written by this process alone.
        Ok(f(unsafe {
            std::slice::from_raw_parts_mut(self.addr as *mut u8, self.len)
        }))
    }

    /// Ends the loan or borrow for Python: the message stops reading the slot. Returns whether
    /// no buffer is exported any more (then a borrow's pin is released now; otherwise when the
    /// last export is).
    pub(crate) fn end(&self) -> bool {
        self.live.store(false, Ordering::Release);
        let idle = self.exports.load(Ordering::Acquire) == 0;
        if idle && self.readonly {
            self.release();
        }
        idle
    }

    /// Whether buffers exported from this slot are still alive.
    pub(crate) fn exported(&self) -> bool {
        self.exports.load(Ordering::Acquire) > 0
    }

    /// The loan's slot.
    pub(crate) fn slot(&self) -> u32 {
        self.slot
    }

    /// Runs `f` on the loan (`None` for a borrow or once released).
    pub(crate) fn with_loan<R>(&self, f: impl FnOnce(Option<&BytesLoan>) -> R) -> R {
        let keep = self.keep.lock().unwrap_or_else(|p| p.into_inner());
        f(match &*keep {
            Some(Keep::Loan(loan)) => Some(loan),
            _ => None,
        })
    }

    /// Lets the slot go: unpins a borrow, drops a loan's hold of the mapping.
    fn release(&self) {
        let taken = self.keep.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(taken);
    }
}

#[pymethods]
impl SlotBuffer {
    /// Exports the slot's bytes (counted), while the loan or borrow lasts.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let me = slf.get();
        if !me.live.load(Ordering::Acquire) {
            return Err(PyBufferError::new_err(
                "this value's loan or borrow ended with its `with` block",
            ));
        }
        let len = isize::try_from(me.len).map_err(|_| PyBufferError::new_err("too large"))?;
        // SAFETY: `view` is the interpreter's, to be filled; the memory at `addr` is `len`
        // bytes that stay mapped while this object lives (the view holds a reference to it),
        // writable unless `readonly`. PyBuffer_FillInfo refuses a writable request of a
        // read-only buffer, setting an exception.
        let filled = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                me.addr as *mut c_void,
                len,
                c_int::from(me.readonly),
                flags,
            )
        };
        if filled != 0 {
            return Err(PyErr::fetch(slf.py()));
        }
        me.exports.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// A buffer exported from the slot was released: the last one after the block ended lets
    /// a borrow's slot go.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {
        let left = self.exports.fetch_sub(1, Ordering::AcqRel) - 1;
        if left == 0 && !self.live.load(Ordering::Acquire) && self.readonly {
            self.release();
        }
    }
}
