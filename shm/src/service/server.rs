//! The server side of a service, on bytes of a type given at run time: [`AnyServer`] and the
//! requests it hands out, [`AnyRequest`]. The typed [`Server`](super::Server) wraps it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::wire::{
    self, ReplyHead, STATUS_BAD_REQUEST, STATUS_BUSY, STATUS_NO_REPLY, STATUS_OK, Wire,
};
use super::{ClientInfo, ReplyError, ServerError};
use crate::dynamic::{AnyPublisher, AnySubscriber, RawValue};
use crate::error::{CreateError, SubscribeError};
use crate::owner::Admission;
use crate::schema::TopicSchema;
use crate::sys::{Readers, random_nonzero_u64};
use crate::waitset::{
    AttachError, Attachable, AttachmentId, EventKind, Group, Plan, WaitSet, WatchSource,
};
use crate::{DEFAULT_MODE, MAX_BUFFER_NUM, Sample, TopicName, default_root};

/// Most clients a server may admit ([`AnyServerBuilder::max_clients`]).
pub const MAX_CLIENTS: usize = 1024;
/// Clients a server admits unless told otherwise.
pub const DEFAULT_MAX_CLIENTS: usize = 64;
/// Requests of one client a server holds at once unless told otherwise.
pub const DEFAULT_PER_CLIENT: usize = 8;
/// Most requests of one client a server may hold at once: a slot's reply ring holds the
/// replies to them and to as many calls the client gave up, with the two slots a publisher
/// keeps for itself.
pub const MAX_PER_CLIENT: usize = (MAX_BUFFER_NUM - 2) / 2;
/// Requests a server holds at once (received, not yet answered) unless told otherwise.
pub const DEFAULT_QUEUE: usize = 64;

/// Options for creating an [`AnyServer`] (or a typed [`Server`](super::Server)).
#[must_use = "call .create() to start the server"]
#[derive(Debug, Clone)]
pub struct AnyServerBuilder {
    name: String,
    request: Arc<TopicSchema>,
    reply: Arc<TopicSchema>,
    root: Option<PathBuf>,
    max_clients: usize,
    per_client: usize,
    queue: usize,
    mode: u32,
    admit_uids: Vec<u32>,
    admit_gids: Vec<u32>,
}

impl AnyServerBuilder {
    /// Directory of the service's files (default: `$SHM_ROOT`, else `/dev/shm`).
    pub fn root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.root = Some(dir.into());
        self
    }

    /// How many clients may be connected at once (default 64, at most 1024); a client beyond
    /// them fails with [`CallError::TooManyClients`](super::CallError::TooManyClients).
    pub fn max_clients(mut self, n: usize) -> Self {
        self.max_clients = n;
        self
    }

    /// How many requests of one client the server holds at once (default 8); more are
    /// answered [`CallError::Busy`](super::CallError::Busy).
    pub fn per_client(mut self, n: usize) -> Self {
        self.per_client = n;
        self
    }

    /// How many requests the server holds at once, received and not yet answered (default
    /// 64); more are answered [`CallError::Busy`](super::CallError::Busy) at once.
    pub fn queue(mut self, n: usize) -> Self {
        self.queue = n;
        self
    }

    /// Permission mode of the service's descriptor (default `0o600`). Replies are never
    /// widened by it: each client's reply topic is readable by the server's user and that
    /// client's only.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// Serves clients run by user `uid` too (by default, only this user's). Such a client
    /// reads the service's descriptor and its own replies, and nothing of other clients':
    /// each file names its one reader in an access list (POSIX ACL; the root directory must
    /// keep them, as tmpfs does). Its clients trust this server's user explicitly
    /// ([`AnyClientBuilder::server_owner`](super::AnyClientBuilder::server_owner)). May be
    /// given several times.
    pub fn admit_user(mut self, uid: u32) -> Self {
        self.admit_uids.push(uid);
        self
    }

    /// Serves clients run by members of group `gid` too (its members as the user database
    /// lists them, looked up when a client of a user first appears), with the same privacy
    /// between clients as [`admit_user`](Self::admit_user). May be given several times.
    pub fn admit_group(mut self, gid: u32) -> Self {
        self.admit_gids.push(gid);
        self
    }

    /// Starts serving: creates the service's descriptor topic (refused with
    /// [`CreateError::Busy`] while another live server serves it; a dead one's is taken over)
    /// and watches its clients' request topics.
    pub fn create(self) -> Result<AnyServer, CreateError> {
        let name = wire::service_name(&self.name).map_err(CreateError::InvalidName)?;
        let out_of_range = |what: &str, n: usize, max: usize| CreateError::UnsupportedType {
            detail: format!("{what} {n} is out of range; use 1 to {max}"),
        };
        if !(1..=MAX_CLIENTS).contains(&self.max_clients) {
            return Err(out_of_range("max_clients", self.max_clients, MAX_CLIENTS));
        }
        if !(1..=MAX_PER_CLIENT).contains(&self.per_client) {
            return Err(out_of_range("per_client", self.per_client, MAX_PER_CLIENT));
        }
        if self.queue == 0 {
            return Err(out_of_range("queue", 0, usize::MAX));
        }
        let wire = Arc::new(Wire::new(self.request, self.reply)?);
        let root = self.root.unwrap_or_else(default_root);
        let epoch = random_nonzero_u64();
        let admission = Arc::new(Admission::new(self.admit_uids, self.admit_gids));
        let mut descriptor =
            AnyPublisher::builder(&wire::service_topic(&name), Arc::clone(&wire.descriptor))
                .root(&root)
                .mode(self.mode)
                .readers(admission.readers())
                .buffer_num(2)
                .create()?;
        let limits = [
            self.max_clients as u64,
            self.per_client as u64,
            self.queue as u64,
        ];
        // At once: while a dead server's descriptor is the newest, its clients take this live
        // server for it. Requests sent before the slots are watched are read all the same (a
        // subscriber's first read takes what the ring holds).
        descriptor
            .publish(&wire.descriptor_bytes(epoch, limits))
            .map_err(|e| CreateError::UnsupportedType {
                detail: format!("cannot publish the service's descriptor: {e}"),
            })?;
        let mut server = AnyServer {
            name: name.clone(),
            wire: Arc::clone(&wire),
            epoch,
            per_client: self.per_client,
            queue_cap: self.queue,
            root: root.clone(),
            _descriptor: descriptor,
            slots: (0..self.max_clients).map(|_| None).collect(),
            ids: HashMap::with_capacity(self.max_clients),
            set: WaitSet::new(),
            unwatched: (0..self.max_clients).collect(),
            retry_at: Instant::now(),
            queue: VecDeque::new(),
            due: Vec::new(),
            replies: Arc::new(Mutex::new(Replies {
                name,
                root,
                wire,
                per_client: self.per_client,
                publishers: (0..self.max_clients).map(|_| None).collect(),
                held: vec![0; self.max_clients],
                me: crate::owner::effective_uid(),
                users: vec![None; self.max_clients],
                total: 0,
            })),
            batch: Vec::new(),
            admission: admission.admits_others().then_some(admission),
        };
        server.watch();
        Ok(server)
    }
}

/// The server of one service, on values of types given at run time (their bytes, checked
/// against the schemas); see the [module documentation](super) for the protocol.
pub struct AnyServer {
    name: TopicName,
    wire: Arc<Wire>,
    epoch: u64,
    per_client: usize,
    queue_cap: usize,
    /// The descriptor topic: its publisher is this server (its liveness the server's).
    _descriptor: AnyPublisher,
    /// One subscriber per client slot, reading the slot's request topic.
    slots: Vec<Option<AnySubscriber>>,
    ids: HashMap<AttachmentId, usize>,
    set: WaitSet,
    root: PathBuf,
    /// Slots whose request topic could not be opened (a damaged file in its place), tried
    /// again every [`RETRY_INTERVAL`].
    unwatched: Vec<usize>,
    retry_at: Instant,
    /// What was read and not yet handed out, in arrival order.
    queue: VecDeque<Item>,
    /// Slots to read before waiting (all of them at first, then those the set reported).
    due: Vec<usize>,
    replies: Arc<Mutex<Replies>>,
    batch: Vec<Sample<RawValue>>,
    /// The other users whose request topics it reads, if any.
    admission: Option<Arc<Admission>>,
}

/// What a server read from a request topic.
enum Item {
    Request(AnyRequest),
    Bad { slot: usize, seq: u64 },
}

/// Whom a reply goes to: a client slot, and the user owning its request topic (the one user
/// besides the server that may read the slot's reply topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct To {
    slot: usize,
    uid: u32,
}

/// The reply side of a server, shared with the requests it handed out (so that they may be
/// answered from any thread, and after the server is gone).
struct Replies {
    name: TopicName,
    root: PathBuf,
    wire: Arc<Wire>,
    per_client: usize,
    /// Each slot's reply topic, created at its first reply, and the user it was made for.
    publishers: Vec<Option<(AnyPublisher, u32)>>,
    /// This process's user.
    me: u32,
    /// The user owning each slot's request topic when it was last read.
    users: Vec<Option<u32>>,
    /// Requests of each slot received and not yet answered.
    held: Vec<usize>,
    /// Their sum.
    total: usize,
}

impl Replies {
    /// Publishes a reply envelope to a slot's reply topic, readable by the slot's user only
    /// (with this one): made at the slot's first reply, and made anew, empty, when the slot's
    /// request topic belongs to another user than the one it was made for.
    fn send(&mut self, to: To, head: ReplyHead, reply: Option<&[u8]>) -> Result<(), ReplyError> {
        if self.users[to.slot] != Some(to.uid) {
            // A request of a user whose request topic is gone from the slot (another user's
            // is there now): nobody can read the answer, and making the reply topic for that
            // user would take it from the slot's current one.
            return Ok(());
        }
        let made_for = self.publishers[to.slot].as_ref().map(|(_, uid)| *uid);
        if made_for != Some(to.uid) {
            self.publishers[to.slot] = None;
            let topic = wire::reply_topic(&self.name, to.slot);
            // What an earlier server (or this one, for another user) left there is no
            // reader's business now: the file is made anew, its ring empty. It is this user's
            // file, which no live publisher holds (one server at a time).
            crate::remove_topic_in(&self.root, topic.as_str()).map_err(ReplyError::Clear)?;
            let readers = if to.uid == self.me {
                Readers::default()
            } else {
                Readers::new([to.uid], [])
            };
            let publisher =
                AnyPublisher::builder(&topic, Arc::clone(&self.wire.reply_envelope.schema))
                    .root(&self.root)
                    .mode(DEFAULT_MODE)
                    .readers(readers)
                    // Unread at once: the replies to the calls the client waits for (at most
                    // `per_client`) and to those it gave up that the server still held.
                    .buffer_num(2 * self.per_client + 2)
                    .create()
                    .map_err(ReplyError::Create)?;
            self.publishers[to.slot] = Some((publisher, to.uid));
        }
        let Some((publisher, _)) = self.publishers[to.slot].as_mut() else {
            unreachable!("made above");
        };
        publisher
            .publish(&self.wire.reply_bytes(head, reply))
            .map(drop)
            .map_err(ReplyError::Publish)
    }

    /// Forgets one held request of `slot`.
    fn release(&mut self, slot: usize) {
        self.held[slot] -= 1;
        self.total -= 1;
    }
}

fn lock(replies: &Mutex<Replies>) -> MutexGuard<'_, Replies> {
    // A panic while holding it left counts at worst one off; replies stay possible.
    replies.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How often a server tries again to watch the request topics it could not open.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

impl AnyServer {
    /// Opens and attaches the subscribers of the slots not watched yet (all at first); a slot
    /// whose file cannot be opened (damaged, another user's) is tried again later, so that
    /// one bad file costs one slot, not the service.
    fn watch(&mut self) {
        self.retry_at = Instant::now() + RETRY_INTERVAL;
        let mut still = Vec::new();
        for slot in std::mem::take(&mut self.unwatched) {
            let mut sub = AnySubscriber::builder(&wire::call_topic(&self.name, slot))
                .root(&self.root)
                .expect(Arc::clone(&self.wire.request_envelope.schema));
            if let Some(admission) = &self.admission {
                sub = sub.admit(Arc::clone(admission));
            }
            let sub = sub.open();
            let attached = sub.and_then(|sub| match self.set.attach(&sub) {
                Ok(id) => Ok((sub, id)),
                Err(AttachError::Subscribe(e)) => Err(e),
                Err(e) => unreachable!("a topic attachment has no period: {e}"),
            });
            match attached {
                Ok((sub, id)) => {
                    self.ids.insert(id, slot);
                    self.slots[slot] = Some(sub);
                    self.due.push(slot);
                }
                Err(_) => still.push(slot),
            }
        }
        self.unwatched = still;
    }

    /// Options for serving `name` with requests of `request` and replies of `reply`.
    pub fn builder(
        name: &str,
        request: Arc<TopicSchema>,
        reply: Arc<TopicSchema>,
    ) -> AnyServerBuilder {
        AnyServerBuilder {
            name: name.to_owned(),
            request,
            reply,
            root: None,
            max_clients: DEFAULT_MAX_CLIENTS,
            per_client: DEFAULT_PER_CLIENT,
            queue: DEFAULT_QUEUE,
            mode: DEFAULT_MODE,
            admit_uids: Vec::new(),
            admit_gids: Vec::new(),
        }
    }

    /// The next request, waiting up to `timeout` for one.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<AnyRequest, ServerError> {
        self.recv_deadline(Instant::now() + timeout)
    }

    /// The next request if one has arrived; never waits.
    pub fn try_recv(&mut self) -> Result<Option<AnyRequest>, ServerError> {
        if self.queue.is_empty() {
            self.look();
            self.drain();
        }
        self.next().transpose()
    }

    /// Marks due the slots the set saw new requests on since it last looked (a deadline of
    /// now: it does not sleep).
    fn look(&mut self) {
        if let Some(events) = self.set.wait_step(Some(Instant::now())) {
            self.due
                .extend(events.iter().filter_map(|e| self.ids.get(&e.id).copied()));
        }
    }

    /// The next request, waiting until `deadline` for one.
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<AnyRequest, ServerError> {
        let started = Instant::now();
        self.set.begin_wait();
        loop {
            match self.recv_step(Some(deadline)) {
                Some(Ok(Some(request))) => return Ok(request),
                Some(Ok(None)) => {
                    return Err(ServerError::Timeout {
                        service: self.name.as_str().to_owned(),
                        waited: started.elapsed(),
                    });
                }
                Some(Err(e)) => return Err(e),
                None => {}
            }
        }
    }

    /// One step of a wait for a request until `deadline` (`None`: none): the next request,
    /// `Some(Ok(None))` once the deadline passed, or `None` after sleeping once (at most
    /// [`CHECK_INTERVAL`](crate::wait::CHECK_INTERVAL)): call again. For bindings that do
    /// something between sleeps (check for Ctrl-C); begin each wait with
    /// [`begin_wait`](Self::begin_wait).
    pub fn recv_step(
        &mut self,
        deadline: Option<Instant>,
    ) -> Option<Result<Option<AnyRequest>, ServerError>> {
        self.drain();
        if let Some(item) = self.next() {
            return Some(item.map(Some));
        }
        // What the set saw meanwhile, without sleeping: every slot gets its turn however busy
        // the others are, and a wait that is already at its deadline still looks once.
        self.look();
        self.drain();
        if let Some(item) = self.next() {
            return Some(item.map(Some));
        }
        // However busy the slots are (a flood of stale or refused requests), a wait ends at
        // its deadline.
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Ok(None));
        }
        if !self.due.is_empty() {
            return None; // slots that had more to read: read them again before sleeping
        }
        let events = self.set.wait_step(deadline)?;
        if events.is_empty() {
            return Some(Ok(None));
        }
        self.due
            .extend(events.iter().filter_map(|e| self.ids.get(&e.id).copied()));
        None
    }

    /// Starts a wait made of [`recv_step`](Self::recv_step)s.
    pub fn begin_wait(&mut self) {
        self.set.begin_wait();
    }

    fn next(&mut self) -> Option<Result<AnyRequest, ServerError>> {
        Some(match self.queue.pop_front()? {
            Item::Request(r) => Ok(r),
            Item::Bad { slot, seq } => Err(ServerError::BadRequest {
                service: self.name.as_str().to_owned(),
                slot,
                seq,
            }),
        })
    }

    /// Reads each due slot's new requests once into the queue (a slot that had some is due
    /// again, so that one busy client cannot hold the server); answers at once those the
    /// server cannot hold ([`STATUS_BUSY`]) and those it cannot read ([`STATUS_BAD_REQUEST`]).
    fn drain(&mut self) {
        let mut due = std::mem::take(&mut self.due);
        due.sort_unstable();
        due.dedup();
        if !self.unwatched.is_empty() && Instant::now() >= self.retry_at {
            self.watch();
        }
        for slot in due.drain(..) {
            let Some(sub) = self.slots[slot].as_mut() else {
                continue;
            };
            self.batch.clear();
            let read = sub.try_recv_all_into(&mut self.batch);
            // A batch is read from one file (attached, or attached anew, before the read): the
            // one whose owner the replies go to, and nobody else.
            let Some(uid) = sub.core().file_uid() else {
                continue; // detached: nothing was read
            };
            let to = To { slot, uid };
            match read {
                // Reported, and nothing new: perhaps a file made anew at the slot's path (by a
                // client of another user, after the last one's was removed), which a
                // subscriber without a counter follows only now and then.
                Ok(0) => {
                    if sub.follow_replaced() {
                        self.due.push(slot);
                    }
                }
                Ok(_) => {
                    for sample in std::mem::take(&mut self.batch) {
                        self.admit(to, sample);
                    }
                    self.due.push(slot);
                }
                Err(SubscribeError::InvalidValue { seq, .. }) => {
                    // Its words cannot be trusted either: the reply names no client, and
                    // the client that waits for this sequence number takes it.
                    let head = ReplyHead {
                        request_seq: seq,
                        epoch: self.epoch,
                        client: 0,
                        status: STATUS_BAD_REQUEST,
                    };
                    let mut replies = lock(&self.replies);
                    replies.users[slot] = Some(uid);
                    let _ = replies.send(to, head, None);
                    drop(replies);
                    // Reported in order, as many as the queue holds (a flood of bad
                    // values is answered, not kept).
                    if self.queue.len() < self.queue_cap {
                        self.queue.push_back(Item::Bad { slot, seq });
                    }
                    self.due.push(slot);
                }
                // The writer overwrote the value on every attempt: try again next time.
                Err(SubscribeError::Contended { .. }) => self.due.push(slot),
                // A file at a slot's path that is no request topic of this service (another
                // user's, another type's, damaged): nothing to read there.
                Err(_) => {}
            }
        }
        // `due` (emptied) keeps its allocation for the next drain.
        let again = std::mem::replace(&mut self.due, due);
        self.due.extend(again);
    }

    /// Queues one request read from a slot, or answers it Busy.
    fn admit(&mut self, to: To, sample: Sample<RawValue>) {
        let slot = to.slot;
        let bytes = sample.value.bytes;
        if wire::word(&bytes, wire::REQ_EPOCH) != self.epoch {
            return; // addressed to an earlier server of this service (left in the ring)
        }
        let client = wire::word(&bytes, wire::REQ_CLIENT);
        let mut replies = lock(&self.replies);
        // The slot's user as read (under the lock taken anyway): replies go to it only.
        replies.users[slot] = Some(to.uid);
        let mut head = ReplyHead {
            request_seq: sample.seq,
            epoch: self.epoch,
            client,
            status: STATUS_BUSY,
        };
        if replies.total >= self.queue_cap || replies.held[slot] >= self.per_client {
            let _ = replies.send(to, head, None);
            return;
        }
        replies.held[slot] += 1;
        replies.total += 1;
        drop(replies);
        head.status = STATUS_OK;
        self.queue.push_back(Item::Request(AnyRequest {
            bytes,
            to,
            head,
            wire: Arc::clone(&self.wire),
            replies: Some(Arc::clone(&self.replies)),
        }));
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The request type.
    pub fn request_schema(&self) -> &Arc<TopicSchema> {
        &self.wire.request
    }

    /// The reply type.
    pub fn reply_schema(&self) -> &Arc<TopicSchema> {
        &self.wire.reply
    }

    /// Requests received and not yet answered (those handed out and those still queued).
    pub fn held(&self) -> usize {
        lock(&self.replies).total
    }

    /// What a [`WaitSet`] watches for this server's requests: its clients' request topics
    /// (and, while some could not be opened, a look every [`RETRY_INTERVAL`]); reported at
    /// once if requests were read and not handed out yet.
    pub(crate) fn watch_group(&self) -> Group {
        let topics = self
            .slots
            .iter()
            .flatten()
            .map(|sub| (WatchSource::of(sub.core().watch_source()), false))
            .collect();
        Group {
            kind: EventKind::Request,
            topics,
            notice: None,
            poll: (!self.unwatched.is_empty()).then_some(RETRY_INTERVAL),
            ready: !self.queue.is_empty(),
            pump: None,
        }
    }
}

impl crate::waitset::private::Planned for AnyServer {
    fn plan(&self) -> Result<Plan, AttachError> {
        Ok(Plan::Group(self.watch_group()))
    }
}

impl Attachable for AnyServer {}

impl fmt::Debug for AnyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyServer")
            .field("name", &self.name.as_str())
            .field("request", &self.wire.request.type_name())
            .field("reply", &self.wire.reply.type_name())
            .field("max_clients", &self.slots.len())
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

/// One request a server received: its value's bytes, and the way to answer it. Dropping it
/// unanswered answers [`CallError::NoReply`](super::CallError::NoReply), so that its client
/// never waits for a reply that cannot come.
pub struct AnyRequest {
    /// The whole request envelope.
    bytes: Vec<u8>,
    to: To,
    /// The reply's words (status [`STATUS_OK`]).
    head: ReplyHead,
    wire: Arc<Wire>,
    /// `None` once answered.
    replies: Option<Arc<Mutex<Replies>>>,
}

impl AnyRequest {
    /// The request's value (native byte order; valid: checked against the request type).
    pub fn bytes(&self) -> &[u8] {
        self.wire.request_of(&self.bytes)
    }

    /// The request type.
    pub fn schema(&self) -> &Arc<TopicSchema> {
        &self.wire.request
    }

    /// The request's sequence number in its client's stream.
    pub fn seq(&self) -> u64 {
        self.head.request_seq
    }

    /// The user who sent it (the owner of its request topic when it was read).
    pub(crate) fn sender_uid(&self) -> u32 {
        self.to.uid
    }

    /// The client slot it came from.
    pub fn slot(&self) -> usize {
        self.to.slot
    }

    /// Who sent it (its process id and name, and user), looked up in its request topic's
    /// file: `None` if that cannot be read any more, or is now another user's.
    pub fn client(&self) -> Option<ClientInfo> {
        let replies = lock(self.replies.as_ref()?);
        let topic = wire::call_topic(&replies.name, self.to.slot);
        let info = crate::inspect::inspect(Some(&replies.root), &topic).ok()?;
        // The slot's file now may be another user's (the sender's removed, another made):
        // its process is not the sender's.
        if info.owner.uid.0 != self.to.uid {
            return None;
        }
        Some(ClientInfo {
            slot: self.to.slot,
            uid: self.to.uid,
            process: info.publisher,
        })
    }

    /// Answers the request with `reply` (one value of the reply type, checked). A client that
    /// stopped waiting (timed out, exited) drops it. Fails only if the reply topic cannot be
    /// created or the bytes are not a value of the reply type (then the request is answered
    /// [`CallError::NoReply`](super::CallError::NoReply)).
    pub fn reply(mut self, reply: &[u8]) -> Result<(), ReplyError> {
        wire::check_value(&self.wire.reply, reply).map_err(ReplyError::Invalid)?;
        self.answer(STATUS_OK, Some(reply))
    }

    fn answer(&mut self, status: u64, reply: Option<&[u8]>) -> Result<(), ReplyError> {
        let Some(replies) = self.replies.take() else {
            return Ok(());
        };
        let mut replies = lock(&replies);
        replies.release(self.to.slot);
        let head = ReplyHead {
            status,
            ..self.head
        };
        replies.send(self.to, head, reply)
    }
}

impl Drop for AnyRequest {
    fn drop(&mut self) {
        let _ = self.answer(STATUS_NO_REPLY, None);
    }
}

impl fmt::Debug for AnyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyRequest")
            .field("type", &self.wire.request.type_name())
            .field("seq", &self.head.request_seq)
            .field("slot", &self.to.slot)
            .finish_non_exhaustive()
    }
}
