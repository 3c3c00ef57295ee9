//! Services in Python: `Server` and the `ServiceRequest`s it receives, `Client` and the
//! `PendingCall`s it has outstanding, over `shm::service`'s untyped server and client (the
//! same protocol as Rust's typed ones, so either side may be Rust).
//!
//! Blocking waits release the GIL in steps of at most 50 ms and handle signals (Ctrl-C)
//! between them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pyo3::create_exception;
use pyo3::exceptions::{
    PyConnectionError, PyRuntimeError, PyTimeoutError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use shm::dynamic::TopicSchema;
use shm::service::{
    AnyClient, AnyPending, AnyRequest, AnyServer, CallError, ClientInfo, ReplyError, ServerError,
};

use crate::errors::{SchemaMismatchError, create_error};
use crate::message::{MessageType, MessageValue, write_value};
use crate::ty::Ty;

create_exception!(
    shm_pub_sub,
    CallTimeout,
    PyTimeoutError,
    "No reply within the call's timeout; the call was given up (a late reply is dropped)."
);
create_exception!(
    shm_pub_sub,
    ServerGoneError,
    PyConnectionError,
    "The service's server exited or was killed before it answered the call."
);
create_exception!(
    shm_pub_sub,
    NoServerError,
    PyConnectionError,
    "No server runs for the service."
);
create_exception!(
    shm_pub_sub,
    ServerBusyError,
    PyRuntimeError,
    "The server holds as many requests as it may (its queue, or this client's share of it), \
     or admits no more clients."
);
create_exception!(
    shm_pub_sub,
    BadRequestError,
    PyValueError,
    "A request's bytes were not a value of the request type (a hostile writer): the server \
     raises it from receive(), the client from call(). Serving goes on."
);
create_exception!(
    shm_pub_sub,
    NoReplyError,
    PyRuntimeError,
    "The server dropped the request without answering it."
);

/// Longest a wait blocks with the GIL released before it looks for signals.
pub(crate) const STEP: Duration = Duration::from_millis(50);

/// A call error as the Python exception that fits it.
pub(crate) fn call_error(e: CallError) -> PyErr {
    let message = e.to_string();
    match e {
        CallError::Timeout { .. } => CallTimeout::new_err(message),
        CallError::ServerGone { .. } => ServerGoneError::new_err(message),
        CallError::NoServer { .. } => NoServerError::new_err(message),
        CallError::Busy { .. } | CallError::TooManyClients { .. } => {
            ServerBusyError::new_err(message)
        }
        CallError::SchemaMismatch(_) | CallError::NotAService { .. } => {
            SchemaMismatchError::new_err(message)
        }
        CallError::BadRequest { .. } => BadRequestError::new_err(message),
        CallError::NoReply { .. } => NoReplyError::new_err(message),
        CallError::InvalidRequest(_) | CallError::InvalidName(_) => PyValueError::new_err(message),
        CallError::Claim(e) => create_error(e),
        CallError::Open(_) => pyo3::exceptions::PyOSError::new_err(message),
        CallError::NotAdmitted { .. } | CallError::UntrustedServer { .. } => {
            pyo3::exceptions::PyPermissionError::new_err(message)
        }
        _ => PyRuntimeError::new_err(message),
    }
}

/// A server's wait error as the Python exception that fits it.
pub(crate) fn server_error(e: ServerError) -> PyErr {
    match e {
        ServerError::BadRequest { .. } => BadRequestError::new_err(e.to_string()),
        e => PyRuntimeError::new_err(e.to_string()),
    }
}

fn reply_error(e: ReplyError) -> PyErr {
    match e {
        ReplyError::Invalid(_) => PyValueError::new_err(e.to_string()),
        ReplyError::Create(c) => create_error(c),
        e => PyRuntimeError::new_err(e.to_string()),
    }
}

/// What a service carries one way: its schema, and its message class when it has one.
pub(crate) struct Carrier {
    pub(crate) schema: Arc<TopicSchema>,
    class: Option<Py<MessageType>>,
    pub(crate) label: String,
}

impl Carrier {
    /// The type `default` selects (a bool, int or float, or a `Message` value), as a
    /// `Publisher`'s `default_value` does.
    pub(crate) fn of(default: &Bound<'_, PyAny>, role: &str, service: &str) -> PyResult<Carrier> {
        let ty = Ty::of_default(default, role, service)?;
        let (schema, class) = match &ty {
            Ty::Scalar(kind) => {
                let schema = shm::registry::find(kind.message_name())
                    .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
                (Arc::from(schema), None)
            }
            Ty::Message(t) => (Arc::clone(&t.get().schema), Some(t.clone_ref(default.py()))),
            Ty::Any | Ty::Slice(_) => {
                return Err(PyTypeError::new_err(format!(
                    "{role} of service '{service}': pass a value that selects one type (a bool, \
                     int or float, or a shm_pub_sub.Message value), not {}",
                    crate::value::describe(default)
                )));
            }
        };
        Ok(Carrier {
            schema,
            class,
            label: ty.label(),
        })
    }

    /// A Python value as bytes of the type, checked.
    pub(crate) fn encode(&self, value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
        write_value(&self.schema, value, &format!("{what} ({})", self.label))
    }

    /// Bytes of the type as a Python value.
    pub(crate) fn decode(&self, py: Python<'_>, bytes: Vec<u8>) -> PyResult<Py<PyAny>> {
        MessageValue::new(bytes, self.class.as_ref(), &self.schema, py).into_python(py)
    }
}

pub(crate) fn deadline_of(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t >= 0.0 => {
            Ok(Some(Instant::now() + Duration::from_secs_f64(t.min(1e9))))
        }
        Some(t) => Err(PyValueError::new_err(format!(
            "timeout must be a number of seconds, 0 or more, or None, not {t}"
        ))),
    }
}

/// The server of a service: `Server(name, request_default, reply_default)` (the defaults'
/// types select the request and reply types, as a `Publisher`'s `default_value` does).
/// Its methods may be called from several threads: a wait holds the server one 50 ms step at
/// a time, and `close()` from another thread ends it.
#[pyclass(module = "shm_pub_sub", name = "Server", frozen)]
pub(crate) struct Server {
    inner: Mutex<Option<AnyServer>>,
    closed: AtomicBool,
    name: String,
    request: Arc<Carrier>,
    reply: Arc<Carrier>,
}

impl Server {
    /// Attaches the server to `set` (its requests); raises if it is closed.
    pub(crate) fn attach_to(&self, set: &mut shm::WaitSet) -> PyResult<shm::AttachmentId> {
        crate::common::attach_held(&self.inner, Some(&self.closed), set, || self.closed_error())
    }

    /// Whether `close()` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn closed_error(&self) -> PyErr {
        PyRuntimeError::new_err(format!("the server of '{}' is closed", self.name))
    }

    /// One step of a wait (at most [`STEP`], or until `deadline`), the GIL released.
    fn step(
        &self,
        py: Python<'_>,
        deadline: Option<Instant>,
        first: bool,
    ) -> PyResult<Result<Option<AnyRequest>, ServerError>> {
        py.detach(|| {
            let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let server = guard
                .as_mut()
                .filter(|_| !self.closed.load(Ordering::Acquire));
            let Some(server) = server else {
                return Err(());
            };
            if first {
                server.begin_wait();
            }
            let until =
                deadline.map_or_else(|| Instant::now() + STEP, |d| d.min(Instant::now() + STEP));
            loop {
                if let Some(step) = server.recv_step(Some(until)) {
                    return Ok(step);
                }
            }
        })
        .map_err(|()| self.closed_error())
    }
}

#[pymethods]
impl Server {
    #[new]
    #[pyo3(signature = (
        name, request, reply, *, max_clients = 64, per_client = 8, queue = 64,
        admit_users = Vec::new(), admit_groups = Vec::new()
    ))]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments
    fn new(
        name: &str,
        request: &Bound<'_, PyAny>,
        reply: &Bound<'_, PyAny>,
        max_clients: usize,
        per_client: usize,
        queue: usize,
        admit_users: Vec<u32>,
        admit_groups: Vec<u32>,
    ) -> PyResult<Server> {
        let request = Carrier::of(request, "Server request", name)?;
        let reply = Carrier::of(reply, "Server reply", name)?;
        let mut builder =
            AnyServer::builder(name, Arc::clone(&request.schema), Arc::clone(&reply.schema))
                .max_clients(max_clients)
                .per_client(per_client)
                .queue(queue);
        for uid in admit_users {
            builder = builder.admit_user(uid);
        }
        for gid in admit_groups {
            builder = builder.admit_group(gid);
        }
        let inner = builder.create().map_err(create_error)?;
        Ok(Server {
            inner: Mutex::new(Some(inner)),
            closed: AtomicBool::new(false),
            name: name.to_owned(),
            request: Arc::new(request),
            reply: Arc::new(reply),
        })
    }

    /// The next request, waiting up to `timeout` seconds (`None`: no limit) for one; `None`
    /// when the timeout passes. Raises `BadRequestError` for a request whose bytes were no
    /// value of the request type (its client was answered already; receive again).
    #[pyo3(signature = (timeout = None))]
    fn receive(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<ServiceRequest>> {
        let deadline = deadline_of(timeout)?;
        let mut first = true;
        loop {
            match self.step(py, deadline, std::mem::take(&mut first))? {
                Ok(Some(request)) => {
                    let value = self.request.decode(py, request.bytes().to_vec())?;
                    return Ok(Some(ServiceRequest {
                        inner: Some(request),
                        value,
                        reply: Arc::clone(&self.reply),
                    }));
                }
                Ok(None) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(None),
                Ok(None) => py.check_signals()?,
                Err(e) => return Err(server_error(e)),
            }
        }
    }

    /// Answers every request with `handler(value)`'s return value, until Ctrl-C (which
    /// raises `KeyboardInterrupt`), `close()` (from another thread: then it returns) or, with
    /// `count`, that many requests; returns how many it answered. Requests that cannot be
    /// read are passed over (their clients were told); an exception of `handler` propagates
    /// (its request is answered `NoReplyError`).
    #[pyo3(signature = (handler, *, count = None))]
    fn serve(
        &self,
        py: Python<'_>,
        handler: &Bound<'_, PyAny>,
        count: Option<u64>,
    ) -> PyResult<u64> {
        let mut served = 0;
        while count.is_none_or(|c| served < c) {
            if self.closed.load(Ordering::Acquire) {
                break;
            }
            let mut request = match self.receive(py, Some(0.1)) {
                Ok(Some(request)) => request,
                Ok(None) => continue,
                Err(e) if e.is_instance_of::<BadRequestError>(py) => continue,
                Err(_) if self.closed.load(Ordering::Acquire) => break,
                Err(e) => return Err(e),
            };
            let value = request.value.clone_ref(py);
            let reply = handler.call1((value,))?;
            request.answer(py, &reply)?;
            served += 1;
        }
        Ok(served)
    }

    /// Stops serving: the service has no server until another starts; a `receive` or
    /// `serve` in another thread ends. Requests received and not answered may still be
    /// answered.
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

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc_value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) {
        self.close(py);
    }

    /// The service's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "Server('{}', request={}, reply={}{})",
            self.name,
            self.request.label,
            self.reply.label,
            if self.closed.load(Ordering::Acquire) {
                ", closed"
            } else {
                ""
            }
        )
    }
}

/// Who sent a request: `ServiceRequest.client`.
#[pyclass(module = "shm_pub_sub", name = "ClientInfo", frozen, get_all)]
#[derive(Clone)]
pub(crate) struct PyClientInfo {
    /// The client's process id.
    pid: u32,
    /// Its process name (as its file records it).
    process_name: String,
    /// The user it runs as.
    uid: u32,
    /// The client slot it holds in the server.
    slot: usize,
}

#[pymethods]
impl PyClientInfo {
    fn __repr__(&self) -> String {
        format!(
            "ClientInfo(pid={}, process_name={:?}, uid={}, slot={})",
            self.pid,
            shm::text::printable(&self.process_name),
            self.uid,
            self.slot
        )
    }
}

impl From<ClientInfo> for PyClientInfo {
    fn from(c: ClientInfo) -> PyClientInfo {
        PyClientInfo {
            pid: c.process.pid,
            process_name: c.process.process_name,
            uid: c.uid,
            slot: c.slot,
        }
    }
}

/// A request a `Server` received: `.value`, `.client`, and `.reply(value)`. One dropped
/// unanswered answers its client `NoReplyError`.
#[pyclass(module = "shm_pub_sub", name = "ServiceRequest")]
pub(crate) struct ServiceRequest {
    inner: Option<AnyRequest>,
    value: Py<PyAny>,
    reply: Arc<Carrier>,
}

impl ServiceRequest {
    fn answer(&mut self, py: Python<'_>, reply: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = self.reply.encode(reply, "reply")?;
        let request = self
            .inner
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this request was answered already"))?;
        py.detach(|| request.reply(&bytes)).map_err(reply_error)
    }
}

#[pymethods]
impl ServiceRequest {
    /// The request's value.
    #[getter]
    fn value(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }

    /// Its sequence number in its client's stream.
    #[getter]
    fn seq(&self) -> Option<u64> {
        self.inner.as_ref().map(AnyRequest::seq)
    }

    /// Who sent it (`ClientInfo`: pid, process name, uid, slot), or `None` once that cannot
    /// be read (the client left) or the request was answered.
    #[getter]
    fn client(&self) -> Option<PyClientInfo> {
        self.inner.as_ref()?.client().map(PyClientInfo::from)
    }

    /// Answers the request with `value` (of the reply type); once only.
    fn reply(&mut self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.answer(py, value)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ServiceRequest({}{})",
            self.value.bind(py).repr()?,
            if self.inner.is_none() {
                ", answered"
            } else {
                ""
            }
        ))
    }
}

/// A client of a service: `Client(name, request_default, reply_default)`; `call(value)`
/// returns the reply.
#[pyclass(module = "shm_pub_sub", name = "Client", frozen)]
pub(crate) struct Client {
    inner: AnyClient,
    name: String,
    request: Arc<Carrier>,
    reply: Arc<Carrier>,
}

/// Waits for `pending`'s reply until `deadline` (`None`: no limit), the GIL released in
/// steps of at most [`STEP`], signals handled between them.
fn wait_reply(
    py: Python<'_>,
    pending: &mut AnyPending,
    reply: &Carrier,
    deadline: Option<Instant>,
) -> PyResult<Option<Py<PyAny>>> {
    loop {
        let until =
            deadline.map_or_else(|| Instant::now() + STEP, |d| d.min(Instant::now() + STEP));
        match py.detach(|| pending.wait_until(until)) {
            Ok(Some(bytes)) => return reply.decode(py, bytes).map(Some),
            Ok(None) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(None),
            Ok(None) => py.check_signals()?,
            Err(e) => return Err(call_error(e)),
        }
    }
}

pub(crate) fn timeout_error(name: &str, timeout: Option<f64>) -> PyErr {
    CallTimeout::new_err(format!(
        "no reply from service '{name}' within {} s; the call was given up (a late reply is \
         dropped): is its server overloaded or stuck?",
        timeout.unwrap_or(f64::INFINITY)
    ))
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (name, request, reply, *, owner = None))]
    fn new(
        name: &str,
        request: &Bound<'_, PyAny>,
        reply: &Bound<'_, PyAny>,
        owner: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Client> {
        let request = Carrier::of(request, "Client request", name)?;
        let reply = Carrier::of(reply, "Client reply", name)?;
        let inner = AnyClient::builder(name)
            .types(Arc::clone(&request.schema), Arc::clone(&reply.schema))
            .server_owner(crate::subscriber::owner_arg(owner)?)
            .create()
            .map_err(call_error)?;
        Ok(Client {
            inner,
            name: name.to_owned(),
            request: Arc::new(request),
            reply: Arc::new(reply),
        })
    }

    /// Sends `value` and waits up to `timeout` seconds for the reply, which it returns.
    /// Raises `CallTimeout` (a `TimeoutError`), `ServerGoneError`, `NoServerError`,
    /// `ServerBusyError`, `SchemaMismatchError` (the server serves other types), or
    /// `TypeError`/`ValueError` for a value that is not a request.
    #[pyo3(signature = (value, timeout = Some(1.0)), text_signature = "($self, value, timeout=1.0)")]
    fn call(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let deadline = deadline_of(timeout)?;
        let mut pending = self.start(py, value)?;
        let reply = wait_reply(py, &mut pending, &self.reply, deadline);
        // Given up (a timeout, Ctrl-C): forgotten without the GIL.
        py.detach(|| drop(pending));
        reply?.ok_or_else(|| timeout_error(&self.name, timeout))
    }

    /// Sends `value` without waiting: `PendingCall.wait(timeout)` returns the reply.
    fn send(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<PendingCall> {
        Ok(PendingCall {
            inner: Mutex::new(Some(self.start(py, value)?)),
            name: self.name.clone(),
            reply: Arc::clone(&self.reply),
        })
    }

    /// `await client.call_async(value, timeout)`: `call` for `asyncio`. The request is sent
    /// at once; the wait runs in the loop's default executor in steps of at most 50 ms (the
    /// GIL released), so a cancelled task gives its call up within a step.
    #[pyo3(signature = (value, timeout = Some(1.0)), text_signature = "($self, value, timeout=1.0)")]
    fn call_async<'py>(
        slf: &Bound<'py, Self>,
        value: &Bound<'py, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        deadline_of(timeout)?;
        let py = slf.py();
        let pending = slf.get().send(py, value)?;
        py.import("shm_pub_sub._aio")?
            .getattr("_wait_pending")?
            .call1((pending, timeout))
    }

    /// The service's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "Client('{}', request={}, reply={})",
            self.name, self.request.label, self.reply.label
        )
    }
}

impl Client {
    fn start(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<AnyPending> {
        let bytes = self.request.encode(value, "request")?;
        py.detach(|| self.inner.send(&bytes)).map_err(call_error)
    }
}

/// A call sent by `Client.send` and not yet answered; `wait(timeout)` returns the reply.
/// Dropping it (or `cancel()`) gives the call up.
#[pyclass(module = "shm_pub_sub", name = "PendingCall", frozen)]
pub(crate) struct PendingCall {
    inner: Mutex<Option<AnyPending>>,
    name: String,
    reply: Arc<Carrier>,
}

impl PendingCall {
    /// Attaches the call to `set` (its end); raises if it is over.
    pub(crate) fn attach_to(&self, set: &mut shm::WaitSet) -> PyResult<shm::AttachmentId> {
        crate::common::attach_held(&self.inner, None, set, || {
            PyRuntimeError::new_err("this call is over already")
        })
    }

    /// Whether the call is over (its outcome taken, or given up).
    pub(crate) fn is_over(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// The pending call, taken out (the call is then over for this object).
    fn take(&self, py: Python<'_>) -> PyResult<AnyPending> {
        py.detach(|| {
            self.inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        })
        .ok_or_else(|| PyRuntimeError::new_err("this call is over already"))
    }
}

#[pymethods]
impl PendingCall {
    /// Waits up to `timeout` seconds (`None`: no limit) for the reply and returns it;
    /// `CallTimeout` gives the call up. Once it returned or raised, the call is over.
    #[pyo3(signature = (timeout = Some(1.0)), text_signature = "($self, timeout=1.0)")]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let deadline = deadline_of(timeout)?;
        let mut pending = self.take(py)?;
        let reply = wait_reply(py, &mut pending, &self.reply, deadline);
        py.detach(|| drop(pending));
        reply?.ok_or_else(|| timeout_error(&self.name, timeout))
    }

    /// One step of an `asyncio` wait: `(True, reply)` once the reply came, `(False, None)`
    /// after waiting `step` seconds (at most 0.05) without it; the call stays outstanding.
    fn _poll(&self, py: Python<'_>, step: f64) -> PyResult<(bool, Option<Py<PyAny>>)> {
        let until = Instant::now() + Duration::from_secs_f64(step.clamp(0.0, 0.05));
        let outcome = py.detach(|| {
            let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let pending = guard.as_mut()?;
            let outcome = pending.wait_until(until);
            if !matches!(outcome, Ok(None)) {
                guard.take();
            }
            Some(outcome)
        });
        match outcome {
            None => Err(PyRuntimeError::new_err("this call is over already")),
            Some(Ok(None)) => Ok((false, None)),
            Some(Ok(Some(bytes))) => Ok((true, Some(self.reply.decode(py, bytes)?))),
            Some(Err(e)) => Err(call_error(e)),
        }
    }

    /// The reply if it came, `None` while the call still waits; never waits. Raises the
    /// call's error if it failed (`ServerGoneError`, `ServerBusyError`, ...). Once it
    /// returned a reply or raised, the call is over. On a `WaitSet` this call is attached
    /// to, call it at its `"reply"` event.
    fn try_wait(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let outcome = py.detach(|| {
            let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let pending = guard.as_mut()?;
            let outcome = pending.try_wait();
            if !matches!(outcome, Ok(None)) {
                guard.take();
            }
            Some(outcome)
        });
        match outcome {
            None => Err(PyRuntimeError::new_err("this call is over already")),
            Some(Ok(None)) => Ok(None),
            Some(Ok(Some(bytes))) => Ok(Some(self.reply.decode(py, bytes)?)),
            Some(Err(e)) => Err(call_error(e)),
        }
    }

    /// Whether the call is over: its reply or error was returned, or it was given up.
    #[getter]
    fn done(&self) -> bool {
        self.is_over()
    }

    /// Gives the call up: its reply, if it comes, is dropped.
    fn cancel(&self, py: Python<'_>) {
        if let Ok(pending) = self.take(py) {
            py.detach(|| drop(pending));
        }
    }

    /// The service's name.
    #[getter]
    fn service(&self) -> &str {
        &self.name
    }

    /// The call's sequence number in its client's stream, until it is over.
    #[getter]
    fn seq(&self) -> Option<u64> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(AnyPending::seq)
    }

    fn __repr__(&self) -> String {
        match self.seq() {
            Some(seq) => format!("PendingCall('{}', seq={seq})", self.name),
            None => format!("PendingCall('{}', over)", self.name),
        }
    }
}
