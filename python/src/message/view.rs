//! Array fields as numpy arrays over a message's bytes (a `memoryview` when numpy is not
//! installed), numpy structured dtypes of message types, and raw buffers as values.

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyImportError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyMemoryView, PyTuple};

use super::lend::SlotBuffer;
use shm::schema::{DescKind, Primitive, SchemaDesc};

use super::MessageType;

/// The numpy module, if it can be imported (looked up once).
fn numpy(py: Python<'_>) -> Option<&Bound<'_, PyModule>> {
    static NUMPY: PyOnceLock<Option<Py<PyModule>>> = PyOnceLock::new();
    NUMPY
        .get_or_init(py, || py.import("numpy").ok().map(Bound::unbind))
        .as_ref()
        .map(|m| m.bind(py))
}

pub(crate) fn need_numpy(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    numpy(py).ok_or_else(|| {
        PyImportError::new_err("numpy is not installed: `pip install numpy` for dtypes and records")
    })
}

/// numpy's type code of a primitive (native byte order).
fn numpy_code(p: Primitive) -> &'static str {
    match p {
        Primitive::Bool => "?",
        Primitive::I8 => "i1",
        Primitive::I16 => "i2",
        Primitive::I32 => "i4",
        Primitive::I64 => "i8",
        Primitive::U8 => "u1",
        Primitive::U16 => "u2",
        Primitive::U32 => "u4",
        Primitive::U64 => "u8",
        Primitive::F32 => "f4",
        Primitive::F64 => "f8",
    }
}

/// The `struct` module's format of a primitive (for `memoryview.cast`).
fn struct_code(p: Primitive) -> &'static str {
    match p {
        Primitive::Bool => "?",
        Primitive::I8 => "b",
        Primitive::I16 => "h",
        Primitive::I32 => "i",
        Primitive::I64 => "q",
        Primitive::U8 => "B",
        Primitive::U16 => "H",
        Primitive::U32 => "I",
        Primitive::U64 => "Q",
        Primitive::F32 => "f",
        Primitive::F64 => "d",
    }
}

/// The array field at `at` of `data`: a numpy array of shape `dims` over those bytes, or
/// without numpy a `memoryview` of that shape; read-only if `frozen`.
pub(crate) fn tensor(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    at: usize,
    p: Primitive,
    dims: &[usize],
    frozen: bool,
) -> PyResult<Py<PyAny>> {
    let count: usize = dims.iter().product();
    let shape = PyTuple::new(py, dims)?;
    if let (Some(np), Ok(slot)) = (numpy(py), data.cast::<SlotBuffer>()) {
        // Over a slot: an array whose base counts as a holder of the slot (see `lend.rs`).
        let bytes = slot.get().byte_array(np, at, count * p.size())?;
        let typed = bytes.call_method1(pyo3::intern!(py, "view"), (numpy_code(p),))?;
        return Ok(typed.call_method1("reshape", (shape,))?.unbind());
    }
    if let Some(np) = numpy(py) {
        let kwargs = PyDict::new(py);
        kwargs.set_item("dtype", numpy_code(p))?;
        kwargs.set_item("count", count)?;
        kwargs.set_item("offset", at)?;
        let flat = np
            .getattr("frombuffer")?
            .call((source(py, data, frozen)?,), Some(&kwargs))?;
        let array = if dims.len() == 1 {
            flat
        } else {
            flat.call_method1("reshape", (shape,))?
        };
        return Ok(array.unbind());
    }
    let end = at + count * p.size();
    let view = py
        .import("builtins")?
        .getattr("memoryview")?
        .call1((data,))?
        .get_item(pyo3::types::PySlice::new(py, at as isize, end as isize, 1))?;
    let view = view.call_method1("cast", (struct_code(p), shape))?;
    if frozen {
        return Ok(view.call_method0("toreadonly")?.unbind());
    }
    Ok(view.unbind())
}

/// A new array object over the same bytes as `base` (`base.view()`), so that what a caller
/// does to the array it got (a new shape or dtype) stays with that array; a `memoryview` (whose
/// shape and format cannot be changed) is returned as it is.
pub(crate) fn fresh(py: Python<'_>, base: Py<PyAny>) -> PyResult<Py<PyAny>> {
    let bound = base.bind(py);
    if numpy(py).is_some() && !bound.is_instance_of::<pyo3::types::PyMemoryView>() {
        return Ok(bound.call_method0(pyo3::intern!(py, "view"))?.unbind());
    }
    Ok(base)
}

/// numpy's structured dtype of a type: the same fields at the same offsets, arrays as
/// sub-arrays, nested structs as nested dtypes.
pub(crate) fn dtype(py: Python<'_>, desc: &SchemaDesc) -> PyResult<Py<PyAny>> {
    let np = need_numpy(py)?;
    Ok(format_of(py, np, desc)?.unbind())
}

fn format_of<'py>(
    py: Python<'py>,
    np: &Bound<'py, PyModule>,
    desc: &SchemaDesc,
) -> PyResult<Bound<'py, PyAny>> {
    match &desc.kind {
        DescKind::Primitive(p) => np.getattr("dtype")?.call1((numpy_code(*p),)),
        DescKind::Array { .. } => {
            let mut dims = Vec::new();
            let mut inner = desc;
            while let DescKind::Array { elem, len } = &inner.kind {
                dims.push(*len as usize);
                inner = elem;
            }
            let base = format_of(py, np, inner)?;
            let spec = (base, PyTuple::new(py, dims)?);
            np.getattr("dtype")?.call1((spec,))
        }
        // A bounded sequence or string: its length, then its whole room (the elements past the
        // length are not part of the value).
        DescKind::Sequence { elem, cap } => {
            let items = (format_of(py, np, elem)?, PyTuple::new(py, [*cap])?);
            let spec = PyList::new(
                py,
                [
                    ("len", np.getattr("dtype")?.call1(("u8",))?).into_pyobject(py)?,
                    ("items", np.getattr("dtype")?.call1((items,))?).into_pyobject(py)?,
                ],
            )?;
            np.getattr("dtype")?.call1((spec,))
        }
        DescKind::String { cap } => {
            let spec = PyList::new(
                py,
                [
                    ("len", "u8".into_pyobject(py)?.into_any()).into_pyobject(py)?,
                    ("bytes", format!("({cap},)u1").into_pyobject(py)?.into_any())
                        .into_pyobject(py)?,
                ],
            )?;
            np.getattr("dtype")?.call1((spec,))
        }
        DescKind::Struct(fields) => {
            let spec = PyDict::new(py);
            let names = PyList::new(py, fields.iter().map(|f| f.name.as_str()))?;
            let formats = fields
                .iter()
                .map(|f| format_of(py, np, &f.ty))
                .collect::<PyResult<Vec<_>>>()?;
            spec.set_item("names", names)?;
            spec.set_item("formats", PyList::new(py, formats)?)?;
            spec.set_item("offsets", PyList::new(py, fields.iter().map(|f| f.offset))?)?;
            spec.set_item("itemsize", desc.size)?;
            np.getattr("dtype")?.call1((spec,))
        }
    }
}

/// A numpy record of `ty`'s dtype over the value's bytes at `at`.
pub(crate) fn record(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    at: usize,
    ty: &MessageType,
    frozen: bool,
) -> PyResult<Py<PyAny>> {
    let np = need_numpy(py)?;
    if let Ok(slot) = data.cast::<SlotBuffer>() {
        // Over a slot: see `tensor`.
        let bytes = slot.get().byte_array(np, at, ty.schema.size())?;
        let records =
            bytes.call_method1(pyo3::intern!(py, "view"), (dtype(py, ty.schema.desc())?,))?;
        return Ok(records.get_item(0)?.unbind());
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", dtype(py, ty.schema.desc())?)?;
    kwargs.set_item("count", 1)?;
    kwargs.set_item("offset", at)?;
    let array = np
        .getattr("frombuffer")?
        .call((source(py, data, frozen)?,), Some(&kwargs))?;
    Ok(array.get_item(0)?.unbind())
}

/// What numpy arrays over a value's bytes are made from: the bytes themselves, or for a
/// read-only value a read-only `memoryview` of them, so that no array made from it (nor
/// `setflags(write=True)` on one) can write them.
fn source<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    frozen: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if frozen {
        PyMemoryView::from(data)?.call_method0(pyo3::intern!(py, "toreadonly"))
    } else {
        Ok(data.clone())
    }
}

/// The bytes of a buffer holding exactly one value of `ty` (checked: size, contiguity, what
/// its items are, and `bool`s).
pub(crate) fn buffer_bytes(buffer: &Bound<'_, PyAny>, ty: &MessageType) -> PyResult<Vec<u8>> {
    let py = buffer.py();
    let view = PyUntypedBuffer::get(buffer).map_err(|_| {
        PyTypeError::new_err(format!(
            "expects a buffer of one `{}` value ({} bytes), got {}",
            ty.schema.type_name(),
            ty.schema.size(),
            crate::value::describe(buffer)
        ))
    })?;
    check_buffer(buffer, &view, ty)?;
    let mut bytes = vec![0u8; view.len_bytes()];
    // SAFETY: the buffer is C-contiguous with `bytes.len()` bytes at `buf_ptr`, exported to us
    // until `view` is dropped; the GIL is held and no Python code runs during the copy.
    unsafe {
        std::ptr::copy_nonoverlapping(view.buf_ptr().cast::<u8>(), bytes.as_mut_ptr(), bytes.len());
    }
    view.release(py);
    if !ty.schema.is_valid(&bytes) {
        return Err(PyValueError::new_err(format!(
            "the buffer is not a `{}` value: a bool field holds a byte other than 0 or 1",
            ty.schema.type_name()
        )));
    }
    Ok(bytes)
}

/// A buffer must be one value of `ty`: a numpy record or array of `ty`'s dtype, or plain bytes
/// (`bytes`, `bytearray`, a `uint8` array) of one value's size, contiguous. Arrays of other
/// items (floats, ints) are refused: their bytes would be reinterpreted, not converted.
pub(crate) fn check_buffer(
    buffer: &Bound<'_, PyAny>,
    view: &PyUntypedBuffer,
    ty: &MessageType,
) -> PyResult<()> {
    if !check_dtype(buffer, ty)? {
        let format = view.format().to_string_lossy();
        let bytes_like = matches!(
            format.trim_start_matches(['@', '=', '<', '>', '!']),
            "B" | "b" | "c"
        );
        if !bytes_like {
            return Err(PyTypeError::new_err(format!(
                "a buffer of '{format}' items is not a `{name}` value: give a `{name}`, a dict \
                 of its fields, a numpy record of its dtype, or its bytes (bytes, uint8)",
                name = ty.schema.type_name()
            )));
        }
    }
    check_size(view, ty)
}

/// A buffer's size and layout must be one value's.
fn check_size(view: &PyUntypedBuffer, ty: &MessageType) -> PyResult<()> {
    if !view.is_c_contiguous() || view.len_bytes() != ty.schema.size() {
        return Err(PyValueError::new_err(format!(
            "expects a contiguous buffer of one `{}` value ({} bytes), got {} bytes{}",
            ty.schema.type_name(),
            ty.schema.size(),
            view.len_bytes(),
            if view.is_c_contiguous() {
                ""
            } else {
                ", not contiguous"
            }
        )));
    }
    Ok(())
}

/// A numpy array or record with named fields must have this type's dtype: `true` if it has
/// named fields (and they are this type's), `false` if it has none.
fn check_dtype(buffer: &Bound<'_, PyAny>, ty: &MessageType) -> PyResult<bool> {
    let py = buffer.py();
    let Ok(given) = buffer.getattr("dtype") else {
        return Ok(false);
    };
    if given.getattr("names")?.is_none() {
        return Ok(false);
    }
    let expected = dtype(py, ty.schema.desc())?;
    if !given.eq(expected.bind(py))? {
        return Err(PyTypeError::new_err(format!(
            "the array's dtype {} is not `{}`'s {}",
            given.repr()?,
            ty.schema.type_name(),
            expected.bind(py).repr()?
        )));
    }
    Ok(true)
}
