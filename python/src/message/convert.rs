//! Python values ↔ message bytes, through `shm::dynamic`'s one schema walker: a [`Decode`] that
//! builds Python objects and a [`Source`] that reads them (ints, floats, bools, sequences,
//! numpy arrays at once, dicts and messages for structs).

use std::ffi::CStr;

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};
use shm::ValueErrorKind;
use shm::dynamic::{Decode, Problem, Scalar, Source, TopicSchema, encode_with};
use shm::schema::{DescKind, Primitive, SchemaDesc};

use super::instance::Message;
use crate::value::describe;

/// Builds plain Python values: `bool`, `int`, `float`, lists for arrays, dicts for structs.
pub(crate) struct PyDecoder<'py> {
    py: Python<'py>,
}

impl<'py> PyDecoder<'py> {
    pub(crate) fn new(py: Python<'py>) -> PyDecoder<'py> {
        PyDecoder { py }
    }
}

impl<'py> Decode for PyDecoder<'py> {
    type Out = PyResult<Bound<'py, PyAny>>;

    fn primitive(&mut self, value: Scalar, _kind: Primitive) -> Self::Out {
        let py = self.py;
        Ok(match value {
            Scalar::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
            Scalar::Int(i) => i.into_pyobject(py)?.into_any(),
            Scalar::UInt(u) => u.into_pyobject(py)?.into_any(),
            Scalar::Float(f) => PyFloat::new(py, f).into_any(),
        })
    }

    fn array(&mut self, items: Vec<Self::Out>, _len: u64) -> Self::Out {
        let items = items.into_iter().collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(self.py, items)?.into_any())
    }

    fn string(&mut self, value: &str) -> Self::Out {
        Ok(PyString::new(self.py, value).into_any())
    }

    fn structure(&mut self, _name: &str, fields: Vec<(&str, Self::Out)>) -> Self::Out {
        let dict = PyDict::new(self.py);
        for (name, value) in fields {
            dict.set_item(name, value?)?;
        }
        Ok(dict.into_any())
    }
}

/// A Python value to write as a message value (or a part of one).
pub(crate) struct PySource<'py>(pub(crate) Bound<'py, PyAny>);

impl PySource<'_> {
    fn is_numpy(&self, prefix: &str) -> bool {
        let ty = self.0.get_type();
        let module = ty.module().map(|m| m.to_string()).unwrap_or_default();
        let name = ty.name().map(|n| n.to_string()).unwrap_or_default();
        module == "numpy" && name.starts_with(prefix)
    }
}

impl PySource<'_> {
    /// Its length, if it is a sequence of elements (not a string, bytes, a dict or a message).
    fn sequence_len(&self) -> Option<usize> {
        let v = &self.0;
        if v.is_instance_of::<PyString>()
            || v.is_instance_of::<PyBytes>()
            || v.is_instance_of::<PyByteArray>()
            || v.is_instance_of::<PyDict>()
            || v.cast::<Message>().is_ok()
        {
            return None;
        }
        v.len().ok()
    }

    /// Its elements.
    fn items(&self) -> Result<Option<Vec<Self>>, Problem> {
        let items = self
            .0
            .try_iter()
            .map_err(|e| Problem::wrong_kind(e.to_string()))?;
        items
            .map(|item| {
                item.map(PySource)
                    .map_err(|e| Problem::wrong_kind(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

impl<'py> Source for PySource<'py> {
    fn scalar(&self) -> Result<Scalar, Problem> {
        let v = &self.0;
        // Python's own types first: numpy's are told by their names, which costs lookups.
        let is_bool = v.is_instance_of::<PyBool>();
        let is_int = !is_bool && v.is_instance_of::<PyInt>();
        let is_float = !is_bool && !is_int && v.is_instance_of::<PyFloat>();
        if is_bool || (!is_int && !is_float && self.is_numpy("bool")) {
            return v
                .is_truthy()
                .map(Scalar::Bool)
                .map_err(|e| Problem::wrong_kind(e.to_string()));
        }
        let int = if is_int {
            Some(v.clone())
        } else if !is_float && v.hasattr("__index__").unwrap_or(false) {
            // numpy integers and other exact integers.
            v.py()
                .import("operator")
                .and_then(|op| op.getattr("index")?.call1((v,)))
                .ok()
        } else {
            None
        };
        if let Some(int) = int {
            if let Ok(i) = int.extract::<i64>() {
                return Ok(Scalar::Int(i));
            }
            return match int.extract::<u64>() {
                Ok(u) => Ok(Scalar::UInt(u)),
                Err(_) => Err(Problem::new(
                    ValueErrorKind::OutOfRange,
                    format!("the int {int} (beyond 64 bits)"),
                )),
            };
        }
        if is_float || self.is_numpy("float") {
            return v
                .extract::<f64>()
                .map(Scalar::Float)
                .map_err(|e| Problem::wrong_kind(e.to_string()));
        }
        Err(Problem::wrong_kind(describe(v)))
    }

    fn elements(&self, len: u64) -> Result<Option<Vec<Self>>, Problem> {
        let Some(n) = self.sequence_len() else {
            return Ok(None);
        };
        if n as u64 != len {
            return Err(Problem::new(
                ValueErrorKind::Length,
                format!("expects {len} elements, got {n}"),
            ));
        }
        self.items()
    }

    fn sequence(&self, cap: u64) -> Result<Option<Vec<Self>>, Problem> {
        let Some(n) = self.sequence_len() else {
            return Ok(None);
        };
        if n as u64 > cap {
            // Refused before its elements are looked at (it may be a million of them).
            return Err(Problem::new(
                ValueErrorKind::Length,
                format!("has {n} elements, more than its capacity {cap}"),
            ));
        }
        self.items()
    }

    fn primitive_sequence(
        &self,
        kind: Primitive,
        cap: u64,
        room: &mut [u8],
    ) -> Result<Option<u64>, Problem> {
        let Ok(buffer) = PyUntypedBuffer::get(&self.0) else {
            return Ok(None);
        };
        if !buffer.is_c_contiguous()
            || buffer.dimensions() != 1
            || format_primitive(buffer.format(), buffer.item_size()) != Some(kind)
        {
            // Another element type (or layout): element by element, each checked.
            return Ok(None);
        }
        let n = buffer.item_count() as u64;
        if n > cap {
            return Ok(Some(n));
        }
        let len = n as usize * kind.size();
        if buffer.len_bytes() < len {
            return Ok(None);
        }
        // SAFETY: the buffer is C-contiguous with at least `len` bytes at `buf_ptr` (`n <= cap`
        // elements of `kind`, which `room` holds), exported to us until `buffer` is dropped;
        // the GIL is held and no Python code runs during the copy.
        unsafe {
            std::ptr::copy_nonoverlapping(buffer.buf_ptr().cast::<u8>(), room.as_mut_ptr(), len);
        }
        Ok(Some(n))
    }

    fn string(&self) -> Result<Option<String>, Problem> {
        let v = &self.0;
        if let Ok(s) = v.cast::<PyString>() {
            return s.to_str().map(|s| Some(s.to_owned())).map_err(|_| {
                Problem::new(
                    ValueErrorKind::InvalidUtf8,
                    "is a str that is not UTF-8 (it holds a lone surrogate)",
                )
            });
        }
        if let Ok(b) = v.cast::<PyBytes>() {
            return String::from_utf8(b.as_bytes().to_vec())
                .map(Some)
                .map_err(|e| {
                    Problem::new(
                        ValueErrorKind::InvalidUtf8,
                        format!(
                            "is bytes that are not UTF-8 (from byte {})",
                            e.utf8_error().valid_up_to()
                        ),
                    )
                });
        }
        Ok(None)
    }

    fn primitive_array(
        &self,
        kind: Primitive,
        shape: &[u64],
        out: &mut [u8],
    ) -> Result<bool, Problem> {
        let Ok(buffer) = PyUntypedBuffer::get(&self.0) else {
            return Ok(false);
        };
        let count: u64 = shape.iter().product();
        let dims: Vec<u64> = buffer.shape().iter().map(|&d| d as u64).collect();
        if !buffer.is_c_contiguous()
            || buffer.item_count() as u64 != count
            || buffer.len_bytes() != out.len()
            || format_primitive(buffer.format(), buffer.item_size()) != Some(kind)
        {
            // Another element type (or layout): element by element, each checked.
            return Ok(false);
        }
        // The field's shape, or flat: a 640×480 image is not a 480×640 one.
        if dims != shape && dims.len() != 1 {
            return Err(Problem::new(
                ValueErrorKind::Shape,
                format!("expects an array of shape {shape:?} (or flat), got shape {dims:?}"),
            ));
        }
        // SAFETY: the buffer is C-contiguous with `out.len()` bytes at `buf_ptr`, exported to us
        // until `buffer` is dropped; the GIL is held and no Python code runs during the copy.
        unsafe {
            std::ptr::copy_nonoverlapping(
                buffer.buf_ptr().cast::<u8>(),
                out.as_mut_ptr(),
                out.len(),
            );
        }
        Ok(true)
    }

    fn field(&self, desc: &SchemaDesc, name: &str) -> Result<Option<Self>, Problem> {
        let v = &self.0;
        if let Ok(dict) = v.cast::<PyDict>() {
            return dict
                .get_item(name)
                .map(|o| o.map(PySource))
                .map_err(|e| Problem::wrong_kind(e.to_string()));
        }
        if let Ok(m) = v.cast::<Message>() {
            // By the schema's name, never through an attribute (which a class may rename).
            let Some(index) = m.get().ty.get().field_index(name) else {
                return Ok(None);
            };
            return m
                .get()
                .field_value(v.py(), index)
                .map(|o| Some(PySource(o.into_bound(v.py()))))
                .map_err(|e| Problem::wrong_kind(e.to_string()));
        }
        Err(Problem::wrong_kind(format!(
            "expects a `{}` (a value of that message class, or a dict), got {}",
            desc.name,
            describe(v)
        )))
    }

    /// A field a dict leaves out is zeros, as a message's constructor leaves it.
    fn omitted_fields_are_zero(&self) -> bool {
        true
    }

    fn unknown_fields(&self, desc: &SchemaDesc) -> Vec<String> {
        let DescKind::Struct(known) = &desc.kind else {
            return Vec::new();
        };
        let names: Vec<String> = if let Ok(dict) = self.0.cast::<PyDict>() {
            dict.keys()
                .iter()
                .map(|k| match k.extract::<String>() {
                    Ok(s) => s,
                    Err(_) => describe(&k),
                })
                .collect()
        } else if let Ok(m) = self.0.cast::<Message>() {
            m.get()
                .ty
                .get()
                .fields
                .iter()
                .map(|f| f.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        names
            .into_iter()
            .filter(|n| !known.iter().any(|k| &k.name == n))
            .collect()
    }
}

/// The Python exception for a value problem of `kind`: `OverflowError` for a number out of its
/// type's range, `MemoryError` for a value too large to allocate, `ValueError` for a value of
/// the right kind but the wrong length, shape or exactness (or an invalid `bool` byte),
/// `TypeError` for a value of another kind or with other fields.
pub(crate) fn value_exception(kind: ValueErrorKind, message: String) -> PyErr {
    match kind {
        ValueErrorKind::OutOfRange => PyOverflowError::new_err(message),
        ValueErrorKind::TooLarge => pyo3::exceptions::PyMemoryError::new_err(message),
        ValueErrorKind::Length
        | ValueErrorKind::Shape
        | ValueErrorKind::NotExact
        | ValueErrorKind::InvalidBool
        | ValueErrorKind::InvalidLength
        | ValueErrorKind::InvalidUtf8 => PyValueError::new_err(message),
        ValueErrorKind::WrongKind | ValueErrorKind::UnknownField | ValueErrorKind::MissingField => {
            PyTypeError::new_err(message)
        }
        // (A kind added later: a value of the wrong kind until it is mapped here.)
        _ => PyTypeError::new_err(message),
    }
}

/// The primitive a buffer's items are (`struct` module format, native order), if any.
pub(crate) fn format_primitive(format: &CStr, size: usize) -> Option<Primitive> {
    let format = format.to_str().ok()?;
    let code = match format.as_bytes() {
        [c] => *c,
        [b'@' | b'=', c] => *c,
        [b'<', c] if cfg!(target_endian = "little") => *c,
        [b'>' | b'!', c] if cfg!(target_endian = "big") => *c,
        _ => return None,
    };
    let p = match (code, size) {
        (b'?', 1) => Primitive::Bool,
        (b'b', 1) => Primitive::I8,
        (b'B' | b'c', 1) => Primitive::U8,
        (b'h' | b'i' | b'l' | b'q', _) | (b'H' | b'I' | b'L' | b'Q', _) => {
            let signed = code.is_ascii_lowercase();
            match (signed, size) {
                (true, 2) => Primitive::I16,
                (true, 4) => Primitive::I32,
                (true, 8) => Primitive::I64,
                (false, 2) => Primitive::U16,
                (false, 4) => Primitive::U32,
                (false, 8) => Primitive::U64,
                _ => return None,
            }
        }
        (b'f', 4) => Primitive::F32,
        (b'd', 8) => Primitive::F64,
        _ => return None,
    };
    Some(p)
}

/// The bytes of `value` as a value of `schema`: a message of that type is copied, anything
/// else walks the schema (every part checked; the error names it after `label`, such as
/// `Pose.heading`).
pub(crate) fn write_value(
    schema: &TopicSchema,
    value: &Bound<'_, PyAny>,
    label: &str,
) -> PyResult<Vec<u8>> {
    if let Ok(m) = value.cast::<Message>() {
        let m = m.get();
        if m.ty.get().schema.hash() == schema.hash() {
            return m.bytes(value.py());
        }
    }
    encode_with(schema, &PySource(value.clone())).map_err(|e| value_error_at(label, e))
}

/// The Python exception of a value (or a part of one) that does not fit its type: `label`
/// names the value, the error's path the part.
pub(crate) fn value_error_at(label: &str, e: shm::ValueError) -> PyErr {
    let message = match (e.path.as_str(), e.path.starts_with('[')) {
        ("", _) => format!("{label}: {}", e.problem),
        (path, true) => format!("{label}{path}: {}", e.problem),
        (path, false) => format!("{label}.{path}: {}", e.problem),
    };
    value_exception(e.kind, message)
}
