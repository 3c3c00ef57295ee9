//! Lending topics from Python: a value written in place (`Publisher.loan()`) or read in place
//! (`Subscriber.borrow()`), as a message whose bytes are the topic's slot ([`SlotBuffer`]), for
//! the length of a `with` block.
//!
//! Everything that can reach the slot's bytes is counted: numpy arrays (made over a
//! [`SlotArray`], an owner object numpy keeps as the array's base, which nothing can release
//! early) and buffer exports (memoryviews, without numpy). When the block ends the message
//! stops reading its slot (its fields raise); what is still alive of it then:
//! - of a borrow, keeps the slot pinned, unchanged, until the last of it is gone (it reads the
//!   value it was taken from, never a reused slot);
//! - of a loan, makes the block end with `BufferError` and nothing published: an array that
//!   outlived the block could write a value subscribers are reading. The slot is kept out of
//!   use until those arrays are gone.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
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

/// The state a slot's buffer and its arrays share.
struct SlotState {
    /// Until the `with` block ends.
    live: AtomicBool,
    /// Buffer exports and [`SlotArray`]s alive.
    holders: AtomicUsize,
    readonly: bool,
    keep: Mutex<Option<Keep>>,
}

impl SlotState {
    /// One holder fewer: the last one after the block ended lets a borrow's slot go.
    fn let_go(&self) {
        let left = self.holders.fetch_sub(1, Ordering::AcqRel) - 1;
        if left == 0 && !self.live.load(Ordering::Acquire) && self.readonly {
            self.release();
        }
    }

    /// Lets the slot go: unpins a borrow, drops a loan's hold of the mapping.
    fn release(&self) {
        let taken = self.keep.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(taken);
    }
}

/// The bytes of a slot of a lending topic, lent to Python: a buffer (read-only for a borrow)
/// whose exports are counted, valid while its loan or borrow lasts.
#[pyclass(module = "shm_pub_sub", name = "_SlotBuffer", frozen)]
pub(crate) struct SlotBuffer {
    /// The slot's first byte (an address: the memory stays mapped while `keep` holds it).
    addr: usize,
    len: usize,
    /// The slot of a loan (to keep it out of use while holders outlive the block).
    slot: u32,
    state: Arc<SlotState>,
}

impl SlotBuffer {
    fn new(addr: usize, len: usize, slot: u32, readonly: bool, keep: Keep) -> SlotBuffer {
        SlotBuffer {
            addr,
            len,
            slot,
            state: Arc::new(SlotState {
                live: AtomicBool::new(true),
                holders: AtomicUsize::new(0),
                readonly,
                keep: Mutex::new(Some(keep)),
            }),
        }
    }

    /// The bytes of a loan, writable.
    pub(crate) fn of_loan(loan: BytesLoan) -> SlotBuffer {
        let (addr, len, slot) = (loan.as_mut_ptr() as usize, loan.len(), loan.slot());
        SlotBuffer::new(addr, len, slot, false, Keep::Loan(loan))
    }

    /// The bytes of a borrow, read-only.
    pub(crate) fn of_borrow(borrowed: BorrowedBytes) -> SlotBuffer {
        let (addr, len) = (borrowed.as_ptr() as usize, borrowed.len());
        SlotBuffer::new(addr, len, u32::MAX, true, Keep::Borrow { _pin: borrowed })
    }

    fn ended() -> PyErr {
        PyValueError::new_err(
            "this value was lent from a topic's shared memory for its `with` block, which has \
             ended; copy what you need inside the block (value.copy(), numpy.copy(...))",
        )
    }

    fn live(&self) -> bool {
        self.state.live.load(Ordering::Acquire)
    }

    /// Runs `f` on the slot's bytes while the loan or borrow lasts (no Python code may run in
    /// `f`).
    pub(crate) fn with_bytes<R>(&self, _py: Python<'_>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
        if !self.live() {
            return Err(SlotBuffer::ended());
        }
        // SAFETY: while live, the slot is this process's alone to write (a loan: claimed, no
        // process reads it) or pinned (a borrow: no process writes it), and mapped (`keep`);
        // the GIL is held (the module declares it needs it), so the block cannot end while
        // `f` runs.
        Ok(f(unsafe {
            std::slice::from_raw_parts(self.addr as *const u8, self.len)
        }))
    }

    /// As [`with_bytes`](Self::with_bytes), to write them (a borrow refuses).
    pub(crate) fn with_bytes_mut<R>(
        &self,
        _py: Python<'_>,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> PyResult<R> {
        if self.state.readonly {
            return Err(PyValueError::new_err(
                "a borrowed value is read-only (its publisher's subscribers share it); change a \
                 copy: value.copy()",
            ));
        }
        if !self.live() {
            return Err(SlotBuffer::ended());
        }
        // SAFETY: as in `with_bytes`: a live loan's slot is written by this process alone.
        Ok(f(unsafe {
            std::slice::from_raw_parts_mut(self.addr as *mut u8, self.len)
        }))
    }

    /// A numpy array of bytes `[at, at + len)` of the slot (read-only for a borrow), made over
    /// a [`SlotArray`] that numpy keeps as its base: counted until numpy drops it.
    pub(crate) fn byte_array<'py>(
        &self,
        np: &Bound<'py, PyModule>,
        at: usize,
        len: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !self.live() {
            return Err(SlotBuffer::ended());
        }
        if at.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(PyValueError::new_err("a field outside its value"));
        }
        self.state.holders.fetch_add(1, Ordering::AcqRel);
        let owner = SlotArray {
            addr: self.addr + at,
            len,
            state: Arc::clone(&self.state),
        };
        np.getattr(pyo3::intern!(np.py(), "asarray"))?
            .call1((Py::new(np.py(), owner)?,))
    }

    /// Ends the loan or borrow for Python: the message stops reading the slot. Returns whether
    /// nothing holds the slot any more (then a borrow's pin is released now; otherwise when the
    /// last holder goes).
    pub(crate) fn end(&self) -> bool {
        self.state.live.store(false, Ordering::Release);
        let idle = self.state.holders.load(Ordering::Acquire) == 0;
        if idle && self.state.readonly {
            self.state.release();
        }
        idle
    }

    /// Whether arrays or buffers taken from this slot are still alive.
    pub(crate) fn exported(&self) -> bool {
        self.state.holders.load(Ordering::Acquire) > 0
    }

    /// The loan's slot.
    pub(crate) fn slot(&self) -> u32 {
        self.slot
    }

    /// Runs `f` on the loan (`None` for a borrow or once released).
    pub(crate) fn with_loan<R>(&self, f: impl FnOnce(Option<&BytesLoan>) -> R) -> R {
        let keep = self.state.keep.lock().unwrap_or_else(|p| p.into_inner());
        f(match &*keep {
            Some(Keep::Loan(loan)) => Some(loan),
            _ => None,
        })
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
        if !me.live() {
            return Err(PyBufferError::new_err(
                "this value's loan or borrow ended with its `with` block",
            ));
        }
        let len = isize::try_from(me.len).map_err(|_| PyBufferError::new_err("too large"))?;
        // SAFETY: `view` is the interpreter's, to be filled; the memory at `addr` is `len`
        // bytes that stay mapped while a holder is counted (the export is counted below, and
        // the view holds a reference to this object), writable unless read-only.
        // PyBuffer_FillInfo refuses a writable request of a read-only buffer, setting an
        // exception.
        let filled = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                me.addr as *mut c_void,
                len,
                c_int::from(me.state.readonly),
                flags,
            )
        };
        if filled != 0 {
            return Err(PyErr::fetch(slf.py()));
        }
        me.state.holders.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// A buffer exported from the slot was released.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {
        self.state.let_go();
    }
}

/// What a numpy array over part of a slot is made from, and keeps as its base: it describes
/// the bytes (`__array_interface__`), and counts as a holder of the slot for as long as it
/// lives. It has no method that lets the bytes go early.
#[pyclass(module = "shm_pub_sub", name = "_SlotArray", frozen)]
pub(crate) struct SlotArray {
    addr: usize,
    len: usize,
    state: Arc<SlotState>,
}

#[pymethods]
impl SlotArray {
    /// The bytes as numpy reads them: `len` bytes at `addr`, read-only for a borrow.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("shape", PyTuple::new(py, [self.len])?)?;
        d.set_item("typestr", "|u1")?;
        d.set_item("data", (self.addr, self.state.readonly))?;
        d.set_item("version", 3)?;
        Ok(d)
    }
}

impl Drop for SlotArray {
    fn drop(&mut self) {
        self.state.let_go();
    }
}
