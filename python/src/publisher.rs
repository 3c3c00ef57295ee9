//! `shm_pub_sub.Publisher`.

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};
use shm::{MAX_BUFFER_NUM, MIN_BUFFER_NUM, PublishClock};

use crate::carried::Carried;
use crate::common::{Common, pymethods_with_common};
use crate::errors::{
    ForkedProcessError, TopicBusyError, TopicFormatError, closed_error, create_error,
};
use crate::kind::{MakePublisher, PublisherCore, with_publisher};
use crate::message::MessagePublisher;
use crate::ty::Ty;
use crate::value::py_repr;

/// Publishes the values of one topic to every process that subscribes to it.
///
/// `default_value` selects the topic's type: a bool, int or float (`bool`, 64-bit `int` or
/// 64-bit `float`), or a value of a `Message` class (that message type, which a Rust
/// `#[derive(ShmMessage)]` struct of the same fields shares). It is not published; subscribers
/// see their own default until the first `publish`. A message topic's `publish` also takes a
/// dict of fields, or a buffer of one value's bytes (a numpy array or record of the class's
/// `dtype`, `bytes`), copied with the GIL released when large. `buffer_num` (2 to 4096; `None` means 3) is the number of slots the value
/// rotates through.
/// `mode` (default 0o600) may widen read access to the owner's group (0o640) or everyone
/// (0o644). A slice topic's publisher (`default_value=seq[Point, L[1000]]()`) with `grow=True`
/// replaces the topic with one of twice the room when a value does not fit (its subscribers
/// follow); without it, a longer value is a `ValueError`. `timestamps="coarse"` stamps values with the kernel's last timer tick (1–4 ms
/// resolution) instead of the nanosecond clock, which saves about 20 ns per `publish`.
///
/// A topic has one publisher at a time: a second live one raises `TopicBusyError`; after a
/// publisher died, a new one takes the topic over and continues its sequence numbers.
///
/// Use an object from one thread at a time (concurrent calls raise `RuntimeError`).
#[pyclass(module = "shm_pub_sub", name = "Publisher")]
pub(crate) struct Publisher {
    core: Option<PublisherCore>,
    common: Common,
    buffer_num: usize,
}

/// The options of a new publisher, for the carried type chosen by the `default_value`.
struct Options<'a> {
    name: &'a str,
    buffer_num: usize,
    mode: Option<u32>,
    timestamps: PublishClock,
}

impl MakePublisher for Options<'_> {
    type Error = PyErr;
    fn make<T: Carried>(self) -> PyResult<shm::Publisher<T>> {
        let mut builder = shm::Publisher::<T>::builder(self.name)
            .buffer_num(self.buffer_num)
            .clock(self.timestamps);
        if let Some(mode) = self.mode {
            builder = builder.mode(mode);
        }
        builder.create().map_err(create_error)
    }
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
fn timestamps_arg(value: Option<&str>) -> PyResult<PublishClock> {
    match value {
        None | Some("precise") => Ok(PublishClock::Precise),
        Some("coarse") => Ok(PublishClock::Coarse),
        Some(other) => Err(PyValueError::new_err(format!(
            "timestamps must be \"precise\" (nanoseconds, the default) or \"coarse\" (the kernel's last timer tick, a few ns cheaper to take), not {other:?}"
        ))),
    }
}

pymethods_with_common!(Publisher {
    #[new]
    #[pyo3(
        signature = (name, default_value, buffer_num = None, *, mode = None, timestamps = None, grow = false),
        text_signature = "(name, default_value, buffer_num=3, *, mode=None, timestamps='precise', grow=False)"
    )]
    fn new(
        name: &str,
        default_value: &Bound<'_, PyAny>,
        buffer_num: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
        timestamps: Option<&str>,
        grow: bool,
    ) -> PyResult<Publisher> {
        let ty = Ty::of_default(default_value, "Publisher", name)?;
        if grow && !matches!(ty, Ty::Slice(_)) {
            return Err(PyTypeError::new_err(format!(
                "grow=True is for slice topics (a default_value such as seq[Point, L[1000]]()), \
                 not {} topics, whose values have one size",
                ty.label()
            )));
        }
        let buffer_num = match buffer_num {
            None => shm::DEFAULT_BUFFER_NUM,
            Some(v) => buffer_num_arg(v)?,
        };
        let options = Options {
            name,
            buffer_num,
            mode: mode_arg(mode)?,
            timestamps: timestamps_arg(timestamps)?,
        };
        let core = match &ty {
            Ty::Scalar(kind) => PublisherCore::create(*kind, options)?,
            Ty::Message(t) => PublisherCore::Message(
                MessagePublisher::create(
                    t.bind(default_value.py()),
                    name,
                    options.buffer_num,
                    options.mode,
                    options.timestamps,
                )
                .map_err(create_error)?,
            ),
            Ty::Slice(s) => PublisherCore::Message(
                MessagePublisher::create_slice(
                    s.bind(default_value.py()),
                    name,
                    options.buffer_num,
                    options.mode,
                    options.timestamps,
                    grow,
                )
                .map_err(create_error)?,
            ),
            Ty::Any => {
                return Err(PyTypeError::new_err(format!(
                    "Publisher('{name}', None): a publisher needs a default_value of the topic's \
                     type (a bool, int, float or Message value)"
                )));
            }
        };
        let path = with_publisher!(&core, p => p.path()).display().to_string();
        Ok(Publisher {
            core: Some(core),
            common: Common {
                name: name.to_owned(),
                ty,
                default_value: default_value.clone().unbind(),
                path,
            },
            buffer_num,
        })
    }

    /// Publishes `data`: subscribers' next `subscribe()` returns it. Wait-free, no syscall (but
    /// one look at the topic's file every 100 ms: a file removed by hand is made again).
    ///
    /// Raises `TypeError` for a value of another type (a float is never rounded into an int
    /// topic; an int is accepted by a float topic), `OverflowError` for an int outside 64 bits,
    /// `TopicBusyError` once the topic's file was removed by hand and another publisher made
    /// the topic since (this one then publishes nothing more).
    fn publish(&mut self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let Some(core) = self.core.as_mut() else {
            return Err(closed_error("Publisher", &self.common.name));
        };
        let topic = &self.common.name;
        let published = with_publisher!(core, p => p.publish_py(data, topic)?);
        published.map(drop).map_err(|e| {
            let message = format!("topic '{}': {e}", self.common.name);
            match e {
                shm::PublishError::ForkedProcess => ForkedProcessError::new_err(message),
                shm::PublishError::WrongSize { .. }
                | shm::PublishError::InvalidValue(_)
                | shm::PublishError::TooLong { .. } => PyValueError::new_err(message),
                shm::PublishError::GrowFailed { .. } => PyOSError::new_err(message),
                // The topic's file was removed by hand and another publisher made it since.
                shm::PublishError::Displaced { .. } => TopicBusyError::new_err(message),
                shm::PublishError::FileLost { .. } => PyOSError::new_err(message),
                _ => TopicFormatError::new_err(message),
            }
        })
    }

    /// Number of slots in the topic's ring.
    #[getter]
    fn buffer_num(&self) -> usize {
        self.buffer_num
    }

    /// Sequence number of the last value published on the topic (by this publisher or, after a
    /// takeover, its predecessor), or `None` if nothing was published yet.
    #[getter]
    fn last_seq(&self) -> Option<u64> {
        let next = with_publisher!(self.core.as_ref()?, p => p.next_seq());
        (next > 1).then(|| next - 1)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let name = py_repr(py, &self.common.name);
        let label = self.common.ty.label();
        if self.core.is_none() {
            return format!("<shm_pub_sub.Publisher {name} {label} closed>");
        }
        let last = match self.last_seq() {
            Some(s) => s.to_string(),
            None => "None".to_owned(),
        };
        format!(
            "<shm_pub_sub.Publisher {name} {label} buffer_num={} last_seq={last}>",
            self.buffer_num
        )
    }
});

/// Publishing a Python value, whatever the publisher carries (message publishers have the
/// same method).
trait PublishPy {
    /// Converts `data` and publishes it.
    fn publish_py(
        &mut self,
        data: &Bound<'_, PyAny>,
        topic: &str,
    ) -> PyResult<Result<u64, shm::PublishError>>;
}

impl<T: Carried> PublishPy for shm::Publisher<T> {
    #[inline]
    fn publish_py(
        &mut self,
        data: &Bound<'_, PyAny>,
        topic: &str,
    ) -> PyResult<Result<u64, shm::PublishError>> {
        Ok(self.publish(&T::extract(data, topic)?))
    }
}
