//! `shm_pub_sub.Message`, the base of message classes, and the field descriptors of each class.

use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyTuple, PyType};
use shm::dynamic::{decode_primitive, decode_with, encode_primitive};

use super::convert::{PyDecoder, PySource, value_error_at, write_value};
use super::lend::SlotBuffer;
use super::view;
use super::{FieldInfo, MessageType, Shape};

/// A value of a message type: its bytes (a `bytearray`, possibly shared with the message it is
/// a field of) and its type.
#[pyclass(module = "shm_pub_sub", name = "Message", subclass, frozen)]
pub(crate) struct Message {
    /// A `bytearray`, or a slot of a lending topic ([`SlotBuffer`]: a loaned or borrowed value).
    pub(crate) data: Py<PyAny>,
    pub(crate) offset: usize,
    pub(crate) ty: Py<MessageType>,
    /// Read-only: a value read from a topic (shared by the reads that return it again) and
    /// everything over its bytes.
    frozen: bool,
    /// The arrays of array fields, made on first access (one numpy array per field and value).
    views: PyOnceLock<Box<[PyOnceLock<Py<PyAny>>]>>,
}

thread_local! {
    /// The value the next `Message.__new__` on this thread adopts instead of making zeros: how
    /// the runtime makes values of a class without running `__init__` (set and taken under the
    /// GIL, with no Python code in between; message classes may not define `__new__`).
    static PENDING: std::cell::RefCell<Option<Message>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` on the bytes of a value's storage: a `bytearray`, or a slot of a lending topic
/// while its loan or borrow lasts (no Python code may run in `f`).
pub(crate) fn with_storage<R>(data: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(bytes) = data.cast::<PyByteArray>() {
        // SAFETY: the GIL is held and `f` runs no Python code, so nothing changes or resizes
        // the bytearray while the slice is borrowed.
        return Ok(f(unsafe { bytes.as_bytes() }));
    }
    data.cast::<SlotBuffer>()
        .map_err(|_| PyTypeError::new_err("a message's bytes are in an unknown object"))?
        .get()
        .with_bytes(data.py(), f)
}

/// As [`with_storage`], to write the bytes (a read-only slot refuses).
fn with_storage_mut<R>(data: &Bound<'_, PyAny>, f: impl FnOnce(&mut [u8]) -> R) -> PyResult<R> {
    if let Ok(bytes) = data.cast::<PyByteArray>() {
        // SAFETY: as in `with_storage`.
        return Ok(f(unsafe { bytes.as_bytes_mut() }));
    }
    data.cast::<SlotBuffer>()
        .map_err(|_| PyTypeError::new_err("a message's bytes are in an unknown object"))?
        .get()
        .with_bytes_mut(data.py(), f)
}

/// The bytes `[at, at + len)` of `data`, copied out.
fn read(data: &Bound<'_, PyAny>, at: usize, len: usize) -> PyResult<Vec<u8>> {
    with_storage(data, |bytes| bytes.get(at..at + len).map(<[u8]>::to_vec))?.ok_or_else(resized)
}

/// Writes `value` at `at` of `data`.
fn write(data: &Bound<'_, PyAny>, at: usize, value: &[u8]) -> PyResult<()> {
    with_storage_mut(data, |bytes| {
        bytes
            .get_mut(at..at + value.len())
            .map(|b| b.copy_from_slice(value))
    })?
    .ok_or_else(resized)
}

/// Where a bounded sequence's elements start, after its length.
const BOUNDED_DATA: usize = shm::schema::BOUNDED_DATA_OFFSET as usize;

/// The length of the bounded sequence field `f` at `at` of `data`, at most its capacity (a
/// value's bytes may be changed through a buffer by hand; they are never read past the room).
fn bounded_len(data: &Bound<'_, PyAny>, at: usize, f: &FieldInfo) -> PyResult<usize> {
    Ok(f.schema.sequence_len(&read(data, at, 8)?).unwrap_or(0))
}

fn resized() -> PyErr {
    PyValueError::new_err("a message's bytes were resized behind its back")
}

impl Message {
    /// A value of `ty` over `data` at `offset`, as an instance of `ty`'s class.
    pub(crate) fn instance<'py>(
        py: Python<'py>,
        ty: &Py<MessageType>,
        data: Py<PyAny>,
        offset: usize,
        frozen: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let class = ty.get().class(py)?;
        let value = Message {
            data,
            offset,
            ty: ty.clone_ref(py),
            frozen,
            views: PyOnceLock::new(),
        };
        PENDING.with(|p| *p.borrow_mut() = Some(value));
        let tp = class.as_type_ptr();
        // SAFETY: `tp` is a live type object (a message class, whose `tp_new` is this class's
        // `new`: message classes may not define `__new__`); its `tp_new` slot is called as
        // `type.__call__` calls it, with the GIL held, an empty args tuple and no kwargs. The
        // returned new reference (or NULL with an exception set) is owned by the `Bound`.
        let made = unsafe {
            match (*tp).tp_new {
                Some(new) => Bound::from_owned_ptr_or_err(
                    py,
                    new(tp, PyTuple::empty(py).as_ptr(), std::ptr::null_mut()),
                ),
                None => Err(PyTypeError::new_err("message class without tp_new")),
            }
        };
        PENDING.with(|p| p.borrow_mut().take());
        made
    }

    /// A new value of `ty` holding a copy of `bytes` (one value's size); `frozen` for a value
    /// read from a topic.
    pub(crate) fn from_bytes<'py>(
        py: Python<'py>,
        ty: &Py<MessageType>,
        bytes: &[u8],
        frozen: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let data = PyByteArray::new(py, bytes).into_any().unbind();
        Message::instance(py, ty, data, 0, frozen)
    }

    /// A copy of the value's bytes.
    pub(crate) fn bytes(&self, py: Python<'_>) -> PyResult<Vec<u8>> {
        read(self.data.bind(py), self.offset, self.ty.get().schema.size())
    }

    /// Runs `f` on the value's bytes, in place (no Python code may run in `f`).
    pub(crate) fn with_bytes<R>(&self, py: Python<'_>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
        let size = self.ty.get().schema.size();
        with_storage(self.data.bind(py), |bytes| {
            bytes.get(self.offset..self.offset + size).map(f)
        })?
        .ok_or_else(resized)
    }

    pub(crate) fn field_value(&self, py: Python<'_>, index: usize) -> PyResult<Py<PyAny>> {
        let f = &self.ty.get().fields[index];
        let data = self.data.bind(py);
        let at = self.offset + f.offset;
        Ok(match &f.shape {
            Shape::Scalar(prim) => {
                let mut bytes = [0u8; 8];
                let size = prim.size();
                with_storage(data, |b| {
                    b.get(at..at + size)
                        .map(|b| bytes[..size].copy_from_slice(b))
                })?
                .ok_or_else(resized)?;
                decode_primitive(*prim, &bytes, &mut PyDecoder::new(py))?.unbind()
            }
            Shape::Plain => {
                let bytes = read(data, at, f.schema.size())?;
                decode_with(&f.schema, &bytes, &mut PyDecoder::new(py))?.unbind()
            }
            Shape::Sequence(prim) => {
                let len = bounded_len(data, at, f)?;
                view::tensor(py, data, at + BOUNDED_DATA, *prim, &[len], self.frozen)?
            }
            Shape::Messages(elem) => {
                let len = bounded_len(data, at, f)?;
                let size = elem.get().schema.size();
                let items = (0..len)
                    .map(|i| {
                        let offset = at + BOUNDED_DATA + i * size;
                        Message::instance(py, elem, data.clone().unbind(), offset, self.frozen)
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                pyo3::types::PyList::new(py, items)?.into_any().unbind()
            }
            // A slot's arrays are made anew each time, never kept: when the loan or borrow
            // ends, nothing of this value holds a view of the slot.
            Shape::Tensor { prim, dims } if data.is_instance_of::<SlotBuffer>() => {
                view::tensor(py, data, at, *prim, dims, self.frozen)?
            }
            Shape::Tensor { prim, dims } => {
                let cell = &self.views(py)[index];
                let base = match cell.get(py) {
                    Some(view) => view.clone_ref(py),
                    None => {
                        let view = view::tensor(py, data, at, *prim, dims, self.frozen)?;
                        let _ = cell.set(py, view.clone_ref(py));
                        view
                    }
                };
                // A new array object over the same bytes each time: reshaping or retyping what
                // one access returned never changes the next.
                view::fresh(py, base)?
            }
            Shape::Struct(ty) => {
                Message::instance(py, ty, data.clone().unbind(), at, self.frozen)?.unbind()
            }
            Shape::Structs { elem, dims } => structs(py, data, at, elem, dims, self.frozen)?
                .into_any()
                .unbind(),
        })
    }

    fn set_field(&self, py: Python<'_>, f: &FieldInfo, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.frozen {
            return Err(PyAttributeError::new_err(format!(
                "{} values read from a topic are read-only (a read may return the same value \
                 again); change a copy: value = value.copy()",
                self.type_name()
            )));
        }
        let label = || format!("{}.{}", self.type_name(), f.attr);
        let at = self.offset + f.offset;
        if let Shape::Scalar(prim) = f.shape {
            // Converted first (Python code may run), then written.
            let mut bytes = [0u8; 8];
            let bytes = &mut bytes[..prim.size()];
            encode_primitive(prim, &PySource(value.clone()), bytes)
                .map_err(|e| value_error_at(&label(), e))?;
            return write(self.data.bind(py), at, bytes);
        }
        let bytes = write_value(&f.schema, value, &label())?;
        write(self.data.bind(py), at, &bytes)
    }

    fn views(&self, py: Python<'_>) -> &[PyOnceLock<Py<PyAny>>] {
        self.views.get_or_init(py, || {
            (0..self.ty.get().fields.len())
                .map(|_| PyOnceLock::new())
                .collect()
        })
    }

    fn type_name(&self) -> String {
        self.ty.get().schema.type_name()
    }
}

/// Nested tuples of the messages of an array field (`dims` outermost first): each a view of
/// its part of the value (a tuple, as the array's length is fixed: assign its elements' fields,
/// or the whole field).
fn structs<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    at: usize,
    elem: &Py<MessageType>,
    dims: &[usize],
    frozen: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let size = elem.get().schema.size();
    let stride: usize = dims[1..].iter().product::<usize>() * size;
    let items = (0..dims[0])
        .map(|i| -> PyResult<Bound<'py, PyAny>> {
            let offset = at + i * stride;
            if dims.len() == 1 {
                Message::instance(py, elem, data.clone().unbind(), offset, frozen)
            } else {
                Ok(structs(py, data, offset, elem, &dims[1..], frozen)?.into_any())
            }
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

#[pymethods]
impl Message {
    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **_kwargs), text_signature = "(**fields)")]
    fn new(
        cls: &Bound<'_, PyType>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Message> {
        let py = cls.py();
        // Only a value made for exactly this class (nothing else may take it).
        let pending = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            let mine = p
                .as_ref()
                .is_some_and(|m| m.ty.get().class(py).is_ok_and(|c| c.is(cls)));
            if mine { p.take() } else { None }
        });
        if let Some(value) = pending {
            return Ok(value);
        }
        let ty = match cls.getattr(pyo3::intern!(py, "__shm_type__")) {
            Ok(t) => t.cast_into::<MessageType>()?.unbind(),
            Err(_) => {
                return Err(PyTypeError::new_err(
                    "shm_pub_sub.Message is the base of message types: declare one with fields \
                     (class Pose(shm_pub_sub.Message): heading: shm_pub_sub.f64) and create its \
                     values",
                ));
            }
        };
        let _ = args;
        let size = ty.get().schema.size();
        let data = PyByteArray::new_with(py, size, |b| {
            b.fill(0);
            Ok(())
        })?;
        Ok(Message {
            data: data.into_any().unbind(),
            offset: 0,
            ty,
            frozen: false,
            views: PyOnceLock::new(),
        })
    }

    /// `Pose(heading=0.5)`: fields by keyword, the others zeros.
    #[pyo3(signature = (*args, **kwargs))]
    fn __init__(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let me = slf.get();
        if !args.is_empty() {
            return Err(PyTypeError::new_err(format!(
                "{}() takes its fields by keyword ({}(field=value, ...)); omitted fields are zeros",
                me.type_name(),
                me.type_name()
            )));
        }
        let Some(kwargs) = kwargs else {
            return Ok(());
        };
        let ty = me.ty.get();
        for (key, value) in kwargs {
            let name: String = key.extract()?;
            let Some(index) = ty.field_by_any_name(&name) else {
                return Err(PyTypeError::new_err(format!(
                    "{} has no field '{name}' (its fields: {})",
                    me.type_name(),
                    ty.field_names()
                )));
            };
            me.set_field(py, &ty.fields[index], &value)?;
        }
        Ok(())
    }

    /// The value as a dict of plain Python values (nested dicts, lists for arrays).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let bytes = self.bytes(py)?;
        decode_with(&self.ty.get().schema, &bytes, &mut PyDecoder::new(py))
    }

    /// A value from a buffer holding exactly one value's bytes (a numpy record of this class's
    /// `dtype`, `bytes(other)`, ...); `bool` fields are checked.
    #[classmethod]
    fn from_buffer<'py>(
        cls: &Bound<'py, PyType>,
        buffer: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let ty = cls
            .getattr(pyo3::intern!(py, "__shm_type__"))?
            .cast_into::<MessageType>()?;
        let bytes = view::buffer_bytes(buffer, ty.get())?;
        Message::from_bytes(py, &ty.unbind(), &bytes, false)
    }

    /// A numpy record (`numpy.void`) of the class's `dtype` over this value's bytes: changing
    /// one changes the other (read-only for a value read from a topic).
    fn to_numpy(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        view::record(
            py,
            self.data.bind(py),
            self.offset,
            self.ty.get(),
            self.frozen,
        )
    }

    /// A copy with its own bytes (writable, also of a value read from a topic).
    fn copy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Message::from_bytes(py, &self.ty, &self.bytes(py)?, false)
    }

    /// Pickles as the class and the value's bytes.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let from = slf.get_type().getattr(pyo3::intern!(py, "from_buffer"))?;
        let bytes = PyBytes::new(py, &slf.get().bytes(py)?);
        Ok((from, (bytes,)).into_pyobject(py)?.into_any())
    }

    /// Whether the value is read-only (read from a topic); `copy()` makes a writable one.
    #[getter]
    fn read_only(&self) -> bool {
        self.frozen
    }

    fn __copy__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.copy(py)
    }

    #[pyo3(signature = (_memo))]
    fn __deepcopy__<'py>(
        &self,
        py: Python<'py>,
        _memo: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.copy(py)
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.bytes(py)?))
    }

    /// Equal: values of the same type (schema) with the same bytes.
    fn __richcmp__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: CompareOp,
    ) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<Message>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let same = self.ty.get().schema.hash() == other.ty.get().schema.hash()
            && self.bytes(py)? == other.bytes(py)?;
        match op {
            CompareOp::Eq => Ok(same.into_pyobject(py)?.to_owned().into_any().unbind()),
            CompareOp::Ne => Ok((!same).into_pyobject(py)?.to_owned().into_any().unbind()),
            _ => Ok(py.NotImplemented()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let ty = self.ty.get();
        let mut parts = Vec::with_capacity(ty.fields.len());
        for (index, f) in ty.fields.iter().enumerate() {
            let shown = match &f.shape {
                // Arrays of messages: their type and count (numpy shortens long arrays itself).
                Shape::Structs { elem, dims } => format!(
                    "<{} {} values>",
                    dims.iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join("x"),
                    elem.get().schema.type_name()
                ),
                _ => self.field_value(py, index)?.bind(py).repr()?.to_string(),
            };
            parts.push(format!("{}={shown}", f.attr));
        }
        Ok(format!("{}({})", self.type_name(), parts.join(", ")))
    }
}

/// A field of a message class: reads and writes that field of a value.
#[pyclass(module = "shm_pub_sub", frozen)]
pub(crate) struct Field {
    pub(crate) ty: Py<MessageType>,
    pub(crate) index: usize,
}

impl Field {
    fn info(&self) -> &FieldInfo {
        &self.ty.get().fields[self.index]
    }

    /// `obj` as a value of this field's type (a field of one class used on another's value is
    /// a `TypeError`, never a read or write at the wrong place).
    fn message<'a, 'py>(&self, obj: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, Message>> {
        let wrong = || {
            PyTypeError::new_err(format!(
                "field '{}' belongs to `{}` values",
                self.info().attr,
                self.ty.get().schema.type_name()
            ))
        };
        let m = obj.cast::<Message>().map_err(|_| wrong())?;
        if !m.get().ty.is(&self.ty) {
            return Err(wrong());
        }
        Ok(m)
    }
}

#[pymethods]
impl Field {
    fn __get__(
        slf: &Bound<'_, Self>,
        obj: Option<&Bound<'_, PyAny>>,
        _owner: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        match obj.filter(|o| !o.is_none()) {
            None => Ok(slf.clone().into_any().unbind()),
            Some(obj) => {
                let me = slf.get();
                me.message(obj)?.get().field_value(py, me.index)
            }
        }
    }

    fn __set__(&self, obj: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.message(obj)?
            .get()
            .set_field(obj.py(), self.info(), value)
    }

    fn __delete__(&self, _obj: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyAttributeError::new_err(format!(
            "field '{}' cannot be deleted: every value has every field",
            self.info().attr
        )))
    }

    fn __repr__(&self) -> String {
        let f = self.info();
        format!(
            "<field {}.{}: {} at offset {}>",
            self.ty.get().schema.type_name(),
            f.attr,
            f.schema.type_name(),
            f.offset
        )
    }
}
