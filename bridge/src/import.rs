//! Zenoh → local topics: every remote topic matching an `--import` pattern becomes a local
//! topic of the same name and schema, published by this bridge, so local typed subscribers
//! read it as if its publisher were local. The schema comes from the exporting bridge (and
//! must hash to what each value says); a local topic of another type is never overwritten. The
//! local publisher lives while the remote one does (its liveliness token), so local waits end
//! with "publisher gone" when the remote publisher exits or the link drops.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shm::dynamic::{AnyPublisher, TopicSchema};
use shm::{CreateError, InspectError};
use zenoh::Wait as _;
use zenoh::handlers::RingChannel;
use zenoh::sample::{Locality, SampleKind};

use crate::keys::{Pattern, key_topic, topic_key};
use crate::wire::Header;
use crate::{BRIDGE_NAME, log};

/// How long a schema query may take.
const SCHEMA_TIMEOUT: Duration = Duration::from_secs(5);
/// Values of one pattern waiting to be written locally, at most.
const RING: usize = 64;
/// How often the importing threads look for a stop request.
const POLL: Duration = Duration::from_millis(100);

/// One imported topic.
#[derive(Default)]
struct Imported {
    /// The local publisher, while the remote one is alive (or while a value is being written).
    publisher: Option<AnyPublisher>,
    /// The remote topic's type, once fetched and accepted.
    schema: Option<Arc<TopicSchema>>,
    /// A remote type refused (a local topic of another type, or a local publisher): values of
    /// it are dropped, and the refusal is logged once.
    refused: Option<u64>,
    /// The last value written (its remote sequence number and publish time): the same value
    /// asked for again (a late join, a restart) is not written twice.
    last: Option<(u64, u64)>,
}

struct State {
    session: zenoh::Session,
    prefix: String,
    root: PathBuf,
    patterns: Vec<Pattern>,
    topics: Mutex<HashMap<String, Imported>>,
    /// Topics whose remote publisher is alive (their liveliness token exists).
    alive: Mutex<HashSet<String>>,
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
    ) -> zenoh::Result<Importer> {
        let state = Arc::new(State {
            session: session.clone(),
            prefix: prefix.to_owned(),
            root,
            patterns,
            topics: Mutex::default(),
            alive: Mutex::default(),
        });
        let mut threads = Vec::new();
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
                        let key = sample.key_expr().as_str();
                        let Some(topic) = key
                            .strip_prefix(&format!("{}/@alive/", s.prefix))
                            .and_then(key_topic)
                        else {
                            return;
                        };
                        if s.patterns.iter().any(|p| p.matches(&topic)) {
                            let alive = sample.kind() == SampleKind::Put;
                            s.liveliness(&topic, alive);
                            if alive {
                                // Its publisher (re)appeared: its current value may predate us.
                                let s = Arc::clone(&s);
                                std::thread::spawn(move || s.ask_values(&topic_key(&topic)));
                            }
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
                            log(format_args!(
                                "dropped a value of '{topic}' without a bridge header (not from \
                                 shm-bridge?)"
                            ));
                            continue;
                        };
                        s.value(&topic, header, &sample.payload().to_bytes());
                    }
                }));
            }
        }
        // What exists already: the last value of every matching topic (published or not).
        for pattern in &state.patterns {
            let s = Arc::clone(&state);
            let key = pattern.key_expr();
            threads.push(std::thread::spawn(move || s.ask_values(&key)));
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
        lock(&self.alive).contains(topic)
    }

    /// The remote publisher of `topic` appeared (`alive`) or went away.
    fn liveliness(&self, topic: &str, alive: bool) {
        if alive {
            lock(&self.alive).insert(topic.to_owned());
            let mut topics = lock(&self.topics);
            let t = topics.entry(topic.to_owned()).or_default();
            if t.publisher.is_none()
                && let Some(schema) = t.schema.clone()
            {
                t.publisher = self.create(topic, &schema);
            }
        } else {
            lock(&self.alive).remove(topic);
            let mut topics = lock(&self.topics);
            if let Some(t) = topics.get_mut(topic)
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
        let Ok(replies) = self.session.get(asked).timeout(SCHEMA_TIMEOUT).wait() else {
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
        let t = topics.entry(topic.to_owned()).or_default();
        if t.refused == Some(header.hash) {
            return;
        }
        if t.last == Some((header.seq, header.published_ns)) && t.schema.is_some() {
            return;
        }
        if t.schema.as_ref().map(|s| s.hash()) != Some(header.hash) {
            // A new topic, or the remote one was recreated with another type.
            t.publisher = None;
            t.schema = None;
            let schema = match self.fetch_schema(topic, header.hash) {
                Ok(schema) => schema,
                Err(why) => {
                    log(format_args!("cannot import '{topic}': {why}"));
                    return;
                }
            };
            if let Err(why) = self.check_local(topic, &schema) {
                log(format_args!("refused to import '{topic}': {why}"));
                t.refused = Some(header.hash);
                return;
            }
            log(format_args!("importing '{topic}' ({})", schema.type_name()));
            t.refused = None;
            t.schema = Some(schema);
        }
        let Some(schema) = t.schema.clone() else {
            return;
        };
        if t.publisher.is_none() {
            t.publisher = self.create(topic, &schema);
        }
        if let Some(p) = t.publisher.as_mut() {
            match p.publish(bytes) {
                Ok(_) => t.last = Some((header.seq, header.published_ns)),
                Err(e) => log(format_args!("cannot publish a value of '{topic}': {e}")),
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

    /// A local topic of that name must be of the same type, and not published by another
    /// local process.
    fn check_local(&self, topic: &str, schema: &TopicSchema) -> Result<(), String> {
        match shm::inspect::inspect(Some(&self.root), topic) {
            Err(InspectError::Missing { .. }) => Ok(()),
            Err(e) => Err(format!(
                "the local file is not a topic: {e}; nothing was overwritten"
            )),
            Ok(info) if info.schema.hash() != schema.hash() => Err(format!(
                "the remote topic carries `{}` (schema hash {:#018x}), the local one `{}` \
                 (schema hash {:#018x}); nothing was overwritten",
                schema.type_name(),
                schema.hash(),
                info.schema.type_name(),
                info.schema.hash()
            )),
            Ok(info) if info.publisher_alive && info.publisher.process_name != BRIDGE_NAME => {
                Err(format!(
                    "a local process publishes it ({}); stop it, or import under another name",
                    info.publisher
                ))
            }
            Ok(_) => Ok(()),
        }
    }

    /// The local publisher of an imported topic (taking over the file this or an earlier
    /// bridge left), or `None` (logged) if it cannot be.
    fn create(&self, topic: &str, schema: &Arc<TopicSchema>) -> Option<AnyPublisher> {
        match AnyPublisher::builder(topic, schema.clone())
            .root(&self.root)
            .create()
        {
            Ok(p) => Some(p),
            Err(e @ CreateError::Busy { .. }) => {
                log(format_args!("cannot import '{topic}': {e}"));
                None
            }
            Err(e) => {
                log(format_args!("cannot import '{topic}': {e}"));
                None
            }
        }
    }
}

/// Whether a stop was asked (set by the signal handler).
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// Whether the bridge should stop.
pub(crate) fn stopping() -> bool {
    STOP.load(Ordering::Relaxed)
}
