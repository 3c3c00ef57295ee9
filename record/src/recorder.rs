//! Records topics into an MCAP file: each topic a channel with its ROS 2 message definition
//! ([`ros2msg`]) and CDR messages ([`cdr`]), its exact shm schema in
//! the channel's metadata; every value the ring still holds when it is read, each with its
//! publish time, the time it was read and its sequence number.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shm::dynamic::{AnySubscriber, RawValue, TopicSchema};
use shm::inspect::{self, Entry};
use shm::{Sample, TopicPattern, Uid};

use crate::{cdr, ros2msg};

/// Metadata keys of a channel recorded by shm.
pub mod meta {
    /// The shm topic name.
    pub const TOPIC: &str = "shm.topic";
    /// The topic's schema, its canonical encoding (`docs/FORMAT.md`) in hexadecimal.
    pub const SCHEMA: &str = "shm.schema";
    /// The schema's hash, `0x` and 16 hexadecimal digits.
    pub const SCHEMA_HASH: &str = "shm.schema_hash";
    /// The topic's slots (`buffer_num`) when it was recorded, in decimal: replay makes the
    /// same ring.
    pub const BUFFER_NUM: &str = "shm.buffer_num";
}

/// How chunks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard (level 3, as rosbag2's and the MCAP CLI's default).
    Zstd,
    /// LZ4 frames (faster, larger).
    Lz4,
}

impl Compression {
    fn mcap(self) -> mcap::Compression {
        match self {
            Compression::Zstd => mcap::Compression::Zstd,
            Compression::Lz4 => mcap::Compression::Lz4,
        }
    }
}

/// How a recording is made.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Directory of the topic files (`None`: `$SHM_ROOT`, else `/dev/shm`).
    pub root: Option<PathBuf>,
    /// Bytes of messages per chunk before it is compressed and written (default 1 MiB).
    pub chunk_size: u64,
    /// How often the chunk being filled is closed and written out, so that a recorder killed
    /// loses at most this much (default 1 s).
    pub flush_every: Duration,
    /// How often the topic directory is looked at for new matching topics (default 200 ms).
    pub scan_every: Duration,
    /// How chunks are compressed (default: not).
    pub compression: Option<Compression>,
    /// Start a new file once this one holds this many bytes (at the next chunk's end, so a
    /// file may hold one chunk more). With a split, `run.mcap` is written as `run_0.mcap`,
    /// `run_1.mcap` … (as rosbag2 names its parts).
    pub split_size: Option<u64>,
    /// Start a new file after this long.
    pub split_duration: Option<Duration>,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            root: None,
            chunk_size: 1 << 20,
            flush_every: Duration::from_secs(1),
            scan_every: Duration::from_millis(200),
            compression: None,
            split_size: None,
            split_duration: None,
        }
    }
}

/// What a recording holds so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Topics recorded.
    pub topics: usize,
    /// Messages written.
    pub messages: u64,
    /// Bytes of CDR written.
    pub bytes: u64,
    /// Values published that the recorder never read (it read too late: the ring had moved on).
    pub missed: u64,
    /// Files written (more than one when split).
    pub files: usize,
}

/// Why a recording failed.
#[derive(Debug)]
pub enum RecordError {
    /// A topic pattern is not valid.
    Pattern(String),
    /// The output file cannot be made (or exists already).
    Create(PathBuf, std::io::Error),
    /// Writing the file failed.
    Write(mcap::McapError),
    /// The topic directory cannot be listed.
    List(PathBuf, std::io::Error),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Pattern(e) => write!(f, "{e}"),
            RecordError::Create(path, e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                write!(
                    f,
                    "{} exists already: choose another name, or remove it",
                    path.display()
                )
            }
            RecordError::Create(path, e) => write!(f, "cannot create {}: {e}", path.display()),
            RecordError::Write(e) => write!(f, "cannot write the recording: {e}"),
            RecordError::List(root, e) => write!(f, "cannot list {}: {e}", root.display()),
        }
    }
}

impl std::error::Error for RecordError {}

impl From<mcap::McapError> for RecordError {
    fn from(e: mcap::McapError) -> Self {
        RecordError::Write(e)
    }
}

/// One recorded topic.
struct Channel {
    sub: AnySubscriber,
    /// Its channel in the file being written.
    id: u16,
    schema: Arc<TopicSchema>,
    /// What each file's channel is made of.
    definition: ros2msg::Definition,
    metadata: BTreeMap<String, String>,
}

type McapWriter = mcap::Writer<BufWriter<File>>;

/// A recording in progress; [`finish`](Recorder::finish) writes its index and summary.
pub struct Recorder {
    writer: McapWriter,
    /// The file being written (its size is looked at for a split).
    file: File,
    /// The files written, the last the one being written.
    paths: Vec<PathBuf>,
    /// The path given (parts are named after it).
    path: PathBuf,
    file_started: Instant,
    next_size_check: Instant,
    patterns: Vec<TopicPattern>,
    root: PathBuf,
    options: RecordOptions,
    channels: BTreeMap<String, Channel>,
    /// Topics that could not be recorded (no ROS 2 form, unreadable), by schema hash: not
    /// tried again until their type changes.
    skipped: HashMap<String, u64>,
    stats: Stats,
    next_scan: Instant,
    next_flush: Instant,
    /// Unix time minus monotonic time, ns: publish times are monotonic, MCAP's are Unix.
    clock_offset: i128,
    batch: Vec<Sample<RawValue>>,
    buf: Vec<u8>,
    notes: Vec<String>,
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Recorder {
    /// Starts recording every topic matching one of `patterns` (globs: `robot/*`, `robot/**`)
    /// into a new file at `path` (an existing file is refused).
    pub fn create(
        path: &Path,
        patterns: &[&str],
        options: RecordOptions,
    ) -> Result<Recorder, RecordError> {
        let patterns = patterns
            .iter()
            .map(|p| TopicPattern::new(p).map_err(RecordError::Pattern))
            .collect::<Result<Vec<_>, _>>()?;
        let split = options.split_size.is_some() || options.split_duration.is_some();
        let first = if split {
            // Parts of an earlier recording would stop this one at its first split.
            if let Some(old) = (0..1000).map(|n| part_path(path, n)).find(|p| p.exists()) {
                return Err(RecordError::Create(
                    old,
                    std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                ));
            }
            part_path(path, 0)
        } else {
            path.to_owned()
        };
        let (writer, file) = open_writer(&first, &options)?;
        let now = Instant::now();
        let clock_offset = i128::from(unix_ns()) - i128::from(shm::Timestamp::now().as_nanos());
        let mut recorder = Recorder {
            writer,
            file,
            paths: vec![first],
            path: path.to_owned(),
            file_started: now,
            next_size_check: now,
            patterns,
            root: options.root.clone().unwrap_or_else(shm::default_root),
            channels: BTreeMap::new(),
            skipped: HashMap::new(),
            stats: Stats::default(),
            next_scan: now,
            next_flush: now + options.flush_every,
            clock_offset,
            batch: Vec::new(),
            buf: Vec::new(),
            notes: Vec::new(),
            options,
        };
        recorder.scan()?;
        Ok(recorder)
    }

    /// What the recording holds so far.
    pub fn stats(&self) -> Stats {
        Stats {
            files: self.paths.len(),
            ..self.stats
        }
    }

    /// The files written so far, the last the one being written.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The topics recorded so far.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.channels.keys().map(String::as_str)
    }

    /// What happened that the caller may want to say (a topic skipped, and why), since the
    /// last call.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Looks for new matching topics (when due), reads every new value of every recorded topic
    /// and writes it; closes the chunk being filled when due. Returns how many messages it
    /// wrote. Never waits.
    pub fn poll(&mut self) -> Result<u64, RecordError> {
        let written = self.read_all()?;
        if self.split_due(Instant::now(), written)? {
            self.next_part()?;
        }
        Ok(written)
    }

    /// [`poll`](Self::poll) without starting a new part.
    fn read_all(&mut self) -> Result<u64, RecordError> {
        let now = Instant::now();
        if now >= self.next_scan {
            self.scan()?;
        }
        let mut written = 0;
        let mut failed = Vec::new();
        for (topic, channel) in &mut self.channels {
            self.batch.clear();
            // A topic that cannot be read now (its file replaced by another type, damaged) is
            // dropped; the next scan records it again, as a new channel of its new type.
            if let Err(e) = channel.sub.try_recv_all_into(&mut self.batch) {
                failed.push((topic.clone(), e.to_string()));
                continue;
            }
            let log_time = unix_ns();
            for sample in self.batch.drain(..) {
                cdr::encode_into(&channel.schema, &sample.value.bytes, &mut self.buf);
                let published = i128::from(sample.published.as_nanos()) + self.clock_offset;
                let header = mcap::records::MessageHeader {
                    channel_id: channel.id,
                    sequence: sample.seq as u32,
                    log_time,
                    publish_time: u64::try_from(published.max(0)).unwrap_or(u64::MAX),
                };
                self.writer.write_to_known_channel(&header, &self.buf)?;
                self.stats.messages += 1;
                self.stats.bytes += self.buf.len() as u64;
                self.stats.missed += sample.missed;
                written += 1;
            }
        }
        for (topic, why) in failed {
            self.channels.remove(&topic);
            self.notes.push(format!(
                "stopped recording '{topic}' ({why}); looking for it again"
            ));
        }
        if now >= self.next_flush {
            self.writer.flush()?;
            self.next_flush = now + self.options.flush_every;
        }
        Ok(written)
    }

    /// Writes the rest, the indexes and the summary; the file is complete (no new part is
    /// started: [`paths`](Self::paths) before `finish` are all the files).
    pub fn finish(mut self) -> Result<Stats, RecordError> {
        self.read_all()?;
        self.writer.finish()?;
        Ok(self.stats())
    }

    /// Whether the file being written is due to be closed for the next part.
    fn split_due(&mut self, now: Instant, written: u64) -> Result<bool, RecordError> {
        if let Some(d) = self.options.split_duration
            && now.duration_since(self.file_started) >= d
        {
            return Ok(true);
        }
        let Some(limit) = self.options.split_size else {
            return Ok(false);
        };
        // The file grows a chunk at a time: its size is looked at most every 20 ms.
        if written == 0 || now < self.next_size_check {
            return Ok(false);
        }
        self.next_size_check = now + Duration::from_millis(20);
        let size = self
            .file
            .metadata()
            .map_err(|e| RecordError::Create(self.paths[self.paths.len() - 1].clone(), e))?
            .len();
        Ok(size >= limit)
    }

    /// Goes on in the next part, with every channel, and finishes the file written so far.
    fn next_part(&mut self) -> Result<(), RecordError> {
        let path = part_path(&self.path, self.paths.len());
        let (mut writer, file) = open_writer(&path, &self.options)?;
        // Every channel in the new file first: a failure leaves the recording as it was.
        let mut ids = Vec::with_capacity(self.channels.len());
        for channel in self.channels.values() {
            match add_channel(&mut writer, &channel.definition, &channel.metadata) {
                Ok(id) => ids.push(id),
                Err(e) => {
                    drop(writer);
                    let _ = std::fs::remove_file(&path);
                    return Err(e.into());
                }
            }
        }
        for (channel, id) in self.channels.values_mut().zip(ids) {
            channel.id = id;
        }
        let mut done = std::mem::replace(&mut self.writer, writer);
        self.file = file;
        self.paths.push(path);
        self.file_started = Instant::now();
        done.finish()?;
        Ok(())
    }

    /// Starts recording the matching topics not recorded yet.
    fn scan(&mut self) -> Result<(), RecordError> {
        self.next_scan = Instant::now() + self.options.scan_every;
        let patterns = self.patterns.clone();
        let entries = inspect::list(Some(&self.root))
            .map_err(|e| RecordError::List(self.root.clone(), e))?
            .topics_where(move |t| patterns.iter().any(|p| p.matches(t)));
        let me = Uid::current();
        for entry in entries {
            let Entry::Topic(info) = entry else {
                continue;
            };
            // Only this user's files are trusted (as a subscriber trusts them).
            if info.owner.uid != me || self.channels.contains_key(&info.topic) {
                continue;
            }
            if self.skipped.get(&info.topic) == Some(&info.schema.hash()) {
                continue;
            }
            match self.start(&info.topic, &info.schema, info.slots) {
                Ok(()) => {}
                // No ROS 2 form: not tried again until its type changes.
                Err(Start::Unmappable(why)) => {
                    self.notes
                        .push(format!("not recording '{}': {why}", info.topic));
                    self.skipped.insert(info.topic.clone(), info.schema.hash());
                }
                // Perhaps passing (a file being replaced): tried again at the next scan.
                Err(Start::Failed) => {}
            }
        }
        self.stats.topics = self.channels.len();
        Ok(())
    }

    fn start(&mut self, topic: &str, schema: &Arc<TopicSchema>, slots: u32) -> Result<(), Start> {
        let definition =
            ros2msg::definition(schema.desc()).map_err(|e| Start::Unmappable(e.to_string()))?;
        let sub = AnySubscriber::builder(topic)
            .root(&self.root)
            .expect(Arc::clone(schema))
            .open()
            .map_err(|_| Start::Failed)?;
        let metadata = BTreeMap::from([
            (meta::BUFFER_NUM.to_owned(), slots.to_string()),
            (meta::TOPIC.to_owned(), topic.to_owned()),
            (meta::SCHEMA.to_owned(), hex(schema.encoding())),
            (
                meta::SCHEMA_HASH.to_owned(),
                format!("{:#018x}", schema.hash()),
            ),
        ]);
        let id =
            add_channel(&mut self.writer, &definition, &metadata).map_err(|_| Start::Failed)?;
        self.channels.insert(
            topic.to_owned(),
            Channel {
                sub,
                id,
                schema: Arc::clone(schema),
                definition,
                metadata,
            },
        );
        Ok(())
    }
}

/// Why a topic is not recorded.
enum Start {
    /// Its type has no ROS 2 form.
    Unmappable(String),
    /// Something that may pass.
    Failed,
}

/// A new file at `path` (an existing one is refused) and its writer.
fn open_writer(path: &Path, options: &RecordOptions) -> Result<(McapWriter, File), RecordError> {
    let create = |e| RecordError::Create(path.to_owned(), e);
    let file = File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(create)?;
    let size_of = file.try_clone().map_err(create)?;
    let writer = mcap::WriteOptions::new()
        .profile("ros2")
        .library(concat!("shm-record ", env!("CARGO_PKG_VERSION")))
        .compression(options.compression.map(Compression::mcap))
        .chunk_size(Some(options.chunk_size))
        .create(BufWriter::new(file))?;
    Ok((writer, size_of))
}

/// The channel of a topic (and its schema) in a file; the channel's topic is the shm topic
/// with a leading `/`, as ROS 2 names topics. Returns its id.
fn add_channel(
    writer: &mut McapWriter,
    definition: &ros2msg::Definition,
    metadata: &BTreeMap<String, String>,
) -> Result<u16, mcap::McapError> {
    let schema_id = writer.add_schema(&definition.name, "ros2msg", definition.text.as_bytes())?;
    let topic = metadata.get(meta::TOPIC).map_or("", String::as_str);
    writer.add_channel(schema_id, &format!("/{topic}"), "cdr", metadata)
}

/// Part `n` of a split recording at `path`: `run.mcap` is `run_0.mcap`, `run_1.mcap` …
pub fn part_path(path: &Path, n: usize) -> PathBuf {
    let mut name = path.file_stem().unwrap_or_default().to_os_string();
    name.push(format!("_{n}"));
    if let Some(ext) = path.extension() {
        name.push(".");
        name.push(ext);
    }
    path.with_file_name(name)
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
