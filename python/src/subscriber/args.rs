//! The arguments of `Subscriber(...)` and of its waits, checked.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBool;
use shm::TopicOwner;

use crate::carried::Carried;
use crate::kind::MakeSubscriber;

/// `owner=`: `None` (this user), a uid, or `"any"`.
pub(crate) fn owner_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<TopicOwner> {
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

/// `max_borrowed=`: an int from 1 to [`shm::MAX_BORROWED`] (not a bool).
pub(super) fn max_borrowed_arg(value: &Bound<'_, PyAny>) -> PyResult<u32> {
    let n = if value.is_instance_of::<PyBool>() {
        None
    } else {
        value.extract::<i64>().ok()
    };
    n.and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=shm::MAX_BORROWED).contains(n))
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "max_borrowed must be an int from 1 to {} (the values a subscriber holds at \
                 once), not {value}",
                shm::MAX_BORROWED
            ))
        })
}

/// The options of a new subscriber, for the carried type chosen by the `default_value`.
#[derive(Clone, Copy)]
pub(crate) struct Options<'a> {
    pub(crate) name: &'a str,
    pub(crate) age: Option<Duration>,
    pub(crate) owner: TopicOwner,
    /// Borrowed values held at once (`max_borrowed=`, checked by the runtime).
    pub(crate) max_borrowed: u32,
}

impl Options<'_> {
    /// The options of a subscriber builder of either kind.
    pub(crate) fn apply<B: Builder>(&self, builder: B) -> B {
        let builder = builder.owner(self.owner).max_borrowed(self.max_borrowed);
        match self.age {
            Some(a) => builder.max_age(a),
            None => builder,
        }
    }
}

/// The options a typed and an untyped subscriber's builders share.
pub(crate) trait Builder: Sized {
    fn owner(self, owner: TopicOwner) -> Self;
    fn max_borrowed(self, n: u32) -> Self;
    fn max_age(self, age: Duration) -> Self;
}

macro_rules! builder {
    ($($t:ty $(, $g:ident)?);*) => {$(
        impl<$($g: Carried)?> Builder for $t {
            fn owner(self, owner: TopicOwner) -> Self {
                self.owner(owner)
            }
            fn max_borrowed(self, n: u32) -> Self {
                self.max_borrowed(n)
            }
            fn max_age(self, age: Duration) -> Self {
                self.max_age(age)
            }
        }
    )*};
}
builder!(shm::SubscriberBuilder<T>, T; shm::dynamic::AnySubscriberBuilder);

impl MakeSubscriber for Options<'_> {
    type Error = shm::SubscribeError;
    fn make<T: Carried>(self) -> Result<shm::Subscriber<T>, shm::SubscribeError> {
        self.apply(shm::Subscriber::builder(self.name)).open()
    }
}
