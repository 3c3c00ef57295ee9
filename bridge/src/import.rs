//! Zenoh → local topics: every remote topic matching an `--import` pattern becomes a local
//! topic of the same name and schema, published by this bridge, so local typed subscribers
//! read it as if its publisher were local. The schema comes from the exporting bridge (and
//! must hash to what each value says); a local topic of another type is never overwritten. The
//! local publisher lives while the remote one does (its liveliness token), so local waits end
//! with "publisher gone" when the remote publisher exits or the link drops (once Zenoh's
//! lease expires: 10 s by default).
//!
//! Blocking work (asking for schemas and current values) runs on the bridge's own threads,
//! never in Zenoh's callbacks nor under the lock of the imported topics.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Why a topic is not written now, and when to look again.
struct Refusal {
    why: String,
    retry: Instant,
}

/// One imported topic.
#[derive(Default)]
struct Imported {
    /// The local publisher, while the remote one is alive (or while a value is being written).
    publisher: Option<AnyPublisher>,
    /// The remote topic's type, once fetched.
    schema: Option<Arc<TopicSchema>>,
    /// Set while the local file may not be written (logged once).
    refused: Option<Refusal>,
    /// A schema query that failed (the hash asked for) and when to ask again.
    fetch_failed: Option<(u64, Instant)>,
    /// The export and remote sequence number of the last value written: a value of the same
    /// export that is not newer (a current value asked for, racing the live stream; the same
    /// value asked for twice) is dropped. A new export (a bridge restarted, the remote file
    /// recreated, a machine rebooted) counts anew.
    last: Option<(u64, u64)>,
    /// The last error logged for this topic (the same one is not logged for every value).
    error: Option<String>,
}

struct State {
    session: zenoh::Session,
    prefix: String,
    root: PathBuf,
    patterns: Vec<Pattern>,
    /// This bridge's Zenoh id: its own liveliness tokens are not remote publishers.
    own_id: String,
    /// What this bridge exports (a topic is exported or imported here, never both).
    exports: Exports,
    topics: Mutex<HashMap<String, Imported>>,
    /// Topics whose remote publisher is alive, with the bridges whose token says so.
    alive: Mutex<HashMap<String, HashSet<String>>>,
    /// Requests for current values (key expressions after the prefix), to the asking thread.
    asks: Sender<String>,
}

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
        exports: Exports,
    ) -> zenoh::Result<Importer> {
        let (asks, asked) = channel();
        let state = Arc::new(State {
            session: session.clone(),
            prefix: prefix.to_owned(),
            root,
            patterns,
            own_id: session.zid().to_string(),
            exports,
            topics: Mutex::default(),
            alive: Mutex::default(),
            asks,
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
            lock(&self.alive)
                .entry(topic.to_owned())
                .or_default()
                .insert(bridge.to_owned());
            {
                let mut topics = lock(&self.topics);
                let t = topics.entry(topic.to_owned()).or_default();
                if let Some(refused) = t.refused.as_mut() {
                    // Something changed: look again now (logged only if the reason changed).
                    refused.retry = Instant::now();
                }
                if t.publisher.is_none() && t.schema.is_some() {
                    self.open_local(topic, t);
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
        let mut topics = lock(&self.topics);
        let known = topics
            .get(topic)
            .and_then(|t| t.schema.as_ref().map(|s| s.hash()));
        if known != Some(header.hash) {
            // A new topic, or the remote one was recreated with another type.
            if let Some(t) = topics.get(topic)
                && let Some((hash, until)) = t.fetch_failed
                && hash == header.hash
                && Instant::now() < until
            {
                return;
            }
            // Asked without the lock: other topics go on meanwhile.
            drop(topics);
            let fetched = self.fetch_schema(topic, header.hash);
            topics = lock(&self.topics);
            let t = topics.entry(topic.to_owned()).or_default();
            match fetched {
                Err(why) => {
                    log(format_args!(
                        "cannot import '{topic}': {why}; its values are dropped for {RETRY:?}"
                    ));
                    t.fetch_failed = Some((header.hash, Instant::now() + RETRY));
                    return;
                }
                Ok(schema) if t.schema.as_ref().map(|s| s.hash()) != Some(header.hash) => {
                    log(format_args!("importing '{topic}' ({})", schema.type_name()));
                    // (A publisher of the former type goes.)
                    *t = Imported {
                        schema: Some(schema),
                        ..Imported::default()
                    };
                }
                Ok(_) => {} // fetched by another thread meanwhile
            }
        }
        let t = topics.entry(topic.to_owned()).or_default();
        if t.last
            .is_some_and(|(export, seq)| export == header.export && header.seq <= seq)
        {
            return;
        }
        if t.publisher.is_none() && !self.open_local(topic, t) {
            return;
        }
        if let Some(p) = t.publisher.as_mut() {
            match p.publish(bytes) {
                Ok(_) => {
                    t.last = Some((header.export, header.seq));
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

    /// The schema the exporting bridge has for `topic`, checked against `hash`.
    fn fetch_schema(&self, topic: &str, hash: u64) -> Result<Arc<TopicSchema>, String> {
        let key = format!("{}/@schema/{}", self.prefix, topic_key(topic));
        let replies = self
            .session
            .get(key)
            .allowed_destination(Locality::Remote)
            .timeout(SCHEMA_TIMEOUT)
            .wait()
            .map_err(|e| format!("cannot ask for its schema: {e}"))?;
        while let Ok(reply) = replies.recv() {
            let Ok(sample) = reply.result() else {
                continue;
            };
            let Ok(schema) = TopicSchema::decode(&sample.payload().to_bytes()) else {
                continue;
            };
            if schema.hash() == hash {
                return Ok(Arc::new(schema));
            }
        }
        Err(format!(
            "no bridge answered with its schema (hash {hash:#018x}) within {SCHEMA_TIMEOUT:?}"
        ))
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

/// Whether a stop was asked (set by the signal handler).
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// Whether the bridge should stop.
pub(crate) fn stopping() -> bool {
    STOP.load(Ordering::Relaxed)
}
