//! `shm_pub_sub.WaitSet`: one thread waiting for many subscribers, deadlines and intervals
//! (`shm::WaitSet`), with the GIL released while it sleeps and Ctrl-C checked between sleeps.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use shm::{AttachError, AttachmentId, EventKind};

use crate::action::ActionServer;
use crate::errors::subscribe_error;
use crate::kind::with_subscriber;
use crate::message::MessageSubscriber;
use crate::service::{PendingCall, Server};
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
/// Servers and calls attach too: `ws.attach(server)` (a `Server` or an `ActionServer`)
/// reports `"request"` when requests (goals) came: take them with `server.receive(0)` until it
/// returns `None`; `ws.attach(call)` (a `PendingCall` from `Client.send`) reports `"reply"`
/// once the call ended: take its outcome with `call.try_wait()`. `ws.on(server, handler)`
/// answers each request with `handler(value)` (of an `ActionServer`: `handler(goal)` with each
/// goal), so one thread serves several services and reads topics. A closed server, and a
/// call that is over, are detached.
///
/// Each event has `.source` (the subscriber, server or call; `None` for an interval; also
/// named `.subscriber`), `.kind` (an `EventKind`: `"value"`, `"deadline"`, `"interval"`,
/// `"publisher_gone"`, `"request"` or `"reply"`), `.attachment` (the number the attach
/// call returned) and `.time_ns` (the value's publish time, the deadline or tick that passed,
/// on `time.monotonic_ns()`'s clock). A value is reported once, and not at all if the
/// subscriber already returned it. The subscribers stay yours: read them when an event says
/// so (a subscriber closed meanwhile is detached). Or let the set call functions, as an
/// rclpy executor does: `ws.on(sub, callback)` (each new value; `every_value=True`: every
/// value still in the ring, as a list), `ws.every(0.1, callback)`, then `ws.spin()` (until
/// `ws.stop()`; an exception in a callback is raised from it) or `ws.spin_once(timeout)`. A topic that does not exist yet is watched
/// for (found within 5 ms of its creation). The GIL is released while the set sleeps; Ctrl-C
/// interrupts a wait (at once while it sleeps, within 50 ms otherwise). A set is used by one
/// thread at a time (another thread's call raises `RuntimeError` while one waits).
#[pyclass(module = "shm_pub_sub", name = "WaitSet")]
pub(crate) struct WaitSet {
    inner: shm::WaitSet,
    /// Each attachment's subscriber (`None` for an interval).
    targets: HashMap<AttachmentId, Option<Py<PyAny>>>,
    /// The callbacks of `on` and `every`: the function, and whether it takes every value.
    callbacks: HashMap<AttachmentId, (Py<PyAny>, bool)>,
    /// Events of an earlier wait whose callbacks did not run yet (one before them raised),
    /// last first.
    pending: Vec<shm::Event>,
    /// Set by `stop()`: the current or next `spin` returns.
    stop: Arc<AtomicBool>,
    /// A `spin` or `spin_once` runs (callbacks may not start another).
    spinning: bool,
    /// The attachments of pending calls (detached once over).
    calls: Vec<AttachmentId>,
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
    /// What it is about: the subscriber, server or pending call attached (`None` for an
    /// interval); the same object as `subscriber`.
    #[getter]
    fn source(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.subscriber.as_ref().map(|s| s.clone_ref(py))
    }

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

/// Wakes a `WaitSet` from another thread (`WaitSet.waker()`): its current or next `wait`
/// returns at once, with the events it has (possibly none).
#[pyclass(module = "shm_pub_sub", name = "WaitSetWaker", frozen)]
pub(crate) struct WaitSetWaker {
    waker: shm::Waker,
    stop: Arc<AtomicBool>,
}

#[pymethods]
impl WaitSetWaker {
    /// Makes the set's current or next `wait` return.
    fn wake(&self) {
        self.waker.wake();
    }

    /// Makes the set's current or next `spin` return (as `WaitSet.stop()`, from any thread).
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.waker.wake();
    }
}

/// Whether `target` is a closed `Subscriber` (one borrowed elsewhere right now is not), a
/// closed server, or a call that is over.
fn is_closed(target: &Bound<'_, PyAny>) -> bool {
    if let Ok(server) = target.cast::<Server>() {
        return server.get().is_closed();
    }
    if let Ok(server) = target.cast::<ActionServer>() {
        return server.get().is_closed();
    }
    if let Ok(call) = target.cast::<PendingCall>() {
        return call.get().is_over();
    }
    target
        .cast::<Subscriber>()
        .ok()
        .and_then(|s| s.try_borrow().ok().map(|s| s.open_core().is_err()))
        .unwrap_or(false)
}

/// Runs a callback: of an interval (`target` `None`) with no argument; of a subscriber with
/// its new value (`_take()`: nothing if there is none), or with every new value still in its
/// ring (`subscribe_all()`: nothing if empty).
fn call_back(
    py: Python<'_>,
    (callback, every_value): (Py<PyAny>, bool),
    target: Option<&Py<PyAny>>,
) -> PyResult<()> {
    let callback = callback.bind(py);
    let Some(sub) = target.map(|t| t.bind(py)) else {
        callback.call0()?;
        return Ok(());
    };
    if sub.is_instance_of::<Server>() {
        // Every request that came, each answered with the callback's return value.
        loop {
            let request = match sub.call_method1(pyo3::intern!(py, "receive"), (0.0,)) {
                Ok(r) if r.is_none() => return Ok(()),
                Ok(r) => r,
                // Bytes that were no request: their client was told.
                Err(e) if e.is_instance_of::<crate::service::BadRequestError>(py) => continue,
                Err(e) => return Err(e),
            };
            let reply = callback.call1((request.getattr(pyo3::intern!(py, "value"))?,))?;
            request.call_method1(pyo3::intern!(py, "reply"), (reply,))?;
        }
    }
    if sub.is_instance_of::<ActionServer>() {
        // Every goal that came, handed to the callback.
        loop {
            let goal = sub.call_method1(pyo3::intern!(py, "receive"), (0.0,))?;
            if goal.is_none() {
                return Ok(());
            }
            callback.call1((goal,))?;
        }
    }
    if every_value {
        let batch = sub.call_method0(pyo3::intern!(py, "subscribe_all"))?;
        if batch.len()? > 0 {
            callback.call1((batch,))?;
        }
    } else {
        let value = sub.call_method0(pyo3::intern!(py, "_take"))?;
        if !value.is_none() {
            callback.call1((value,))?;
        }
    }
    Ok(())
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

/// What a subscriber of each carried type gives a wait set to watch.
trait Watched {
    fn watched(&self) -> &impl shm::Watchable;
}

impl<T: ?Sized> Watched for shm::Subscriber<T> {
    fn watched(&self) -> &impl shm::Watchable {
        self
    }
}

impl Watched for MessageSubscriber {
    fn watched(&self) -> &impl shm::Watchable {
        self.any()
    }
}

/// Attaches `subscriber` to `set`, with a deadline if given.
fn attach_to(
    set: &mut shm::WaitSet,
    subscriber: &impl shm::Watchable,
    deadline: Option<Duration>,
) -> Result<AttachmentId, AttachError> {
    match deadline {
        Some(d) => set.attach_deadline(subscriber, d),
        None => set.attach(subscriber),
    }
}

impl WaitSet {
    fn remove(&mut self, ids: &[AttachmentId]) {
        self.calls.retain(|id| !ids.contains(id));
        for id in ids {
            self.inner.detach(*id);
            self.targets.remove(id);
            self.callbacks.remove(id);
            self.pending.retain(|e| e.id != *id);
        }
    }

    /// A Python event of `e`.
    fn event(&self, py: Python<'_>, e: shm::Event) -> PyResult<WaitEvent> {
        Ok(WaitEvent {
            subscriber: self
                .targets
                .get(&e.id)
                .and_then(|t| t.as_ref().map(|t| t.clone_ref(py))),
            kind: kind_of(py, e.kind)?,
            attachment: e.id.as_u64(),
            time_ns: e.at.as_nanos(),
        })
    }

    /// `spin_once` without its re-entry check.
    fn run_callbacks(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Vec<WaitEvent>> {
        let py = slf.py();
        let mut queue = std::mem::take(&mut slf.try_borrow_mut()?.pending);
        if queue.is_empty() {
            queue = WaitSet::wait_events(slf, timeout)?;
            queue.reverse();
        }
        let mut other = Vec::new();
        let mut other_raw: Vec<shm::Event> = Vec::new();
        while let Some(event) = queue.pop() {
            let (callback, target) = {
                let mut me = slf.try_borrow_mut()?;
                if me.stop.load(Ordering::SeqCst) {
                    // Stopped by a callback: the events left run at the next spin.
                    queue.push(event);
                    me.pending = queue;
                    break;
                }
                // Detached by a callback meanwhile: nobody asks for it any more.
                let Some(target) = me.targets.get(&event.id) else {
                    continue;
                };
                let target = target.as_ref().map(|t| t.clone_ref(py));
                if target.as_ref().is_some_and(|t| is_closed(t.bind(py))) {
                    me.remove(&[event.id]);
                    continue;
                }
                let callback = me
                    .callbacks
                    .get(&event.id)
                    .map(|(f, all)| (f.clone_ref(py), *all));
                match callback {
                    Some(c)
                        if matches!(
                            event.kind,
                            EventKind::Value | EventKind::Interval | EventKind::Request
                        ) =>
                    {
                        (c, target)
                    }
                    _ => {
                        other.push(me.event(py, event)?);
                        other_raw.push(event);
                        continue;
                    }
                }
            };
            // No borrow of the set while Python code runs: a callback may attach, detach or
            // stop.
            if let Err(e) = call_back(py, callback, target.as_ref()) {
                // What was not handed out yet comes at the next spin, in its order: the events
                // without callbacks gathered so far, then those after the one that raised
                // (first a server's whose handler raised: its other requests were read).
                if event.kind == EventKind::Request {
                    queue.push(event);
                }
                queue.extend(other_raw.iter().rev().copied());
                slf.try_borrow_mut()?.pending = queue;
                return Err(e);
            }
        }
        Ok(other)
    }

    /// One wait (the GIL released while it sleeps, Ctrl-C checked between sleeps); the
    /// events of subscribers closed meanwhile are dropped, and those subscribers detached.
    fn wait_events(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Vec<shm::Event>> {
        let py = slf.py();
        // A timeout too long for the clock waits without one.
        let deadline = timeout_of(timeout)?.and_then(|d| Instant::now().checked_add(d));
        {
            // Calls that are over: nothing more to report.
            let mut me = slf.try_borrow_mut()?;
            let over: Vec<AttachmentId> = me
                .calls
                .iter()
                .copied()
                .filter(|id| {
                    me.targets
                        .get(id)
                        .is_none_or(|t| t.as_ref().is_none_or(|t| is_closed(t.bind(py))))
                })
                .collect();
            me.remove(&over);
            me.inner.begin_wait();
        }
        let events = loop {
            let step = {
                let mut me = slf.try_borrow_mut()?;
                let inner = &mut me.inner;
                py.detach(|| inner.wait_step(deadline))
            };
            if let Some(events) = step {
                break events;
            }
            // Not borrowed: a signal handler may call `stop()`.
            py.check_signals()?;
        };
        let mut me = slf.try_borrow_mut()?;
        // (Looked at for the subscribers with events only: a wait costs nothing per attachment
        // that has none.)
        let mut closed: Vec<AttachmentId> = events
            .iter()
            .map(|e| e.id)
            .filter(|id| {
                me.targets
                    .get(id)
                    .is_some_and(|t| t.as_ref().is_some_and(|t| is_closed(t.bind(py))))
            })
            .collect();
        closed.dedup();
        me.remove(&closed);
        Ok(events
            .into_iter()
            .filter(|e| !closed.contains(&e.id))
            .collect())
    }

    fn attach_subscriber(
        &mut self,
        subscriber: &Bound<'_, PyAny>,
        deadline: Option<Duration>,
    ) -> PyResult<AttachmentId> {
        let py = subscriber.py();
        if deadline.is_none() {
            let set = &mut self.inner;
            let attached = if let Ok(server) = subscriber.cast::<Server>() {
                let server = server.get();
                Some(py.detach(|| server.attach_to(set)))
            } else if let Ok(server) = subscriber.cast::<ActionServer>() {
                let server = server.get();
                Some(py.detach(|| server.attach_to(set)))
            } else if let Ok(call) = subscriber.cast::<PendingCall>() {
                let call = call.get();
                let id = py.detach(|| call.attach_to(set));
                if let Ok(id) = id {
                    self.calls.push(id);
                }
                Some(id)
            } else {
                None
            };
            if let Some(attached) = attached {
                let id = attached?;
                self.targets.insert(id, Some(subscriber.clone().unbind()));
                return Ok(id);
            }
        }
        let sub = subscriber.cast::<Subscriber>().map_err(|_| {
            PyTypeError::new_err(format!(
                "a WaitSet attaches shm_pub_sub.Subscriber objects{}, not {}",
                if deadline.is_none() {
                    ", servers, action servers and pending calls"
                } else {
                    " with a deadline"
                },
                crate::value::describe(subscriber)
            ))
        })?;
        let me = sub.try_borrow()?;
        let core = me.open_core()?;
        let id = with_subscriber!(core, s => attach_to(&mut self.inner, s.watched(), deadline))
            .map_err(|e| match e {
                AttachError::Subscribe(e) => subscribe_error(py, e, me.ty()),
                other => PyValueError::new_err(other.to_string()),
            })?;
        self.targets.insert(id, Some(subscriber.clone().unbind()));
        Ok(id)
    }

    fn add_interval(&mut self, period: f64) -> PyResult<AttachmentId> {
        let d = period_of("period", period)?;
        let id = self
            .inner
            .attach_interval(d)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        self.targets.insert(id, None);
        Ok(id)
    }
}

#[pymethods]
impl WaitSet {
    #[new]
    fn new() -> WaitSet {
        WaitSet {
            inner: shm::WaitSet::new(),
            targets: HashMap::new(),
            callbacks: HashMap::new(),
            pending: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            spinning: false,
            calls: Vec::new(),
        }
    }

    /// Reports new values of a `Subscriber` (`"value"`) and its publisher's exit
    /// (`"publisher_gone"`); requests to a `Server` or `ActionServer` (`"request"`); the end of
    /// a `PendingCall` (`"reply"`). Returns the attachment's number.
    fn attach(&mut self, subscriber: &Bound<'_, PyAny>) -> PyResult<u64> {
        Ok(self.attach_subscriber(subscriber, None)?.as_u64())
    }

    /// As `attach`, and reports `"deadline"` whenever no new value was published for
    /// `deadline` seconds (again every `deadline` while the silence lasts).
    fn attach_deadline(&mut self, subscriber: &Bound<'_, PyAny>, deadline: f64) -> PyResult<u64> {
        let d = period_of("deadline", deadline)?;
        Ok(self.attach_subscriber(subscriber, Some(d))?.as_u64())
    }

    /// Reports `"interval"` every `period` seconds from now (a late wait gets one tick for
    /// those it missed; the next comes on time). Returns the attachment's number.
    fn attach_interval(&mut self, period: f64) -> PyResult<u64> {
        Ok(self.add_interval(period)?.as_u64())
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
        let events = WaitSet::wait_events(slf, timeout)?;
        let me = slf.try_borrow()?;
        events.into_iter().map(|e| me.event(slf.py(), e)).collect()
    }

    /// Calls `callback(value)` with each new value of `subscriber` when the set spins
    /// (`spin`, `spin_once`); with `every_value=True`, `callback(samples)` with every new value
    /// still in its ring (`subscribe_all()`, never empty). Of a `Server`: answers each request
    /// with `callback(value)`; of an `ActionServer`: `callback(goal)` with each goal. Returns
    /// the attachment's number.
    #[pyo3(signature = (subscriber, callback, *, every_value = false))]
    fn on(
        &mut self,
        subscriber: &Bound<'_, PyAny>,
        callback: &Bound<'_, PyAny>,
        every_value: bool,
    ) -> PyResult<u64> {
        if !callback.is_callable() {
            return Err(PyTypeError::new_err("on() needs a callable callback"));
        }
        let id = self.attach_subscriber(subscriber, None)?;
        self.callbacks
            .insert(id, (callback.clone().unbind(), every_value));
        Ok(id.as_u64())
    }

    /// Calls `callback()` every `period` seconds when the set spins. Returns the
    /// attachment's number.
    fn every(&mut self, period: f64, callback: &Bound<'_, PyAny>) -> PyResult<u64> {
        if !callback.is_callable() {
            return Err(PyTypeError::new_err("every() needs a callable callback"));
        }
        let id = self.add_interval(period)?;
        self.callbacks
            .insert(id, (callback.clone().unbind(), false));
        Ok(id.as_u64())
    }

    /// Waits once (at most `timeout` seconds; `None`: until something happens) and calls the
    /// callbacks of what happened. Returns the events that have no callback (from `attach...`,
    /// and deadlines and publishers gone). An exception in a callback is raised here; the
    /// events after it are handled by the next `spin_once`, so no value is lost.
    #[pyo3(signature = (timeout = None))]
    fn spin_once(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Vec<WaitEvent>> {
        {
            let mut me = slf.try_borrow_mut()?;
            if me.spinning {
                return Err(PyRuntimeError::new_err(
                    "spin_once() or spin() called from one of this WaitSet's callbacks: a \
                     callback returns to the spin that called it",
                ));
            }
            me.spinning = true;
        }
        let result = WaitSet::run_callbacks(slf, timeout);
        if let Ok(mut me) = slf.try_borrow_mut() {
            me.spinning = false;
        }
        result
    }

    /// Calls callbacks (see `on`, `every`) until `stop()` is called (from a callback, or
    /// `WaitSet.waker().stop()` from another thread) or `timeout` seconds pass (`None`: no
    /// timeout). An exception in a callback stops it and is raised; calling it again goes
    /// on where it stopped. Events without a callback are dropped.
    #[pyo3(signature = (timeout = None))]
    fn spin(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<()> {
        let deadline = timeout_of(timeout)?.and_then(|d| Instant::now().checked_add(d));
        loop {
            if slf.try_borrow()?.stop.swap(false, Ordering::SeqCst) {
                // The wake-up that came with the request is consumed with it.
                slf.try_borrow_mut()?.inner.clear_wakes();
                return Ok(());
            }
            let left = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(());
                    }
                    Some(left.as_secs_f64())
                }
                None => None,
            };
            WaitSet::spin_once(slf, left)?;
        }
    }

    /// Makes the current `spin` return once the running callback returns (the events left run
    /// at the next spin); called while no spin runs, it ends the next one at once. From a
    /// callback or a signal handler; from another thread use `waker().stop()`.
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.inner.waker().wake();
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        for target in self.targets.values().flatten() {
            visit.call(target)?;
        }
        for (callback, _) in self.callbacks.values() {
            visit.call(callback)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.targets.clear();
        self.callbacks.clear();
        self.pending.clear();
        self.calls.clear();
        self.inner = shm::WaitSet::new();
    }

    /// A `WaitSetWaker`, whose `wake()` (from any thread) makes this set's current or next
    /// `wait` return at once.
    fn waker(&self) -> WaitSetWaker {
        WaitSetWaker {
            waker: self.inner.waker(),
            stop: Arc::clone(&self.stop),
        }
    }

    /// Number of attachments.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("<shm_pub_sub.WaitSet attachments={}>", self.inner.len())
    }
}
