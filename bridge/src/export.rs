//! Local topics → Zenoh: every local topic matching an `--export` pattern (looked for again
//! every 200 ms, so topics created later are carried too), read by an untyped subscriber on a
//! thread of its own and put under `<prefix>/<topic>`, with its schema available to any bridge
//! that asks (`<prefix>/@schema/<topic>`) and a liveliness token
//! (`<prefix>/@alive/<zenoh id>/<topic>`) while its publisher is alive.
//!
//! A topic is exported from the file of a local publisher, never from one this bridge (or
//! another bridge) publishes: an export stops when its file is removed, or when its publisher
//! is gone and an importing bridge takes the file over (the importer asks, see
//! [`release`]).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shm::Sample;
use shm::dynamic::{AnySubscriber, RawValue, TopicSchema};
use shm::inspect::{self, Entry};
use shm::wait::{Wait, WaitStep};
use shm::{RecvError, TopicOwner};
use zenoh::Wait as _;
use zenoh::qos::CongestionControl;

use crate::keys::{Pattern, topic_key};
use crate::wire::Header;
use crate::{bridge_name, log};

/// How long an exporting thread waits for a value before it looks at its publisher again.
const STEP: Duration = Duration::from_millis(100);
/// How long a topic whose export failed waits before it is tried again (unless its file
/// changes meanwhile).
const RETRY: Duration = Duration::from_secs(5);

/// A `--max-rate`: for the topics of `pattern` (every topic if `None`), at most `hz` values per
/// second.
#[derive(Debug, Clone)]
pub(crate) struct Rate {
    pub(crate) pattern: Option<Pattern>,
    pub(crate) hz: f64,
}

/// The rate limit of `topic`: the first rate whose pattern matches it (patterns come before
/// the catch-all).
pub(crate) fn rate_of(rates: &[Rate], topic: &str) -> Option<f64> {
    rates
        .iter()
        .find(|r| r.pattern.as_ref().is_none_or(|p| p.matches(topic)))
        .map(|r| r.hz)
}

/// The last value an export sent, for bridges that ask (one that connects later, or restarts).
type Last = Arc<Mutex<Option<(Vec<u8>, Header)>>>;

pub(crate) struct Exported {
    schema: Arc<TopicSchema>,
    /// When its file was created (a file replaced by another of the same type is a new one).
    created: u64,
    /// Why it failed, once it did.
    error: Arc<Mutex<Option<String>>>,
    last: Last,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// The topics a bridge exports, shared with its importer (one lock: an importer taking a file
/// over and a scan starting an export of it never interleave).
pub(crate) type Exports = Arc<Mutex<HashMap<String, Exported>>>;

/// Stops exporting `topic` (an importer takes its file over): the job's thread ends by itself
/// within a step, and exports nothing after this (it checks before each value it sends). Call
/// with the lock held across the takeover.
pub(crate) fn release(exports: &mut HashMap<String, Exported>, topic: &str) -> bool {
    match exports.remove(topic) {
        Some(e) => {
            e.stop.store(true, Ordering::SeqCst);
            true
        }
        None => false,
    }
}

/// An export that failed.
struct Failed {
    hash: u64,
    created: u64,
    retry: Instant,
    error: Arc<Mutex<Option<String>>>,
}

/// A random identity for an export (nothing to do with security: two exports of one topic
/// must differ).
fn export_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// The exporting side of a bridge.
pub(crate) struct Exporter {
    session: zenoh::Session,
    prefix: String,
    root: PathBuf,
    patterns: Vec<Pattern>,
    rates: Vec<Rate>,
    topics: Exports,
    /// Topics whose export failed: the file (schema hash, creation time), when to try again,
    /// and why it failed.
    failed: HashMap<String, Failed>,
    alive_prefix: String,
    _schemas: Option<zenoh::query::Queryable<()>>,
    _values: Option<zenoh::query::Queryable<()>>,
}

impl Exporter {
    pub(crate) fn new(
        session: zenoh::Session,
        prefix: &str,
        root: PathBuf,
        patterns: Vec<Pattern>,
        rates: Vec<Rate>,
    ) -> zenoh::Result<Exporter> {
        let topics: Exports = Arc::default();
        let values = if patterns.is_empty() {
            None
        } else {
            let known = Arc::clone(&topics);
            let value_prefix = format!("{prefix}/@value/");
            Some(
                session
                    .declare_queryable(format!("{prefix}/@value/**"))
                    .callback(move |query| {
                        // The last value of every exported topic the query names (a key
                        // expression: one topic, or many).
                        let Ok(asked) = zenoh::key_expr::KeyExpr::try_from(
                            query.key_expr().as_str().to_owned(),
                        ) else {
                            return;
                        };
                        let answers: Vec<(String, Vec<u8>, Header)> = lock(&known)
                            .iter()
                            .filter_map(|(topic, e)| {
                                let key = format!("{value_prefix}{}", topic_key(topic));
                                let (bytes, header) = lock(&e.last).clone()?;
                                let key_expr =
                                    zenoh::key_expr::KeyExpr::try_from(key.clone()).ok()?;
                                asked.intersects(&key_expr).then_some((key, bytes, header))
                            })
                            .collect();
                        for (key, bytes, header) in answers {
                            let _ = query
                                .reply(key, bytes)
                                .attachment(header.encode().to_vec())
                                .wait();
                        }
                    })
                    .wait()?,
            )
        };
        let schemas = if patterns.is_empty() {
            None
        } else {
            let known = Arc::clone(&topics);
            let schema_prefix = format!("{prefix}/@schema/");
            Some(
                session
                    .declare_queryable(format!("{prefix}/@schema/**"))
                    .callback(move |query| {
                        let key = query.key_expr().as_str().to_owned();
                        let Some(topic) = key
                            .strip_prefix(&schema_prefix)
                            .and_then(crate::keys::key_topic)
                        else {
                            return;
                        };
                        let schema = lock(&known).get(&topic).map(|e| e.schema.clone());
                        if let Some(schema) = schema {
                            let _ = query.reply(key, schema.encoding().to_vec()).wait();
                        }
                    })
                    .wait()?,
            )
        };
        let alive_prefix = format!("{prefix}/@alive/{}", session.zid());
        Ok(Exporter {
            session,
            prefix: prefix.to_owned(),
            root,
            patterns,
            rates,
            topics,
            failed: HashMap::new(),
            alive_prefix,
            _schemas: schemas,
            _values: values,
        })
    }

    /// The exported topics, for the importer of the same bridge.
    pub(crate) fn exports(&self) -> Exports {
        Arc::clone(&self.topics)
    }

    /// Looks at the root once: starts exporting new matching topics, restarts those whose type
    /// changed, stops those whose file is gone or now published by a bridge, and retries those
    /// that failed (after [`RETRY`], or at once if their file changed).
    pub(crate) fn scan(&mut self) {
        if self.patterns.is_empty() {
            return;
        }
        // Listed under the lock: an importer cannot take a file over between the listing and
        // the start of its export.
        let mut topics = lock(&self.topics);
        // Files of other topics are never opened (whoever made them).
        let patterns = self.patterns.clone();
        let entries = match inspect::list(Some(&self.root)) {
            Ok(entries) => entries.topics_where(move |t| patterns.iter().any(|p| p.matches(t))),
            Err(e) => {
                log(format_args!("cannot list {}: {e}", self.root.display()));
                return;
            }
        };
        let now = Instant::now();
        // A job that ended by itself failed (it logged why); its file is tried again later.
        let failed: Vec<String> = topics
            .iter()
            .filter(|(_, e)| e.thread.is_finished())
            .map(|(topic, _)| topic.clone())
            .collect();
        for topic in failed {
            if let Some(e) = topics.remove(&topic) {
                self.failed.insert(
                    topic,
                    Failed {
                        hash: e.schema.hash(),
                        created: e.created,
                        retry: now + RETRY,
                        error: e.error,
                    },
                );
            }
        }
        let me = shm::Uid::current();
        let mut listed = HashSet::new();
        let mut bridged = HashSet::new();
        for entry in entries {
            let Entry::Topic(info) = entry else {
                continue;
            };
            if !self.patterns.iter().any(|p| p.matches(&info.topic)) {
                continue;
            }
            // What a bridge imported is never exported again (no loops between bridges, even
            // after a restart: the file still names the bridge as its publisher). Another
            // user's topic could not be read (subscribers trust their own user's files).
            if info.publisher.process_name == bridge_name() {
                bridged.insert(info.topic.clone());
                continue;
            }
            if info.owner.uid != me {
                continue;
            }
            listed.insert(info.topic.clone());
            if let Some(e) = topics.get(&info.topic) {
                // The same file: carry on. Another type, or the file recreated (its sequence
                // numbers start again): a new export.
                if e.schema.hash() == info.schema.hash() && e.created == info.created_unix_ns {
                    continue;
                }
                e.stop.store(true, Ordering::SeqCst);
            }
            // A file whose export failed is tried again after a while (quietly if it fails
            // the same way); a new file at once.
            let mut error = Arc::default();
            if let Some(f) = self.failed.remove(&info.topic)
                && f.hash == info.schema.hash()
                && f.created == info.created_unix_ns
            {
                if now < f.retry {
                    self.failed.insert(info.topic.clone(), f);
                    continue;
                }
                error = f.error;
            }
            let retrying = lock(&error).is_some();
            let stop = Arc::new(AtomicBool::new(false));
            let last: Last = Arc::default();
            let job = Job {
                last: Arc::clone(&last),
                session: self.session.clone(),
                key: format!("{}/{}", self.prefix, topic_key(&info.topic)),
                alive_key: format!("{}/{}", self.alive_prefix, topic_key(&info.topic)),
                topic: info.topic.clone(),
                root: self.root.clone(),
                schema: info.schema.clone(),
                slots: info.slots,
                period: rate_of(&self.rates, &info.topic)
                    .map(|hz| Duration::from_secs_f64(1.0 / hz)),
                stop: Arc::clone(&stop),
                export: export_id(),
                error: Arc::clone(&error),
            };
            if !retrying {
                log(format_args!(
                    "exporting '{}' ({}) as {}",
                    info.topic,
                    info.schema.type_name(),
                    job.key
                ));
            }
            let thread = std::thread::spawn(move || job.run());
            topics.insert(
                info.topic.clone(),
                Exported {
                    schema: info.schema.clone(),
                    created: info.created_unix_ns,
                    last,
                    stop,
                    thread,
                    error,
                },
            );
        }
        // Files removed (or taken over by a bridge): their exports end, and their last values
        // are no longer offered.
        topics.retain(|topic, e| {
            let keep = listed.contains(topic);
            if !keep {
                e.stop.store(true, Ordering::SeqCst);
                let why = if bridged.contains(topic) {
                    "a bridge publishes it now"
                } else {
                    "its file is gone"
                };
                log(format_args!("stopped exporting '{topic}': {why}"));
            }
            keep
        });
        self.failed.retain(|topic, _| listed.contains(topic));
    }

    /// Stops every exporting thread (their liveliness tokens go with them).
    pub(crate) fn stop(&self) {
        let topics = std::mem::take(&mut *lock(&self.topics));
        for e in topics.values() {
            e.stop.store(true, Ordering::SeqCst);
        }
        for (_, e) in topics {
            let _ = e.thread.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One exported topic.
struct Job {
    last: Last,
    session: zenoh::Session,
    key: String,
    alive_key: String,
    topic: String,
    root: PathBuf,
    schema: Arc<TopicSchema>,
    /// The topic's slot count, which importers give their copies.
    slots: u32,
    period: Option<Duration>,
    stop: Arc<AtomicBool>,
    /// This export's identity in each value's header.
    export: u64,
    /// Why the previous export of the same file failed (the same reason is not logged again),
    /// and where this one's goes.
    error: Arc<Mutex<Option<String>>>,
}

impl Job {
    fn run(self) {
        if let Err(e) = self.export() {
            let mut error = lock(&self.error);
            if error.as_ref() != Some(&e) {
                log(format_args!("stopped exporting '{}': {e}", self.topic));
            }
            *error = Some(e);
        }
    }

    fn export(&self) -> Result<(), String> {
        let mut sub = AnySubscriber::builder(&self.topic)
            .root(&self.root)
            .owner(TopicOwner::Me)
            .expect(self.schema.clone())
            // (The default 20 µs spin before sleeping: a topic faster than that never sleeps,
            // and each sleep costs a `membarrier` and two checks of the file.)
            .open()
            .map_err(|e| e.to_string())?;
        // Latest-value: a slow link drops old values rather than delaying new ones.
        let publisher = self
            .session
            .declare_publisher(self.key.clone())
            .congestion_control(CongestionControl::Drop)
            .wait()
            .map_err(|e| e.to_string())?;
        let mut token = None;
        let mut last_sent: Option<Instant> = None;
        let mut next_check = Instant::now();
        let mut pending: Option<Sample<RawValue>> = sub.latest().map_err(|e| e.to_string())?;
        while !self.stop.load(Ordering::SeqCst) {
            // The publisher's liveness crosses the bridge as a liveliness token (looked at every
            // `STEP`, and whenever a wait ended without a value: a publisher that exits cleanly
            // ends it at once).
            let now = Instant::now();
            let alive = if now >= next_check || pending.is_none() {
                next_check = now + STEP;
                sub.publisher_alive().map_err(|e| e.to_string())?
            } else {
                token.is_some()
            };
            match (alive, token.is_some()) {
                (true, false) => {
                    token = Some(
                        self.session
                            .liveliness()
                            .declare_token(self.alive_key.clone())
                            .wait()
                            .map_err(|e| e.to_string())?,
                    );
                }
                (false, true) => token = None,
                _ => {}
            }
            if let Some(sample) = pending.take() {
                let due = match (self.period, last_sent) {
                    (Some(period), Some(sent)) => sent + period,
                    _ => Instant::now(),
                };
                let now = Instant::now();
                if now < due {
                    // `--max-rate`: hold the newest value until it may go.
                    pending = Some(sample);
                    std::thread::sleep((due - now).min(STEP));
                    if let Some(newer) = sub.try_recv().map_err(|e| e.to_string())? {
                        pending = Some(newer);
                    }
                    continue;
                }
                // Released to an importer meanwhile: what the file holds now came from
                // elsewhere (SeqCst: the importer set the flag before it took the file over).
                if self.stop.load(Ordering::SeqCst) {
                    break;
                }
                let header = Header {
                    hash: sample.value.schema.hash(),
                    seq: sample.seq,
                    // Machines share wall-clock time (NTP, PTP), not their monotonic clocks.
                    published_unix_ns: crate::clock::unix_of(sample.published),
                    missed: sample.missed,
                    export: self.export,
                    slots: self.slots,
                };
                *lock(&self.last) = Some((sample.value.bytes.clone(), header));
                publisher
                    .put(sample.value.bytes)
                    .attachment(header.encode().to_vec())
                    .wait()
                    .map_err(|e| e.to_string())?;
                last_sent = Some(Instant::now());
            }
            // (A topic recreated with another type ends this export with the mismatch; the
            // next scan starts a new one for the new type.)
            pending = wait_value(&mut sub, STEP)?;
        }
        Ok(())
    }
}

/// The next value within `step` (`None` if none came, or the publisher went away).
fn wait_value(sub: &mut AnySubscriber, step: Duration) -> Result<Option<Sample<RawValue>>, String> {
    let mut wait = Wait::for_next(Some(step));
    loop {
        match sub.wait_step(&mut wait) {
            Ok(WaitStep::Ready(s)) => return Ok(Some(s)),
            Ok(WaitStep::Block(sleeper)) => sleeper.block(),
            Err(RecvError::Timeout { .. } | RecvError::PublisherGone { .. }) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        }
    }
}
