//! The client side of a service, on bytes of a type given at run time (or learnt from the
//! server): [`AnyClient`] and its outstanding calls, [`AnyPending`]. The typed
//! [`Client`](super::Client) wraps it.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::CallError;
use super::wire::{
    self, ReplyHead, STATUS_BAD_REQUEST, STATUS_BUSY, STATUS_NO_REPLY, STATUS_OK, Wire,
};
use crate::dynamic::{AnyPublisher, AnySubscriber, RawValue};
use crate::error::{CreateError, RecvError, SubscribeError};
use crate::owner::{FileOwner, PublisherProcess, TopicOwner, effective_uid};
use crate::schema::TopicSchema;
use crate::subscriber::{Expect, Options, SharedLast};
use crate::sys::{Readers, monotonic_ns, random_nonzero_u64};
use crate::waitset::{Attachable, EventKind, Group, Notice, Plan, WatchSource};
use crate::{TopicName, default_root};

/// How often a waiting call looks at whether its server still runs (a syscall), and so how
/// late at most it notices that it does not (plus the time the server takes to be reported
/// dead: at once for a killed process).
pub const LIVENESS_INTERVAL: Duration = Duration::from_millis(25);

/// Options for creating an [`AnyClient`] (or a typed [`Client`](super::Client)).
#[must_use = "call .create() to create the client"]
#[derive(Debug, Clone)]
pub struct AnyClientBuilder {
    name: String,
    types: Option<(Arc<TopicSchema>, Arc<TopicSchema>)>,
    root: Option<PathBuf>,
    server_owner: TopicOwner,
}

impl AnyClientBuilder {
    /// Directory of the service's files (default: `$SHM_ROOT`, else `/dev/shm`).
    pub fn root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.root = Some(dir.into());
        self
    }

    /// Calls only a server of these request and reply types (a server of others is
    /// [`CallError::SchemaMismatch`], naming what differs); by default, whatever the server
    /// serves ([`AnyClient::request_schema`] after the first call).
    pub fn types(mut self, request: Arc<TopicSchema>, reply: Arc<TopicSchema>) -> Self {
        self.types = Some((request, reply));
        self
    }

    /// Whose server this client calls: by default a server run by this user only (another
    /// user could otherwise start a server first and read the requests). A server of user
    /// `uid` that admits this one ([`AnyServerBuilder::admit_user`](super::AnyServerBuilder::admit_user)
    /// or `admit_group`) is called after `.server_owner(TopicOwner::Uid(uid))`: this client's
    /// requests are then readable by that user only, and its replies by this one only.
    /// [`TopicOwner::Anyone`] calls whichever user's server runs (for tools).
    pub fn server_owner(mut self, owner: TopicOwner) -> Self {
        self.server_owner = owner;
        self
    }

    /// Creates the client. It connects to the server at its first call (a server may start
    /// after its clients), and again after the server was replaced.
    pub fn create(self) -> Result<AnyClient, CallError> {
        let name = wire::service_name(&self.name).map_err(CallError::InvalidName)?;
        let root = self.root.unwrap_or_else(default_root);
        let expected = match &self.types {
            Some((request, reply)) => Some(Arc::new(
                Wire::new(Arc::clone(request), Arc::clone(reply)).map_err(CallError::Claim)?,
            )),
            None => None,
        };
        let mut service = AnySubscriber::builder(&wire::service_topic(&name))
            .root(&root)
            .owner(self.server_owner);
        if let Some(w) = &expected {
            service = service.expect(Arc::clone(&w.descriptor));
        }
        let service = service
            .open()
            .map_err(|e| subscribe_error(&name, e, self.server_owner))?;
        Ok(AnyClient {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    name,
                    root,
                    expected,
                    service,
                    conn: None,
                    calls: HashMap::new(),
                    by_seq: HashMap::new(),
                    next_call: 0,
                    checked_ns: 0,
                    generation: 0,
                    notices: HashMap::new(),
                    pump_owed: false,
                    server_owner: self.server_owner,
                }),
                turn: Condvar::new(),
            }),
        })
    }
}

/// A client of one service, on values of types given at run time (their bytes, checked
/// against the schemas); see the [module documentation](super) for the protocol. Clones of
/// the outstanding calls it hands out share it: it may be moved to another thread, and waits
/// from several threads take turns.
pub struct AnyClient {
    shared: Arc<Shared>,
}

struct Inner {
    name: TopicName,
    /// Whose servers it calls.
    server_owner: TopicOwner,
    root: PathBuf,
    /// The types this client insists on, if it does.
    expected: Option<Arc<Wire>>,
    /// The service's descriptor topic (its publisher is the server).
    service: AnySubscriber,
    /// The connection to the current server, once made.
    conn: Option<Conn>,
    /// Calls sent and not yet handed back, by this client's call number (sequence numbers
    /// start again with a new connection).
    calls: HashMap<u64, Call>,
    /// The call number of each request of the current connection that waits for its reply,
    /// by sequence number (a reply to any other is dropped: a call given up, an earlier
    /// client's).
    by_seq: HashMap<u64, u64>,
    /// The next call number.
    next_call: u64,
    /// When the server was last seen alive (monotonic ns).
    checked_ns: u64,
    /// Which connection `conn` is (a new one with each server).
    generation: u64,
    /// The notices of calls attached to wait sets, raised when the call ends.
    notices: HashMap<u64, Arc<Notice>>,
    /// A wait set's pump found the replies being read by a waiting thread: that thread
    /// reads them again and looks at the server when it hands them back.
    pump_owed: bool,
}

/// A connection: a claimed client slot of one server.
struct Conn {
    wire: Arc<Wire>,
    epoch: u64,
    per_client: usize,
    /// This connection's identity in its requests (random: a slot's next client has another).
    nonce: u64,
    server: PublisherProcess,
    /// The server's user (the owner of its descriptor).
    server_uid: u32,
    call: AnyPublisher,
    /// The reply topic's subscriber; `None` while a waiting thread reads it.
    reply: Option<AnySubscriber>,
    /// What a wait set watches of the reply topic.
    reply_watch: (Options, Expect, Arc<SharedLast>),
}

/// Where a call stands.
enum Call {
    Waiting,
    /// The reply's value.
    Replied(Vec<u8>),
    Failed(CallError),
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A failure to read the service's descriptor as a call error; `trusted`: whose servers the
/// client calls.
fn subscribe_error(name: &TopicName, e: SubscribeError, trusted: TopicOwner) -> CallError {
    let service = || name.as_str().to_owned();
    match e {
        SubscribeError::SchemaMismatch(mut m) => {
            name.as_str().clone_into(&mut m.topic);
            CallError::SchemaMismatch(m)
        }
        SubscribeError::UntrustedOwner { owner, trusted, .. } if !owner.writable_by_others() => {
            CallError::UntrustedServer {
                service: service(),
                owner,
                trusted,
            }
        }
        SubscribeError::PermissionDenied(f) => {
            // Another user's file this process may not open: one of a user it does not trust
            // (whose server would be refused even if it could be read), or of the trusted
            // server's user, which does not admit this one.
            let owner = std::fs::metadata(&f.path).ok().map(|m| FileOwner::of(&m));
            match (owner, trusted.uid()) {
                (Some(owner), Some(uid)) if owner.uid.0 != uid => CallError::UntrustedServer {
                    service: service(),
                    owner,
                    trusted,
                },
                _ => CallError::NotAdmitted { service: service() },
            }
        }
        e => CallError::Open(e),
    }
}

impl Inner {
    /// The connection to a live server, made (or made again, after the server was replaced)
    /// when needed; looks at the server at most every [`LIVENESS_INTERVAL`] unless `force`.
    fn connect(&mut self, force: bool) -> Result<&mut Conn, CallError> {
        let now = monotonic_ns();
        let due =
            force || now.saturating_sub(self.checked_ns) >= LIVENESS_INTERVAL.as_nanos() as u64;
        if self.conn.is_none() || due {
            self.check(now)?;
        }
        self.conn.as_mut().ok_or_else(|| CallError::NoServer {
            service: self.name.as_str().to_owned(),
        })
    }

    /// Looks at the server: keeps the connection if it is the same live server, makes one to
    /// a new one, and fails every waiting call if the server they were sent to is gone.
    fn check(&mut self, now: u64) -> Result<(), CallError> {
        let current = self.current_server();
        let same =
            matches!((&current, &self.conn), (Ok(Some((_, epoch))), Some(c)) if *epoch == c.epoch);
        if !same && let Some(conn) = self.conn.as_mut() {
            // Replies the server sent before it went away are the calls' answers, not a loss.
            let Some(reply) = conn.reply.as_mut() else {
                // A waiting thread reads them now: concluded at a look after its read.
                return Ok(());
            };
            let batch = reply.try_recv_all().unwrap_or_default();
            self.dispatch(self.generation, batch);
            if let Some(old) = self.conn.take() {
                self.generation += 1;
                self.server_gone(old.server);
            }
        }
        let Some((descriptor, epoch)) = current? else {
            return Err(CallError::NoServer {
                service: self.name.as_str().to_owned(),
            });
        };
        self.checked_ns = now;
        if !same {
            self.conn = Some(self.claim(&descriptor, epoch)?);
            self.generation += 1;
        }
        Ok(())
    }

    /// The live server's descriptor and epoch, if a server runs.
    fn current_server(&mut self) -> Result<Option<(RawValue, u64)>, CallError> {
        let name = &self.name;
        let trusted = self.server_owner;
        let Some(sample) = self
            .service
            .latest()
            .map_err(|e| subscribe_error(name, e, trusted))?
        else {
            return Ok(None);
        };
        if !self
            .service
            .publisher_alive()
            .map_err(|e| subscribe_error(name, e, trusted))?
        {
            return Ok(None);
        }
        if sample.value.bytes.len() < wire::DESC_SIZE {
            // Only an untyped client reads a descriptor of any type: this one is no service's.
            return Err(CallError::NotAService {
                service: name.as_str().to_owned(),
                found: sample.value.schema.type_name(),
            });
        }
        let epoch = wire::word(&sample.value.bytes, wire::DESC_EPOCH);
        Ok(Some((sample.value, epoch)))
    }

    /// Claims a free client slot of the server that published `descriptor`.
    fn claim(&mut self, descriptor: &RawValue, epoch: u64) -> Result<Conn, CallError> {
        let service = self.name.as_str().to_owned();
        let wire = match &self.expected {
            Some(w) => Arc::clone(w),
            None => Arc::new(Wire::of_descriptor(&descriptor.schema).ok_or_else(|| {
                CallError::NotAService {
                    service: service.clone(),
                    found: descriptor.schema.type_name(),
                }
            })?),
        };
        let words = |at| wire::word(&descriptor.bytes, at);
        let max_clients = words(wire::DESC_MAX_CLIENTS).min(super::MAX_CLIENTS as u64) as usize;
        let per_client =
            words(wire::DESC_PER_CLIENT).clamp(1, super::MAX_PER_CLIENT as u64) as usize;
        let server = self.service_owner();
        // The one user besides this one who may read the requests: the server's (the owner
        // of the descriptor just read, which this client trusts).
        let server_uid = match self.service.core().file_uid() {
            Some(uid) => uid,
            None => {
                return Err(CallError::NoServer {
                    service: service.clone(),
                });
            }
        };
        let readers = if server_uid == effective_uid() {
            Readers::default()
        } else {
            Readers::new([server_uid], [])
        };
        let mut refused = None;
        for slot in 0..max_clients {
            let call = AnyPublisher::builder(
                &wire::call_topic(&self.name, slot),
                Arc::clone(&wire.request_envelope.schema),
            )
            .root(&self.root)
            .mode(crate::DEFAULT_MODE)
            .readers(readers.clone())
            .buffer_num(per_client + 2)
            .create();
            let call = match call {
                Ok(call) => call,
                // Another live client's slot: the next one.
                Err(CreateError::Busy { .. }) => continue,
                // A file this user may not take, or a damaged one: the next one (one bad
                // file must not lock every client out).
                Err(e) => {
                    refused.get_or_insert(CallError::Claim(e));
                    continue;
                }
            };
            let reply = AnySubscriber::builder(&wire::reply_topic(&self.name, slot))
                .root(&self.root)
                .owner(TopicOwner::Uid(server_uid))
                // Made for the slot's earlier user until the server answers this client.
                .denied_is_absent()
                .expect(Arc::clone(&wire.reply_envelope.schema))
                .open();
            // A reply topic that cannot be read (a damaged file, another user's file in its
            // place): the next slot, as for a request topic.
            let mut reply = match reply {
                Ok(reply) => reply,
                Err(e) => {
                    refused.get_or_insert(CallError::Open(e));
                    continue;
                }
            };
            // Replies already there are an earlier client's of this slot: passed over, so that
            // none can match a call of this one (were the slot's numbering ever restarted).
            let mut stale = Vec::new();
            while matches!(reply.try_recv_all_into(&mut stale), Ok(n) if n > 0) {
                stale.clear();
            }
            return Ok(Conn {
                wire,
                epoch,
                per_client,
                nonce: random_nonzero_u64(),
                server,
                server_uid,
                call,
                reply_watch: reply.core().watch_source(),
                reply: Some(reply),
            });
        }
        Err(match refused {
            Some(e) => e,
            None => CallError::TooManyClients {
                service,
                max_clients,
            },
        })
    }

    fn service_owner(&self) -> PublisherProcess {
        crate::inspect::inspect(Some(&self.root), &wire::service_topic(&self.name))
            .map(|i| i.publisher)
            .unwrap_or_else(|_| PublisherProcess::unknown())
    }

    /// Fails every waiting call: their server is gone.
    fn server_gone(&mut self, server: PublisherProcess) {
        for (id, call) in &mut self.calls {
            if matches!(call, Call::Waiting) {
                *call = Call::Failed(CallError::ServerGone {
                    service: self.name.as_str().to_owned(),
                    server: server.clone(),
                });
                if let Some(notice) = self.notices.get(id) {
                    notice.raise();
                }
            }
        }
        self.by_seq.clear();
    }

    /// Call `id`'s outcome if it has one (it is then over), `None` while it waits.
    fn take(&mut self, id: u64) -> Option<Result<Vec<u8>, CallError>> {
        let outcome = match self.calls.remove(&id) {
            Some(Call::Replied(reply)) => Ok(reply),
            Some(Call::Failed(e)) => Err(e),
            Some(Call::Waiting) => {
                self.calls.insert(id, Call::Waiting);
                return None;
            }
            None => Err(CallError::NoReply {
                service: self.name.as_str().to_owned(),
            }),
        };
        if let Some(notice) = self.notices.remove(&id) {
            notice.lower();
        }
        Some(outcome)
    }

    /// A wait set's pump: takes the replies that came and looks at the server (raising the
    /// notices of the calls that ended); while a waiting thread reads the replies, leaves
    /// both to that thread, which does them when it hands the replies back.
    fn pump(&mut self) {
        if self.conn.as_ref().is_some_and(|c| c.reply.is_none()) {
            self.pump_owed = true;
            return;
        }
        self.read_replies();
        if self.conn.is_some() {
            let _ = self.check(monotonic_ns());
        }
    }

    /// Takes the replies that came, if no other thread reads them (that one takes them).
    fn read_replies(&mut self) {
        let generation = self.generation;
        let Some(reply) = self.conn.as_mut().and_then(|c| c.reply.as_mut()) else {
            return;
        };
        let (batch, gone) = match reply.try_recv_all() {
            Ok(batch) => (batch, false),
            Err(_) => (Vec::new(), true),
        };
        self.dispatch(generation, batch);
        if gone {
            self.checked_ns = 0;
        }
    }

    /// Sends a request; returns its call number and sequence number.
    fn send(&mut self, request: &[u8]) -> Result<(u64, u64), CallError> {
        let service = self.name.as_str().to_owned();
        // A new descriptor (another server took the service over) is looked at before the
        // request goes to the old one's slot (a look at the topic's header when nothing is new).
        let replaced = self.conn.is_some() && matches!(self.service.try_recv(), Ok(Some(_)));
        self.connect(replaced)?;
        let outstanding = self.by_seq.len();
        let conn = self.conn.as_mut().expect("connected");
        wire::check_value(&conn.wire.request, request).map_err(CallError::InvalidRequest)?;
        if outstanding >= conn.per_client {
            return Err(CallError::Busy {
                service,
                waiting: Some(outstanding),
            });
        }
        let envelope = conn.wire.request_bytes(conn.epoch, conn.nonce, request);
        let seq = conn.call.publish(&envelope).map_err(CallError::Send)?;
        let id = self.next_call;
        self.next_call += 1;
        self.calls.insert(id, Call::Waiting);
        self.by_seq.insert(seq, id);
        Ok((id, seq))
    }

    /// Takes the replies of `batch` (read from the reply topic of connection `generation`)
    /// for the calls that wait for them.
    fn dispatch(&mut self, generation: u64, batch: Vec<crate::Sample<RawValue>>) {
        let Some(conn) = self.conn.as_ref().filter(|_| self.generation == generation) else {
            return; // read from a connection that was replaced meanwhile
        };
        for sample in batch {
            let head = ReplyHead::of(&sample.value.bytes);
            // The server names no client only in the answer to bytes it could not read.
            let ours = head.client == conn.nonce
                || (head.client == 0 && head.status == STATUS_BAD_REQUEST);
            if head.epoch != conn.epoch || !ours {
                continue; // another client's (an earlier one of this slot), or an earlier server's
            }
            let Some((id, call)) = self
                .by_seq
                .remove(&head.request_seq)
                .and_then(|id| Some((id, self.calls.get_mut(&id)?)))
            else {
                continue; // a call given up
            };
            if let Some(notice) = self.notices.get(&id) {
                notice.raise();
            }
            let service = self.name.as_str().to_owned();
            *call = match head.status {
                STATUS_OK => Call::Replied(conn.wire.reply_of(&sample.value.bytes).to_vec()),
                STATUS_BUSY => Call::Failed(CallError::Busy {
                    service,
                    waiting: None,
                }),
                STATUS_BAD_REQUEST => Call::Failed(CallError::BadRequest { service }),
                STATUS_NO_REPLY => Call::Failed(CallError::NoReply { service }),
                status => Call::Failed(CallError::NoReply {
                    service: format!("{service} (unknown status {status})"),
                }),
            };
        }
    }

    /// Forgets call `id` (its waiter gave up): a reply that comes later is dropped.
    fn abandon(&mut self, id: u64, seq: u64) {
        if let Some(Call::Waiting) = self.calls.remove(&id) {
            self.by_seq.remove(&seq);
        }
        if let Some(notice) = self.notices.remove(&id) {
            notice.lower();
        }
    }
}

/// What a client and its outstanding calls share: the client's state, and the turn to read
/// its reply topic (one waiting thread reads, without holding the lock; the others sleep on
/// `turn` until it has taken the replies that came).
struct Shared {
    inner: Mutex<Inner>,
    turn: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// One slice of a wait for call `id` (request `seq`): its outcome if it has one, or after
    /// waiting at most until `until` (and at most [`LIVENESS_INTERVAL`]) for replies, `None`.
    /// The lock is never held while waiting: other threads' calls go on meanwhile.
    fn wait_slice(&self, id: u64, seq: u64, until: Instant) -> Result<Option<Vec<u8>>, CallError> {
        let mut inner = self.lock();
        if let Some(outcome) = inner.take(id) {
            return outcome.map(Some);
        }
        let now = Instant::now();
        if now >= until {
            return Ok(None);
        }
        if let Err(e) = inner.connect(false) {
            return Shared::after_failed_connect(&mut inner, id, seq, e);
        }
        let since_check = Duration::from_nanos(monotonic_ns().saturating_sub(inner.checked_ns));
        let slice = (until - now)
            .min(LIVENESS_INTERVAL.saturating_sub(since_check))
            .max(Duration::from_micros(1));
        let generation = inner.generation;
        let Some(mut reply) = inner.conn.as_mut().and_then(|c| c.reply.take()) else {
            // Another thread reads: it wakes this one when it has taken what came.
            drop(self.turn.wait_timeout(inner, slice));
            return Ok(None);
        };
        drop(inner);
        let (batch, gone) = match reply.recv_all_timeout(slice) {
            Ok(batch) => (batch, false),
            Err(RecvError::Timeout { .. }) => (Vec::new(), false),
            // The reply topic's publisher (the server) went away, or the topic is no longer
            // readable: the server is looked at next.
            Err(_) => (Vec::new(), true),
        };
        let mut inner = self.lock();
        if inner.generation == generation
            && let Some(conn) = inner.conn.as_mut()
        {
            conn.reply = Some(reply);
        }
        inner.dispatch(generation, batch);
        if gone {
            inner.checked_ns = 0;
        }
        if std::mem::take(&mut inner.pump_owed) {
            inner.pump();
        }
        drop(inner);
        self.turn.notify_all();
        Ok(None)
    }

    /// The outcome of call `id` once looking at its server failed with `e`: the server is
    /// gone (its last replies were taken first, by `check`, and the calls still waiting
    /// failed), or the service cannot be read (then the call is given up, with `e`).
    fn after_failed_connect(
        inner: &mut Inner,
        id: u64,
        seq: u64,
        e: CallError,
    ) -> Result<Option<Vec<u8>>, CallError> {
        if !inner.calls.contains_key(&id) {
            return Err(e); // over already
        }
        match inner.take(id) {
            Some(outcome) => outcome.map(Some),
            None => {
                inner.abandon(id, seq);
                Err(e)
            }
        }
    }

    /// Call `id`'s outcome if it has one, never waiting (but for another thread's read of
    /// the replies to end, at most [`LIVENESS_INTERVAL`]): looks at the replies that came and
    /// at the server.
    fn poll(&self, id: u64, seq: u64) -> Result<Option<Vec<u8>>, CallError> {
        let mut inner = self.lock();
        if let Some(outcome) = inner.take(id) {
            return outcome.map(Some);
        }
        if inner.conn.as_ref().is_some_and(|c| c.reply.is_none()) {
            // Another thread reads the replies: it takes this call's too, if it came.
            inner = self
                .turn
                .wait_timeout(inner, LIVENESS_INTERVAL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        inner.read_replies();
        if let Err(e) = inner.connect(true) {
            return Shared::after_failed_connect(&mut inner, id, seq, e);
        }
        inner.take(id).transpose()
    }

    /// What a wait set runs when a watched call's reply topic or server has news: takes the
    /// replies that came and looks at the server (raising the notices of the calls that
    /// ended).
    fn pump(&self) {
        self.lock().pump();
    }
}

impl AnyClient {
    /// Options for a client of `name`.
    pub fn builder(name: &str) -> AnyClientBuilder {
        AnyClientBuilder {
            name: name.to_owned(),
            types: None,
            root: None,
            server_owner: TopicOwner::Me,
        }
    }

    /// Sends `request` (one value of the request type, checked) and waits up to `timeout` for
    /// its reply: the reply's value bytes.
    pub fn call(&self, request: &[u8], timeout: Duration) -> Result<Vec<u8>, CallError> {
        self.send(request)?.wait(timeout)
    }

    /// Sends `request` without waiting: wait for its reply with [`AnyPending::wait`]. At most
    /// the server's `per_client` calls are outstanding at once (more are
    /// [`CallError::Busy`]).
    pub fn send(&self, request: &[u8]) -> Result<AnyPending, CallError> {
        let (id, seq) = self.shared.lock().send(request)?;
        Ok(AnyPending {
            shared: Arc::clone(&self.shared),
            id,
            seq,
            done: false,
        })
    }

    /// The request type: the one this client was made for, or the server's once connected.
    pub fn request_schema(&self) -> Option<Arc<TopicSchema>> {
        Some(Arc::clone(&self.wire()?.request))
    }

    /// The reply type: the one this client was made for, or the server's once connected.
    pub fn reply_schema(&self) -> Option<Arc<TopicSchema>> {
        Some(Arc::clone(&self.wire()?.reply))
    }

    /// The service's schemas: the connected server's, else the ones this client was made for.
    fn wire(&self) -> Option<Arc<Wire>> {
        let inner = self.shared.lock();
        let wire = inner
            .conn
            .as_ref()
            .map(|c| &c.wire)
            .or(inner.expected.as_ref())?;
        Some(Arc::clone(wire))
    }

    /// Connects to the server now (a call does it when needed): fails as a call would when
    /// there is no server, it serves other types, or it admits no more clients.
    pub fn connect(&self) -> Result<(), CallError> {
        self.shared.lock().connect(true).map(drop)
    }

    /// The server's process, once connected.
    pub fn server(&self) -> Option<PublisherProcess> {
        self.shared.lock().conn.as_ref().map(|c| c.server.clone())
    }

    /// The user owning the service's descriptor now (the server's, if one runs or ran), found
    /// without connecting; `None` without a descriptor this client trusts.
    pub(crate) fn descriptor_uid(&self) -> Option<u32> {
        let mut inner = self.shared.lock();
        inner.service.latest().ok().flatten()?;
        inner.service.core().file_uid()
    }

    /// The user the server runs as, once connected.
    pub(crate) fn server_uid(&self) -> Option<u32> {
        self.shared.lock().conn.as_ref().map(|c| c.server_uid)
    }

    /// The client slot this client holds in the server, once connected.
    pub fn slot(&self) -> Option<usize> {
        let inner = self.shared.lock();
        let conn = inner.conn.as_ref()?;
        let topic = conn.call.topic();
        topic.rsplit('/').next()?.parse().ok()
    }
}

impl fmt::Debug for AnyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.shared.lock();
        f.debug_struct("AnyClient")
            .field("service", &inner.name.as_str())
            .field("connected", &inner.conn.is_some())
            .field("outstanding", &inner.calls.len())
            .finish_non_exhaustive()
    }
}

/// A call sent and not yet answered. Dropping it gives the call up: its reply, when it comes,
/// is dropped.
#[must_use = "a call's reply is had with .wait(); dropping it gives the call up"]
pub struct AnyPending {
    shared: Arc<Shared>,
    id: u64,
    seq: u64,
    done: bool,
}

impl AnyPending {
    /// Waits up to `timeout` for the reply: its value's bytes (a value of the reply type). A
    /// call that timed out is given up (a reply that comes later is never handed to another
    /// call).
    pub fn wait(mut self, timeout: Duration) -> Result<Vec<u8>, CallError> {
        let started = Instant::now();
        match self.wait_until(started + timeout)? {
            Some(reply) => Ok(reply),
            None => {
                let mut inner = self.shared.lock();
                inner.abandon(self.id, self.seq);
                self.done = true;
                Err(CallError::Timeout {
                    service: inner.name.as_str().to_owned(),
                    waited: started.elapsed(),
                })
            }
        }
    }

    /// Waits until `until` for the reply: its value's bytes, or `None` when `until` passed
    /// first (the call still waits: wait again, or drop this to give it up). Once it returned
    /// a reply or an error, the call is over (another wait is [`CallError::NoReply`]). For
    /// bindings that do something between waits (check for Ctrl-C).
    pub fn wait_until(&mut self, until: Instant) -> Result<Option<Vec<u8>>, CallError> {
        loop {
            let outcome = self.shared.wait_slice(self.id, self.seq, until);
            match outcome {
                Ok(None) if Instant::now() < until => {}
                Ok(None) => return Ok(None),
                outcome => {
                    self.done = true;
                    return outcome;
                }
            }
        }
    }

    /// The reply if it came (its value's bytes), the error if the call failed, `None` while
    /// it still waits; never waits (but for another thread's wait on the same client to hand
    /// over what it read, at most [`LIVENESS_INTERVAL`]). Once it returned a reply or an
    /// error the call is over (another is [`CallError::NoReply`]). With a
    /// [`WaitSet`](crate::WaitSet) that this call is attached to: call it at its
    /// [`EventKind::Reply`].
    pub fn try_wait(&mut self) -> Result<Option<Vec<u8>>, CallError> {
        let outcome = self.shared.poll(self.id, self.seq);
        if !matches!(outcome, Ok(None)) {
            self.done = true;
        }
        outcome
    }

    /// The call's sequence number in this client's stream (what the server sees as
    /// [`AnyRequest::seq`](super::AnyRequest::seq)).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// What a wait set watches for this call: its reply topic and its server's descriptor
    /// (their news pump the client), and a notice raised when the call ends.
    fn watch_group(&self) -> Group {
        let mut inner = self.shared.lock();
        let notice = if inner.calls.contains_key(&self.id) {
            Arc::clone(inner.notices.entry(self.id).or_default())
        } else {
            // Its outcome was taken: reported at once (a `try_wait` says it is over).
            Arc::default()
        };
        let mut topics = vec![(WatchSource::of(inner.service.core().watch_source()), true)];
        match inner.calls.get(&self.id) {
            Some(Call::Waiting) => {
                if let Some(conn) = &inner.conn {
                    topics.push((WatchSource::of(conn.reply_watch.clone()), true));
                }
            }
            // Over already (or its outcome taken): reported at once (raised once: a set it
            // was attached to before reported it already).
            _ if !notice.is_raised() => notice.raise(),
            _ => {}
        }
        let shared = Arc::clone(&self.shared);
        Group {
            kind: EventKind::Reply,
            topics,
            notice: Some(notice),
            poll: None,
            // The server may have gone before the set first looks at it.
            ready: true,
            pump: Some(Box::new(move || shared.pump())),
        }
    }
}

impl crate::waitset::private::Planned for AnyPending {
    fn plan(&self) -> Result<Plan, crate::AttachError> {
        Ok(Plan::Group(self.watch_group()))
    }
}

impl Attachable for AnyPending {}

impl Drop for AnyPending {
    fn drop(&mut self) {
        if !self.done {
            self.shared.lock().abandon(self.id, self.seq);
        }
    }
}

impl fmt::Debug for AnyPending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyPending")
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}
