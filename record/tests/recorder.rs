//! The recorder as a library: topics published while it records, read back from the MCAP file
//! with the `mcap` crate's reader and decoded from CDR with the exact schema its channel
//! carries: every value equal, with its sequence number.

use std::time::Duration;

use shm::dynamic::TopicSchema;
use shm::schema::SchemaDesc;
use shm::{Publisher, ShmMessage};
use shm_record::recorder::{RecordError, RecordOptions, Recorder, meta};

mod common;
use common::{Dir, Reading, reading};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn values_recorded_read_back_equal_through_the_channel_schema() {
    let topics = Dir::new("topics");
    let out = Dir::new("out");
    let file = out.0.join("run.mcap");
    let mut publisher = Publisher::<Reading>::builder("lab/reading")
        .root(&topics.0)
        .create()
        .unwrap();
    let options = RecordOptions {
        root: Some(topics.0.clone()),
        ..RecordOptions::default()
    };
    let mut recorder = Recorder::create(&file, &["lab/**"], options).unwrap();
    assert_eq!(recorder.topics().collect::<Vec<_>>(), ["lab/reading"]);
    for i in 1..=40 {
        publisher.publish(&reading(i)).unwrap();
        recorder.poll().unwrap();
    }
    let stats = recorder.finish().unwrap();
    assert_eq!((stats.topics, stats.messages, stats.missed), (1, 40, 0));

    let bytes = std::fs::read(&file).unwrap();
    let mut n = 0;
    for message in mcap::MessageStream::new(&bytes).unwrap() {
        let message = message.unwrap();
        let channel = &message.channel;
        assert_eq!(channel.topic, "/lab/reading");
        assert_eq!(channel.message_encoding, "cdr");
        assert_eq!(channel.metadata[meta::TOPIC], "lab/reading");
        let desc = SchemaDesc::decode(&unhex(&channel.metadata[meta::SCHEMA])).unwrap();
        let schema = TopicSchema::new(&desc).unwrap();
        assert_eq!(
            channel.metadata[meta::SCHEMA_HASH],
            format!("{:#018x}", schema.hash())
        );
        assert_eq!(desc, SchemaDesc::from_schema(Reading::SCHEMA));
        let definition = channel.schema.as_ref().unwrap();
        assert_eq!(
            (definition.name.as_str(), definition.encoding.as_str()),
            ("shm_msgs/msg/Reading", "ros2msg")
        );
        let value = shm_record::cdr::decode_to_bytes(&schema, &message.data).unwrap();
        assert_eq!(value.len(), size_of::<Reading>());
        // SAFETY: the bytes are a valid `Reading` (the decoder checked them against its
        // schema), exactly its size; read unaligned from the Vec.
        let got: Reading = unsafe { std::ptr::read_unaligned(value.as_ptr().cast()) };
        assert_eq!(got, reading(message.sequence));
        assert!(message.log_time >= message.publish_time);
        n += 1;
    }
    assert_eq!(n, 40);
}

#[test]
fn a_topic_created_while_recording_is_recorded_too() {
    let topics = Dir::new("late");
    let out = Dir::new("late-out");
    let options = RecordOptions {
        root: Some(topics.0.clone()),
        scan_every: Duration::from_millis(10),
        ..RecordOptions::default()
    };
    let mut recorder = Recorder::create(&out.0.join("late.mcap"), &["late/*"], options).unwrap();
    assert_eq!(recorder.topics().count(), 0);
    let mut p = Publisher::<u64>::builder("late/count")
        .root(&topics.0)
        .create()
        .unwrap();
    p.publish(&7).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    recorder.poll().unwrap();
    assert_eq!(recorder.topics().collect::<Vec<_>>(), ["late/count"]);
    // Not matching: not recorded.
    let _other = Publisher::<u64>::builder("other/count")
        .root(&topics.0)
        .create()
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    recorder.poll().unwrap();
    assert_eq!(recorder.topics().count(), 1);
    assert_eq!(recorder.finish().unwrap().messages, 1);
}

#[test]
fn bad_patterns_and_existing_files_are_refused() {
    let out = Dir::new("refused");
    let e = Recorder::create(&out.0.join("x.mcap"), &["a**"], RecordOptions::default())
        .err()
        .unwrap();
    assert!(matches!(e, RecordError::Pattern(_)), "{e}");
    std::fs::write(out.0.join("exists.mcap"), b"keep").unwrap();
    let e = Recorder::create(
        &out.0.join("exists.mcap"),
        &["a/*"],
        RecordOptions::default(),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("exists already"), "{e}");
    assert_eq!(std::fs::read(out.0.join("exists.mcap")).unwrap(), b"keep");
}

#[test]
fn a_topic_replaced_by_another_type_goes_on_as_a_new_channel() {
    let topics = Dir::new("retyped");
    let out = Dir::new("retyped-out");
    let file = out.0.join("retyped.mcap");
    let options = RecordOptions {
        root: Some(topics.0.clone()),
        scan_every: Duration::from_millis(10),
        ..RecordOptions::default()
    };
    let mut first = Publisher::<u64>::builder("re/value")
        .root(&topics.0)
        .create()
        .unwrap();
    let mut recorder = Recorder::create(&file, &["re/*"], options).unwrap();
    first.publish(&1).unwrap();
    recorder.poll().unwrap();
    drop(first);
    shm::remove_topic_in(&topics.0, "re/value").unwrap();
    let mut second = Publisher::<f64>::builder("re/value")
        .root(&topics.0)
        .create()
        .unwrap();
    second.publish(&2.5).unwrap();
    // The recorder notices (a read of the old type fails once the file is gone), then finds the
    // new file at a scan.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut notes = Vec::new();
    while recorder.stats().messages < 2 && std::time::Instant::now() < deadline {
        recorder.poll().unwrap();
        notes.extend(recorder.take_notes());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        notes
            .iter()
            .any(|n| n.contains("stopped recording 're/value'")),
        "{notes:?}"
    );
    assert_eq!(recorder.finish().unwrap().messages, 2);
    let bytes = std::fs::read(&file).unwrap();
    let kinds: Vec<String> = mcap::MessageStream::new(&bytes)
        .unwrap()
        .map(|m| m.unwrap().channel.schema.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!(kinds, ["std_msgs/msg/UInt64", "std_msgs/msg/Float64"]);
}
