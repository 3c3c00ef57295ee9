//! Replay: each channel of a recording republished to its topic with the recorded timing.
//!
//! A message is placed at its publish time (its log time when the writer left that 0); values
//! published before the recording started (what the rings held when it began) are placed at its
//! start. Messages are played in time order: the file's order is the order the recorder read
//! them, so a reorder window of [`REORDER`] of log time sorts what different topics interleave.
//! Every channel, its topic and its type are checked before the first value is published: a
//! topic that exists with another type, or has a live publisher, refuses the whole replay.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shm::dynamic::{AnyPublisher, TopicSchema};
use shm::{InspectError, TopicName, TopicPattern, inspect};

use crate::bag::{self, BagError, BagInfo, Event, shown};
use crate::cdr;

/// How far (in log time) messages are held to be put in publish-time order.
pub const REORDER: Duration = Duration::from_millis(100);

/// At most this many bytes of messages, or this many messages, are held for reordering; past
/// either the earliest is played.
const REORDER_BYTES: usize = 64 << 20;
const REORDER_MESSAGES: usize = 100_000;

/// A value may be at most this many times larger than the largest message of its channel, past
/// 64 MiB (a bounded type's capacity may exceed what its messages use, but a file of a few bytes
/// may not make topics of gigabytes).
const GROWTH: u64 = 16;

fn too_large(size: u64, largest_message: u64) -> bool {
    size > 64 << 20 && size > largest_message.saturating_mul(GROWTH)
}

/// The ring of a played topic: the recorded size (else the default), within what shm allows
/// and at most 1 GiB of slots; `None` when even the fewest slots allowed take more.
fn ring_size(recorded: Option<usize>, value_size: usize) -> Option<usize> {
    let fit = (1usize << 30) / value_size.max(1);
    if fit < shm::MIN_BUFFER_NUM {
        return None;
    }
    let n = recorded.unwrap_or(shm::DEFAULT_BUFFER_NUM);
    Some(n.clamp(shm::MIN_BUFFER_NUM, shm::MAX_BUFFER_NUM).min(fit))
}

/// How a recording is played.
#[derive(Debug, Clone)]
pub struct PlayOptions {
    /// Directory of the topic files (`None`: `$SHM_ROOT`, else `/dev/shm`).
    pub root: Option<PathBuf>,
    /// Speed: 2.0 plays twice as fast (default 1.0).
    pub rate: f64,
    /// Start this far into the recording (default 0).
    pub start: Duration,
    /// Play this much of it (default: to the end).
    pub duration: Option<Duration>,
    /// Play only the topics matching one of these (names or globs; empty: every topic).
    pub topics: Vec<String>,
    /// Play a topic as another: `(from, to)`, exact topic names.
    pub remap: Vec<(String, String)>,
}

impl Default for PlayOptions {
    fn default() -> Self {
        PlayOptions {
            root: None,
            rate: 1.0,
            start: Duration::ZERO,
            duration: None,
            topics: Vec::new(),
            remap: Vec::new(),
        }
    }
}

/// Why a replay cannot start or go on.
#[derive(Debug)]
pub enum PlayError {
    /// A file cannot be read, or is damaged.
    Bag(BagError),
    /// An option is not valid.
    Option(String),
    /// Nothing was published: a topic exists with another type (the fields that differ are
    /// named), has a live publisher, or cannot be looked at. One line per topic.
    Refused(Vec<String>),
    /// No channel of the files can be played (each line says why).
    NothingToPlay(Vec<String>),
    /// Publishing failed (the topic was taken over, a disk error).
    Publish {
        /// The topic.
        topic: String,
        /// What failed.
        error: String,
    },
}

impl fmt::Display for PlayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlayError::Bag(e) => e.fmt(f),
            PlayError::Option(e) => f.write_str(e),
            PlayError::Refused(lines) => {
                write!(f, "nothing was played: {}", lines.join("; "))
            }
            PlayError::NothingToPlay(lines) if lines.is_empty() => {
                f.write_str("nothing to play: no channel (or none in the topics asked for)")
            }
            PlayError::NothingToPlay(lines) => {
                write!(f, "nothing to play: {}", lines.join("; "))
            }
            PlayError::Publish { topic, error } => {
                write!(f, "cannot publish '{topic}': {error}")
            }
        }
    }
}

impl std::error::Error for PlayError {}

impl From<BagError> for PlayError {
    fn from(e: BagError) -> Self {
        PlayError::Bag(e)
    }
}

/// What one pass of a replay did.
#[derive(Debug, Clone, Default)]
pub struct PlayStats {
    /// Messages published.
    pub messages: u64,
    /// Messages not published because their CDR is not a value of their type (each also a
    /// note).
    pub bad: u64,
    /// How late each message was published against its recorded time (scaled by the rate),
    /// median, 99th percentile and most.
    pub lateness_p50: Duration,
    /// See [`lateness_p50`](Self::lateness_p50).
    pub lateness_p99: Duration,
    /// See [`lateness_p50`](Self::lateness_p50).
    pub lateness_max: Duration,
    /// Whether the pass was stopped before its end.
    pub stopped: bool,
}

/// A topic being played.
struct Output {
    /// The recorded topic it plays.
    origin: String,
    topic: String,
    /// The type its publisher has (a recording whose topic changed type changes it too).
    schema: Arc<TopicSchema>,
    buffer_num: Option<usize>,
    publisher: Option<AnyPublisher>,
}

/// A channel played: which output, as which type.
struct Route {
    /// Its messages are placed at their log times ([`bag::ChannelInfo::log_clock`]).
    log_clock: bool,
    output: usize,
    schema: Arc<TopicSchema>,
    buffer_num: Option<usize>,
}

/// A message waiting to be played.
struct Pending {
    time: u64,
    order: u64,
    route: usize,
    data: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.order) == (other.time, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, self.order).cmp(&(other.time, other.order))
    }
}

/// A recording ready to be played: its files read through, every channel mapped and checked,
/// its topics' publishers made (nothing published yet).
pub struct Player {
    paths: Vec<PathBuf>,
    info: BagInfo,
    options: PlayOptions,
    outputs: Vec<Output>,
    routes: Vec<Route>,
    /// (file, channel id) → route.
    channels: BTreeMap<(usize, u16), usize>,
    notes: Vec<String>,
    buf: Vec<u8>,
}

impl Player {
    /// Reads the files of a recording (one, or the parts of a split one, in order) and gets
    /// ready to play them: checks the options, maps each channel to a topic and a type (notes
    /// say which are skipped, and why), refuses the replay if a topic exists with another type
    /// or has a live publisher (nothing is published then), and creates the publishers.
    pub fn open(paths: &[PathBuf], options: PlayOptions) -> Result<Player, PlayError> {
        if !(options.rate.is_finite() && options.rate > 0.0) {
            return Err(PlayError::Option(format!(
                "a rate of {}: give a speed above 0 (1.0 is as recorded)",
                options.rate
            )));
        }
        let patterns = options
            .topics
            .iter()
            .map(|p| TopicPattern::new(p).map_err(PlayError::Option))
            .collect::<Result<Vec<_>, _>>()?;
        for (from, to) in &options.remap {
            for name in [from, to] {
                TopicName::new(name).map_err(|e| {
                    PlayError::Option(format!("--remap {from}={to}: '{}': {e}", shown(name)))
                })?;
            }
        }
        let info = bag::scan(paths)?;
        let mut player = Player {
            paths: paths.to_vec(),
            info,
            options,
            outputs: Vec::new(),
            routes: Vec::new(),
            channels: BTreeMap::new(),
            notes: Vec::new(),
            buf: Vec::new(),
        };
        if let Some(start) = player.options.start.checked_sub(Duration::from_nanos(
            player.info.end.saturating_sub(player.info.start),
        )) && !start.is_zero()
        {
            return Err(PlayError::Option(format!(
                "--start {:.3}: the recording is {:.3} s long",
                player.options.start.as_secs_f64(),
                player.info.duration_secs()
            )));
        }
        // The largest message of each topic and type, over every file.
        let mut largest: HashMap<(String, u64), u64> = HashMap::new();
        for c in &player.info.channels {
            if let Ok(t) = &c.target {
                let l = largest
                    .entry((t.topic.clone(), t.schema.hash()))
                    .or_default();
                *l = (*l).max(c.largest);
            }
        }
        let mut skipped = Vec::new();
        let mut selected = std::collections::HashSet::new();
        let mut by_topic: HashMap<String, usize> = HashMap::new();
        for channel in &player.info.channels {
            let most = |t: &bag::Target| largest[&(t.topic.clone(), t.schema.hash())];
            let target = match &channel.target {
                Ok(t) if ring_size(t.buffer_num, t.schema.size()).is_none() => {
                    skipped.push(format!(
                        "channel '{}' ({}): values of {} bytes: a ring of them would take more \
                         than 1 GiB",
                        shown(&channel.channel_topic),
                        shown(&channel.schema_name),
                        t.schema.size()
                    ));
                    continue;
                }
                Ok(t) if too_large(t.schema.size() as u64, most(t)) => {
                    skipped.push(format!(
                        "channel '{}' ({}): its type holds {} bytes per value and its largest \
                         message is {} bytes; a recording may not make topics {}x larger than \
                         what it holds",
                        shown(&channel.channel_topic),
                        shown(&channel.schema_name),
                        t.schema.size(),
                        most(t),
                        GROWTH
                    ));
                    continue;
                }
                Ok(t) => t,
                Err(why) => {
                    skipped.push(format!(
                        "channel '{}' ({}): {why}",
                        shown(&channel.channel_topic),
                        shown(&channel.schema_name)
                    ));
                    continue;
                }
            };
            if !patterns.is_empty() && !patterns.iter().any(|p| p.matches(&target.topic)) {
                continue;
            }
            selected.insert(target.topic.clone());
            if !target.exact {
                player.notes.push(format!(
                    "playing channel '{}' ({}) as '{}' of type {}",
                    shown(&channel.channel_topic),
                    shown(&channel.schema_name),
                    target.topic,
                    target.schema.desc().type_name()
                ));
            }
            let topic = player
                .options
                .remap
                .iter()
                .find(|(from, _)| *from == target.topic)
                .map_or(target.topic.clone(), |(_, to)| to.clone());
            let buffer_num = ring_size(target.buffer_num, target.schema.size());
            let output = match by_topic.get(&topic) {
                Some(&i) if player.outputs[i].origin != target.topic => {
                    return Err(PlayError::Option(format!(
                        "--remap: '{}' and '{}' would both be played as '{topic}'",
                        player.outputs[i].origin, target.topic
                    )));
                }
                Some(&i) => i,
                None => {
                    player.outputs.push(Output {
                        origin: target.topic.clone(),
                        topic: topic.clone(),
                        schema: Arc::clone(&target.schema),
                        buffer_num,
                        publisher: None,
                    });
                    by_topic.insert(topic, player.outputs.len() - 1);
                    player.outputs.len() - 1
                }
            };
            player.routes.push(Route {
                output,
                schema: Arc::clone(&target.schema),
                buffer_num,
                log_clock: channel.log_clock,
            });
            player
                .channels
                .insert((channel.file, channel.id), player.routes.len() - 1);
        }
        for (from, _) in &player.options.remap {
            if !selected.contains(from) {
                player.notes.push(format!(
                    "--remap {from}=...: no channel of '{from}' to play"
                ));
            }
        }
        if player.outputs.is_empty() {
            return Err(PlayError::NothingToPlay(skipped));
        }
        for line in skipped {
            player.notes.push(format!("skipping {line}"));
        }
        let mut files: Vec<&bag::FileInfo> = player.info.files.iter().collect();
        files.sort_by_key(|f| f.start);
        for pair in files.windows(2) {
            if pair[1].start < pair[0].end {
                player.notes.push(format!(
                    "{} and {} overlap in time: they are played one after the other (give the \
                     parts of one split recording)",
                    pair[0].path.display(),
                    pair[1].path.display()
                ));
            }
        }
        player.check_topics()?;
        for i in 0..player.outputs.len() {
            player.create(i)?;
        }
        Ok(player)
    }

    /// What the files hold.
    pub fn info(&self) -> &BagInfo {
        &self.info
    }

    /// The topics played, in the order first met.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.outputs.iter().map(|o| o.topic.as_str())
    }

    /// What happened that the caller may want to say (channels skipped or mapped, messages
    /// that could not be decoded), since the last call.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Refuses the replay, before anything is published, if a topic to be played exists with
    /// another type or has a live publisher.
    fn check_topics(&self) -> Result<(), PlayError> {
        let mut refused = Vec::new();
        for output in &self.outputs {
            match inspect::inspect(self.options.root.as_deref(), &output.topic) {
                Ok(info) if info.publisher_alive => refused.push(format!(
                    "'{}' has a live publisher (pid {}); stop it, or play onto another name \
                     with --remap {}=NEW",
                    output.topic, info.publisher.pid, output.topic
                )),
                Ok(info) if info.schema.hash() != output.schema.hash() => {
                    let differences = info.schema.desc().differences(output.schema.desc());
                    refused.push(format!(
                        "'{}' carries {} and the recording {} ({}); remove the topic (shm rm \
                         {}) or play onto another name with --remap",
                        output.topic,
                        info.schema.desc().type_name(),
                        output.schema.desc().type_name(),
                        differences
                            .iter()
                            .take(8)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                        output.topic
                    ))
                }
                Ok(_) | Err(InspectError::Missing { .. }) => {}
                Err(e) => refused.push(format!("'{}': {e}", output.topic)),
            }
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(PlayError::Refused(refused))
        }
    }

    /// Makes output `i`'s publisher, of its current type.
    fn create(&mut self, i: usize) -> Result<(), PlayError> {
        let output = &mut self.outputs[i];
        output.publisher = None;
        let mut builder = AnyPublisher::builder(&output.topic, Arc::clone(&output.schema));
        if let Some(root) = &self.options.root {
            builder = builder.root(root);
        }
        if let Some(n) = output.buffer_num {
            builder = builder.buffer_num(n);
        }
        let publisher = builder.create().map_err(|e| PlayError::Publish {
            topic: output.topic.clone(),
            error: e.to_string(),
        })?;
        output.publisher = Some(publisher);
        Ok(())
    }

    /// Plays the recording once (the part the options select), with its timing, until its end
    /// or until `stop()` says so (asked at least every 50 ms).
    pub fn play(&mut self, stop: &dyn Fn() -> bool) -> Result<PlayStats, PlayError> {
        let base = self.info.start;
        let from = base.saturating_add(duration_ns(self.options.start));
        let until = self
            .options
            .duration
            .map_or(u64::MAX, |d| from.saturating_add(duration_ns(d)));
        let mut pass = Pass::new(from, self.options.rate);
        let paths = self.paths.clone();
        // Parts of a split recording in their time order, whatever order they were given in
        // (a shell sorts `run_10` before `run_2`).
        let mut order: Vec<usize> = (0..paths.len()).collect();
        order.sort_by_key(|&i| self.info.files[i].start);
        let past = until.saturating_add(duration_ns(REORDER));
        let mut ended = false;
        for file in order {
            let path = &paths[file];
            let result = bag::read(path, |event| -> Result<bool, PlayError> {
                let Event::Message {
                    channel,
                    log_time,
                    publish_time,
                    data,
                    ..
                } = event
                else {
                    return Ok(true);
                };
                let Some(&route) = self.channels.get(&(file, channel)) else {
                    return Ok(true);
                };
                let r = &self.routes[route];
                let time = bag::placed_at(r.log_clock, log_time, publish_time).max(base);
                pass.newest_log = pass.newest_log.max(log_time);
                if log_time > past {
                    // Read past the end of the part asked for.
                    ended = true;
                    return Ok(false);
                }
                if time < from || time > until {
                    if stop() {
                        pass.stats.stopped = true;
                        return Ok(false);
                    }
                    return Ok(true);
                }
                pass.began.get_or_insert_with(Instant::now);
                pass.order += 1;
                pass.held += data.len();
                pass.heap.push(Reverse(Pending {
                    time,
                    order: pass.order,
                    route,
                    data: data.to_vec(),
                }));
                self.play_ready(&mut pass, stop, false)
            })?;
            result?;
            if pass.stats.stopped || ended {
                break;
            }
        }
        if !pass.stats.stopped {
            self.play_ready(&mut pass, stop, true)?;
        }
        Ok(pass.finish())
    }

    /// Plays the held messages that are due to be: all of them at the end, else those no later
    /// message can come before. Returns whether to go on.
    fn play_ready(
        &mut self,
        pass: &mut Pass,
        stop: &dyn Fn() -> bool,
        all: bool,
    ) -> Result<bool, PlayError> {
        let window = duration_ns(REORDER);
        while let Some(Reverse(first)) = pass.heap.peek() {
            let ready = all
                || first.time.saturating_add(window) < pass.newest_log
                || pass.held > REORDER_BYTES
                || pass.heap.len() > REORDER_MESSAGES;
            if !ready {
                break;
            }
            let Some(Reverse(message)) = pass.heap.pop() else {
                break;
            };
            pass.held -= message.data.len();
            let due = pass.due(message.time);
            if !sleep_until(due, stop) {
                pass.stats.stopped = true;
                return Ok(false);
            }
            if self.publish(&message)? {
                pass.stats.messages += 1;
            } else {
                pass.stats.bad += 1;
            }
            pass.lateness
                .add(Instant::now().saturating_duration_since(due));
        }
        Ok(true)
    }

    /// Publishes a message; false if it is not a value of its type (a note says so).
    fn publish(&mut self, message: &Pending) -> Result<bool, PlayError> {
        let route = &self.routes[message.route];
        let (index, schema, buffer_num) =
            (route.output, Arc::clone(&route.schema), route.buffer_num);
        if self.outputs[index].schema.hash() != schema.hash() {
            // The recorded topic changed type here: so does the replayed one.
            self.outputs[index].schema = Arc::clone(&schema);
            self.outputs[index].buffer_num = buffer_num;
            self.create(index)?;
        }
        let output = &mut self.outputs[index];
        if let Err(e) = cdr::decode_into(&schema, &message.data, &mut self.buf) {
            self.notes.push(format!(
                "a message of '{}' is not a value of its type ({e}): skipped",
                output.topic
            ));
            return Ok(false);
        }
        let Some(publisher) = output.publisher.as_mut() else {
            return Ok(false);
        };
        publisher
            .publish(&self.buf)
            .map(|_| true)
            .map_err(|e| PlayError::Publish {
                topic: output.topic.clone(),
                error: e.to_string(),
            })
    }
}

/// One pass over the files.
struct Pass {
    /// When the first message of the window was read: its time is `from` scaled from here.
    began: Option<Instant>,
    from: u64,
    rate: f64,
    heap: BinaryHeap<Reverse<Pending>>,
    held: usize,
    order: u64,
    newest_log: u64,
    lateness: Lateness,
    stats: PlayStats,
}

impl Pass {
    /// A pass over the messages from `from` on, at `rate`, its clock not started yet.
    fn new(from: u64, rate: f64) -> Pass {
        Pass {
            began: None,
            from,
            rate,
            heap: BinaryHeap::new(),
            held: 0,
            order: 0,
            newest_log: 0,
            lateness: Lateness::default(),
            stats: PlayStats::default(),
        }
    }

    /// When a message placed at `time` (not before `from`) is due: its distance from `from`,
    /// scaled by the rate, after the pass began (a time past any clock's range: a century).
    fn due(&self, time: u64) -> Instant {
        let began = self.began.unwrap_or_else(Instant::now);
        let secs = time.saturating_sub(self.from) as f64 / 1e9 / self.rate;
        let far = Duration::from_secs(100 * 365 * 86_400);
        let offset = Duration::try_from_secs_f64(secs).map_or(far, |d| d.min(far));
        began.checked_add(offset).unwrap_or(began)
    }

    fn finish(mut self) -> PlayStats {
        self.stats.lateness_p50 = self.lateness.quantile(0.5);
        self.stats.lateness_p99 = self.lateness.quantile(0.99);
        self.stats.lateness_max = self.lateness.most;
        self.stats
    }
}

/// How late messages were: counts by µs up to 10 ms, by ms up to 10 s, and the most (memory
/// of a fixed size, however long the recording).
struct Lateness {
    counts: Vec<u64>,
    n: u64,
    most: Duration,
}

const FINE: usize = 10_000;

impl Default for Lateness {
    fn default() -> Self {
        Lateness {
            counts: vec![0; 2 * FINE + 1],
            n: 0,
            most: Duration::ZERO,
        }
    }
}

impl Lateness {
    fn add(&mut self, late: Duration) {
        let us = usize::try_from(late.as_micros()).unwrap_or(usize::MAX);
        let bucket = if us < FINE {
            us
        } else {
            FINE.saturating_add(us / 1000).min(2 * FINE)
        };
        self.counts[bucket] += 1;
        self.n += 1;
        self.most = self.most.max(late);
    }

    /// The `q` quantile (0 to 1), to its bucket's width.
    fn quantile(&self, q: f64) -> Duration {
        if self.n == 0 {
            return Duration::ZERO;
        }
        let rank = ((self.n - 1) as f64 * q).round() as u64 + 1;
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let us = if bucket < FINE {
                    bucket
                } else {
                    (bucket - FINE) * 1000
                };
                return Duration::from_micros(us as u64).min(self.most);
            }
        }
        self.most
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Sleeps until `due`, asking `stop` at least every 50 ms; false if it said stop.
fn sleep_until(due: Instant, stop: &dyn Fn() -> bool) -> bool {
    loop {
        if stop() {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        std::thread::sleep((due - now).min(Duration::from_millis(50)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_quantiles_come_from_fixed_buckets() {
        let mut l = Lateness::default();
        assert_eq!(l.quantile(0.5), Duration::ZERO);
        for us in 1..=100 {
            l.add(Duration::from_micros(us));
        }
        l.add(Duration::from_millis(2500));
        l.add(Duration::from_secs(1_000_000));
        assert_eq!(l.quantile(0.5), Duration::from_micros(52));
        assert_eq!(l.quantile(0.99), Duration::from_millis(2500));
        assert_eq!(l.most, Duration::from_secs(1_000_000));
        assert_eq!(l.quantile(1.0), Duration::from_secs(10)); // the last bucket: 10 s or more
    }

    #[test]
    fn a_time_beyond_any_clock_is_due_in_a_century_not_a_panic() {
        let began = Instant::now();
        let mut pass = Pass::new(0, 1e-300);
        pass.began = Some(began);
        let due = pass.due(u64::MAX);
        assert!(due > began + Duration::from_secs(86_400 * 365 * 99));
        assert_eq!(pass.due(0), began);
    }
}
