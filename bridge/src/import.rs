//! Zenoh → local topics: every remote topic matching an `--import` pattern becomes a local
//! topic of the same name, schema and slot count, published by this bridge, so local typed
//! subscribers read it as if its publisher were local. The schema comes from the exporting
//! bridge (and must hash to what each value says); a local topic of another type is never
//! overwritten. The local publisher lives while the remote one does (its liveliness token), so
//! local waits end with "publisher gone" when the remote publisher exits or the link drops
//! (once Zenoh's lease expires: 10 s by default). Values keep their publish time (see
//! [`crate::clock`]).
//!
//! Peers are not trusted with this machine's memory: what they can make the bridge create is
//! bounded ([`Limits`]: topics, value size, bytes of topic files), a schema they send costs
//! what its length costs, and a peer that never answers a schema query delays only its own
//! topic (queries are answered on Zenoh's threads and applied on the bridge's own).
//!
//! Blocking work (writing values, asking for current values) runs on the bridge's own threads,
//! never in Zenoh's callbacks nor under the lock of the imported topics.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shm::InspectError;
use shm::dynamic::{AnyPublisher, TopicSchema};
use zenoh::Wait as _;
use zenoh::handlers::RingChannel;
use zenoh::sample::{Locality, SampleKind};

use crate::export::{Exports, release};
use crate::keys::{Pattern, key_topic, topic_key};
use crate::wire::Header;
use crate::{bridge_name, log};

/// How long a schema query may take.
const SCHEMA_TIMEOUT: Duration = Duration::from_secs(5);
/// After a schema query that failed, values of that type are dropped this long before the
/// next query (a peer that never answers cannot stall the importer on every value).
const RETRY: Duration = Duration::from_secs(5);
/// A topic refused (a local publisher, a local topic of another type) is looked at again at
/// most this often, when a value arrives; the refusal is logged once.
const RECHECK: Duration = Duration::from_secs(1);
/// Values of one pattern waiting to be written locally, at most.
const RING: usize = 64;
/// How often the importing threads look for a stop request.
const POLL: Duration = Duration::from_millis(100);

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

/// A schema query's outcome, for the applying thread: the topic, the hash asked for, and the
/// schema (or why there is none).
type Fetched = (String, u64, Result<Arc<TopicSchema>, String>);

/// Why a topic is not written now, and when to look again.
struct Refusal {
    why: String,
    retry: Instant,
}

/// A value waiting for its schema: its header and bytes.
type Pending = (Header, Vec<u8>);

/// One imported topic.
#[derive(Default)]
struct Imported {
    /// The local publisher, while the remote one is alive (or while a value is being written).
    publisher: Option<AnyPublisher>,
    /// The remote topic's type, once fetched.
    schema: Option<Arc<TopicSchema>>,
    /// The slot count its local file has (or gets).
    slots: usize,
    /// The bytes of its local file counted against [`Limits::total_size`] (0: none yet).
    bytes: u64,
    /// Set while the local file may not be written (logged once).
    refused: Option<Refusal>,
    /// The hash of the schema being asked for, and the newest value waiting for it.
    fetching: Option<(u64, Option<Pending>)>,
    /// A schema query that failed (the hash asked for) and when to ask again.
    fetch_failed: Option<(u64, Instant)>,
    /// The last value written: its export, sequence number and publish time. A value of the
    /// same export that is not newer (a current value asked for, racing the live stream; the
    /// same value asked for twice) is dropped, and one of another export (a bridge restarted,
    /// the remote file recreated, a machine rebooted) only if it was published before it.
    last: Option<(u64, u64, u64)>,
    /// The last error logged for this topic (the same one is not logged for every value).
    error: Option<String>,
    /// Whether a clock ahead of this machine's was reported for this topic.
    skew_logged: bool,
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
    topics: Mutex<HashMap<String, Imported>>,
    /// Bytes of the local files of imported topics, together ([`Limits::total_size`]).
    used_bytes: AtomicU64,
    /// Topics dropped by a limit, logged once each (at most [`MAX_LOGGED`] remembered).
    limited: Mutex<HashSet<String>>,
    /// Topics whose remote publisher is alive, with the bridges whose token says so.
    alive: Mutex<HashMap<String, HashSet<String>>>,
    /// Requests for current values (key expressions after the prefix), to the asking thread.
    asks: Sender<String>,
    /// Schemas that arrived (or did not), to the applying thread.
    fetched: Sender<Fetched>,
}

/// Topics dropped by a limit that are remembered, so as to log each once: beyond, the same
/// line may come again (a peer flooding names is bounded by this, not by its names).
const MAX_LOGGED: usize = 1024;

/// The importing side of a bridge.
pub(crate) struct Importer {
    state: Arc<State>,
    threads: Vec<std::thread::JoinHandle<()>>,
    _liveliness: Option<zenoh::pubsub::Subscriber<()>>,
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
        let (asks, asked) = channel();
        let (fetched, arrived) = channel();
        let state = Arc::new(State {
            session: session.clone(),
            prefix: prefix.to_owned(),
            root,
            patterns,
            limits,
            own_id: session.zid().to_string(),
            exports,
            topics: Mutex::default(),
            used_bytes: AtomicU64::new(0),
            limited: Mutex::default(),
            alive: Mutex::default(),
            asks,
            fetched,
        });
        let mut threads = Vec::new();
        let mut liveliness = None;
        if !state.patterns.is_empty() {
            // Liveliness first, with what exists already, so a value that arrives is published
            // knowing whether its publisher lives.
            let s = Arc::clone(&state);
            let alive_prefix = format!("{prefix}/@alive/");
            liveliness = Some(
                session
                    .liveliness()
                    .declare_subscriber(format!("{prefix}/@alive/**"))
                    .history(true)
                    .callback(move |sample| {
                        // `<prefix>/@alive/<zenoh id>/<topic key>`
                        let Some((bridge, key)) = sample
                            .key_expr()
                            .as_str()
                            .strip_prefix(&alive_prefix)
                            .and_then(|rest| rest.split_once('/'))
                        else {
                            return;
                        };
                        let Some(topic) = key_topic(key) else {
                            return;
                        };
                        if bridge != s.own_id && s.patterns.iter().any(|p| p.matches(&topic)) {
                            s.liveliness(&topic, bridge, sample.kind() == SampleKind::Put);
                        }
                    })
                    .wait()?,
            );
            for pattern in &state.patterns {
                // A ring: when values come faster than they are written here, the oldest are
                // dropped, never the newest delayed (latest-value topics).
                let subscriber = session
                    .declare_subscriber(format!("{prefix}/{}", pattern.key_expr()))
                    // Never what this bridge exports itself.
                    .allowed_origin(Locality::Remote)
                    .with(RingChannel::new(RING))
                    .wait()?;
                let s = Arc::clone(&state);
                // Values are handled on a thread of this bridge, not in Zenoh's: asking for a
                // schema blocks.
                threads.push(std::thread::spawn(move || {
                    let data_prefix = format!("{}/", s.prefix);
                    let mut warned = HashSet::new();
                    while !stopping() {
                        let Ok(Some(sample)) = subscriber.recv_timeout(POLL) else {
                            continue;
                        };
                        let key = sample.key_expr().as_str();
                        let Some(topic) = key.strip_prefix(&data_prefix).and_then(key_topic) else {
                            continue;
                        };
                        if !s.patterns.iter().any(|p| p.matches(&topic)) {
                            continue;
                        }
                        let header = sample
                            .attachment()
                            .and_then(|a| Header::decode(&a.to_bytes()));
                        let Some(header) = header else {
                            if warned.len() < 1024 && warned.insert(topic.clone()) {
                                log(format_args!(
                                    "dropping values of '{topic}' without a bridge header (not \
                                     from shm-bridge?); logged once"
                                ));
                            }
                            continue;
                        };
                        s.value(&topic, header, &sample.payload().to_bytes());
                    }
                }));
            }
            // What exists already: the last value of every matching topic (published or not).
            for pattern in &state.patterns {
                state.ask(pattern.key_expr());
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn is_alive(&self, topic: &str) -> bool {
        lock(&self.alive).contains_key(topic)
    }

    /// Asks for the current values of the topics of `key` (on the asking thread).
    fn ask(&self, key: String) {
        let _ = self.asks.send(key);
    }

    /// The asking thread: one query at a time, the same key asked once however often it was
    /// requested meanwhile.
    fn answer_asks(&self, asked: &Receiver<String>) {
        while !stopping() {
            let first = match asked.recv_timeout(POLL) {
                Ok(key) => key,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut keys = vec![first];
            while let Ok(key) = asked.try_recv() {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            for key in keys {
                if stopping() {
                    return;
                }
                self.ask_values(&key);
            }
        }
    }

    /// The remote publisher of `topic` on `bridge` appeared (`alive`) or went away.
    fn liveliness(&self, topic: &str, bridge: &str, alive: bool) {
        if alive {
            {
                // Bounded, whatever tokens peers declare: as many topics as may be followed
                // (and a few more, for tokens ahead of their topics' first values), and a few
                // bridges per topic.
                let mut all = lock(&self.alive);
                let room = all.len() < self.limits.topics.saturating_add(MAX_LOGGED);
                if let Some(bridges) = match all.get_mut(topic) {
                    Some(bridges) => Some(bridges),
                    None if room => Some(all.entry(topic.to_owned()).or_default()),
                    None => None,
                } && bridges.len() < MAX_BRIDGES
                {
                    bridges.insert(bridge.to_owned());
                }
            }
            {
                // (Only topics followed already: a token makes no entry, so a peer declaring
                // tokens for a million names costs nothing here.)
                let mut topics = lock(&self.topics);
                if let Some(t) = topics.get_mut(topic) {
                    if let Some(refused) = t.refused.as_mut() {
                        // Something changed: look again now (logged only if the reason
                        // changed).
                        refused.retry = Instant::now();
                    }
                    if t.publisher.is_none() && t.schema.is_some() && t.slots != 0 {
                        self.open_local(topic, t);
                    }
                }
            }
            // Its current value may predate this bridge.
            self.ask(topic_key(topic));
        } else {
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
            if gone
                && let Some(t) = topics.get_mut(topic)
                && t.publisher.take().is_some()
            {
                log(format_args!(
                    "the remote publisher of '{topic}' is gone; so is the local one"
                ));
            }
        }
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
            .timeout(SCHEMA_TIMEOUT)
            .wait()
        else {
            return;
        };
        while let Ok(reply) = replies.recv() {
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
                .and_then(|a| Header::decode(&a.to_bytes()));
            if let Some(header) = header
                && self.patterns.iter().any(|p| p.matches(&topic))
            {
                self.value(&topic, header, &sample.payload().to_bytes());
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
        if t.schema.as_ref().map(|s| s.hash()) != Some(header.hash) {
            // A new topic, or the remote one was recreated with another type: its schema is
            // asked for, and the newest value waits for it (other topics go on meanwhile).
            match &mut t.fetching {
                Some((hash, pending)) if *hash == header.hash => {
                    *pending = Some((header, bytes.to_vec()));
                }
                _ => {
                    if t.fetch_failed
                        .is_some_and(|(hash, until)| hash == header.hash && Instant::now() < until)
                    {
                        return;
                    }
                    t.fetching = Some((header.hash, Some((header, bytes.to_vec()))));
                    self.fetch_schema(topic, header.hash);
                }
            }
            return;
        }
        self.write(topic, t, header, bytes);
    }

    /// Writes a value of `topic`, whose schema `t` has.
    fn write(&self, topic: &str, t: &mut Imported, header: Header, bytes: &[u8]) {
        if let Some((export, seq, published)) = t.last {
            let older = if export == header.export {
                header.seq <= seq
            } else {
                header.published_unix_ns < published
            };
            if older {
                return;
            }
        }
        let slots = self.slots_of(topic, header.slots);
        if slots != t.slots {
            // The remote topic has another ring now (or this is the first value): the local
            // file is made (again) with it.
            t.publisher = None;
            t.slots = slots;
            self.used_bytes.fetch_sub(t.bytes, Ordering::Relaxed);
            t.bytes = 0;
        }
        if t.publisher.is_none() && !self.open_local(topic, t) {
            return;
        }
        let (published, ahead) = crate::clock::local_of(header.published_unix_ns);
        if let Some(ahead) = ahead.filter(|d| *d > SKEW_LOGGED && !t.skew_logged) {
            t.skew_logged = true;
            log(format_args!(
                "the clock of the machine publishing '{topic}' is {ahead:?} ahead of this one's: \
                 its values are stamped as published when they arrive (synchronise the clocks, \
                 with NTP or PTP, for their ages to be right)"
            ));
        }
        if let Some(p) = t.publisher.as_mut() {
            match p.publish_stamped(bytes, published) {
                Ok(_) => {
                    t.last = Some((header.export, header.seq, header.published_unix_ns));
                    t.error = None;
                }
                Err(e) => {
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

    /// A topic dropped by a limit: one log line per topic (for the first [`MAX_LOGGED`]).
    fn limit(&self, topic: &str, why: std::fmt::Arguments<'_>) {
        let mut limited = lock(&self.limited);
        if limited.len() < MAX_LOGGED && limited.insert(topic.to_owned()) {
            log(format_args!(
                "refused to import '{topic}': {why}; its values are dropped"
            ));
        }
    }

    /// Asks the exporting bridges for the schema of `topic` that hashes to `hash`, without
    /// waiting: the answer (or its absence after [`SCHEMA_TIMEOUT`]) goes to the applying
    /// thread.
    fn fetch_schema(&self, topic: &str, hash: u64) {
        let key = format!("{}/@schema/{}", self.prefix, topic_key(topic));
        let answer = Answer {
            to: self.fetched.clone(),
            topic: topic.to_owned(),
            hash,
            done: AtomicBool::new(false),
        };
        let asked = self
            .session
            .get(key)
            .allowed_destination(Locality::Remote)
            .timeout(SCHEMA_TIMEOUT)
            .callback(move |reply| answer.reply(reply))
            .wait();
        if let Err(e) = asked {
            let _ = self.fetched.send((
                topic.to_owned(),
                hash,
                Err(format!("cannot ask for its schema: {e}")),
            ));
        }
    }

    /// The applying thread: schemas as they arrive, each with the value that waited for it.
    fn apply_schemas(&self, arrived: &Receiver<Fetched>) {
        while !stopping() {
            match arrived.recv_timeout(POLL) {
                Ok((topic, hash, result)) => self.schema_arrived(&topic, hash, result),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn schema_arrived(&self, topic: &str, hash: u64, result: Result<Arc<TopicSchema>, String>) {
        let mut topics = lock(&self.topics);
        let Some(t) = topics.get_mut(topic) else {
            return;
        };
        let pending = match t.fetching.take() {
            Some((asked, pending)) if asked == hash => pending,
            other => {
                // An answer to an older question: the newer one is still open.
                t.fetching = other;
                return;
            }
        };
        let schema = match result.and_then(|schema| {
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
        }) {
            Ok(schema) => schema,
            Err(why) => {
                log(format_args!(
                    "cannot import '{topic}': {why}; its values are dropped for {RETRY:?}"
                ));
                t.fetch_failed = Some((hash, Instant::now() + RETRY));
                return;
            }
        };
        if t.schema.as_ref().map(|s| s.hash()) != Some(hash) {
            log(format_args!("importing '{topic}' ({})", schema.type_name()));
            // (A publisher of the former type goes; its file's bytes are counted anew.)
            self.used_bytes.fetch_sub(t.bytes, Ordering::Relaxed);
            *t = Imported {
                schema: Some(schema),
                skew_logged: t.skew_logged,
                ..Imported::default()
            };
        }
        if let Some((header, bytes)) = pending {
            self.write(topic, t, header, &bytes);
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
        if t.bytes == 0 {
            // What peers may make this machine hold: counted before the file is made.
            let need = shm::inspect::topic_file_size(&schema, t.slots).unwrap_or(u64::MAX);
            let used = self.used_bytes.load(Ordering::Relaxed);
            if used.saturating_add(need) > self.limits.total_size {
                let why = format!(
                    "its file ({} slots of {} bytes) would take {need} bytes, and imported \
                     topics hold {used} of the {} --max-total-size allows",
                    t.slots,
                    schema.size(),
                    self.limits.total_size
                );
                if t.refused.as_ref().map(|r| &r.why) != Some(&why) {
                    log(format_args!("refused to import '{topic}': {why}"));
                }
                t.refused = Some(Refusal {
                    why,
                    retry: now + RECHECK,
                });
                return false;
            }
            self.used_bytes.fetch_add(need, Ordering::Relaxed);
            t.bytes = need;
        }
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

/// Bridges remembered per topic as publishing it (a topic has one publisher; a few bridges
/// may carry it while one hands over to another).
const MAX_BRIDGES: usize = 16;

/// Clock differences below this are not reported (NTP keeps clocks within milliseconds).
const SKEW_LOGGED: Duration = Duration::from_millis(100);

/// The largest schema encoding taken from a peer (a topic header holds at most this much).
const MAX_SCHEMA: usize = 1 << 20;

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
                    "no bridge answered with its schema (hash {:#018x}) within {SCHEMA_TIMEOUT:?}",
                    self.hash
                )),
            ));
        }
    }
}

/// Whether a stop was asked (set by the signal handler).
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// Whether the bridge should stop.
pub(crate) fn stopping() -> bool {
    STOP.load(Ordering::Relaxed)
}
