//! Local topics → Zenoh: every local topic matching an `--export` pattern (looked for again
//! every 200 ms, so topics created later are carried too), read by an untyped subscriber on a
//! thread of its own and put under `<prefix>/<topic>`, with its schema available to any bridge
//! that asks (`<prefix>/@schema/<topic>`) and a liveliness token (`<prefix>/@alive/<topic>`)
//! while its publisher is alive.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shm::dynamic::{AnySubscriber, RawSample, TopicSchema};
use shm::inspect::{self, Entry};
use shm::wait::{Wait, WaitStep};
use shm::{RecvError, TopicOwner};
use zenoh::Wait as _;
use zenoh::qos::CongestionControl;

use crate::keys::{Pattern, topic_key};
use crate::wire::Header;
use crate::{BRIDGE_NAME, log};

/// How long an exporting thread waits for a value before it looks at its publisher again.
const STEP: Duration = Duration::from_millis(100);

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

struct Exported {
    schema: Arc<TopicSchema>,
    last: Last,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// The exporting side of a bridge.
pub(crate) struct Exporter {
    session: zenoh::Session,
    prefix: String,
    root: PathBuf,
    patterns: Vec<Pattern>,
    rates: Vec<Rate>,
    topics: Arc<Mutex<HashMap<String, Exported>>>,
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
        let topics: Arc<Mutex<HashMap<String, Exported>>> = Arc::default();
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
        Ok(Exporter {
            session,
            prefix: prefix.to_owned(),
            root,
            patterns,
            rates,
            topics,
            _schemas: schemas,
            _values: values,
        })
    }

    /// Looks at the root once: starts exporting new matching topics, restarts those whose type
    /// changed, and reaps threads that ended.
    pub(crate) fn scan(&self) {
        if self.patterns.is_empty() {
            return;
        }
        let entries = match inspect::list(Some(&self.root)) {
            Ok(entries) => entries,
            Err(e) => {
                log(format_args!("cannot list {}: {e}", self.root.display()));
                return;
            }
        };
        let mut topics = lock(&self.topics);
        topics.retain(|_, e| !e.thread.is_finished());
        for entry in entries {
            let Entry::Topic(info) = entry else {
                continue;
            };
            // What a bridge imported is never exported again (no loops between bridges, even
            // after a restart: the file still names the bridge as its publisher).
            if info.publisher.process_name == BRIDGE_NAME {
                continue;
            }
            if !self.patterns.iter().any(|p| p.matches(&info.topic)) {
                continue;
            }
            if let Some(e) = topics.get(&info.topic) {
                if e.schema.hash() == info.schema.hash() {
                    continue;
                }
                e.stop.store(true, Ordering::Relaxed);
            }
            let stop = Arc::new(AtomicBool::new(false));
            let last: Last = Arc::default();
            let job = Job {
                last: Arc::clone(&last),
                session: self.session.clone(),
                key: format!("{}/{}", self.prefix, topic_key(&info.topic)),
                alive_key: format!("{}/@alive/{}", self.prefix, topic_key(&info.topic)),
                topic: info.topic.clone(),
                root: self.root.clone(),
                schema: info.schema.clone(),
                period: rate_of(&self.rates, &info.topic)
                    .map(|hz| Duration::from_secs_f64(1.0 / hz)),
                stop: Arc::clone(&stop),
            };
            log(format_args!(
                "exporting '{}' ({}) as {}",
                info.topic,
                info.schema.type_name(),
                job.key
            ));
            let thread = std::thread::spawn(move || job.run());
            topics.insert(
                info.topic.clone(),
                Exported {
                    schema: info.schema.clone(),
                    last,
                    stop,
                    thread,
                },
            );
        }
    }

    /// Stops every exporting thread (their liveliness tokens go with them).
    pub(crate) fn stop(&self) {
        let topics = std::mem::take(&mut *lock(&self.topics));
        for e in topics.values() {
            e.stop.store(true, Ordering::Relaxed);
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
    period: Option<Duration>,
    stop: Arc<AtomicBool>,
}

impl Job {
    fn run(self) {
        if let Err(e) = self.export() {
            log(format_args!("stopped exporting '{}': {e}", self.topic));
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
        let mut pending: Option<RawSample> = sub.latest().map_err(|e| e.to_string())?;
        while !self.stop.load(Ordering::Relaxed) {
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
                let header = Header {
                    hash: sample.schema.hash(),
                    seq: sample.seq,
                    published_ns: sample.published.as_nanos(),
                    missed: sample.missed,
                };
                *lock(&self.last) = Some((sample.bytes.clone(), header));
                publisher
                    .put(sample.bytes)
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
fn wait_value(sub: &mut AnySubscriber, step: Duration) -> Result<Option<RawSample>, String> {
    let mut wait = Wait::for_next(Some(step));
    loop {
        match sub.wait_step(&mut wait) {
            Ok(WaitStep::Ready(s)) => return Ok(Some(s.value)),
            Ok(WaitStep::Block(sleeper)) => sleeper.block(),
            Err(RecvError::Timeout { .. } | RecvError::PublisherGone { .. }) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        }
    }
}
