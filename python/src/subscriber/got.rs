//! A value read, converted to Python: the sample a subscriber keeps of the last value it
//! returned, and the `Sample` class of `subscribe_all()`.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyTuple};
use shm::Sample;

use crate::carried::Carried;
use crate::message::MessageValue;

/// A value read from a topic, converted to Python: scalars exactly, messages as values of
/// their class.
pub(crate) trait ToPython {
    fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>>;
}

impl<T: Carried> ToPython for T {
    #[inline]
    fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.to_object(py))
    }
}

impl ToPython for MessageValue {
    fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        MessageValue::into_python(self, py)
    }
}

/// A sample converted to Python: what a subscriber keeps of the last value it returned.
pub(super) struct Got {
    pub(super) value: Py<PyAny>,
    /// `(value, True)`, built once: `subscribe()` returns this same tuple while the value is
    /// not new, converting nothing (a busy-polling reader's common case).
    pub(super) result: Py<PyTuple>,
    /// Whether `value` is the value read (not after `subscribe_into`, which reads into the
    /// caller's buffer: then `subscribe()` makes a value again).
    pub(super) has_value: bool,
    /// Its sequence number, publish time and freshness.
    pub(super) sample: Sample<()>,
}

impl Got {
    /// A value read, converted.
    #[inline]
    pub(super) fn new<V: ToPython>(py: Python<'_>, s: Sample<V>) -> PyResult<Got> {
        let (value, sample) = s.into_parts();
        Got::of(py, value.into_python(py)?, true, sample)
    }

    /// `value` (the value read if `has_value`, else the buffer it was read into) for `sample`.
    pub(super) fn of(
        py: Python<'_>,
        value: Py<PyAny>,
        has_value: bool,
        sample: Sample<()>,
    ) -> PyResult<Got> {
        let result = PyTuple::new(
            py,
            [
                value.clone_ref(py),
                PyBool::new(py, true).to_owned().into_any().unbind(),
            ],
        )?;
        Ok(Got {
            value,
            result: result.unbind(),
            has_value,
            sample,
        })
    }
}

/// One value of `Subscriber.subscribe_all()`: the value, its sequence number, when it was
/// published (ns on the clock of `time.monotonic_ns()`), and how many values before it this
/// subscriber never saw. Unpacks as `value, seq, publish_time_ns = sample`.
#[pyclass(module = "shm_pub_sub", name = "Sample", frozen, eq)]
pub(crate) struct PySample {
    /// The value.
    #[pyo3(get)]
    pub(super) value: Py<PyAny>,
    /// Its sequence number.
    #[pyo3(get)]
    pub(super) seq: u64,
    /// When it was published, in ns on the clock of `time.monotonic_ns()`.
    #[pyo3(get)]
    pub(super) publish_time_ns: u64,
    /// How many values before it this subscriber never saw (overwritten before it read them).
    #[pyo3(get)]
    pub(super) missed: u64,
}

impl PartialEq for PySample {
    fn eq(&self, other: &PySample) -> bool {
        Python::attach(|py| {
            self.seq == other.seq
                && self.publish_time_ns == other.publish_time_ns
                && self.missed == other.missed
                && self
                    .value
                    .bind(py)
                    .eq(other.value.bind(py))
                    .unwrap_or(false)
        })
    }
}

#[pymethods]
impl PySample {
    fn __iter__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let me = slf.get();
        let items = (me.value.clone_ref(py), me.seq, me.publish_time_ns);
        Ok(items
            .into_pyobject(py)?
            .into_any()
            .try_iter()?
            .into_any()
            .unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let value = self
            .value
            .bind(py)
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_default();
        format!(
            "Sample(value={value}, seq={}, publish_time_ns={}, missed={})",
            self.seq, self.publish_time_ns, self.missed
        )
    }
}
