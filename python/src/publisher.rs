//! `shm_pub_sub.Publisher`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyType};
use shm::{MAX_BUFFER_NUM, MIN_BUFFER_NUM, ShmMessage, Timestamps};

use crate::errors::{ForkedProcessError, closed_error, create_error};
use crate::value::{Kind, generic_alias, py_repr, to_bool, to_f64, to_i64};

/// The typed publisher behind a Python one.
enum Core {
    Bool(shm::Publisher<bool>),
    Int(shm::Publisher<i64>),
    Float(shm::Publisher<f64>),
}

impl Core {
    fn create(
        kind: Kind,
        name: &str,
        buffer_num: usize,
        mode: Option<u32>,
        timestamps: Timestamps,
    ) -> PyResult<Core> {
        fn make<T: ShmMessage>(
            name: &str,
            buffer_num: usize,
            mode: Option<u32>,
            timestamps: Timestamps,
        ) -> PyResult<shm::Publisher<T>> {
            let mut builder = shm::Publisher::<T>::builder(name)
                .buffer_num(buffer_num)
                .timestamps(timestamps);
            if let Some(mode) = mode {
                builder = builder.mode(mode);
            }
            builder.create().map_err(create_error)
        }
        Ok(match kind {
            Kind::Bool => Core::Bool(make(name, buffer_num, mode, timestamps)?),
            Kind::Int => Core::Int(make(name, buffer_num, mode, timestamps)?),
            Kind::Float => Core::Float(make(name, buffer_num, mode, timestamps)?),
        })
    }
}

/// Publishes the values of one topic to every process that subscribes to it.
///
/// `default_value` (a bool, int or float) selects the topic's type: `bool`, 64-bit `int`
/// or 64-bit `float`. It is not published; subscribers see their own default until the first
/// `publish`. `buffer_num` (2 to 4096; `None` means 3) is the number of slots the value
/// rotates through.
/// `mode` (default 0o600) may widen read access to the owner's group (0o640) or everyone
/// (0o644). `timestamps="coarse"` stamps values with the kernel's last timer tick (1–4 ms
/// resolution) instead of the nanosecond clock, which saves about 20 ns per `publish`.
///
/// A topic has one publisher at a time: a second live one raises `TopicBusyError`; after a
/// publisher died, a new one takes the topic over and continues its sequence numbers.
///
/// Use an object from one thread at a time (concurrent calls raise `RuntimeError`).
#[pyclass(module = "shm_pub_sub", name = "Publisher")]
pub(crate) struct Publisher {
    core: Option<Core>,
    name: String,
    kind: Kind,
    default_value: Py<PyAny>,
    buffer_num: usize,
    path: String,
}

/// `buffer_num` as a count, with a `ValueError` for any int out of range (including negative
/// and huge ones, which do not fit `usize`).
fn buffer_num_arg(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "buffer_num must be an int from {MIN_BUFFER_NUM} to {MAX_BUFFER_NUM}, not {}",
            crate::value::describe(value)
        )));
    }
    match value.extract::<usize>() {
        Ok(n) if (MIN_BUFFER_NUM..=MAX_BUFFER_NUM).contains(&n) => Ok(n),
        _ => Err(PyValueError::new_err(format!(
            "buffer_num {} is out of range; use {MIN_BUFFER_NUM} to {MAX_BUFFER_NUM} (3 to 5 is typical): \
             the publisher always writes a slot readers are not reading",
            value.str().map(|s| s.to_string()).unwrap_or_default()
        ))),
    }
}

fn mode_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u32>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "mode must be an int such as 0o600, 0o640 or 0o644, not {}",
            crate::value::describe(value)
        )));
    }
    value.extract::<u32>().map(Some).map_err(|_| {
        PyValueError::new_err(format!(
            "permission mode {} is not allowed: use 0o600, 0o640 or 0o644",
            value.str().map(|s| s.to_string()).unwrap_or_default()
        ))
    })
}

/// `timestamps` as the runtime's option: `"precise"` (default) or `"coarse"`.
fn timestamps_arg(value: Option<&str>) -> PyResult<Timestamps> {
    match value {
        None | Some("precise") => Ok(Timestamps::Precise),
        Some("coarse") => Ok(Timestamps::Coarse),
        Some(other) => Err(PyValueError::new_err(format!(
            "timestamps must be \"precise\" (nanoseconds, the default) or \"coarse\" (the kernel's last timer tick, a few ns cheaper to take), not {other:?}"
        ))),
    }
}

#[pymethods]
impl Publisher {
    #[new]
    #[pyo3(
        signature = (name, default_value, buffer_num = None, *, mode = None, timestamps = None),
        text_signature = "(name, default_value, buffer_num=3, *, mode=None, timestamps='precise')"
    )]
    fn new(
        name: &str,
        default_value: &Bound<'_, PyAny>,
        buffer_num: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
        timestamps: Option<&str>,
    ) -> PyResult<Publisher> {
        let kind = Kind::of_default(default_value, "Publisher", name)?;
        let buffer_num = match buffer_num {
            None => shm::DEFAULT_BUFFER_NUM,
            Some(v) => buffer_num_arg(v)?,
        };
        let mode = mode_arg(mode)?;
        let timestamps = timestamps_arg(timestamps)?;
        let core = Core::create(kind, name, buffer_num, mode, timestamps)?;
        let path = match &core {
            Core::Bool(p) => p.path(),
            Core::Int(p) => p.path(),
            Core::Float(p) => p.path(),
        }
        .display()
        .to_string();
        Ok(Publisher {
            core: Some(core),
            name: name.to_owned(),
            kind,
            default_value: default_value.clone().unbind(),
            buffer_num,
            path,
        })
    }

    /// Publishes `data`: subscribers' next `subscribe()` returns it. Wait-free, no syscall.
    ///
    /// Raises `TypeError` for a value of another type (a float is never rounded into an int
    /// topic; an int is accepted by a float topic), `OverflowError` for an int outside 64 bits.
    fn publish(&mut self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let Some(core) = self.core.as_mut() else {
            return Err(closed_error("Publisher", &self.name));
        };
        let published = match core {
            Core::Bool(p) => p.try_publish(&to_bool(data, &self.name)?),
            Core::Int(p) => p.try_publish(&to_i64(data, &self.name)?),
            Core::Float(p) => p.try_publish(&to_f64(data, &self.name)?),
        };
        match published {
            Ok(_) => Ok(()),
            Err(e) => Err(ForkedProcessError::new_err(format!(
                "topic '{}': {e}",
                self.name
            ))),
        }
    }

    /// Releases the topic (another process may then publish it). Subscribers keep the last
    /// value. Idempotent.
    fn close(&mut self) {
        self.core = None;
    }

    /// `Publisher[int]` and the like, for type annotations (the stub declares the class generic).
    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        generic_alias(cls, item)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (_exc_type, _exc_value, _traceback))]
    fn __exit__(
        &mut self,
        _exc_type: &Bound<'_, PyAny>,
        _exc_value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> bool {
        self.close();
        false
    }

    /// The topic name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The Python type of the topic's values: `bool`, `int` or `float`.
    #[getter]
    fn r#type<'py>(&self, py: Python<'py>) -> Bound<'py, PyType> {
        self.kind.python_type(py)
    }

    /// The name of the `shm` message type the values travel as: `"bool"`, `"i64"` or `"f64"`.
    #[getter]
    fn type_name(&self) -> &'static str {
        self.kind.message_name()
    }

    /// The `default_value` given at creation.
    #[getter]
    fn default_value(&self, py: Python<'_>) -> Py<PyAny> {
        self.default_value.clone_ref(py)
    }

    /// Number of slots in the topic's ring.
    #[getter]
    fn buffer_num(&self) -> usize {
        self.buffer_num
    }

    /// The topic's file (under `$SHM_ROOT`, default `/dev/shm`).
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// Sequence number of the last value published on the topic (by this publisher or, after a
    /// takeover, its predecessor), or `None` if nothing was published yet.
    #[getter]
    fn last_seq(&self) -> Option<u64> {
        let next = match self.core.as_ref()? {
            Core::Bool(p) => p.next_seq(),
            Core::Int(p) => p.next_seq(),
            Core::Float(p) => p.next_seq(),
        };
        (next > 1).then(|| next - 1)
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.core.is_none()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let name = py_repr(py, &self.name);
        if self.core.is_none() {
            return format!(
                "<shm_pub_sub.Publisher {name} {} closed>",
                self.kind.label()
            );
        }
        let last = match self.last_seq() {
            Some(s) => s.to_string(),
            None => "None".to_owned(),
        };
        format!(
            "<shm_pub_sub.Publisher {name} {} buffer_num={} last_seq={last}>",
            self.kind.label(),
            self.buffer_num
        )
    }
}
