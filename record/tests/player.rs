//! Replay as a library: recordings (compressed, split) played back into topics read by typed
//! subscribers, every value equal and the timing kept; the options that select and scale;
//! topics of another type or with a live publisher refused before anything is published;
//! damaged files refused; other tools' files played where their types map onto ours.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shm::dynamic::{AnySubscriber, Value};
use shm::{Publisher, Subscriber};
use shm_record::bag::{self, BagError, Ending};
use shm_record::player::{PlayError, PlayOptions, PlayStats, Player};
use shm_record::recorder::{Compression, RecordOptions, Recorder};

mod common;
use common::{Dir, Reading, reading};

const N: u32 = 40;
const GAP: Duration = Duration::from_millis(10);

/// Records `N` readings published `GAP` apart on `lab/reading` (zstd, a new file every 150 ms)
/// and returns the files.
fn record(topics: &Path, out: &Path) -> Vec<PathBuf> {
    let mut publisher = Publisher::<Reading>::builder("lab/reading")
        .root(topics)
        .buffer_num(64)
        .create()
        .unwrap();
    let options = RecordOptions {
        root: Some(topics.to_path_buf()),
        compression: Some(Compression::Zstd),
        split_duration: Some(Duration::from_millis(150)),
        ..RecordOptions::default()
    };
    let mut recorder = Recorder::create(&out.join("run.mcap"), &["lab/**"], options).unwrap();
    let start = Instant::now();
    for i in 1..=N {
        // Published on a schedule (not after a sleep that may run long): recorded intervals of
        // GAP, within the scheduler's delay.
        let due = start + GAP * i;
        while Instant::now() < due {
            recorder.poll().unwrap();
            std::thread::sleep(Duration::from_micros(200));
        }
        publisher.publish(&reading(i)).unwrap();
    }
    let paths = recorder.paths().to_vec();
    let stats = recorder.finish().unwrap();
    assert_eq!((stats.messages, stats.missed), (u64::from(N), 0));
    assert!(stats.files >= 2, "{stats:?}");
    assert_eq!(paths.len(), stats.files);
    assert_eq!(paths[0], out.join("run_0.mcap"));
    paths
}

/// Plays `paths` with `options` on a thread while a typed subscriber reads every value of
/// `topic`; returns the values with their publish times.
fn play_and_read(
    paths: &[PathBuf],
    options: PlayOptions,
    topic: &str,
    expect: usize,
) -> (Vec<(Reading, shm::Timestamp)>, PlayStats) {
    let root = options.root.clone().unwrap();
    let mut player = Player::open(paths, options).unwrap();
    let mut sub = Subscriber::<Reading>::builder(topic)
        .root(&root)
        .open()
        .unwrap();
    let playing = std::thread::spawn(move || player.play(&|| false).unwrap());
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < expect && Instant::now() < deadline {
        for s in sub.recv_all_timeout(Duration::from_millis(100)).unwrap() {
            assert_eq!(s.missed, 0);
            got.push((s.value, s.published));
        }
    }
    let stats = playing.join().unwrap();
    assert_eq!(stats.messages, expect as u64);
    (got, stats)
}

fn span(got: &[(Reading, shm::Timestamp)]) -> Duration {
    let ns = got[got.len() - 1].1.as_nanos() - got[0].1.as_nanos();
    Duration::from_nanos(ns)
}

#[test]
fn a_split_compressed_recording_plays_back_equal_with_its_timing() {
    let topics = Dir::new("play");
    let out = Dir::new("play-out");
    let paths = record(&topics.0, &out.0);
    let info = bag::scan(&paths).unwrap();
    assert_eq!(info.messages, u64::from(N));
    assert!(info.files.iter().all(|f| f.ending == Ending::Complete));
    let recorded = info.channels.iter().map(|c| c.messages).sum::<u64>();
    assert_eq!(recorded, u64::from(N));
    let recorded_span = {
        let first = info.channels.iter().map(|c| c.first).min().unwrap();
        let last = info.channels.iter().map(|c| c.last).max().unwrap();
        Duration::from_nanos(last - first)
    };
    assert!(recorded_span >= GAP, "{recorded_span:?}");

    // Into a fresh topic (the recorded one still exists, with its publisher gone: as played).
    shm::remove_topic_in(&topics.0, "lab/reading").unwrap();
    let options = PlayOptions {
        root: Some(topics.0.clone()),
        ..PlayOptions::default()
    };
    let (got, stats) = play_and_read(&paths, options.clone(), "lab/reading", N as usize);
    let values: Vec<Reading> = got.iter().map(|g| g.0).collect();
    assert_eq!(values, (1..=N).map(reading).collect::<Vec<_>>());
    // The timing is kept: never faster (a sleep never ends early: only the first message's
    // lateness can shorten the span), and not much slower.
    let played = span(&got);
    let slack = stats.lateness_max + Duration::from_millis(1);
    assert!(
        played + slack >= recorded_span,
        "{played:?} {recorded_span:?} {stats:?}"
    );
    assert!(
        played < recorded_span * 3 + Duration::from_secs(1),
        "{played:?}"
    );

    // Twice as fast, onto another name (the first replay's publisher is gone: same type).
    let options = PlayOptions {
        rate: 2.0,
        remap: vec![("lab/reading".to_owned(), "lab/fast".to_owned())],
        ..options
    };
    let (got, stats) = play_and_read(&paths, options, "lab/fast", N as usize);
    assert_eq!(got.len(), N as usize);
    let fast = span(&got);
    let slack = stats.lateness_max + Duration::from_millis(1);
    assert!(fast + slack >= recorded_span / 2, "{fast:?} {stats:?}");
    assert!(fast < recorded_span, "{fast:?} {recorded_span:?}");
}

#[test]
fn start_and_duration_select_a_window_and_topics_a_subset() {
    let topics = Dir::new("window");
    let out = Dir::new("window-out");
    let paths = record(&topics.0, &out.0);
    let info = bag::scan(&paths).unwrap();
    let first = info.channels.iter().map(|c| c.first).min().unwrap();
    // From 100 ms after the first value to 200 ms after it: the values published then.
    let from = first.max(info.start) + 100_000_000;
    let until = from + 100_000_000;
    let mut times = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        for m in mcap::MessageStream::new(&bytes).unwrap() {
            let m = m.unwrap();
            times.push((m.publish_time.max(info.start), m.sequence));
        }
    }
    let expect: Vec<u32> = times
        .iter()
        .filter(|(t, _)| (from..=until).contains(t))
        .map(|(_, s)| *s)
        .collect();
    assert!(expect.len() >= 3, "{expect:?}");
    let options = PlayOptions {
        root: Some(topics.0.clone()),
        start: Duration::from_nanos(from - info.start),
        duration: Some(Duration::from_millis(100)),
        remap: vec![("lab/reading".to_owned(), "lab/window".to_owned())],
        ..PlayOptions::default()
    };
    let (got, _) = play_and_read(&paths, options, "lab/window", expect.len());
    let ids: Vec<u32> = got.iter().map(|g| g.0.id).collect();
    assert_eq!(ids, expect);

    // A pattern that matches nothing: nothing to play, and nothing made.
    let options = PlayOptions {
        root: Some(topics.0.clone()),
        topics: vec!["other/**".to_owned()],
        ..PlayOptions::default()
    };
    let e = Player::open(&paths, options).err().unwrap();
    assert!(matches!(e, PlayError::NothingToPlay(_)), "{e}");
    assert!(shm::inspect::inspect(Some(&topics.0), "other/reading").is_err());
    // Bad options are refused as such.
    for options in [
        PlayOptions {
            rate: 0.0,
            ..PlayOptions::default()
        },
        PlayOptions {
            remap: vec![("lab/reading".to_owned(), "bad name/".to_owned())],
            ..PlayOptions::default()
        },
    ] {
        let e = Player::open(&paths, options).err().unwrap();
        assert!(matches!(e, PlayError::Option(_)), "{e}");
    }
}

#[test]
fn a_topic_of_another_type_or_a_live_publisher_refuses_the_replay_before_anything_is_published() {
    let topics = Dir::new("refuse");
    let out = Dir::new("refuse-out");
    let paths = record(&topics.0, &out.0);
    shm::remove_topic_in(&topics.0, "lab/reading").unwrap();
    // Another type of the same name, its publisher gone.
    {
        let mut other = Publisher::<u64>::builder("lab/reading")
            .root(&topics.0)
            .create()
            .unwrap();
        other.publish(&7).unwrap();
    }
    let options = PlayOptions {
        root: Some(topics.0.clone()),
        ..PlayOptions::default()
    };
    let e = Player::open(&paths, options.clone()).err().unwrap();
    let text = e.to_string();
    assert!(matches!(e, PlayError::Refused(_)), "{text}");
    assert!(
        text.contains("'lab/reading' carries u64 and the recording Reading"),
        "{text}"
    );
    assert!(text.contains("nothing was played"), "{text}");
    let info = shm::inspect::inspect(Some(&topics.0), "lab/reading").unwrap();
    assert_eq!(
        (info.last_seq, info.schema.desc().type_name()),
        (1, "u64".to_owned())
    );

    // A live publisher of the recorded type.
    shm::remove_topic_in(&topics.0, "lab/reading").unwrap();
    let live = Publisher::<Reading>::builder("lab/reading")
        .root(&topics.0)
        .create()
        .unwrap();
    let e = Player::open(&paths, options).err().unwrap();
    assert!(e.to_string().contains("has a live publisher"), "{e}");
    drop(live);
}

#[test]
fn damaged_files_are_refused_and_a_cut_one_plays_what_it_holds() {
    let topics = Dir::new("damaged");
    let out = Dir::new("damaged-out");
    let paths = record(&topics.0, &out.0);
    let good = std::fs::read(&paths[0]).unwrap();

    let garbage = out.0.join("garbage.mcap");
    std::fs::write(&garbage, b"not a recording at all").unwrap();
    let e = bag::scan(std::slice::from_ref(&garbage)).unwrap_err();
    assert!(matches!(e, BagError::Format(..)), "{e}");
    assert!(e.to_string().contains("not an MCAP file"), "{e}");

    // A flipped byte inside the first chunk's records: its CRC refuses it.
    let flipped = out.0.join("flipped.mcap");
    let mut bytes = good.clone();
    let (chunk, len) = find_record(&good, 0x06);
    bytes[chunk + 9 + len - 4] ^= 0x5a;
    std::fs::write(&flipped, &bytes).unwrap();
    let e = Player::open(
        std::slice::from_ref(&flipped),
        PlayOptions {
            root: Some(topics.0.clone()),
            ..PlayOptions::default()
        },
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("damaged"), "{e}");

    let missing = out.0.join("missing.mcap");
    let e = bag::scan(&[missing]).unwrap_err();
    assert!(matches!(e, BagError::Io(..)), "{e}");

    // Cut after its chunks but before the summary: what it holds is read, and said cut short.
    let info = bag::scan(&paths[..1]).unwrap();
    let cut = out.0.join("cut.mcap");
    let data_end = find_record(&good, 0x0f).0;
    std::fs::write(&cut, &good[..data_end]).unwrap();
    let cut_info = bag::scan(std::slice::from_ref(&cut)).unwrap();
    assert_eq!(cut_info.files[0].ending, Ending::Truncated);
    assert_eq!(cut_info.messages, info.messages);
}

/// Where the first record of opcode `op` starts, and its length (past its 9-byte opcode and
/// length): found by walking the records (0x06 a chunk, 0x0f the data section's end).
fn find_record(file: &[u8], op: u8) -> (usize, usize) {
    let mut at = 8; // the magic
    loop {
        let len = u64::from_le_bytes(file[at + 1..at + 9].try_into().unwrap()) as usize;
        if file[at] == op {
            return (at, len);
        }
        at += 9 + len;
    }
}

/// A file as another tool writes it: ROS 2 definitions and CDR, no shm metadata.
fn foreign_file(path: &Path, compression: Option<mcap::Compression>, chunk_size: Option<u64>) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = mcap::WriteOptions::new()
        .profile("ros2")
        .compression(compression)
        .chunk_size(chunk_size)
        .create(file)
        .unwrap();
    let none = BTreeMap::new();
    let point = w
        .add_schema(
            "geometry_msgs/msg/Point",
            "ros2msg",
            b"# a point\nfloat64 x\nfloat64 y\nfloat64 z\n",
        )
        .unwrap();
    let point = w.add_channel(point, "/odom/point", "cdr", &none).unwrap();
    let temp = w
        .add_schema("std_msgs/msg/Float64", "ros2msg", b"float64 data\n")
        .unwrap();
    let temp = w.add_channel(temp, "/lab/temp", "cdr", &none).unwrap();
    let chat = w
        .add_schema("std_msgs/msg/String", "ros2msg", b"string data\n")
        .unwrap();
    let chat = w.add_channel(chat, "/chatter", "cdr", &none).unwrap();
    let json = w.add_schema("Blob", "jsonschema", b"{}").unwrap();
    let json = w.add_channel(json, "/blob", "json", &none).unwrap();
    let t0 = 1_700_000_000_000_000_000u64;
    for i in 0..5u32 {
        let header = |channel_id, k: u64| mcap::records::MessageHeader {
            channel_id,
            sequence: i,
            log_time: t0 + u64::from(i) * 5_000_000 + k,
            // The points stamped on another clock (time since boot), the rest not at all.
            publish_time: if k == 0 {
                1_000_000 + u64::from(i) * 5_000_000
            } else {
                0
            },
        };
        let mut p = vec![0, 1, 0, 0];
        for v in [f64::from(i), -1.5, 2.0] {
            p.extend_from_slice(&v.to_le_bytes());
        }
        w.write_to_known_channel(&header(point, 0), &p).unwrap();
        let mut t = vec![0, 1, 0, 0];
        t.extend_from_slice(&(20.0 + f64::from(i)).to_le_bytes());
        w.write_to_known_channel(&header(temp, 1), &t).unwrap();
        w.write_to_known_channel(&header(chat, 2), b"\x00\x01\x00\x00\x03\x00\x00\x00hi\x00")
            .unwrap();
        w.write_to_known_channel(&header(json, 3), b"{}").unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn other_tools_files_play_where_their_types_map_and_say_what_is_skipped() {
    let topics = Dir::new("foreign");
    let out = Dir::new("foreign-out");
    let path = out.0.join("ros.mcap");
    foreign_file(&path, Some(mcap::Compression::Zstd), None);
    let options = PlayOptions {
        root: Some(topics.0.clone()),
        ..PlayOptions::default()
    };
    let mut player = Player::open(std::slice::from_ref(&path), options).unwrap();
    let notes = player.take_notes().join("\n");
    assert!(
        notes.contains(
            "playing channel '/odom/point' (geometry_msgs/msg/Point) as 'odom/point' of type Point"
        ),
        "{notes}"
    );
    assert!(notes.contains("as 'lab/temp' of type f64"), "{notes}");
    assert!(
        notes.contains("skipping channel '/chatter' (std_msgs/msg/String)")
            && notes.contains("unbounded"),
        "{notes}"
    );
    assert!(
        notes.contains("skipping channel '/blob' (Blob): its messages are `json`, not CDR"),
        "{notes}"
    );
    let mut temp = Subscriber::<f64>::builder("lab/temp")
        .root(&topics.0)
        .open()
        .unwrap();
    let mut point = AnySubscriber::builder("odom/point")
        .root(&topics.0)
        .open()
        .unwrap();
    // Both placed at their log times: 200 Hz.
    for c in &player.info().channels[..2] {
        assert!(c.log_clock, "{c:?}");
        assert!((c.rate().unwrap() - 200.0).abs() < 1.0, "{c:?}");
    }
    let stats = player.play(&|| false).unwrap();
    assert_eq!((stats.messages, stats.bad), (10, 0));
    let temps: Vec<f64> = temp
        .try_recv_all()
        .unwrap()
        .into_iter()
        .map(|s| s.value)
        .collect();
    // The ring keeps the newest 3 of the 5 (a foreign file says nothing of the ring).
    assert_eq!(temps, [22.0, 23.0, 24.0]);
    let last = point.latest().unwrap().unwrap().value.decode();
    let Value::Struct { name, fields } = last else {
        panic!("{last:?}")
    };
    assert_eq!(name, "Point");
    assert_eq!(
        fields,
        [
            ("x".to_owned(), Value::Float(4.0)),
            ("y".to_owned(), Value::Float(-1.5)),
            ("z".to_owned(), Value::Float(2.0)),
        ]
    );
}

#[test]
fn a_chunk_whose_records_overrun_it_is_refused_as_damaged() {
    let out = Dir::new("overrun");
    let path = out.0.join("ros.mcap");
    foreign_file(&path, None, None);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bag::scan(std::slice::from_ref(&path)).is_ok());
    // The chunk says its records take 5 bytes (and has no CRC): the first record is longer.
    let (chunk, _) = find_record(&bytes, 0x06);
    let body = chunk + 9;
    bytes[body + 24..body + 28].copy_from_slice(&0u32.to_le_bytes());
    let compression_len =
        u32::from_le_bytes(bytes[body + 28..body + 32].try_into().unwrap()) as usize;
    assert_eq!(compression_len, 0, "an uncompressed chunk");
    bytes[body + 32..body + 40].copy_from_slice(&5u64.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let e = bag::scan(std::slice::from_ref(&path)).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
}

#[test]
fn a_file_cut_inside_a_chunk_whose_lengths_are_unwritten_is_read_up_to_it() {
    let out = Dir::new("cut-chunk");
    let path = out.0.join("ros.mcap");
    // Small chunks: a message or two each.
    foreign_file(&path, None, Some(64));
    let bytes = std::fs::read(&path).unwrap();
    let whole = bag::scan(std::slice::from_ref(&path)).unwrap();
    // The third chunk as a killed recorder leaves it: its lengths not yet written, cut short.
    let mut at = 8;
    let mut chunks = 0;
    let third = loop {
        let len = u64::from_le_bytes(bytes[at + 1..at + 9].try_into().unwrap()) as usize;
        if bytes[at] == 0x06 {
            chunks += 1;
            if chunks == 3 {
                break at;
            }
        }
        at += 9 + len;
    };
    let mut cut = bytes[..third + 40].to_vec();
    cut[third + 1..third + 9].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&path, &cut).unwrap();
    let info = bag::scan(std::slice::from_ref(&path)).unwrap();
    assert_eq!(info.files[0].ending, Ending::Truncated);
    assert!(
        info.messages > 0 && info.messages < whole.messages,
        "{} of {}",
        info.messages,
        whole.messages
    );
}

#[test]
fn two_topics_remapped_onto_one_and_a_start_past_the_end_are_refused() {
    let topics = Dir::new("remap-two");
    let out = Dir::new("remap-two-out");
    let path = out.0.join("ros.mcap");
    foreign_file(&path, None, None);
    let paths = [path];
    let refused = |options: PlayOptions| {
        let e = Player::open(&paths, options).err().unwrap();
        assert!(matches!(e, PlayError::Option(_)), "{e}");
        e.to_string()
    };
    let e = refused(PlayOptions {
        root: Some(topics.0.clone()),
        remap: vec![("odom/point".to_owned(), "lab/temp".to_owned())],
        ..PlayOptions::default()
    });
    assert!(e.contains("would both be played as 'lab/temp'"), "{e}");
    let e = refused(PlayOptions {
        root: Some(topics.0.clone()),
        start: Duration::from_secs(1),
        ..PlayOptions::default()
    });
    assert!(
        e.contains("--start 1.000: the recording is 0.020 s long"),
        "{e}"
    );
    // Nothing was made.
    assert!(shm::inspect::inspect(Some(&topics.0), "lab/temp").is_err());
}
