//! Actions in Python: `ActionServer` and the goals it runs (`ServerGoal`), `ActionClient` and
//! the goals it sent (`GoalHandle`), over `shm::action`'s untyped server and client (the same
//! protocol as Rust's typed ones, so either side may be Rust).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use shm::action::{
    AnyActionClient, AnyActionServer, AnyActiveGoal, AnyGoalHandle, FeedbackError, GoalError,
    GoalStatus,
};
use shm::service::CallError;

use crate::errors::create_error;
use crate::service::{
    Carrier, PyClientInfo, STEP, call_error, deadline_of, server_error, timeout_error,
};

create_exception!(
    shm_pub_sub,
    GoalRejectedError,
    PyRuntimeError,
    "The action's server rejected the goal."
);

/// `shm_pub_sub.GoalStatus(name)`, the `str` enum of goal statuses.
fn status_of(py: Python<'_>, status: GoalStatus) -> PyResult<Py<PyAny>> {
    static STATUS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let class = STATUS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("shm_pub_sub._action")?
            .getattr("GoalStatus")?
            .unbind())
    })?;
    Ok(class.bind(py).call1((status.as_str(),))?.unbind())
}

fn goal_error(e: GoalError) -> PyErr {
    match e {
        GoalError::Rejected { .. } => GoalRejectedError::new_err(e.to_string()),
        GoalError::UnknownGoal { .. } => PyValueError::new_err(e.to_string()),
        GoalError::Call(c) => call_error(c),
        e => PyRuntimeError::new_err(e.to_string()),
    }
}

fn feedback_error(e: FeedbackError) -> PyErr {
    match e {
        FeedbackError::Invalid(_) | FeedbackError::NotAnEnd(_) => {
            PyValueError::new_err(e.to_string())
        }
        e => PyRuntimeError::new_err(e.to_string()),
    }
}

/// The goal, feedback and outcome types of an action.
struct Types {
    goal: Carrier,
    feedback: Carrier,
    outcome: Carrier,
}

impl Types {
    fn of(
        goal: &Bound<'_, PyAny>,
        feedback: &Bound<'_, PyAny>,
        outcome: &Bound<'_, PyAny>,
        role: &str,
        name: &str,
    ) -> PyResult<Types> {
        Ok(Types {
            goal: Carrier::of(goal, &format!("{role} goal"), name)?,
            feedback: Carrier::of(feedback, &format!("{role} feedback"), name)?,
            outcome: Carrier::of(outcome, &format!("{role} outcome"), name)?,
        })
    }

    fn schemas(&self) -> [Arc<shm::dynamic::TopicSchema>; 3] {
        [&self.goal, &self.feedback, &self.outcome].map(|c| Arc::clone(&c.schema))
    }
}

/// The server of an action: `ActionServer(name, goal_default, feedback_default,
/// outcome_default)`. `receive(timeout)` accepts the next goal (or rejects it, when `accept`
/// returns false for it) and returns it to run.
#[pyclass(module = "shm_pub_sub", name = "ActionServer", frozen)]
pub(crate) struct ActionServer {
    inner: Mutex<Option<AnyActionServer>>,
    closed: AtomicBool,
    name: String,
    types: Arc<Types>,
    accept: Option<Py<PyAny>>,
}

impl ActionServer {
    /// Attaches the server to `set` (its goals); raises if it is closed.
    pub(crate) fn attach_to(&self, set: &mut shm::WaitSet) -> PyResult<shm::AttachmentId> {
        crate::common::attach_held(&self.inner, Some(&self.closed), set, || {
            PyRuntimeError::new_err(format!("the action server of '{}' is closed", self.name))
        })
    }

    /// Whether `close()` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

#[pymethods]
impl ActionServer {
    #[new]
    #[pyo3(signature = (
        name, goal, feedback, outcome, *, accept = None, feedback_buffer = 64,
        admit_users = Vec::new(), admit_groups = Vec::new()
    ))]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments
    fn new(
        name: &str,
        goal: &Bound<'_, PyAny>,
        feedback: &Bound<'_, PyAny>,
        outcome: &Bound<'_, PyAny>,
        accept: Option<Py<PyAny>>,
        feedback_buffer: usize,
        admit_users: Vec<u32>,
        admit_groups: Vec<u32>,
    ) -> PyResult<ActionServer> {
        let types = Types::of(goal, feedback, outcome, "ActionServer", name)?;
        let [g, f, o] = types.schemas();
        let mut builder = AnyActionServer::builder(name, g, f, o).feedback_buffer(feedback_buffer);
        for uid in admit_users {
            builder = builder.admit_user(uid);
        }
        for gid in admit_groups {
            builder = builder.admit_group(gid);
        }
        let inner = builder.create().map_err(create_error)?;
        Ok(ActionServer {
            inner: Mutex::new(Some(inner)),
            closed: AtomicBool::new(false),
            name: name.to_owned(),
            types: Arc::new(types),
            accept,
        })
    }

    /// The next goal, accepted, waiting up to `timeout` seconds (`None`: no limit); `None`
    /// when the timeout passes. With `accept=` given, a goal it returns false for is rejected
    /// and the wait goes on.
    #[pyo3(signature = (timeout = None))]
    fn receive(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<ServerGoal>> {
        let deadline = deadline_of(timeout)?;
        loop {
            let step = py.detach(|| {
                let guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
                let server = guard
                    .as_ref()
                    .filter(|_| !self.closed.load(Ordering::Acquire))?;
                let until = deadline
                    .map_or_else(|| Instant::now() + STEP, |d| d.min(Instant::now() + STEP));
                loop {
                    if let Some(step) = server.recv_step(Some(until)) {
                        return Some(step);
                    }
                }
            });
            let Some(step) = step else {
                return Err(PyRuntimeError::new_err(format!(
                    "the action server of '{}' is closed",
                    self.name
                )));
            };
            match step {
                Ok(Some(request)) => {
                    let value = self.types.goal.decode(py, request.bytes().to_vec())?;
                    if let Some(accept) = &self.accept
                        && !accept.bind(py).call1((value.clone_ref(py),))?.is_truthy()?
                    {
                        py.detach(|| request.reject());
                        // A stream of rejected goals ends the wait at its deadline all the same.
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            return Ok(None);
                        }
                        py.check_signals()?;
                        continue;
                    }
                    let client = request.client().map(PyClientInfo::from);
                    let goal = py
                        .detach(|| request.accept())
                        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
                    return Ok(Some(ServerGoal {
                        inner: Mutex::new(Some(goal)),
                        value,
                        client,
                        types: Arc::clone(&self.types),
                    }));
                }
                Ok(None) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(None),
                Ok(None) => py.check_signals()?,
                Err(e) => return Err(server_error(e)),
            }
        }
    }

    /// Stops serving; a `receive` in another thread ends. Running goals may still end.
    fn close(&self, py: Python<'_>) {
        self.closed.store(true, Ordering::Release);
        let server = py.detach(|| {
            self.inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        });
        py.detach(|| drop(server));
    }

    /// The action's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "ActionServer('{}', goal={}, feedback={}, outcome={})",
            self.name, self.types.goal.label, self.types.feedback.label, self.types.outcome.label
        )
    }
}

/// A goal an `ActionServer` accepted and runs: publish feedback, look for a cancel request,
/// and end it with `succeed(outcome)`, `abort(outcome)` or `cancel(outcome)`. One garbage
/// collected unended ends aborted.
#[pyclass(module = "shm_pub_sub", name = "ServerGoal", frozen)]
pub(crate) struct ServerGoal {
    inner: Mutex<Option<AnyActiveGoal>>,
    value: Py<PyAny>,
    client: Option<PyClientInfo>,
    types: Arc<Types>,
}

impl ServerGoal {
    fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&AnyActiveGoal) -> R + Send) -> PyResult<R>
    where
        R: Send,
    {
        py.detach(|| {
            let guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            guard.as_ref().map(f)
        })
        .ok_or_else(|| PyRuntimeError::new_err("this goal has ended already"))
    }

    fn end(
        &self,
        py: Python<'_>,
        status: GoalStatus,
        outcome: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let bytes = match outcome {
            Some(o) => self.types.outcome.encode(o, "outcome")?,
            None => vec![0; self.types.outcome.schema.size()],
        };
        let goal = py.detach(|| {
            self.inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        });
        let goal = goal.ok_or_else(|| PyRuntimeError::new_err("this goal has ended already"))?;
        py.detach(|| goal.end(status, &bytes))
            .map_err(feedback_error)
    }
}

#[pymethods]
impl ServerGoal {
    /// The goal's value.
    #[getter]
    fn value(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }

    /// Its id (what its client knows it by).
    #[getter]
    fn id(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, AnyActiveGoal::id)
    }

    /// Who sent it (`ClientInfo`), if that could be read.
    #[getter]
    fn client(&self) -> Option<PyClientInfo> {
        self.client.clone()
    }

    /// Whether a client asked to cancel the goal (acknowledge with `cancel(outcome)`).
    #[getter]
    fn is_cancel_requested(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, AnyActiveGoal::is_cancel_requested)
    }

    /// Publishes one feedback value for the goal's clients.
    fn publish_feedback(&self, py: Python<'_>, feedback: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = self.types.feedback.encode(feedback, "feedback")?;
        self.with(py, |g| g.publish_feedback(&bytes))?
            .map_err(feedback_error)
    }

    /// Ends the goal: reached, with `outcome`.
    fn succeed(&self, py: Python<'_>, outcome: &Bound<'_, PyAny>) -> PyResult<()> {
        self.end(py, GoalStatus::Succeeded, Some(outcome))
    }

    /// Ends the goal: given up (with `outcome`, or zeros).
    #[pyo3(signature = (outcome = None))]
    fn abort(&self, py: Python<'_>, outcome: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.end(py, GoalStatus::Aborted, outcome)
    }

    /// Ends the goal as canceled (acknowledging a cancel request), with `outcome` or zeros.
    #[pyo3(signature = (outcome = None))]
    fn cancel(&self, py: Python<'_>, outcome: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.end(py, GoalStatus::Canceled, outcome)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let id = self.with(py, AnyActiveGoal::id).ok();
        Ok(format!(
            "ServerGoal({}, {})",
            self.value.bind(py).repr()?,
            id.map_or_else(|| "ended".to_owned(), |id| format!("id={id}"))
        ))
    }
}

/// A client of an action: `ActionClient(name, goal_default, feedback_default,
/// outcome_default)`; `send_goal(goal)` returns a `GoalHandle`.
#[pyclass(module = "shm_pub_sub", name = "ActionClient", frozen)]
pub(crate) struct ActionClient {
    inner: AnyActionClient,
    name: String,
    types: Arc<Types>,
}

#[pymethods]
impl ActionClient {
    #[new]
    #[pyo3(signature = (name, goal, feedback, outcome, *, owner = None))]
    fn new(
        name: &str,
        goal: &Bound<'_, PyAny>,
        feedback: &Bound<'_, PyAny>,
        outcome: &Bound<'_, PyAny>,
        owner: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<ActionClient> {
        let types = Types::of(goal, feedback, outcome, "ActionClient", name)?;
        let owner = crate::subscriber::owner_arg(owner)?;
        let inner =
            AnyActionClient::trusting(name, types.schemas(), None, owner).map_err(call_error)?;
        Ok(ActionClient {
            inner,
            name: name.to_owned(),
            types: Arc::new(types),
        })
    }

    /// Sends `goal` and waits up to `timeout` seconds for the server to accept it: a
    /// `GoalHandle`. Raises `GoalRejectedError` when it is rejected, and the exceptions of
    /// `Client.call` when it does not get through.
    #[pyo3(signature = (goal, timeout = 1.0))]
    fn send_goal(
        &self,
        py: Python<'_>,
        goal: &Bound<'_, PyAny>,
        timeout: f64,
    ) -> PyResult<GoalHandle> {
        let bytes = self.types.goal.encode(goal, "goal")?;
        let timeout = duration_of(timeout)?;
        let handle = py
            .detach(|| self.inner.send_goal(&bytes, timeout))
            .map_err(goal_error)?;
        Ok(GoalHandle {
            inner: Mutex::new(handle),
            name: self.name.clone(),
            types: Arc::clone(&self.types),
        })
    }

    /// `(goal id, status)` of every active goal and the latest ended ones.
    fn statuses(&self, py: Python<'_>) -> PyResult<Vec<(u64, Py<PyAny>)>> {
        py.detach(|| self.inner.statuses())
            .into_iter()
            .map(|(id, s)| Ok((id, status_of(py, s)?)))
            .collect()
    }

    /// The action's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "ActionClient('{}', goal={}, feedback={}, outcome={})",
            self.name, self.types.goal.label, self.types.feedback.label, self.types.outcome.label
        )
    }
}

fn duration_of(timeout: f64) -> PyResult<Duration> {
    if timeout.is_finite() && timeout >= 0.0 {
        Ok(Duration::from_secs_f64(timeout.min(1e9)))
    } else {
        Err(PyValueError::new_err(format!(
            "timeout must be a number of seconds, 0 or more, not {timeout}"
        )))
    }
}

/// A goal an `ActionClient` sent and its server accepted.
#[pyclass(module = "shm_pub_sub", name = "GoalHandle", frozen)]
pub(crate) struct GoalHandle {
    inner: Mutex<AnyGoalHandle>,
    name: String,
    types: Arc<Types>,
}

impl GoalHandle {
    /// `f` with the handle, the GIL released.
    fn with<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut AnyGoalHandle) -> R + Send) -> R {
        py.detach(|| f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner)))
    }
}

#[pymethods]
impl GoalHandle {
    /// The goal's id.
    #[getter]
    fn id(&self, py: Python<'_>) -> u64 {
        self.with(py, |h| h.id())
    }

    /// The next feedback, waiting up to `timeout` seconds; `None` once the goal has ended
    /// (or its server is gone). Raises `CallTimeout` when nothing came in time.
    #[pyo3(signature = (timeout = 1.0))]
    fn feedback(&self, py: Python<'_>, timeout: f64) -> PyResult<Option<Py<PyAny>>> {
        let deadline = Instant::now() + duration_of(timeout)?;
        loop {
            let step = deadline.saturating_duration_since(Instant::now()).min(STEP);
            let got = py.detach(|| {
                let mut handle = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
                handle.feedback(step)
            });
            match got {
                Ok(Some(bytes)) => return self.types.feedback.decode(py, bytes).map(Some),
                Ok(None) => return Ok(None),
                Err(CallError::Timeout { .. }) if Instant::now() < deadline => {
                    py.check_signals()?;
                }
                Err(CallError::Timeout { .. }) => {
                    return Err(timeout_error(&self.name, Some(timeout)));
                }
                Err(e) => return Err(call_error(e)),
            }
        }
    }

    /// Waits up to `timeout` seconds (`None`: no limit) for the goal to end: `(status,
    /// outcome)`, the status a `GoalStatus` (`"succeeded"`, `"aborted"` or `"canceled"`). A
    /// server that went away first gives `("aborted", None)`.
    #[pyo3(signature = (timeout = None))]
    fn result(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> PyResult<(Py<PyAny>, Option<Py<PyAny>>)> {
        let deadline = deadline_of(timeout)?;
        loop {
            let step = deadline.map_or(STEP, |d| {
                d.saturating_duration_since(Instant::now()).min(STEP)
            });
            let until = Instant::now() + step;
            let got = py.detach(|| {
                let mut handle = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
                handle.result_until(until)
            });
            match got {
                Ok(Some(r)) => {
                    let outcome = match r.outcome {
                        Some(bytes) => Some(self.types.outcome.decode(py, bytes)?),
                        None => None,
                    };
                    return Ok((status_of(py, r.status)?, outcome));
                }
                Ok(None) if deadline.is_none_or(|d| Instant::now() < d) => py.check_signals()?,
                Ok(None) => return Err(timeout_error(&self.name, timeout)),
                Err(e) => return Err(goal_error(e)),
            }
        }
    }

    /// Asks the server to cancel the goal; returns its status then (`"canceling"`, or how it
    /// ended already).
    #[pyo3(signature = (timeout = 1.0))]
    fn cancel(&self, py: Python<'_>, timeout: f64) -> PyResult<Py<PyAny>> {
        let timeout = duration_of(timeout)?;
        let status = py.detach(|| {
            let handle = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            handle.cancel(timeout)
        });
        status_of(py, status.map_err(goal_error)?)
    }

    /// The goal's status as the server last published it (`None`: not listed).
    #[getter]
    fn status(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let status = py.detach(|| {
            self.inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .status()
        });
        status.map(|s| status_of(py, s)).transpose()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("GoalHandle('{}', id={})", self.name, self.id(py))
    }
}
