//! Reading recordings: MCAP files read as a stream (memory bounded by the largest record,
//! never by the file), each channel mapped onto an shm topic and type, and a summary of what a
//! file holds ([`scan`]) that `shm info` prints and replay checks before it publishes.
//!
//! A file is hostile: every record's length is bounded by the file's size, chunk CRCs are
//! checked, and a file that ends in the middle (a recorder killed) is read up to its last whole
//! record and said to be cut short, not refused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mcap::McapError;
use mcap::records::Record;
use mcap::sans_io::linear_reader::{LinearReadEvent, LinearReader, LinearReaderOptions};
use shm::TopicName;
use shm::dynamic::TopicSchema;

use crate::recorder::meta;
use crate::ros2msg;

/// Why a recording cannot be read.
#[derive(Debug)]
pub enum BagError {
    /// The file cannot be opened or read.
    Io(PathBuf, std::io::Error),
    /// The file is not a valid MCAP file (or is damaged): what is wrong.
    Format(PathBuf, String),
}

impl fmt::Display for BagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BagError::Io(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            BagError::Format(path, why) => write!(f, "{}: {why}", path.display()),
        }
    }
}

impl std::error::Error for BagError {}

/// What one record of a file says (borrowed from the reader).
pub(crate) enum Event<'a> {
    /// A channel, with its schema's name, encoding and data (empty for none).
    Channel {
        id: u16,
        schema_id: u16,
        topic: &'a str,
        message_encoding: &'a str,
        metadata: &'a BTreeMap<String, String>,
        schema: Option<&'a SchemaRecord>,
    },
    /// A message.
    Message {
        channel: u16,
        log_time: u64,
        publish_time: u64,
        data: &'a [u8],
    },
}

/// A schema record's contents.
pub(crate) struct SchemaRecord {
    pub(crate) name: String,
    pub(crate) encoding: String,
    pub(crate) data: Vec<u8>,
}

/// How a file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// With its summary and end magic, as a finished recording does.
    Complete,
    /// In the middle: everything before was read (a recorder killed, or a copy cut short).
    Truncated,
}

/// The most bytes any one record may claim: twice the file's size (a chunk may hold more than
/// it takes once compressed), at least 64 MiB, at most what a topic carries and its headers.
fn record_limit(file_size: u64) -> usize {
    let limit = file_size
        .saturating_mul(2)
        .clamp(64 << 20, shm::schema::MAX_MESSAGE_SIZE + (1 << 20));
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// The reason of a reading failure, in words.
fn problem(e: &McapError) -> String {
    match e {
        McapError::BadMagic => "not an MCAP file (it does not start with MCAP's magic)".to_owned(),
        McapError::BadChunkCrc { .. } | McapError::BadDataCrc { .. } => {
            format!("damaged: {e}")
        }
        McapError::RecordTooLarge { .. } | McapError::ChunkTooLarge(_) => {
            format!("damaged or hostile: {e}, more than the file could hold")
        }
        McapError::UnsupportedCompression(c) => format!(
            "chunks compressed with `{}`, which this build cannot read (zstd and lz4 can be read)",
            shown(c)
        ),
        McapError::UnexpectedEoc => "damaged: a chunk ends in the middle of a record".to_owned(),
        other => format!("damaged: {other}"),
    }
}

/// Reads `path` record by record, giving each channel (once, when first defined) and each
/// message to `on`, which may stop the reading early by returning `Ok(false)`. Records after
/// the data section (the summary's copies) are not read.
pub(crate) fn read<E>(
    path: &Path,
    mut on: impl FnMut(Event<'_>) -> Result<bool, E>,
) -> Result<Result<Ending, E>, BagError> {
    let io = |e| BagError::Io(path.to_owned(), e);
    let mut file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut magic = [0u8; 8];
    let n = file.read(&mut magic).map_err(io)?;
    if n < magic.len() || magic[..] != *mcap::MAGIC {
        return Err(BagError::Format(
            path.to_owned(),
            "not an MCAP file (it does not start with MCAP's magic)".to_owned(),
        ));
    }
    std::io::Seek::rewind(&mut file).map_err(io)?;
    let options = LinearReaderOptions::default()
        .with_validate_chunk_crcs(true)
        .with_record_length_limit(record_limit(size));
    let mut reader = LinearReader::new_with_options(options);
    let mut schemas: BTreeMap<u16, SchemaRecord> = BTreeMap::new();
    let mut channels: HashSet<u16> = HashSet::new();
    // Schemas are kept for the channels that name them: at most twice the file's size of them.
    let mut kept = 0u64;
    let mut fed = 0u64;
    let keep_at_most = size.saturating_mul(2).max(1 << 20);
    let format = |e: &McapError| BagError::Format(path.to_owned(), problem(e));
    loop {
        // mcap 0.26 subtracts an uncompressed chunk's record lengths from what the chunk has
        // left without checking them: with overflow checks on (a debug build) a hostile chunk
        // panics there, which is a damaged file, not a crash.
        let r = &mut reader;
        let event = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let r = r;
            r.next_event()
        }))
        .map_err(|_| {
            BagError::Format(
                path.to_owned(),
                "damaged: a chunk's records overrun it".to_owned(),
            )
        })?;
        let Some(event) = event else { break };
        let (opcode, data) = match event {
            Ok(LinearReadEvent::ReadRequest(n)) => {
                let got = file.read(reader.insert(n)).map_err(io)?;
                fed += got as u64;
                reader.notify_read(got);
                continue;
            }
            Ok(LinearReadEvent::Record { opcode, data }) => (opcode, data),
            Err(McapError::UnexpectedEof) => return Ok(Ok(Ending::Truncated)),
            // A recorder killed while filling a chunk leaves that chunk's header with its
            // lengths not yet written (all ones) or running past the end: an error reading it
            // is the file being cut short; one before it is damage.
            Err(e) => match incomplete_from(&mut file, size).map_err(io)? {
                Some(start) if fed > start => return Ok(Ok(Ending::Truncated)),
                _ => return Err(format(&e)),
            },
        };
        let record = mcap::parse_record(opcode, data).map_err(|e| format(&e))?;
        let go_on = match record {
            Record::Schema { header, data } => {
                if let std::collections::btree_map::Entry::Vacant(slot) = schemas.entry(header.id) {
                    kept += (header.name.len() + header.encoding.len() + data.len()) as u64;
                    if kept > keep_at_most {
                        return Err(BagError::Format(
                            path.to_owned(),
                            "damaged or hostile: its schemas are larger than the file".to_owned(),
                        ));
                    }
                    slot.insert(SchemaRecord {
                        name: header.name,
                        encoding: header.encoding,
                        data: data.into_owned(),
                    });
                }
                true
            }
            Record::Channel(channel) => {
                if channels.contains(&channel.id) {
                    continue;
                }
                let schema = match channel.schema_id {
                    0 => None,
                    id => match schemas.get(&id) {
                        Some(s) => Some(s),
                        None => {
                            return Err(BagError::Format(
                                path.to_owned(),
                                format!(
                                    "damaged: channel {} names schema {id}, which is not defined before it",
                                    channel.id
                                ),
                            ));
                        }
                    },
                };
                let go_on = on(Event::Channel {
                    id: channel.id,
                    schema_id: channel.schema_id,
                    topic: &channel.topic,
                    message_encoding: &channel.message_encoding,
                    metadata: &channel.metadata,
                    schema,
                });
                channels.insert(channel.id);
                match go_on {
                    Ok(g) => g,
                    Err(e) => return Ok(Err(e)),
                }
            }
            Record::Message { header, data } => {
                if !channels.contains(&header.channel_id) {
                    return Err(BagError::Format(
                        path.to_owned(),
                        format!(
                            "damaged: a message of channel {}, which is not defined before it",
                            header.channel_id
                        ),
                    ));
                }
                match on(Event::Message {
                    channel: header.channel_id,
                    log_time: header.log_time,
                    publish_time: header.publish_time,
                    data: &data,
                }) {
                    Ok(g) => g,
                    Err(e) => return Ok(Err(e)),
                }
            }
            // The summary repeats what the data section said.
            Record::DataEnd(_) => return Ok(Ok(Ending::Complete)),
            _ => true,
        };
        if !go_on {
            return Ok(Ok(Ending::Complete));
        }
    }
    Ok(Ok(Ending::Complete))
}

/// Where the last top-level record of the file starts if it does not fit in the file (its
/// length unwritten, all ones, or past the end), found by walking the records' lengths.
fn incomplete_from(file: &mut File, size: u64) -> std::io::Result<Option<u64>> {
    use std::io::{Seek, SeekFrom};
    let mut at = mcap::MAGIC.len() as u64;
    let mut head = [0u8; 9];
    loop {
        if at == size {
            return Ok(None);
        }
        if at + 9 > size {
            return Ok(Some(at));
        }
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut head)?;
        let len = u64::from_le_bytes(head[1..].try_into().unwrap_or([0xff; 8]));
        match (at + 9).checked_add(len) {
            Some(end) if end <= size => at = end,
            _ => return Ok(Some(at)),
        }
    }
}

/// What a channel of a recording is played as: a topic and its type.
#[derive(Debug, Clone)]
pub struct Target {
    /// The shm topic.
    pub topic: String,
    /// The values' type.
    pub schema: Arc<TopicSchema>,
    /// How the type was found: `true` from shm's own metadata (exact), `false` mapped from the
    /// channel's ROS 2 definition.
    pub exact: bool,
    /// The ring's slots the topic had when recorded (`None`: not recorded).
    pub buffer_num: Option<usize>,
}

/// One channel of a recording.
#[derive(Debug, Clone)]
pub struct ChannelInfo {
    /// Which file (index in [`BagInfo::files`]).
    pub file: usize,
    /// The channel's id in its file.
    pub id: u16,
    /// The channel's topic as the file names it (`/robot/pose`).
    pub channel_topic: String,
    /// The schema's name (`shm_msgs/msg/Pose`, `geometry_msgs/msg/Pose`), empty for none.
    pub schema_name: String,
    /// The topic and type it is played as, or why it is not.
    pub target: Result<Target, String>,
    /// Messages.
    pub messages: u64,
    /// Bytes of messages.
    pub bytes: u64,
    /// Bytes of the largest message.
    pub largest: u64,
    /// Whether its messages are placed at their log times: their publish times are 0, or on
    /// another clock (most of them more than a second before they were logged).
    pub log_clock: bool,
    /// The time of the first and the last message ([`time_of`](Self::time_of)), ns since the
    /// Unix epoch.
    pub first: u64,
    /// See [`first`](Self::first).
    pub last: u64,
}

impl ChannelInfo {
    /// The time a message of this channel is placed at: its publish time, unless the channel's
    /// are on another clock, and never later than its log time (a value is read after it is
    /// published; a later "publish time" is not one, and would stall a replay).
    pub fn time_of(&self, log_time: u64, publish_time: u64) -> u64 {
        placed_at(self.log_clock, log_time, publish_time)
    }

    /// Messages per second between the first and the last (`None` for fewer than two).
    pub fn rate(&self) -> Option<f64> {
        (self.messages >= 2 && self.last > self.first)
            .then(|| (self.messages - 1) as f64 / ((self.last - self.first) as f64 / 1e9))
    }
}

/// One file of a recording.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// How it ended.
    pub ending: Ending,
    /// Its first log time, ns since the Unix epoch (0 for no message): split parts play in
    /// this order, whatever order they are given in.
    pub start: u64,
    /// Its last log time.
    pub end: u64,
}

/// What a recording (one file or the parts of a split one) holds.
#[derive(Debug, Clone, Default)]
pub struct BagInfo {
    /// The files, in the order given.
    pub files: Vec<FileInfo>,
    /// Every channel of every file.
    pub channels: Vec<ChannelInfo>,
    /// Messages.
    pub messages: u64,
    /// The first and the last log time, ns since the Unix epoch (0 for no message).
    pub start: u64,
    /// See [`start`](Self::start).
    pub end: u64,
}

impl BagInfo {
    /// From the first message to the last, in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.end.saturating_sub(self.start) as f64 / 1e9
    }
}

/// Reads every file of a recording through, and says what it holds; refuses a damaged file.
pub fn scan(paths: &[PathBuf]) -> Result<BagInfo, BagError> {
    let mut info = BagInfo::default();
    for (index, path) in paths.iter().enumerate() {
        let size = std::fs::metadata(path)
            .map_err(|e| BagError::Io(path.clone(), e))?
            .len();
        // Each channel's place in `info.channels`, the mapping of each ROS 2 schema (many
        // channels may share one), and per channel the messages whose publish time is more
        // than a second before their log time, and the first and last of each clock.
        let mut places: HashMap<u16, usize> = HashMap::new();
        let mut mapped: HashMap<u16, Result<Arc<TopicSchema>, String>> = HashMap::new();
        let mut clocks: HashMap<u16, Clocks> = HashMap::new();
        let (mut file_start, mut file_end) = (None, 0);
        let ending = read(path, |event| -> Result<bool, std::convert::Infallible> {
            match event {
                Event::Channel {
                    id,
                    schema_id,
                    topic,
                    message_encoding,
                    metadata,
                    schema,
                } => {
                    places.insert(id, info.channels.len());
                    let target = target(topic, message_encoding, metadata, || {
                        mapped
                            .entry(schema_id)
                            .or_insert_with(|| map_ros2(schema))
                            .clone()
                    });
                    info.channels.push(ChannelInfo {
                        file: index,
                        id,
                        channel_topic: topic.to_owned(),
                        schema_name: schema.map(|s| shown(&s.name)).unwrap_or_default(),
                        target: target
                            .map_err(|why| crate::shown_at_most(&why, crate::REASON_CHARS)),
                        messages: 0,
                        bytes: 0,
                        largest: 0,
                        log_clock: false,
                        first: 0,
                        last: 0,
                    });
                }
                Event::Message {
                    channel,
                    log_time,
                    publish_time,
                    data,
                } => {
                    file_start.get_or_insert(log_time);
                    file_end = file_end.max(log_time);
                    if let Some(c) = places.get(&channel).map(|&i| &mut info.channels[i]) {
                        c.messages += 1;
                        c.bytes += data.len() as u64;
                        c.largest = c.largest.max(data.len() as u64);
                        clocks
                            .entry(channel)
                            .or_default()
                            .add(log_time, publish_time);
                    }
                    if info.messages == 0 {
                        info.start = log_time;
                    }
                    info.messages += 1;
                    info.start = info.start.min(log_time);
                    info.end = info.end.max(log_time);
                }
            }
            Ok(true)
        })?;
        let Ok(ending) = ending;
        let start = file_start.unwrap_or(0);
        for (id, c) in &clocks {
            let channel = &mut info.channels[places[id]];
            channel.log_clock = c.other_clock * 2 > channel.messages;
            (channel.first, channel.last) = if channel.log_clock {
                (c.first_log, c.last_log)
            } else {
                // Values published before the file began are placed at its start.
                (c.first_publish.max(start), c.last_publish.max(start))
            };
        }
        info.files.push(FileInfo {
            path: path.clone(),
            size,
            ending,
            start,
            end: file_end,
        });
    }
    Ok(info)
}

/// The time a message is placed at ([`ChannelInfo::time_of`]): its log time when `log_clock`
/// or when it has no publish time, else its publish time but never later than its log time.
pub(crate) fn placed_at(log_clock: bool, log_time: u64, publish_time: u64) -> u64 {
    if log_clock || publish_time == 0 {
        log_time
    } else {
        publish_time.min(log_time)
    }
}

/// A channel's two clocks, as its messages go by.
#[derive(Default)]
struct Clocks {
    /// Messages whose publish time is more than a second before their log time (or 0).
    other_clock: u64,
    first_publish: u64,
    last_publish: u64,
    first_log: u64,
    last_log: u64,
    seen: bool,
}

impl Clocks {
    fn add(&mut self, log_time: u64, publish_time: u64) {
        let publish = placed_at(false, log_time, publish_time);
        if publish_time == 0 || log_time - publish > 1_000_000_000 {
            self.other_clock += 1;
        }
        if !self.seen {
            (self.first_publish, self.first_log, self.seen) = (publish, log_time, true);
        }
        self.first_publish = self.first_publish.min(publish);
        self.last_publish = self.last_publish.max(publish);
        self.first_log = self.first_log.min(log_time);
        self.last_log = self.last_log.max(log_time);
    }
}

/// The shm type of a channel's ROS 2 schema, or why it has none.
fn map_ros2(schema: Option<&SchemaRecord>) -> Result<Arc<TopicSchema>, String> {
    let Some(schema) = schema else {
        return Err("it has no schema".to_owned());
    };
    if schema.encoding != "ros2msg" {
        return Err(format!(
            "its schema is `{}`, not a ROS 2 message definition",
            shown(&schema.encoding)
        ));
    }
    let text = std::str::from_utf8(&schema.data).map_err(|_| "its definition is not UTF-8")?;
    let desc = ros2msg::parse(&schema.name, text).map_err(|e| e.to_string())?;
    ros2msg::definition(&desc).map_err(|e| e.to_string())?;
    TopicSchema::new(&desc)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Which topic and type a channel is played as, or why it is not; `ros2` maps its ROS 2
/// schema (once per schema).
fn target(
    channel_topic: &str,
    message_encoding: &str,
    metadata: &BTreeMap<String, String>,
    ros2: impl FnOnce() -> Result<Arc<TopicSchema>, String>,
) -> Result<Target, String> {
    if message_encoding != "cdr" {
        return Err(format!(
            "its messages are `{}`, not CDR",
            shown(message_encoding)
        ));
    }
    let buffer_num = metadata.get(meta::BUFFER_NUM).and_then(|n| n.parse().ok());
    if let Some(encoded) = metadata.get(meta::SCHEMA) {
        let topic = metadata
            .get(meta::TOPIC)
            .map_or_else(|| channel_topic.trim_start_matches('/'), String::as_str);
        let bytes = unhex(encoded).ok_or("its shm schema is not hexadecimal")?;
        let schema = TopicSchema::decode(&bytes).map_err(|e| format!("its shm schema: {e}"))?;
        // What a recording can hold (a ROS 2 form: no parts of no size, which would make the
        // work of reading a value unbounded by its bytes).
        ros2msg::definition(schema.desc()).map_err(|e| e.to_string())?;
        if let Some(hash) = metadata.get(meta::SCHEMA_HASH)
            && *hash != format!("{:#018x}", schema.hash())
        {
            return Err(format!(
                "its shm schema's hash is {:#018x}, not the recorded {}",
                schema.hash(),
                shown(hash)
            ));
        }
        return Ok(Target {
            topic: topic_name(topic)?,
            schema: Arc::new(schema),
            exact: true,
            buffer_num,
        });
    }
    let parsed = ros2()?;
    Ok(Target {
        topic: topic_name(channel_topic.trim_start_matches('/'))?,
        schema: parsed,
        exact: false,
        buffer_num,
    })
}

/// `name`, checked to be a valid topic name.
fn topic_name(name: &str) -> Result<String, String> {
    TopicName::new(name)
        .map(|n| n.as_str().to_owned())
        .map_err(|e| format!("`{}` is not a topic name: {e}", shown(name)))
}

/// At most 80 characters of `text`, escaped, for a message.
pub fn shown(text: &str) -> String {
    crate::shown_at_most(text, 80)
}

/// The bytes of lower- or upper-case hexadecimal.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
