//! Zenoh → local topics: every remote topic matching an `--import` pattern becomes a local
//! topic of the same name, schema and slot count, published by this bridge, so local typed
//! subscribers read it as if its publisher were local. The schema comes from the exporting
//! bridge (and must hash to what each value says); a local topic of another type is never
//! overwritten. The local publisher lives while the remote one does (its liveliness token), so
//! local waits end with "publisher gone" when the remote publisher exits or the link drops
//! (once Zenoh's lease expires: 10 s by default). Values keep their publish time (see
//! [`crate::clock`]).
//!
//! Peers are not trusted with this machine's memory. What they can make the bridge hold or
//! create is bounded ([`Limits`]): the topics it follows (a topic whose schema never came, or
//! was refused, is let go again), the size of a value (also Zenoh's largest message), the bytes
//! of topic files, the values waiting for their schema, the liveliness it remembers. A schema
//! costs what its length costs to decode, and a schema query never answered delays only its
//! own topic: queries are made without waiting (never under the lock of the topics), their
//! answers applied on the bridge's own thread.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shm::InspectError;
use shm::dynamic::{AnyPublisher, TopicSchema};
use zenoh::Wait as _;
use zenoh::handlers::FifoChannelHandler;
use zenoh::qos::CongestionControl;
use zenoh::query::Reply;
use zenoh::sample::{Locality, SampleKind};

use crate::export::{Exports, release};
use crate::keys::{Pattern, key_topic, topic_key};
use crate::ring::Ring;
use crate::wire::{Header, NotAHeader};
use crate::{bridge_name, log};

/// How long a schema or current-value query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// After a schema query that failed (or a topic refused for its size), values of that topic are
/// dropped this long before the next query.
const RETRY: Duration = Duration::from_secs(5);
/// A topic refused (a local publisher, a local topic of another type) is looked at again at
/// most this often, when a value arrives; the refusal is logged once.
const RECHECK: Duration = Duration::from_secs(1);
/// Values of one pattern waiting to be written locally, at most (fewer when they are large:
/// see [`Limits::ring_bytes`]).
const RING: usize = 64;
/// How often the importing threads look for a stop request.
const POLL: Duration = Duration::from_millis(100);
/// A value waiting for its schema is kept if at most this large; a larger one is asked for
/// again (its current value) once the schema came.
const PENDING_MAX: usize = 64 << 10;
/// Topics remembered beyond the followed ones: refusals logged once, topics dropped for a while,
/// liveliness ahead of a topic's first value. Beyond, the oldest are forgotten (a peer flooding
/// names is bounded by this, not by its names).
const MAX_REMEMBERED: usize = 1024;
/// Bridges remembered per topic as publishing it (a topic has one publisher; a few bridges
/// may carry it while one hands over to another).
const MAX_BRIDGES: usize = 16;
/// Clock differences below this are not reported (NTP keeps clocks within milliseconds).
const SKEW_LOGGED: Duration = Duration::from_millis(100);
/// The largest schema encoding taken from a peer (a topic header holds at most this much).
const MAX_SCHEMA: usize = 1 << 20;
/// Queries for current values and liveliness waiting for the asking thread, at most.
const MAX_ASKS: usize = 1024;

/// What peers may make an importing bridge create.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Remote topics followed at most (imported, or waiting for their schema).
    pub(crate) topics: usize,
    /// The largest value imported, in bytes.
    pub(crate) value_size: u64,
    /// The most bytes the files of imported topics may take, together.
    pub(crate) total_size: u64,
    /// `--slots PATTERN=N`: the slot count of matching imported topics, instead of the
    /// exporting side's (first match wins).
    pub(crate) slots: Vec<(Pattern, usize)>,
}

impl Limits {
    /// The largest Zenoh message a bridge takes: twice the largest value (with its header) or
    /// schema. A value up to twice too large reaches the bridge, which refuses it with a log
    /// line; a larger one Zenoh drops as it arrives, before anything holds it.
    pub(crate) fn max_message(&self) -> u64 {
        self.value_size
            .max(MAX_SCHEMA as u64)
            .saturating_mul(2)
            .saturating_add(64 * 1024)
    }

    /// The bytes of values each pattern's ring holds at most: two of the largest messages.
    fn ring_bytes(&self) -> usize {
        usize::try_from(self.max_message().saturating_mul(2)).unwrap_or(usize::MAX)
    }
}

/// A schema query's outcome, for the applying thread: the topic, the hash asked for, and the
/// schema (or why there is none).
type Fetched = (String, u64, Result<Arc<TopicSchema>, String>);

/// Work for the asking thread.
enum Ask {
    /// The current values of the topics of a key expression (after the prefix).
    Values(String),
    /// Whether a topic's remote publisher is alive (its liveliness was forgotten, or never
    /// seen).
    Alive(String),
}

/// Why a topic is not written now, and when to look again.
struct Refusal {
    why: String,
    retry: Instant,
}

/// The newest value that arrived while its schema was asked for: its header, and its bytes if
/// small ([`PENDING_MAX`]).
struct Pending {
    header: Header,
    bytes: Option<Vec<u8>>,
}

/// One followed topic.
#[derive(Default)]
struct Imported {
    /// The local publisher, while the remote one is alive (or while a value is being written).
    publisher: Option<AnyPublisher>,
    /// The remote topic's type, once fetched.
    schema: Option<Arc<TopicSchema>>,
    /// The slot count its local file has (or gets), and the export that said so.
    slots: usize,
    slots_export: u64,
    /// The bytes of its local file counted against [`Limits::total_size`] (0: none yet).
    bytes: u64,
    /// Set while the local file may not be written (logged once).
    refused: Option<Refusal>,
    /// The hash of the schema being asked for (one query at a time per topic).
    fetching: Option<u64>,
    /// The newest value waiting for a schema.
    pending: Option<Pending>,
    /// The last value written: its export, sequence number and publish time (never later than
    /// when it arrived). A value of the same export that is not newer (a current value asked
    /// for, racing the live stream; the same value asked for twice) is dropped, and one of
    /// another export (a bridge restarted, the remote file recreated, a machine rebooted) only
    /// if it was published before it. Forgotten when the remote publisher goes.
    last: Option<(u64, u64, u64)>,
    /// The last error logged for this topic (the same one is not logged for every value).
    error: Option<String>,
    /// Whether a clock ahead of this machine's was reported for this topic.
    skew_logged: bool,
    /// To be let go (it has no file and cannot have one now): see [`State::let_go`].
    let_go: bool,
}

struct State {
    session: zenoh::Session,
    prefix: String,
    root: PathBuf,
    patterns: Vec<Pattern>,
    limits: Limits,
    /// This bridge's Zenoh id: its own liveliness tokens are not remote publishers.
    own_id: String,
    /// What this bridge exports (a topic is exported or imported here, never both).
    exports: Exports,
    /// Followed topics: imported, or waiting for their schema ([`Limits::topics`] at most).
    topics: Mutex<HashMap<String, Imported>>,
    /// Topics let go, whose values are dropped until then ([`MAX_REMEMBERED`] at most).
    resting: Mutex<HashMap<String, Instant>>,
    /// Bytes of the local files of imported topics, together ([`Limits::total_size`]).
    used_bytes: AtomicU64,
    /// Topics refused by a limit, logged once each ([`MAX_REMEMBERED`] at most).
    logged: Mutex<HashSet<String>>,
    /// Topics whose remote publisher is alive, with the bridges whose token says so
    /// ([`Limits::topics`] + [`MAX_REMEMBERED`] topics at most).
    alive: Mutex<HashMap<String, HashSet<String>>>,
    /// Work for the asking thread (bounded: what does not fit is dropped, and asked again
    /// when needed).
    asks: SyncSender<Ask>,
    /// Schemas that arrived (or did not), to the applying thread (one per query, and at most
    /// one query per followed topic is open).
    fetched: Sender<Fetched>,
}

/// The importing side of a bridge.
pub(crate) struct Importer {
    state: Arc<State>,
    threads: Vec<std::thread::JoinHandle<()>>,
    _liveliness: Option<zenoh::pubsub::Subscriber<()>>,
    _subscribers: Vec<zenoh::pubsub::Subscriber<()>>,
}

impl Importer {
    pub(crate) fn new(
        session: zenoh::Session,
        prefix: &str,
        root: PathBuf,
        patterns: Vec<Pattern>,
        limits: Limits,
        exports: Exports,
    ) -> zenoh::Result<Importer> {
        let (asks, asked) = sync_channel(MAX_ASKS);
        let (fetched, arrived) = channel();
        let ring_bytes = limits.ring_bytes();
        let state = Arc::new(State {
            session: session.clone(),
            prefix: prefix.to_owned(),
            root,
            patterns,
            limits,
            own_id: session.zid().to_string(),
            exports,
            topics: Mutex::default(),
            resting: Mutex::default(),
            used_bytes: AtomicU64::new(0),
            logged: Mutex::default(),
            alive: Mutex::default(),
            asks,
            fetched,
        });
        let mut threads = Vec::new();
        let mut subscribers = Vec::new();
        let mut liveliness = None;
        if !state.patterns.is_empty() {
            // Liveliness first, with what exists already, so a value that arrives is published
            // knowing whether its publisher lives.
            let s = Arc::clone(&state);
            liveliness = Some(
                session
                    .liveliness()
                    .declare_subscriber(format!("{prefix}/@alive/**"))
                    .history(true)
                    .callback(move |sample| {
                        if let Some((topic, bridge)) = s.alive_key(sample.key_expr().as_str()) {
                            s.liveliness(&topic, &bridge, sample.kind() == SampleKind::Put);
                        }
                    })
                    .wait()?,
            );
            for pattern in &state.patterns {
                // A ring: when values come faster than they are written here, the oldest are
                // dropped, never the newest delayed (latest-value topics).
                let ring = Arc::new(Ring::new(RING, ring_bytes));
                let filled = Arc::clone(&ring);
                subscribers.push(
                    session
                        .declare_subscriber(format!("{prefix}/{}", pattern.key_expr()))
                        // Never what this bridge exports itself.
                        .allowed_origin(Locality::Remote)
                        .callback(move |sample| filled.push(sample))
                        .wait()?,
                );
                let s = Arc::clone(&state);
                // Values are written on a thread of this bridge, not in Zenoh's.
                threads.push(std::thread::spawn(move || {
                    let data_prefix = format!("{}/", s.prefix);
                    while !shm::stop::requested() {
                        let Some(sample) = ring.pop(POLL) else {
                            continue;
                        };
                        let key = sample.key_expr().as_str();
                        let Some(topic) = key.strip_prefix(&data_prefix).and_then(key_topic) else {
                            continue;
                        };
                        if !s.patterns.iter().any(|p| p.matches(&topic)) {
                            continue;
                        }
                        let attachment = sample.attachment().map(|a| a.to_bytes());
                        match attachment.as_deref().map(Header::decode) {
                            Some(Ok(header)) => {
                                s.value(&topic, header, &sample.payload().to_bytes());
                            }
                            Some(Err(NotAHeader::Version(version))) => s.limit(
                                &topic,
                                format_args!(
                                    "its values come from a bridge of another version (wire \
                                     format {version}); run the same shm-bridge on both sides"
                                ),
                            ),
                            _ => s.limit(
                                &topic,
                                format_args!(
                                    "its values have no bridge header (not from shm-bridge?)"
                                ),
                            ),
                        }
                    }
                }));
            }
            // What exists already: the last value of every matching topic (published or not).
            for pattern in &state.patterns {
                state.ask(Ask::Values(pattern.key_expr()));
            }
            let s = Arc::clone(&state);
            threads.push(std::thread::spawn(move || s.answer_asks(&asked)));
            let s = Arc::clone(&state);
            threads.push(std::thread::spawn(move || s.apply_schemas(&arrived)));
        }
        Ok(Importer {
            state,
            threads,
            _liveliness: liveliness,
            _subscribers: subscribers,
        })
    }

    /// Drops every local publisher of an imported topic (their subscribers see the publisher
    /// gone, as when a local publisher exits).
    pub(crate) fn stop(self) {
        for thread in self.threads {
            let _ = thread.join();
        }
        let mut topics = lock(&self.state.topics);
        for t in topics.values_mut() {
            t.publisher = None;
        }
    }
}

/// The next reply to a query, `None` after the last one, and on a stop request (seen within
/// [`POLL`]: a query to a peer that went silent would otherwise hold the bridge's exit for its
/// whole timeout).
fn next_reply(replies: &FifoChannelHandler<Reply>) -> Option<Reply> {
    loop {
        match replies.recv_timeout(POLL) {
            Ok(Some(reply)) => return Some(reply),
            Ok(None) if !shm::stop::requested() => {}
            _ => return None,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn is_alive(&self, topic: &str) -> bool {
        lock(&self.alive).contains_key(topic)
    }

    /// The topic and bridge of a liveliness key (`<prefix>/@alive/<zenoh id>/<topic key>`) of
    /// another bridge, for a topic of the patterns.
    fn alive_key(&self, key: &str) -> Option<(String, String)> {
        let rest = key.strip_prefix(&self.prefix)?.strip_prefix("/@alive/")?;
        let (bridge, key) = rest.split_once('/')?;
        let topic = key_topic(key)?;
        (bridge != self.own_id && self.patterns.iter().any(|p| p.matches(&topic)))
            .then(|| (topic, bridge.to_owned()))
    }

    /// Hands work to the asking thread; dropped if it has too much already (what matters is
    /// asked again when needed).
    fn ask(&self, ask: Ask) {
        let _ = self.asks.try_send(ask);
    }

    /// The asking thread: one query at a time, the same one made once however often it was
    /// requested meanwhile.
    fn answer_asks(&self, asked: &Receiver<Ask>) {
        while !shm::stop::requested() {
            let first = match asked.recv_timeout(POLL) {
                Ok(ask) => ask,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let (mut values, mut alive) = (Vec::new(), HashSet::new());
            let mut seen = HashSet::new();
            for ask in std::iter::once(first).chain(asked.try_iter()) {
                match ask {
                    Ask::Values(key) => {
                        if seen.insert(key.clone()) {
                            values.push(key);
                        }
                    }
                    Ask::Alive(topic) => {
                        alive.insert(topic);
                    }
                }
            }
            for topic in alive {
                if shm::stop::requested() {
                    return;
                }
                self.ask_alive(&topic);
            }
            for key in values {
                if shm::stop::requested() {
                    return;
                }
                self.ask_values(&key);
            }
        }
    }

    /// The remote publisher of `topic` on `bridge` appeared (`alive`) or went away.
    fn liveliness(&self, topic: &str, bridge: &str, alive: bool) {
        if !alive {
            let gone = {
                let mut all = lock(&self.alive);
                let gone = all.get_mut(topic).is_some_and(|bridges| {
                    bridges.remove(bridge);
                    bridges.is_empty()
                });
                if gone {
                    all.remove(topic);
                }
                gone
            };
            let mut topics = lock(&self.topics);
            if gone && let Some(t) = topics.get_mut(topic) {
                // A new publisher starts a new count (whatever its clock says).
                t.last = None;
                if t.publisher.take().is_some() {
                    log(format_args!(
                        "the remote publisher of '{topic}' is gone; so is the local one"
                    ));
                }
            }
            return;
        }
        let followed = lock(&self.topics).contains_key(topic);
        {
            // Bounded, whatever tokens peers declare: the followed topics and a few more (for
            // tokens ahead of their topics' first values); a topic not followed is forgotten
            // to make room, and asked about again if it comes to be followed.
            let mut all = lock(&self.alive);
            if !all.contains_key(topic)
                && all.len() >= self.limits.topics.saturating_add(MAX_REMEMBERED)
            {
                let topics = lock(&self.topics);
                let unfollowed = all.keys().find(|t| !topics.contains_key(*t)).cloned();
                drop(topics);
                match unfollowed {
                    Some(old) => {
                        all.remove(&old);
                    }
                    None if !followed => return,
                    None => {}
                }
            }
            let bridges = all.entry(topic.to_owned()).or_default();
            if bridges.len() < MAX_BRIDGES {
                bridges.insert(bridge.to_owned());
            }
        }
        if followed {
            let mut topics = lock(&self.topics);
            if let Some(t) = topics.get_mut(topic) {
                if let Some(refused) = t.refused.as_mut() {
                    // Something changed: look again now (logged only if the reason changed).
                    refused.retry = Instant::now();
                }
                if t.publisher.is_none() && t.schema.is_some() && t.slots != 0 {
                    self.open_local(topic, t);
                }
            }
        }
        // Its current value may predate this bridge.
        self.ask(Ask::Values(topic_key(topic)));
    }

    /// Asks the exporting bridges for the last values of the topics of `key` (a key
    /// expression after the prefix) and writes those it does not have.
    fn ask_values(&self, key: &str) {
        let asked = format!("{}/@value/{key}", self.prefix);
        let value_prefix = format!("{}/@value/", self.prefix);
        let Ok(replies) = self
            .session
            .get(asked)
            .allowed_destination(Locality::Remote)
            .congestion_control(CongestionControl::Drop)
            .timeout(QUERY_TIMEOUT)
            .wait()
        else {
            return;
        };
        while let Some(reply) = next_reply(&replies) {
            let Ok(sample) = reply.result() else {
                continue;
            };
            let Some(topic) = sample
                .key_expr()
                .as_str()
                .strip_prefix(&value_prefix)
                .and_then(key_topic)
            else {
                continue;
            };
            let header = sample
                .attachment()
                .and_then(|a| Header::decode(&a.to_bytes()).ok());
            if let Some(header) = header
                && self.patterns.iter().any(|p| p.matches(&topic))
            {
                self.value(&topic, header, &sample.payload().to_bytes());
            }
        }
    }

    /// Asks whether the remote publisher of `topic` is alive (its liveliness, forgotten to make
    /// room or never seen).
    fn ask_alive(&self, topic: &str) {
        let key = format!("{}/@alive/*/{}", self.prefix, topic_key(topic));
        let Ok(replies) = self
            .session
            .liveliness()
            .get(key)
            .timeout(QUERY_TIMEOUT)
            .wait()
        else {
            return;
        };
        while let Some(reply) = next_reply(&replies) {
            if let Ok(sample) = reply.result()
                && let Some((topic, bridge)) = self.alive_key(sample.key_expr().as_str())
            {
                self.liveliness(&topic, &bridge, true);
            }
        }
    }

    /// A value of `topic` arrived.
    fn value(&self, topic: &str, header: Header, bytes: &[u8]) {
        // Before anything is asked or allocated for it.
        if bytes.len() as u64 > self.limits.value_size {
            self.limit(
                topic,
                format_args!(
                    "its values are {} bytes, above --max-value-size {}",
                    bytes.len(),
                    self.limits.value_size
                ),
            );
            return;
        }
        if self.resting(topic) {
            return;
        }
        let fetch = {
            let mut topics = lock(&self.topics);
            if !topics.contains_key(topic) && topics.len() >= self.limits.topics {
                drop(topics);
                self.limit(
                    topic,
                    format_args!(
                        "{} remote topics are followed already (--max-topics)",
                        self.limits.topics
                    ),
                );
                return;
            }
            let t = topics.entry(topic.to_owned()).or_default();
            if t.schema.as_ref().map(|s| s.hash()) == Some(header.hash) {
                self.write(topic, t, header, bytes);
                if t.let_go {
                    self.let_go(&mut topics, topic);
                }
                return;
            }
            // A new topic, or the remote one was recreated with another type: its schema is
            // asked for (one query at a time), and the newest value waits for it.
            t.pending = Some(Pending {
                header,
                bytes: (bytes.len() <= PENDING_MAX).then(|| bytes.to_vec()),
            });
            match t.fetching {
                Some(_) => None,
                None => {
                    t.fetching = Some(header.hash);
                    Some(header.hash)
                }
            }
        };
        // Asked without the lock: a query waits for nothing, but its sending may.
        if let Some(hash) = fetch {
            self.fetch_schema(topic, hash);
        }
    }

    /// Whether values of `topic` are dropped for now (it was let go lately).
    fn resting(&self, topic: &str) -> bool {
        let mut resting = lock(&self.resting);
        match resting.get(topic) {
            Some(until) if Instant::now() < *until => true,
            Some(_) => {
                resting.remove(topic);
                false
            }
            None => false,
        }
    }

    /// Stops following `topic` (it has no local file, and its schema never came or was
    /// refused): its entry goes, so that it takes no place among the followed topics, and its
    /// values are dropped for [`RETRY`].
    fn let_go(&self, topics: &mut HashMap<String, Imported>, topic: &str) {
        if let Some(t) = topics.remove(topic) {
            self.used_bytes.fetch_sub(t.bytes, Ordering::Relaxed);
        }
        let mut resting = lock(&self.resting);
        let now = Instant::now();
        if resting.len() >= MAX_REMEMBERED {
            resting.retain(|_, until| now < *until);
        }
        if resting.len() < MAX_REMEMBERED {
            resting.insert(topic.to_owned(), now + RETRY);
        }
    }

    /// Writes a value of `topic`, whose schema `t` has.
    fn write(&self, topic: &str, t: &mut Imported, header: Header, bytes: &[u8]) {
        // (A publish time ahead of this clock counts as now: one value stamped in the future
        // must not hold back every later one.)
        let published = header.published_unix_ns.min(crate::clock::unix_now_ns());
        if let Some((export, seq, last_published)) = t.last {
            let older = if export == header.export {
                header.seq <= seq
            } else {
                published < last_published
            };
            if older {
                return;
            }
        }
        // The exporting side's ring, as its export said first (a new export may say another).
        if t.slots == 0 || header.export != t.slots_export {
            let slots = self.slots_of(topic, header.slots);
            t.slots_export = header.export;
            if slots != t.slots {
                // The local file is made (again) with this ring.
                t.publisher = None;
                t.slots = slots;
                self.used_bytes.fetch_sub(t.bytes, Ordering::Relaxed);
                t.bytes = 0;
            }
        }
        if t.publisher.is_none() && !self.open_local(topic, t) {
            return;
        }
        let (stamp, ahead) = crate::clock::local_of(header.published_unix_ns);
        if let Some(ahead) = ahead.filter(|d| *d > SKEW_LOGGED && !t.skew_logged) {
            t.skew_logged = true;
            log(format_args!(
                "the clock of the machine publishing '{topic}' is {ahead:?} ahead of this one's: \
                 its values are stamped as published when they arrive (synchronise the clocks, \
                 with NTP or PTP, for their ages to be right)"
            ));
        }
        if let Some(p) = t.publisher.as_mut() {
            match p.publish_stamped(bytes, stamp) {
                Ok(_) => {
                    t.last = Some((header.export, header.seq, published));
                    t.error = None;
                }
                Err(e) => {
                    // (Displaced: another process published the topic after its file was
                    // removed; the next value looks at the file again.)
                    if matches!(e, shm::PublishError::Displaced { .. }) {
                        t.publisher = None;
                    }
                    let e = e.to_string();
                    if t.error.as_ref() != Some(&e) {
                        log(format_args!("cannot publish a value of '{topic}': {e}"));
                        t.error = Some(e);
                    }
                }
            }
        }
        // A value from a publisher that is gone (its last one): it stays readable, with no
        // live publisher behind it.
        if !self.is_alive(topic) {
            t.publisher = None;
        }
    }

    /// The slot count of the local copy of `topic`: `--slots` if a pattern of it matches,
    /// else the exporting side's (within what a topic may have).
    fn slots_of(&self, topic: &str, remote: u32) -> usize {
        self.limits
            .slots
            .iter()
            .find(|(p, _)| p.matches(topic))
            .map_or(remote as usize, |(_, n)| *n)
            .clamp(shm::MIN_BUFFER_NUM, shm::MAX_BUFFER_NUM)
    }

    /// A topic refused: one log line per topic (for the first [`MAX_REMEMBERED`]).
    fn limit(&self, topic: &str, why: std::fmt::Arguments<'_>) {
        let mut logged = lock(&self.logged);
        if logged.len() < MAX_REMEMBERED && logged.insert(topic.to_owned()) {
            log(format_args!(
                "refused to import '{topic}': {why}; its values are dropped"
            ));
        }
    }

    /// Asks the exporting bridges for the schema of `topic` that hashes to `hash`, without
    /// waiting: the answer (or its absence after [`QUERY_TIMEOUT`]) goes to the applying
    /// thread.
    fn fetch_schema(&self, topic: &str, hash: u64) {
        let key = format!("{}/@schema/{}", self.prefix, topic_key(topic));
        let answer = Answer {
            to: self.fetched.clone(),
            topic: topic.to_owned(),
            hash,
            done: AtomicBool::new(false),
        };
        // (If the query cannot even be sent, the answer is dropped unsent: it says so.)
        let _ = self
            .session
            .get(key)
            .allowed_destination(Locality::Remote)
            .congestion_control(CongestionControl::Drop)
            .timeout(QUERY_TIMEOUT)
            .callback(move |reply| answer.reply(reply))
            .wait();
    }

    /// The applying thread: schemas as they arrive, each with the value that waited for it.
    fn apply_schemas(&self, arrived: &Receiver<Fetched>) {
        while !shm::stop::requested() {
            match arrived.recv_timeout(POLL) {
                Ok((topic, hash, result)) => self.schema_arrived(&topic, hash, result),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn schema_arrived(&self, topic: &str, hash: u64, result: Result<Arc<TopicSchema>, String>) {
        let again = {
            let mut topics = lock(&self.topics);
            let Some(t) = topics.get_mut(topic) else {
                return;
            };
            if t.fetching != Some(hash) {
                return;
            }
            t.fetching = None;
            let result = result.and_then(|schema| {
                if schema.size() as u64 > self.limits.value_size {
                    Err(format!(
                        "its values are {} bytes ({}), above --max-value-size {}",
                        schema.size(),
                        schema.type_name(),
                        self.limits.value_size
                    ))
                } else {
                    Ok(schema)
                }
            });
            let schema = match result {
                Ok(schema) => schema,
                Err(why) => {
                    self.limit(topic, format_args!("{why}"));
                    // A topic imported before (of another type) keeps its file and its place;
                    // a new one is let go, and asked about again after a while.
                    if t.schema.is_none() {
                        self.let_go(&mut topics, topic);
                    } else {
                        t.pending = None;
                    }
                    return;
                }
            };
            if t.schema.as_ref().map(|s| s.hash()) != Some(hash) {
                log(format_args!("importing '{topic}' ({})", schema.type_name()));
                // (A publisher of the former type goes; its file's bytes are counted anew when
                // it is made again.)
                self.used_bytes.fetch_sub(t.bytes, Ordering::Relaxed);
                *t = Imported {
                    schema: Some(schema),
                    pending: t.pending.take(),
                    skew_logged: t.skew_logged,
                    ..Imported::default()
                };
            }
            let mut again = None;
            match t.pending.take() {
                Some(Pending {
                    header,
                    bytes: Some(bytes),
                }) if header.hash == hash => self.write(topic, t, header, &bytes),
                // Too large to have been kept: its current value is asked for.
                Some(Pending { header, .. }) if header.hash == hash => {
                    self.ask(Ask::Values(topic_key(topic)));
                }
                // Meanwhile the remote topic changed type again.
                Some(other) => {
                    t.fetching = Some(other.header.hash);
                    again = Some(other.header.hash);
                    t.pending = Some(other);
                }
                None => {}
            }
            if t.let_go {
                self.let_go(&mut topics, topic);
            } else if !self.is_alive(topic) {
                // Its liveliness may have been forgotten, or not come yet.
                self.ask(Ask::Alive(topic.to_owned()));
            }
            again
        };
        if let Some(hash) = again {
            self.fetch_schema(topic, hash);
        }
    }

    /// Creates the local publisher of `t` (its schema known), after checking, at most every
    /// [`RECHECK`], that the local file may be written. Whether it exists now.
    fn open_local(&self, topic: &str, t: &mut Imported) -> bool {
        let now = Instant::now();
        if t.refused.as_ref().is_some_and(|r| now < r.retry) {
            return false;
        }
        let Some(schema) = t.schema.clone() else {
            return false;
        };
        // What peers may make this machine hold: reserved before the file is made, given back
        // if it is not.
        let need = if t.bytes == 0 {
            let need = shm::inspect::topic_file_size(&schema, t.slots).unwrap_or(u64::MAX);
            let reserved =
                self.used_bytes
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                        used.checked_add(need)
                            .filter(|total| *total <= self.limits.total_size)
                    });
            if let Err(used) = reserved {
                self.limit(
                    topic,
                    format_args!(
                        "its file ({} slots of {} bytes) would take {need} bytes, and imported \
                         topics hold {used} of the {} --max-total-size allows",
                        t.slots,
                        schema.size(),
                        self.limits.total_size
                    ),
                );
                // Without a file it holds nothing: let go (asked about again after a while).
                t.let_go = true;
                return false;
            }
            need
        } else {
            0
        };
        // The exports' lock across the check and the takeover: the exporter never starts an
        // export of this file in between.
        let mut exports = lock(&self.exports);
        let result = self.check_local(topic, &schema).and_then(|()| {
            let released = exports.contains_key(topic);
            if released && !self.is_alive(topic) {
                return Err(
                    "this bridge exports it (its local publisher is gone, and the remote one \
                     too)"
                        .to_owned(),
                );
            }
            release(&mut exports, topic);
            let publisher = AnyPublisher::builder(topic, schema.clone())
                .root(&self.root)
                .buffer_num(t.slots)
                .create()
                .map_err(|e| e.to_string())?;
            Ok((publisher, released))
        });
        drop(exports);
        match result {
            Ok((publisher, released)) => {
                t.bytes += need;
                if released {
                    log(format_args!(
                        "'{topic}' is published remotely now, its local publisher gone: \
                         imported, no longer exported"
                    ));
                }
                if t.refused.take().is_some() {
                    log(format_args!("importing '{topic}' now"));
                }
                t.publisher = Some(publisher);
                true
            }
            Err(why) => {
                self.used_bytes.fetch_sub(need, Ordering::Relaxed);
                if t.refused.as_ref().map(|r| &r.why) != Some(&why) {
                    log(format_args!("refused to import '{topic}': {why}"));
                }
                t.refused = Some(Refusal {
                    why,
                    retry: now + RECHECK,
                });
                false
            }
        }
    }

    /// A local topic of that name must be of the same type (unless a bridge imported it:
    /// the remote topic changed type), and not published by another local process.
    fn check_local(&self, topic: &str, schema: &TopicSchema) -> Result<(), String> {
        let info = match shm::inspect::inspect(Some(&self.root), topic) {
            Err(InspectError::Missing { .. }) => return Ok(()),
            Err(e) => {
                return Err(format!(
                    "the local file is not a topic: {e}; nothing was overwritten"
                ));
            }
            Ok(info) => info,
        };
        // A file a bridge imported, its publisher gone, follows the remote topic's type.
        let replaceable = info.publisher.process_name == bridge_name() && !info.publisher_alive;
        let imported = info.publisher.process_name == bridge_name();
        if info.schema.hash() != schema.hash() && !replaceable {
            return Err(format!(
                "the remote topic carries `{}` (schema hash {:#018x}), the local one `{}` \
                 (schema hash {:#018x}); nothing was overwritten",
                schema.type_name(),
                schema.hash(),
                info.schema.type_name(),
                info.schema.hash()
            ));
        }
        if info.publisher_alive {
            let who = if imported {
                "another bridge"
            } else {
                "a local process"
            };
            return Err(format!(
                "{who} publishes it ({}); stop it first, or leave the topic out of --import",
                info.publisher
            ));
        }
        Ok(())
    }
}

/// Collects the replies of one schema query on Zenoh's threads; sends the first schema that
/// hashes to what was asked for, or, when the query ends (Zenoh drops its callback) without
/// one, why there is none.
struct Answer {
    to: Sender<Fetched>,
    topic: String,
    hash: u64,
    done: AtomicBool,
}

impl Answer {
    fn reply(&self, reply: zenoh::query::Reply) {
        let Ok(sample) = reply.result() else {
            return;
        };
        let payload = sample.payload();
        if self.done.load(Ordering::Relaxed) || payload.len() > MAX_SCHEMA {
            return;
        }
        // Decoding costs what the encoding's length costs, whatever value it describes.
        let Ok(schema) = TopicSchema::decode(&payload.to_bytes()) else {
            return;
        };
        if schema.hash() == self.hash && !self.done.swap(true, Ordering::Relaxed) {
            let _ = self
                .to
                .send((self.topic.clone(), self.hash, Ok(Arc::new(schema))));
        }
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if !self.done.load(Ordering::Relaxed) {
            let _ = self.to.send((
                self.topic.clone(),
                self.hash,
                Err(format!(
                    "no bridge answered with its schema (hash {:#018x})",
                    self.hash
                )),
            ));
        }
    }
}
