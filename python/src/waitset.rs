//! `shm_pub_sub.WaitSet`: one thread waiting for many subscribers, deadlines and intervals
//! (`shm::WaitSet`), with the GIL released while it sleeps and Ctrl-C checked between sleeps.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use shm::{AttachError, AttachmentId, EventKind};

use crate::errors::subscribe_error;
use crate::kind::with_subscriber;
use crate::message::MessageSubscriber;
use crate::subscriber::Subscriber;
use crate::subscriber::args::timeout_of;

/// Waits for whichever comes first of new values on any of its subscribers, a subscriber
/// whose topic went silent too long, and periodic ticks, in one thread and one sleep:
///
/// ```python
/// ws = shm_pub_sub.WaitSet()
/// ws.attach(imu)                   # new values of imu
/// ws.attach_deadline(cmd, 0.02)    # new values of cmd, and "silent for 20 ms"
/// ws.attach_interval(0.01)         # a tick every 10 ms
/// for event in ws.wait(timeout=1.0):
///     if event.kind == "value":
///         value, ok = event.subscriber.subscribe()
/// ```
///
/// Each event has `.subscriber` (`None` for an interval), `.kind` (an `EventKind`: `"value"`,
/// `"deadline"`, `"interval"` or `"publisher_gone"`), `.attachment` (the number the attach
/// call returned) and `.time_ns` (the value's publish time, the deadline or tick that passed,
/// on `time.monotonic_ns()`'s clock). A value is reported once, and not at all if the
/// subscriber already returned it. The subscribers stay yours: read them when an event says
/// so (a subscriber closed meanwhile is detached). A topic that does not exist yet is watched
/// for (found within 5 ms of its creation). The GIL is released while the set sleeps; Ctrl-C
/// interrupts a wait (at once while it sleeps, within 50 ms otherwise). A set is used by one
/// thread at a time (another thread's call raises `RuntimeError` while one waits).
#[pyclass(module = "shm_pub_sub", name = "WaitSet")]
pub(crate) struct WaitSet {
    inner: shm::WaitSet,
    /// Each attachment's subscriber (`None` for an interval).
    targets: HashMap<AttachmentId, Option<Py<PyAny>>>,
}

/// Something a `WaitSet` reports (see `WaitSet`).
#[pyclass(module = "shm_pub_sub", name = "WaitEvent", frozen)]
pub(crate) struct WaitEvent {
    /// The subscriber it is about, `None` for an interval.
    #[pyo3(get)]
    subscriber: Option<Py<PyAny>>,
    /// What happened: an `EventKind` (a `str`).
    #[pyo3(get)]
    kind: Py<PyAny>,
    /// The attachment's number (what `attach...` returned).
    #[pyo3(get)]
    attachment: u64,
    /// When, on `time.monotonic_ns()`'s clock.
    #[pyo3(get)]
    time_ns: u64,
}

#[pymethods]
impl WaitEvent {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let kind = self.kind.bind(py).str()?;
        let of = match &self.subscriber {
            Some(s) => format!(" of {}", s.bind(py).repr()?),
            None => String::new(),
        };
        Ok(format!(
            "<shm_pub_sub.WaitEvent {kind}{of} attachment={} time_ns={}>",
            self.attachment, self.time_ns
        ))
    }
}

/// `shm_pub_sub.EventKind(name)`, the `str` enum of event kinds.
fn kind_of(py: Python<'_>, kind: EventKind) -> PyResult<Py<PyAny>> {
    static KINDS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let class = KINDS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("shm_pub_sub._waitset")?
            .getattr("EventKind")?
            .unbind())
    })?;
    Ok(class.bind(py).call1((kind.as_str(),))?.unbind())
}

/// A positive, finite number of seconds.
fn period_of(what: &str, seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "{what} must be a positive, finite number of seconds, not {seconds}"
            ))
        })
}

/// Subscribers of every carried type attach the same way.
trait AttachTo {
    fn attach_to(
        &self,
        set: &mut shm::WaitSet,
        deadline: Option<Duration>,
    ) -> Result<AttachmentId, AttachError>;
}

impl<T: ?Sized> AttachTo for shm::Subscriber<T> {
    fn attach_to(
        &self,
        set: &mut shm::WaitSet,
        deadline: Option<Duration>,
    ) -> Result<AttachmentId, AttachError> {
        match deadline {
            Some(d) => set.attach_deadline(self, d),
            None => set.attach(self),
        }
    }
}

impl AttachTo for MessageSubscriber {
    fn attach_to(
        &self,
        set: &mut shm::WaitSet,
        deadline: Option<Duration>,
    ) -> Result<AttachmentId, AttachError> {
        match deadline {
            Some(d) => set.attach_deadline(self.any(), d),
            None => set.attach(self.any()),
        }
    }
}

impl WaitSet {
    fn remove(&mut self, ids: &[AttachmentId]) {
        for id in ids {
            self.inner.detach(*id);
            self.targets.remove(id);
        }
    }

    fn attach_subscriber(
        &mut self,
        subscriber: &Bound<'_, PyAny>,
        deadline: Option<Duration>,
    ) -> PyResult<u64> {
        let py = subscriber.py();
        let sub = subscriber.cast::<Subscriber>().map_err(|_| {
            PyTypeError::new_err(format!(
                "a WaitSet attaches shm_pub_sub.Subscriber objects, not {}",
                crate::value::describe(subscriber)
            ))
        })?;
        let me = sub.try_borrow()?;
        let core = me.open_core()?;
        let id = with_subscriber!(core, s => s.attach_to(&mut self.inner, deadline)).map_err(
            |e| match e {
                AttachError::Subscribe(e) => subscribe_error(py, e, me.ty()),
                other => PyValueError::new_err(other.to_string()),
            },
        )?;
        self.targets.insert(id, Some(subscriber.clone().unbind()));
        Ok(id.as_u64())
    }
}

#[pymethods]
impl WaitSet {
    #[new]
    fn new() -> WaitSet {
        WaitSet {
            inner: shm::WaitSet::new(),
            targets: HashMap::new(),
        }
    }

    /// Reports new values of `subscriber` (`"value"`) and its publisher's exit
    /// (`"publisher_gone"`). Returns the attachment's number.
    fn attach(&mut self, subscriber: &Bound<'_, PyAny>) -> PyResult<u64> {
        self.attach_subscriber(subscriber, None)
    }

    /// As `attach`, and reports `"deadline"` whenever no new value was published for
    /// `deadline` seconds (again every `deadline` while the silence lasts).
    fn attach_deadline(&mut self, subscriber: &Bound<'_, PyAny>, deadline: f64) -> PyResult<u64> {
        let d = period_of("deadline", deadline)?;
        self.attach_subscriber(subscriber, Some(d))
    }

    /// Reports `"interval"` every `period` seconds from now (a late wait gets one tick for
    /// those it missed; the next comes on time). Returns the attachment's number.
    fn attach_interval(&mut self, period: f64) -> PyResult<u64> {
        let d = period_of("period", period)?;
        let id = self
            .inner
            .attach_interval(d)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        self.targets.insert(id, None);
        Ok(id.as_u64())
    }

    /// Removes an attachment (its number), or every attachment of a subscriber. Returns
    /// whether there was one.
    fn detach(&mut self, py: Python<'_>, what: &Bound<'_, PyAny>) -> PyResult<bool> {
        if what.is_instance_of::<pyo3::types::PyBool>() {
            return Err(PyTypeError::new_err(
                "detach() takes an attachment's number or a Subscriber, not a bool",
            ));
        }
        let ids: Vec<AttachmentId> = if let Ok(n) = what.extract::<u64>() {
            self.targets
                .keys()
                .copied()
                .filter(|id| id.as_u64() == n)
                .collect()
        } else {
            self.targets
                .iter()
                .filter(|(_, t)| t.as_ref().is_some_and(|t| t.bind(py).is(what)))
                .map(|(id, _)| *id)
                .collect()
        };
        self.remove(&ids);
        Ok(!ids.is_empty())
    }

    /// Waits until at least one event, or `timeout` seconds (`None`: no timeout); returns the
    /// events in the order they happened, an empty list on a timeout.
    #[pyo3(signature = (timeout = None))]
    fn wait(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Vec<WaitEvent>> {
        let py = slf.py();
        // A timeout too long for the clock waits without one.
        let deadline = timeout_of(timeout)?.and_then(|d| Instant::now().checked_add(d));
        let mut me = slf.try_borrow_mut()?;
        me.inner.begin_wait();
        let events = loop {
            let inner = &mut me.inner;
            if let Some(events) = py.detach(|| inner.wait_step(deadline)) {
                break events;
            }
            py.check_signals()?;
        };
        // A subscriber closed since it was attached is detached, its events dropped.
        let closed: Vec<AttachmentId> = me
            .targets
            .iter()
            .filter(|(_, t)| {
                t.as_ref().is_some_and(|t| {
                    t.bind(py)
                        .cast::<Subscriber>()
                        .ok()
                        .and_then(|s| s.try_borrow().ok().map(|s| s.open_core().is_err()))
                        .unwrap_or(false)
                })
            })
            .map(|(id, _)| *id)
            .collect();
        me.remove(&closed);
        events
            .into_iter()
            .filter(|e| !closed.contains(&e.id))
            .map(|e| {
                Ok(WaitEvent {
                    subscriber: me
                        .targets
                        .get(&e.id)
                        .and_then(|t| t.as_ref().map(|t| t.clone_ref(py))),
                    kind: kind_of(py, e.kind)?,
                    attachment: e.id.as_u64(),
                    time_ns: e.at.as_nanos(),
                })
            })
            .collect()
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        for target in self.targets.values().flatten() {
            visit.call(target)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.targets.clear();
    }

    /// Number of attachments.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("<shm_pub_sub.WaitSet attachments={}>", self.inner.len())
    }
}
