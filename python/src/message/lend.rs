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
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::PyClass;
use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};
use shm::dynamic::{BorrowedBytes, BytesLoan};

/// What keeps a slot's memory valid and reserved: a loan (the publisher's claim, and the
/// mapping), or a borrow (the pin, and the mapping).
pub(crate) enum Keep {
    Loan(BytesLoan),
    /// Held for what dropping it does (besides its bytes): unpin the slot.
    Borrow(BorrowedBytes),
}

/// The state a slot's buffer and its arrays share.
struct SlotState {
    /// The slot's first byte (an address: the memory stays mapped while `keep` holds it), and
    /// its length: set when the buffer is made or lent again ([`SlotBuffer::refill`]).
    addr: AtomicUsize,
    len: AtomicUsize,
    /// The slot of a loan (to keep it out of use while holders outlive the block).
    slot: AtomicU32,
    /// Until the `with` block ends.
    live: AtomicBool,
    /// Buffer exports and [`SlotArray`]s alive.
    holders: AtomicUsize,
    /// A loan whose `Loan` was dropped before its block ended (its publisher gives it up).
    abandoned: AtomicBool,
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

/// Where a kept slot starts, how long it is and which slot it is (`u32::MAX` for a borrow).
fn place(keep: &Keep) -> (usize, usize, u32) {
    match keep {
        Keep::Loan(loan) => (loan.as_mut_ptr() as usize, loan.len(), loan.slot()),
        Keep::Borrow(b) => (b.as_ptr() as usize, b.len(), u32::MAX),
    }
}

/// The bytes of a slot of a lending topic, lent to Python: a buffer (read-only for a borrow)
/// whose exports are counted, valid while its loan or borrow lasts.
#[pyclass(module = "shm_pub_sub", name = "_SlotBuffer", frozen)]
pub(crate) struct SlotBuffer {
    state: Arc<SlotState>,
}

impl SlotBuffer {
    /// The bytes `keep` holds: writable for a loan, read-only for a borrow.
    pub(crate) fn new(keep: Keep) -> SlotBuffer {
        let (addr, len, slot) = place(&keep);
        SlotBuffer {
            state: Arc::new(SlotState {
                addr: AtomicUsize::new(addr),
                len: AtomicUsize::new(len),
                slot: AtomicU32::new(slot),
                live: AtomicBool::new(true),
                holders: AtomicUsize::new(0),
                abandoned: AtomicBool::new(false),
                readonly: matches!(keep, Keep::Borrow(_)),
                keep: Mutex::new(Some(keep)),
            }),
        }
    }

    /// Whether this buffer may be lent again: its block ended, nothing taken from it is alive,
    /// and it is of the same kind as `keep` (the caller has checked that no Python object but
    /// its message refers to it).
    fn refillable(&self, keep: &Keep) -> bool {
        let s = &self.state;
        !s.live.load(Ordering::Acquire)
            && s.holders.load(Ordering::Acquire) == 0
            && s.readonly == matches!(keep, Keep::Borrow(_))
    }

    /// Lends this buffer again, over the slot `keep` holds (see [`Spares`]).
    pub(crate) fn refill(&self, keep: Keep) {
        let s = &self.state;
        let (addr, len, slot) = place(&keep);
        let old = s
            .keep
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(keep);
        drop(old);
        s.addr.store(addr, Ordering::Relaxed);
        s.len.store(len, Ordering::Relaxed);
        s.slot.store(slot, Ordering::Relaxed);
        s.abandoned.store(false, Ordering::Relaxed);
        s.live.store(true, Ordering::Release);
    }

    /// Marks a loan whose `Loan` was dropped before its block ended.
    pub(crate) fn abandon(&self) {
        self.state.abandoned.store(true, Ordering::Release);
    }

    /// Whether the loan's `Loan` was dropped before its block ended.
    pub(crate) fn abandoned(&self) -> bool {
        self.state.abandoned.load(Ordering::Acquire)
    }

    fn addr(&self) -> usize {
        self.state.addr.load(Ordering::Relaxed)
    }

    fn len(&self) -> usize {
        self.state.len.load(Ordering::Relaxed)
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
            std::slice::from_raw_parts(self.addr() as *const u8, self.len())
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
            std::slice::from_raw_parts_mut(self.addr() as *mut u8, self.len())
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
        if at.checked_add(len).is_none_or(|end| end > self.len()) {
            return Err(PyValueError::new_err("a field outside its value"));
        }
        self.state.holders.fetch_add(1, Ordering::AcqRel);
        let owner = SlotArray {
            addr: self.addr() + at,
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

    /// Lets the slot go once the block ended and nothing holds it: a published (or given up)
    /// loan's hold of the mapping.
    pub(crate) fn release(&self) {
        self.state.release();
    }

    /// Whether this is a borrow's slot (read-only).
    pub(crate) fn readonly(&self) -> bool {
        self.state.readonly
    }

    /// Whether arrays or buffers taken from this slot are still alive.
    pub(crate) fn exported(&self) -> bool {
        self.state.holders.load(Ordering::Acquire) > 0
    }

    /// The loan's slot.
    pub(crate) fn slot(&self) -> u32 {
        self.state.slot.load(Ordering::Relaxed)
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
        let len = isize::try_from(me.len()).map_err(|_| PyBufferError::new_err("too large"))?;
        // SAFETY: `view` is the interpreter's, to be filled; the memory at `addr` is `len`
        // bytes that stay mapped while a holder is counted (the export is counted below, and
        // the view holds a reference to this object), writable unless read-only.
        // PyBuffer_FillInfo refuses a writable request of a read-only buffer, setting an
        // exception.
        let filled = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                me.addr() as *mut c_void,
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

/// The references to a live object.
fn refs(_py: Python<'_>, obj: *mut ffi::PyObject) -> isize {
    // SAFETY: `obj` is a live object (the caller holds a reference to it), read with the GIL
    // held.
    unsafe { ffi::Py_REFCNT(obj) }
}

/// The object of a `with` block that lends a value (`Loan`, `Borrow`): it holds the value and
/// the value's buffer.
pub(crate) trait Lent: PyClass {
    /// The value and its buffer.
    fn parts(&self) -> (&Py<PyAny>, &Py<SlotBuffer>);
}

/// `f` of the value and buffer `kit` holds; `None` while `kit` is borrowed.
fn with_parts<K: Lent, R>(
    kit: &Bound<'_, K>,
    f: impl FnOnce(&Py<PyAny>, &Py<SlotBuffer>) -> R,
) -> Option<R> {
    let kit = kit.try_borrow().ok()?;
    let (value, buffer) = kit.parts();
    Some(f(value, buffer))
}

/// The objects of lent values whose `with` blocks ended, kept to lend again, so that a loop of
/// `with pub.loan() as f:` (or `sub.borrow()`) makes no Python object once it runs: the block's
/// object, its value and the value's buffer are lent again together. One is lent again only
/// when nothing else in the process refers to any of them (reference counts: the spare list
/// holds the block's object, it the value and the buffer, the value the buffer) and nothing
/// taken from the buffer is alive; the variable of the last block still holds its value, hence
/// two spares.
pub(crate) struct Spares<K> {
    kits: [Option<Py<K>>; 2],
    /// Which one a third spare replaces.
    next: usize,
    /// Whether values of this class may be lent again (the last class asked, and the answer):
    /// not if they can hold anything of their own (a `__dict__`, weak references, slots).
    poolable: Option<(Py<PyType>, bool)>,
}

impl<K> Default for Spares<K> {
    fn default() -> Self {
        Spares {
            kits: [None, None],
            next: 0,
            poolable: None,
        }
    }
}

impl<K: Lent> Spares<K> {
    /// A spare whose parts nothing else refers to, with a value of `class`, to lend again over
    /// `keep`'s slot ([`SlotBuffer::refill`]).
    pub(crate) fn take(
        &mut self,
        py: Python<'_>,
        class: &Bound<'_, PyType>,
        keep: &Keep,
    ) -> Option<Py<K>> {
        if !self.poolable(class) {
            return None;
        }
        let at = self.kits.iter().position(|kit| {
            kit.as_ref().is_some_and(|kit| {
                refs(py, kit.as_ptr()) == 1
                    && with_parts(kit.bind(py), |value, buffer| {
                        refs(py, value.as_ptr()) == 1
                            && refs(py, buffer.as_ptr()) == 2
                            && value.bind(py).get_type().is(class)
                            && buffer.get().refillable(keep)
                    }) == Some(true)
            })
        })?;
        self.kits[at].take()
    }

    /// Keeps `kit` (its block ended) to lend again, if its value's class may be.
    pub(crate) fn put(&mut self, py: Python<'_>, kit: Py<K>) {
        let class = with_parts(kit.bind(py), |value, _| value.bind(py).get_type());
        if !class.is_some_and(|class| self.poolable(&class)) {
            return;
        }
        match self.kits.iter().position(Option::is_none) {
            Some(free) => self.kits[free] = Some(kit),
            None => {
                self.kits[self.next] = Some(kit);
                self.next = (self.next + 1) % self.kits.len();
            }
        }
    }

    /// Drops every spare.
    pub(crate) fn clear(&mut self) {
        self.kits = [None, None];
    }

    fn poolable(&mut self, class: &Bound<'_, PyType>) -> bool {
        if let Some((known, answer)) = &self.poolable
            && class.is(known)
        {
            return *answer;
        }
        let py = class.py();
        // Read through `type`'s own descriptors: a metaclass cannot answer for the class.
        let attr = |t: &Bound<'_, PyType>, name: &str| {
            py.get_type::<PyType>()
                .getattr("__dict__")
                .and_then(|d| d.get_item(name))
                .and_then(|d| d.call_method1("__get__", (t,)))
                .and_then(|v| v.extract::<isize>())
                .ok()
        };
        let base = py.get_type::<super::Message>();
        let tp = class.as_type_ptr();
        // SAFETY: `tp` is a live type object, asked with the GIL held; its slots are asked
        // for only if it is a heap type (as message classes are), which every Python version
        // answers.
        let finalizer = unsafe {
            ffi::PyType_GetFlags(tp) & ffi::Py_TPFLAGS_HEAPTYPE == 0
                || !ffi::PyType_GetSlot(tp, ffi::Py_tp_finalize).is_null()
        };
        let answer = !finalizer
            && attr(class, "__dictoffset__") == Some(0)
            && attr(class, "__weakrefoffset__") == Some(0)
            && attr(class, "__basicsize__").is_some()
            && attr(class, "__basicsize__") == attr(&base, "__basicsize__");
        self.poolable = Some((class.clone().unbind(), answer));
        answer
    }
}
