//! The typed faces of a service: [`Server`], [`Request`], [`Client`] and [`Pending`], each a
//! thin wrapper of its untyped twin that converts values to and from their bytes.

use std::fmt;
use std::marker::PhantomData;

use crate::TopicOwner;
use std::mem::size_of;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{
    AnyClient, AnyClientBuilder, AnyPending, AnyRequest, AnyServer, AnyServerBuilder, CallError,
    ClientInfo, ReplyError, ServerError,
};
use crate::ShmMessage;
use crate::error::CreateError;
use crate::schema::TopicSchema;

/// A value's bytes.
pub(crate) fn bytes_of<T: ShmMessage>(value: &T) -> &[u8] {
    // SAFETY: `T: ShmMessage` has no padding (the trait's promise 3), so all `size_of::<T>()`
    // bytes of `*value` are initialised; the slice borrows `value` for its lifetime and is
    // only read.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

/// The value whose bytes `bytes` are: `bytes` passed the checks of `T`'s schema (a service's
/// topics are opened with schemas built from `T::SCHEMA`, and every read validates). Boxed:
/// a value may be megabytes.
pub(crate) fn value_of<T: ShmMessage>(bytes: &[u8]) -> Box<T> {
    assert_eq!(bytes.len(), size_of::<T>(), "a value of the checked type");
    let mut value = Box::<T>::new_uninit();
    // SAFETY: the box holds `size_of::<T>()` writable bytes, `bytes` as many readable ones, in
    // process-local memory that does not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            value.as_mut_ptr().cast::<u8>(),
            size_of::<T>(),
        );
    }
    // SAFETY: the bytes passed `T`'s schema checks, so they are a valid `T` (promise 4).
    unsafe { value.assume_init() }
}

pub(crate) fn schema_of<T: ShmMessage>() -> Arc<TopicSchema> {
    Arc::from(T::SCHEMA)
}

/// Options for starting a [`Server`]; see [`Server::builder`].
#[must_use = "call .create() to start the server"]
pub struct ServerBuilder<Req, Resp> {
    inner: AnyServerBuilder,
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req: ShmMessage, Resp: ShmMessage> ServerBuilder<Req, Resp> {
    /// Directory of the service's files (default: `$SHM_ROOT`, else `/dev/shm`).
    pub fn root(self, dir: impl Into<PathBuf>) -> Self {
        self.map(|b| b.root(dir))
    }

    /// How many clients may be connected at once (default 64, at most 1024).
    pub fn max_clients(self, n: usize) -> Self {
        self.map(|b| b.max_clients(n))
    }

    /// How many requests of one client the server holds at once (default 8); more are
    /// answered [`CallError::Busy`].
    pub fn per_client(self, n: usize) -> Self {
        self.map(|b| b.per_client(n))
    }

    /// How many requests the server holds at once, received and not yet answered (default
    /// 64); more are answered [`CallError::Busy`] at once.
    pub fn queue(self, n: usize) -> Self {
        self.map(|b| b.queue(n))
    }

    /// Permission mode of the files the server creates (default `0o600`).
    pub fn mode(self, mode: u32) -> Self {
        self.map(|b| b.mode(mode))
    }

    /// Serves clients run by user `uid` too; see
    /// [`AnyServerBuilder::admit_user`](super::AnyServerBuilder::admit_user).
    pub fn admit_user(self, uid: u32) -> Self {
        self.map(|b| b.admit_user(uid))
    }

    /// Serves clients run by members of group `gid` too; see
    /// [`AnyServerBuilder::admit_group`](super::AnyServerBuilder::admit_group).
    pub fn admit_group(self, gid: u32) -> Self {
        self.map(|b| b.admit_group(gid))
    }

    fn map(self, f: impl FnOnce(AnyServerBuilder) -> AnyServerBuilder) -> Self {
        ServerBuilder {
            inner: f(self.inner),
            _types: PhantomData,
        }
    }

    /// Starts serving; see [`AnyServerBuilder::create`].
    pub fn create(self) -> Result<Server<Req, Resp>, CreateError> {
        Ok(Server {
            inner: self.inner.create()?,
            _types: PhantomData,
        })
    }
}

/// The server of one service: receives requests of `Req` from any number of clients in other
/// processes and answers each with a `Resp`. One live server per service.
///
/// ```no_run
/// let mut server = shm::Server::<u64, u64>::new("math/square")?;
/// let _signals = shm::stop::install();
/// server.serve(|x| x * x); // until Ctrl-C or SIGTERM
/// # Ok::<(), shm::CreateError>(())
/// ```
pub struct Server<Req, Resp> {
    inner: AnyServer,
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req: ShmMessage, Resp: ShmMessage> Server<Req, Resp> {
    /// Starts serving `name` (in `$SHM_ROOT` or `/dev/shm`); refused with
    /// [`CreateError::Busy`] while another live server serves it.
    pub fn new(name: &str) -> Result<Server<Req, Resp>, CreateError> {
        Server::builder(name).create()
    }

    /// Options for serving `name`.
    pub fn builder(name: &str) -> ServerBuilder<Req, Resp> {
        ServerBuilder {
            inner: AnyServer::builder(name, schema_of::<Req>(), schema_of::<Resp>()),
            _types: PhantomData,
        }
    }

    /// The next request, waiting up to `timeout` for one. A request whose bytes are not a
    /// `Req` is [`ServerError::BadRequest`] (its client was told already).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Request<Req, Resp>, ServerError> {
        self.inner.recv_timeout(timeout).map(Request::new)
    }

    /// The next request, waiting until `deadline`.
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<Request<Req, Resp>, ServerError> {
        self.inner.recv_deadline(deadline).map(Request::new)
    }

    /// The next request if one has arrived; never waits.
    pub fn try_recv(&mut self) -> Result<Option<Request<Req, Resp>>, ServerError> {
        Ok(self.inner.try_recv()?.map(Request::new))
    }

    /// Answers every request with `f`'s reply, until [`shm::stop`](crate::stop) is requested
    /// (Ctrl-C or SIGTERM once [`stop::install`](crate::stop::install)ed; seen within 100 ms).
    /// Requests that cannot be read are passed over (their clients were told); a reply that
    /// cannot be sent is dropped (its client times out).
    pub fn serve(&mut self, mut f: impl FnMut(&Req) -> Resp) {
        while !crate::stop::requested() {
            if let Ok(request) = self.recv_timeout(Duration::from_millis(100)) {
                let reply = f(request.value());
                let _ = request.reply(&reply);
            }
        }
    }

    /// The untyped server inside.
    pub fn as_any(&mut self) -> &mut AnyServer {
        &mut self.inner
    }
}

impl<Req, Resp> crate::waitset::private::Planned for Server<Req, Resp> {
    fn plan(&self) -> Result<crate::waitset::Plan, crate::AttachError> {
        crate::waitset::private::Planned::plan(&self.inner)
    }
}

impl<Req, Resp> crate::waitset::Attachable for Server<Req, Resp> {}

impl<Req, Resp> fmt::Debug for Server<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// A request a [`Server`] received: its value, who sent it, and the way to answer it. Dropping
/// it unanswered answers [`CallError::NoReply`]. It may be answered from another thread.
pub struct Request<Req, Resp> {
    value: Box<Req>,
    inner: AnyRequest,
    _reply: PhantomData<fn(Resp)>,
}

impl<Req: ShmMessage, Resp: ShmMessage> Request<Req, Resp> {
    fn new(inner: AnyRequest) -> Request<Req, Resp> {
        Request {
            value: value_of(inner.bytes()),
            inner,
            _reply: PhantomData,
        }
    }

    /// The request's value.
    pub fn value(&self) -> &Req {
        &self.value
    }

    /// Its sequence number in its client's stream.
    pub fn seq(&self) -> u64 {
        self.inner.seq()
    }

    /// Who sent it; see [`AnyRequest::client`].
    pub fn client(&self) -> Option<ClientInfo> {
        self.inner.client()
    }

    /// Answers it; see [`AnyRequest::reply`].
    pub fn reply(self, reply: &Resp) -> Result<(), ReplyError> {
        self.inner.reply(bytes_of(reply))
    }
}

impl<Req: fmt::Debug, Resp> fmt::Debug for Request<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("value", &self.value)
            .field("seq", &self.inner.seq())
            .field("slot", &self.inner.slot())
            .finish()
    }
}

/// Options for a [`Client`]; see [`Client::builder`].
#[must_use = "call .create() to create the client"]
pub struct ClientBuilder<Req, Resp> {
    inner: AnyClientBuilder,
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req: ShmMessage, Resp: ShmMessage> ClientBuilder<Req, Resp> {
    /// Directory of the service's files (default: `$SHM_ROOT`, else `/dev/shm`).
    pub fn root(self, dir: impl Into<PathBuf>) -> Self {
        ClientBuilder {
            inner: self.inner.root(dir),
            _types: PhantomData,
        }
    }

    /// Calls a server run by this user only (the default); see
    /// [`AnyClientBuilder::server_owner`].
    pub fn server_owner(self, owner: TopicOwner) -> Self {
        ClientBuilder {
            inner: self.inner.server_owner(owner),
            _types: PhantomData,
        }
    }

    /// Creates the client; see [`AnyClientBuilder::create`].
    pub fn create(self) -> Result<Client<Req, Resp>, CallError> {
        Ok(Client {
            inner: self.inner.create()?,
            _types: PhantomData,
        })
    }
}

/// A client of one service: sends requests of `Req` to its server and waits for their `Resp`
/// replies. Every call ends with its own reply or a [`CallError`], never another call's reply.
///
/// ```no_run
/// use std::time::Duration;
/// let client = shm::Client::<u64, u64>::new("math/square")?;
/// assert_eq!(client.call(&7, Duration::from_secs(1))?, 49);
/// # Ok::<(), shm::CallError>(())
/// ```
pub struct Client<Req, Resp> {
    inner: AnyClient,
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req: ShmMessage, Resp: ShmMessage> Client<Req, Resp> {
    /// A client of `name` (in `$SHM_ROOT` or `/dev/shm`); it connects at its first call.
    pub fn new(name: &str) -> Result<Client<Req, Resp>, CallError> {
        Client::builder(name).create()
    }

    /// Options for a client of `name`.
    pub fn builder(name: &str) -> ClientBuilder<Req, Resp> {
        ClientBuilder {
            inner: AnyClient::builder(name).types(schema_of::<Req>(), schema_of::<Resp>()),
            _types: PhantomData,
        }
    }

    /// Sends `request` and waits up to `timeout` for its reply.
    pub fn call(&self, request: &Req, timeout: Duration) -> Result<Resp, CallError> {
        self.send(request)?.wait(timeout)
    }

    /// Sends `request` without waiting; see [`AnyClient::send`].
    pub fn send(&self, request: &Req) -> Result<Pending<Resp>, CallError> {
        Ok(Pending {
            inner: self.inner.send(bytes_of(request))?,
            _reply: PhantomData,
        })
    }

    /// Connects to the server now; see [`AnyClient::connect`].
    pub fn connect(&self) -> Result<(), CallError> {
        self.inner.connect()
    }

    /// The untyped client inside.
    pub fn as_any(&self) -> &AnyClient {
        &self.inner
    }
}

impl<Req, Resp> fmt::Debug for Client<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// A call sent by a [`Client`] and not yet answered; dropping it gives the call up.
#[must_use = "a call's reply is had with .wait(); dropping it gives the call up"]
pub struct Pending<Resp> {
    inner: AnyPending,
    _reply: PhantomData<fn() -> Resp>,
}

impl<Resp: ShmMessage> Pending<Resp> {
    /// Waits up to `timeout` for the reply; see [`AnyPending::wait`].
    pub fn wait(self, timeout: Duration) -> Result<Resp, CallError> {
        let bytes = self.inner.wait(timeout)?;
        Ok(*value_of(&bytes))
    }

    /// The reply if it came, the error if the call failed, `None` while it still waits;
    /// never waits. See [`AnyPending::try_wait`] (and [`WaitSet::attach`](crate::WaitSet::attach)
    /// to be woken when the call ends).
    pub fn try_wait(&mut self) -> Result<Option<Resp>, CallError> {
        Ok(self.inner.try_wait()?.map(|bytes| *value_of(&bytes)))
    }

    /// The call's sequence number in its client's stream.
    pub fn seq(&self) -> u64 {
        self.inner.seq()
    }
}

impl<Resp> crate::waitset::private::Planned for Pending<Resp> {
    fn plan(&self) -> Result<crate::waitset::Plan, crate::AttachError> {
        crate::waitset::private::Planned::plan(&self.inner)
    }
}

impl<Resp> crate::waitset::Attachable for Pending<Resp> {}

impl<Resp> fmt::Debug for Pending<Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
