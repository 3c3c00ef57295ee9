//! `shm_pub_sub.Subscriber`.

use pyo3::prelude::*;
use pyo3::types::PyType;
use shm::{Sample, ShmMessage, SubscribeError};

use crate::errors::{closed_error, subscribe_error};
use crate::value::{Kind, from_bool, from_f64, from_i64, generic_alias, py_repr};

/// The typed subscriber behind a Python one.
enum Core {
    Bool(shm::Subscriber<bool>),
    Int(shm::Subscriber<i64>),
    Float(shm::Subscriber<f64>),
}

/// A sample converted to Python: value, sequence number, publish time (ns).
type Read = Option<(Py<PyAny>, u64, u64)>;

#[inline]
fn convert<T: ShmMessage + Copy>(
    read: Result<Option<Sample<T>>, SubscribeError>,
    to_py: impl FnOnce(T) -> Py<PyAny>,
) -> Result<Read, SubscribeError> {
    Ok(read?.map(|s| (to_py(s.value), s.seq, s.published.as_nanos())))
}

/// Reads the values of one topic, published by another process (or this one).
///
/// `default_value` (a bool, int or float) selects the type this subscriber reads and is what
/// `subscribe()` returns while there is no data. The subscriber may be created before the
/// topic's publisher; it sees the publisher's values once they arrive.
///
/// A topic of another type raises `SchemaMismatchError` (a `TypeError`), here or, if the
/// topic is created later, from `subscribe()`. While no topic file exists, `subscribe()` looks
/// for it at most once per millisecond.
///
/// `default_value` is returned as given (an `IntEnum` member stays one); values read are
/// always plain `bool`, `int` or `float`. Use an object from one thread at a time.
#[pyclass(module = "shm_pub_sub", name = "Subscriber")]
pub(crate) struct Subscriber {
    core: Option<Core>,
    name: String,
    kind: Kind,
    default_value: Py<PyAny>,
    path: String,
    /// Sequence number and publish time (CLOCK_MONOTONIC ns) of the last value returned.
    last: Option<(u64, u64)>,
}

#[pymethods]
impl Subscriber {
    #[new]
    #[pyo3(signature = (name, default_value))]
    fn new(py: Python<'_>, name: &str, default_value: &Bound<'_, PyAny>) -> PyResult<Subscriber> {
        let kind = Kind::of_default(default_value, "Subscriber", name)?;
        let err = |e| subscribe_error(py, e, kind);
        let core = match kind {
            Kind::Bool => Core::Bool(shm::Subscriber::new(name).map_err(err)?),
            Kind::Int => Core::Int(shm::Subscriber::new(name).map_err(err)?),
            Kind::Float => Core::Float(shm::Subscriber::new(name).map_err(err)?),
        };
        let path = match &core {
            Core::Bool(s) => s.path(),
            Core::Int(s) => s.path(),
            Core::Float(s) => s.path(),
        }
        .display()
        .to_string();
        Ok(Subscriber {
            core: Some(core),
            name: name.to_owned(),
            kind,
            default_value: default_value.clone().unbind(),
            path,
            last: None,
        })
    }

    /// Returns `(data, is_success)`: the newest value published on the topic and `True`, or
    /// `(default_value, False)` while nothing has been published. Never blocks and never
    /// returns a torn value; reading an existing topic makes no syscall.
    ///
    /// Raises `SchemaMismatchError` if the topic was (re)created with another type.
    fn subscribe(&mut self, py: Python<'_>) -> PyResult<(Py<PyAny>, bool)> {
        let Some(core) = self.core.as_mut() else {
            return Err(closed_error("Subscriber", &self.name));
        };
        let read = match core {
            Core::Bool(s) => convert(s.latest(), |v| from_bool(py, v)),
            Core::Int(s) => convert(s.latest(), |v| from_i64(py, v)),
            Core::Float(s) => convert(s.latest(), |v| from_f64(py, v)),
        };
        match read {
            Ok(Some((value, seq, published))) => {
                self.last = Some((seq, published));
                Ok((value, true))
            }
            Ok(None) => Ok((self.default_value.clone_ref(py), false)),
            Err(e) => Err(subscribe_error(py, e, self.kind)),
        }
    }

    /// Unmaps the topic. Idempotent; `subscribe()` then raises `ValueError`.
    fn close(&mut self) {
        self.core = None;
    }

    /// `Subscriber[int]` and the like, for type annotations (the stub declares the class generic).
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

    /// The Python type this subscriber reads: `bool`, `int` or `float`.
    #[getter]
    fn r#type<'py>(&self, py: Python<'py>) -> Bound<'py, PyType> {
        self.kind.python_type(py)
    }

    /// The name of the `shm` message type read: `"bool"`, `"i64"` or `"f64"`.
    #[getter]
    fn type_name(&self) -> &'static str {
        self.kind.message_name()
    }

    /// The `default_value` given at creation, returned while there is no data.
    #[getter]
    fn default_value(&self, py: Python<'_>) -> Py<PyAny> {
        self.default_value.clone_ref(py)
    }

    /// The topic's file (under `$SHM_ROOT`, default `/dev/shm`).
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// Sequence number of the last value `subscribe()` returned (1 for a topic's first value,
    /// +1 per publish), or `None` before the first successful read. A jump of more than 1
    /// between two reads means values were published in between.
    #[getter]
    fn last_seq(&self) -> Option<u64> {
        self.last.map(|(seq, _)| seq)
    }

    /// When the last value `subscribe()` returned was published, in nanoseconds on the clock
    /// of `time.monotonic_ns()` (shared by all processes of the machine), or `None`.
    #[getter]
    fn last_publish_time_ns(&self) -> Option<u64> {
        self.last.map(|(_, t)| t)
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.core.is_none()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let name = py_repr(py, &self.name);
        let state = match (&self.core, self.last) {
            (None, _) => "closed".to_owned(),
            (Some(_), None) => "last_seq=None".to_owned(),
            (Some(_), Some((seq, _))) => format!("last_seq={seq}"),
        };
        format!(
            "<shm_pub_sub.Subscriber {name} {} {state}>",
            self.kind.label()
        )
    }
}
