//! The arguments of `Subscriber(...)` and of its waits, checked.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBool;
use shm::TopicOwner;

use crate::carried::Carried;
use crate::kind::MakeSubscriber;

/// `owner=`: `None` (this user), a uid, or `"any"`.
pub(super) fn owner_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<TopicOwner> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(TopicOwner::Me);
    };
    if let Ok(text) = value.extract::<String>() {
        return match text.as_str() {
            "any" => Ok(TopicOwner::Anyone),
            _ => Err(PyValueError::new_err(format!(
                "owner must be a uid (int), \"any\" or None (this user), not {text:?}"
            ))),
        };
    }
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<pyo3::types::PyInt>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "owner must be a uid (int), \"any\" or None (this user), not {}",
            crate::value::describe(value)
        )));
    }
    value.extract::<u32>().map(TopicOwner::Uid).map_err(|_| {
        PyValueError::new_err(format!(
            "owner {} is not a uid (0 to 4294967295)",
            value.str().map(|s| s.to_string()).unwrap_or_default()
        ))
    })
}

/// A timeout in seconds (`None` or infinity: no deadline), refused if negative or NaN.
pub(crate) fn timeout_of(seconds: Option<f64>) -> PyResult<Option<Duration>> {
    match seconds {
        None => Ok(None),
        Some(s) if s.is_nan() || s < 0.0 => Err(PyValueError::new_err(format!(
            "timeout must be a number of seconds >= 0 (or None to wait without a deadline), not {s}"
        ))),
        Some(s) => Ok(Duration::try_from_secs_f64(s).ok()),
    }
}

/// `max_age=` (seconds): a positive, finite duration, or `None`.
pub(super) fn max_age_arg(seconds: Option<f64>) -> PyResult<Option<Duration>> {
    let Some(a) = seconds else { return Ok(None) };
    Duration::try_from_secs_f64(a)
        .ok()
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "max_age must be a positive, finite number of seconds (or None), not {a}"
            ))
        })
}

/// The options of a new subscriber, for the carried type chosen by the `default_value`.
pub(super) struct Options<'a> {
    pub(super) name: &'a str,
    pub(super) age: Option<Duration>,
    pub(super) owner: TopicOwner,
}

impl MakeSubscriber for Options<'_> {
    type Error = shm::SubscribeError;
    fn make<T: Carried>(self) -> Result<shm::Subscriber<T>, shm::SubscribeError> {
        let builder = shm::Subscriber::builder(self.name).owner(self.owner);
        match self.age {
            Some(a) => builder.max_age(a),
            None => builder,
        }
        .open()
    }
}
