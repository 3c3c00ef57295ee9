//! Slice topics in Python: `seq[Point, 100_000]()` is an empty slice of that type, the
//! `default_value` of a publisher or subscriber of a slice topic (a bounded sequence of `Point`
//! with room for 100,000, the Rust `Publisher<[Point]>`'s topic). Values are published from a
//! numpy array of the element's dtype (one copy) or any sequence of elements, and read as a
//! numpy array (a record array for messages) of the value's length.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyDict, PyList, PyTuple};
use shm::dynamic::{TopicSchema, decode_with};
use shm::schema::{BOUNDED_DATA_OFFSET, DescKind, Primitive, SchemaDesc};

use super::convert::PyDecoder;
use super::view;
use super::{Known, MessageType, desc_of_spec};

/// An empty slice of a type: `seq[elem, max_len]()`.
#[pyclass(module = "shm_pub_sub", name = "SliceType", frozen)]
pub(crate) struct SliceType {
    /// The topic's type: a bounded sequence of the elements.
    pub(crate) schema: Arc<TopicSchema>,
    /// The elements' type.
    pub(crate) elem: Arc<TopicSchema>,
    /// The elements' message class, for messages.
    pub(crate) message: Option<Py<MessageType>>,
    /// The most elements a value holds.
    pub(crate) max_len: usize,
}

/// `_slice_of(spec, max_len)`: the empty slice of elements of `spec` (a field spec: `("p",
/// "f32")`, `("s", Point)`) with room for at least `max_len` of them.
#[pyfunction]
pub(crate) fn _slice_of(spec: &Bound<'_, PyTuple>, max_len: u64) -> PyResult<SliceType> {
    let mut known = Known::new();
    let elem = desc_of_spec(spec, &mut known)?;
    let message = match &elem.kind {
        DescKind::Struct(_) => known.remove(&elem.hash()),
        DescKind::Primitive(_) => None,
        _ => {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "a slice topic holds primitives or messages, not {}",
                elem.type_name()
            )));
        }
    };
    // Rounded up as the Rust slice publisher rounds it.
    let room = shm::schema::room_for(elem.size, max_len);
    let seq = SchemaDesc::sequence(elem.clone(), room)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let schema = TopicSchema::new(&seq).map_err(|e| PyValueError::new_err(e.reason))?;
    let elem = TopicSchema::new(&elem).map_err(|e| PyValueError::new_err(e.reason))?;
    Ok(SliceType {
        schema: Arc::new(schema),
        elem: Arc::new(elem),
        message,
        max_len: room as usize,
    })
}

impl SliceType {
    /// The element's name: `Point`, `f32`.
    pub(crate) fn elem_name(&self) -> String {
        self.elem.type_name()
    }

    /// `seq[Point, 100000]`.
    pub(crate) fn label(&self) -> String {
        self.label_with(self.max_len)
    }

    /// `seq[Point, room]`: the label of a topic's file of this element type and `room`.
    pub(crate) fn label_with(&self, room: usize) -> String {
        format!("seq[{}, {room}]", self.elem_name())
    }

    /// The numpy dtype of one element.
    pub(crate) fn elem_dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(view::dtype(py, self.elem.desc())?.into_bound(py))
    }

    /// The primitive of the elements, if they are one.
    pub(crate) fn primitive(&self) -> Option<Primitive> {
        match self.elem.desc().kind {
            DescKind::Primitive(p) => Some(p),
            _ => None,
        }
    }

    /// A value's elements (`bytes`: a valid value of a bounded sequence of these elements,
    /// of any room), as a numpy array of the elements' dtype (a record array for messages),
    /// read-only if `frozen`; without numpy, a list of plain values.
    pub(crate) fn to_python(
        &self,
        py: Python<'_>,
        schema: &TopicSchema,
        bytes: &[u8],
        frozen: bool,
    ) -> PyResult<Py<PyAny>> {
        let Ok(np) = py.import("numpy") else {
            return Ok(decode_with(schema, bytes, &mut PyDecoder::new(py))?.unbind());
        };
        let len = schema.sequence_len(bytes).unwrap_or(0);
        let start = BOUNDED_DATA_OFFSET as usize;
        let items = &bytes[start..start + len * self.elem.size()];
        let data = PyByteArray::new(py, items);
        let kwargs = PyDict::new(py);
        kwargs.set_item("dtype", view::dtype(py, self.elem.desc())?)?;
        let array = np.getattr("frombuffer")?.call((data,), Some(&kwargs))?;
        let array = if self.message.is_some() {
            array.call_method1("view", (np.getattr("recarray")?,))?
        } else {
            array
        };
        if frozen {
            let flags = PyDict::new(py);
            flags.set_item("write", false)?;
            array.call_method("setflags", (), Some(&flags))?;
        }
        Ok(array.unbind())
    }
}

#[pymethods]
impl SliceType {
    /// The most elements a value holds (rounded up so that they fill whole 8-byte words).
    #[getter]
    fn max_len(&self) -> usize {
        self.max_len
    }

    /// The elements' type: a Message class, or the primitive's name (`"f32"`).
    #[getter]
    fn element(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.message {
            Some(t) => Ok(t.get().class(py)?.clone().into_any().unbind()),
            None => Ok(self.elem_name().into_pyobject(py)?.into_any().unbind()),
        }
    }

    /// The schema hash of the topic's type (`BoundedVec<elem, max_len>` in Rust).
    #[getter]
    fn schema_hash(&self) -> u64 {
        self.schema.hash()
    }

    /// The numpy dtype of one element.
    fn dtype(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        view::dtype(py, self.elem.desc())
    }

    /// An empty slice: no elements.
    fn __len__(&self) -> usize {
        0
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyList::empty(py).call_method0("__iter__")
    }

    /// An empty numpy array of the elements' dtype.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__(
        &self,
        py: Python<'_>,
        dtype: Option<&Bound<'_, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        let _ = copy;
        let np = py.import("numpy")?;
        let dtype = match dtype {
            Some(d) if !d.is_none() => d.clone().unbind(),
            _ => view::dtype(py, self.elem.desc())?,
        };
        Ok(np.getattr("empty")?.call1((0, dtype))?.unbind())
    }

    fn __repr__(&self) -> String {
        format!("{}()", self.label())
    }
}
