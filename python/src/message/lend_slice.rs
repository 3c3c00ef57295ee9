//! Slices of lending topics lent to Python: on a slice topic, `with pub.loan(n) as points:`
//! and `with sub.borrow() as points:` give a [`LentSlice`] over the slot. Its elements are read
//! and written through numpy arrays made over the slot for each access (each counted as a
//! holder of the slot while it lives, as the arrays of a lent message are): the `LentSlice`
//! itself holds nothing of the slot, so the `as` variable may outlive its block.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use shm::schema::BOUNDED_DATA_OFFSET;

use super::lend::SlotBuffer;
use super::slice::SliceType;
use super::view;

/// Where a slice value's elements start, after its length.
const DATA: usize = BOUNDED_DATA_OFFSET as usize;

/// A slice value lent for a `with` block: `len(points)`, `points["x"]`, `points[10:20]`,
/// `points[:] = array`, `np.asarray(points)` (numpy arrays over the topic's shared memory,
/// read-only for a borrow). After the block its elements raise `ValueError` (its `len` and
/// `repr` stay).
#[pyclass(module = "shm_pub_sub", name = "LentSlice", frozen)]
pub(crate) struct LentSlice {
    buffer: Py<SlotBuffer>,
    /// The elements' numpy dtype.
    dtype: Py<PyAny>,
    elem_size: usize,
    len: usize,
    /// The elements are messages: arrays are record arrays.
    records: bool,
    /// `seq[Point, 1000]` (the room of the topic's file), for `repr`.
    label: String,
}

impl LentSlice {
    /// The first `len` elements of the slice value in `buffer`'s slot (its length word
    /// already says `len`, at most `room`, the room of the topic's file).
    pub(crate) fn new(
        py: Python<'_>,
        buffer: Py<SlotBuffer>,
        slice: &SliceType,
        len: usize,
        room: usize,
    ) -> PyResult<LentSlice> {
        Ok(LentSlice {
            buffer,
            dtype: slice.elem_dtype(py)?.unbind(),
            elem_size: slice.elem.size(),
            len,
            records: slice.message.is_some(),
            label: slice.label_with(room),
        })
    }

    /// A new numpy array over the elements (a record array for messages), counted as a holder
    /// of the slot until numpy drops it.
    fn array<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let np = view::need_numpy(py)?;
        let bytes = self
            .buffer
            .get()
            .byte_array(np, DATA, self.len * self.elem_size)?;
        let typed = bytes.call_method1(pyo3::intern!(py, "view"), (self.dtype.bind(py),))?;
        if self.records {
            return typed.call_method1(
                pyo3::intern!(py, "view"),
                (np.getattr(pyo3::intern!(py, "recarray"))?,),
            );
        }
        Ok(typed)
    }
}

#[pymethods]
impl LentSlice {
    fn __len__(&self) -> usize {
        self.len
    }

    /// `points[i]`, `points[a:b]`, `points["x"]`: numpy's indexing of the elements (views
    /// over the slot; an element of messages is a record over it).
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.array(py)?.get_item(key)
    }

    /// `points[i] = ...`, `points[:] = array`, `points["x"] = xs` (a loan's only).
    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if self.buffer.get().readonly() {
            return Err(PyValueError::new_err(
                "a borrowed slice is read-only (its publisher's subscribers share it); change a \
                 copy: points.copy()",
            ));
        }
        self.array(py)?.set_item(key, value)
    }

    /// The elements as a numpy array over the slot (`np.asarray(points)`, with their own
    /// dtype or one numpy views them as without a copy), or a copy (`copy=True`, or another
    /// dtype unless `copy=False`, which then raises `ValueError`): numpy's `__array__`
    /// protocol.
    #[pyo3(signature = (dtype = None, copy = None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let array = self.array(py)?;
        let np = view::need_numpy(py)?;
        if copy == Some(true) {
            let kwargs = PyDict::new(py);
            kwargs.set_item("dtype", dtype)?;
            return np.getattr("array")?.call((array,), Some(&kwargs));
        }
        let Some(dtype) = dtype else {
            return Ok(array);
        };
        let kwargs = PyDict::new(py);
        kwargs.set_item("copy", false)?;
        let out = array.call_method("astype", (dtype,), Some(&kwargs))?;
        if copy == Some(false) && !out.is(&array) {
            return Err(PyValueError::new_err(format!(
                "the elements of {} cannot be given as {} without a copy",
                self.label,
                dtype.repr()?
            )));
        }
        Ok(out)
    }

    /// Iterates over copies of the elements (a loop variable left holding one does not keep
    /// the slot: write elements through indexing).
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.copy(py)?.try_iter()?.into_any())
    }

    /// A copy of the elements (a numpy array of their dtype) that outlives the block.
    fn copy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.array(py)?.call_method0("copy")
    }

    fn __repr__(&self) -> String {
        let how = if self.buffer.get().readonly() {
            "borrowed"
        } else {
            "loaned"
        };
        format!(
            "<shm_pub_sub.LentSlice {} of {}, {how}>",
            self.len, self.label
        )
    }
}
