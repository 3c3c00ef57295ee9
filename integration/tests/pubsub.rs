//! Topic behaviour seen from one process: publishing, reading, type checks, ownership,
//! recreation and removal. (Cross-process behaviour is in `multiprocess.rs`.)

use std::time::Duration;

use shm::{CreateError, Publisher, ShmMessage, SubscribeError, Subscriber, Timestamp};
use shm_integration::process::poll;
use shm_integration::root::TempRoot;
use shm_integration::{Flags, TestPose, v2};

#[test]
fn publish_then_read_latest_and_new() {
    let root = TempRoot::new("basic");
    let mut p = root.publisher::<TestPose>("robot/pose");
    let mut s = root.subscriber::<TestPose>("robot/pose");
    assert!(s.latest().unwrap().is_none(), "nothing published yet");
    assert!(s.is_attached());

    let before = Timestamp::now();
    assert_eq!(p.publish(&TestPose::nth(1)).unwrap(), 1);
    let sample = s.latest().unwrap().unwrap();
    assert_eq!(sample.value, TestPose::nth(1));
    assert_eq!(sample.seq, 1);
    assert!(sample.published >= before && sample.published <= Timestamp::now());

    // `latest` repeats the newest value; `try_recv` only returns newer ones.
    assert_eq!(s.latest().unwrap().unwrap().seq, 1);
    assert!(s.try_recv().unwrap().is_none());
    for i in 2..=10 {
        assert_eq!(p.publish(&TestPose::nth(i)).unwrap(), i);
    }
    let newest = s.try_recv().unwrap().unwrap();
    assert_eq!((newest.seq, newest.value), (10, TestPose::nth(10)));
    assert!(s.try_recv().unwrap().is_none());
    assert_eq!(s.last_seq(), 10);

    // The same, copied into a value of the caller's.
    let mut out = TestPose::nth(0);
    let meta = s.latest_into(&mut out).unwrap().unwrap();
    assert_eq!((meta.seq, meta.is_new, out), (10, false, TestPose::nth(10)));
    p.publish(&TestPose::nth(11)).unwrap();
    let meta = s.latest_into(&mut out).unwrap().unwrap();
    assert_eq!((meta.seq, meta.is_new, out), (11, true, TestPose::nth(11)));
    assert!(
        s.try_recv().unwrap().is_none(),
        "latest_into marked 11 as returned"
    );
}

#[test]
fn coarse_timestamps_are_on_the_same_clock() {
    let root = TempRoot::new("coarse");
    let mut p = Publisher::<u64>::builder("coarse")
        .root(root.path())
        .clock(shm::PublishClock::Coarse)
        .create()
        .unwrap();
    let mut s = root.subscriber::<u64>("coarse");
    let before = Timestamp::now();
    std::thread::sleep(Duration::from_millis(20));
    p.publish(&1).unwrap();
    let sample = s.latest().unwrap().unwrap();
    // Never ahead of the precise clock, and at most a timer tick (≤ 10 ms) behind it.
    assert!(sample.published <= Timestamp::now());
    assert!(sample.published > before, "{sample:?} vs {before:?}");
    assert!(sample.age() < Duration::from_secs(5));
}

#[test]
fn subscriber_created_before_publisher_sees_first_value() {
    let root = TempRoot::new("sub-first");
    let mut s = root.subscriber::<u64>("late");
    assert!(!s.is_attached());
    assert!(s.latest().unwrap().is_none());
    assert!(!s.publisher_alive().unwrap());
    let mut p = root.publisher::<u64>("late");
    assert!(s.latest().unwrap().is_none(), "created but not published");
    p.publish(&42).unwrap();
    // A detached subscriber looks for the file at most once per millisecond.
    let first = poll(Duration::from_secs(5), "the first value", || {
        s.latest().unwrap()
    });
    assert_eq!((first.value, first.seq), (42, 1));
    assert!(s.is_attached());
    assert!(s.publisher_alive().unwrap());
    drop(p);
    assert!(!s.publisher_alive().unwrap());
    assert_eq!(
        s.latest().unwrap().unwrap().value,
        42,
        "last value survives the publisher"
    );
}

#[test]
fn subscriber_of_another_type_is_refused_with_the_difference() {
    let root = TempRoot::new("mismatch");
    let mut p = root.publisher::<TestPose>("pose");
    p.publish(&TestPose::nth(1)).unwrap();

    let err = Subscriber::<v2::TestPose>::builder("pose")
        .root(root.path())
        .open()
        .unwrap_err();
    let SubscribeError::SchemaMismatch(m) = &err else {
        panic!("expected a mismatch, got {err}")
    };
    assert_eq!(m.topic_type, "TestPose");
    assert_eq!(m.expected_type, "TestPose");
    assert_eq!(m.topic_hash, TestPose::SCHEMA.hash());
    assert_eq!(m.expected_hash, v2::TestPose::SCHEMA.hash());
    let text = err.to_string();
    assert!(
        text.contains("field `theta`: f64 at offset 16 exists only in the topic"),
        "{text}"
    );
    assert!(
        text.contains("field `heading_deg`: f32 at offset 16 exists only here"),
        "{text}"
    );
    assert!(
        text.contains("field `_pad`: u32 at offset 20 exists only here"),
        "{text}"
    );

    let err = Subscriber::<f64>::builder("pose")
        .root(root.path())
        .open()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("carries `TestPose` but this side expects `f64`"),
        "{err}"
    );
    // Same layout, another name: the message says how to share a name.
    #[derive(shm::ShmMessage, Clone, Copy, Debug, Default)]
    #[repr(C)]
    struct PoseSample {
        x: f64,
        y: f64,
        theta: f64,
        counter: u64,
    }
    let err = Subscriber::<PoseSample>::builder("pose")
        .root(root.path())
        .open()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("carries `TestPose` but this side expects `PoseSample`")
            && text.contains("only the names differ")
            && text.contains(r#"#[shm(name = "TestPose")]"#)
            && text.contains(r#"class PoseSample(Message, name="TestPose")"#),
        "{text}"
    );
    // An array of the right size is still not the struct.
    let err = Subscriber::<[u64; 4]>::builder("pose")
        .root(root.path())
        .open()
        .unwrap_err();
    assert!(matches!(err, SubscribeError::SchemaMismatch(_)), "{err}");
}

#[test]
fn recreating_the_topic_with_another_type_is_noticed_by_attached_subscribers() {
    let root = TempRoot::new("retype");
    let mut p = root.publisher::<TestPose>("pose");
    let mut s = root.subscriber::<TestPose>("pose");
    p.publish(&TestPose::nth(3)).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value.counter, 3);
    drop(p);

    // A new publisher of another type takes the dead topic over and replaces the file.
    let mut p2 = root.publisher::<v2::TestPose>("pose");
    let t = p2.takeover().unwrap().clone();
    assert!(t.recreated && !t.kept_last_value);
    assert_eq!(t.last_seq, 1);
    assert_eq!(
        p2.publish(&v2::TestPose {
            x: 1.0,
            y: 2.0,
            heading_deg: 3.0,
            _pad: 0,
            counter: 9
        })
        .unwrap(),
        2
    );
    let err = s.latest().unwrap_err();
    assert!(matches!(err, SubscribeError::SchemaMismatch(_)), "{err}");
    assert!(err.to_string().contains("heading_deg"), "{err}");
    // ... and keeps saying so, cheaply, while the topic stays that way.
    assert!(matches!(
        s.try_recv(),
        Err(SubscribeError::SchemaMismatch(_))
    ));
    drop(p2);

    // Back to the subscriber's type: it reattaches on its own.
    let mut p3 = root.publisher::<TestPose>("pose");
    assert_eq!(p3.publish(&TestPose::nth(4)).unwrap(), 3);
    let got = poll(Duration::from_secs(5), "reattach", || {
        s.latest().ok().flatten()
    });
    assert_eq!((got.seq, got.value), (3, TestPose::nth(4)));
}

#[test]
fn second_live_publisher_is_refused_and_a_new_one_takes_over() {
    let root = TempRoot::new("busy");
    let mut p = root.publisher::<u64>("owned");
    p.publish(&7).unwrap();
    p.publish(&8).unwrap();
    let err = Publisher::<u64>::builder("owned")
        .root(root.path())
        .create()
        .unwrap_err();
    let CreateError::Busy { owner, .. } = &err else {
        panic!("expected busy, got {err}")
    };
    assert_eq!(owner.pid, std::process::id());
    assert!(owner.start_ticks > 0);
    let text = err.to_string();
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    // This process itself: the message says so, and what to do instead.
    assert!(
        text.contains("is already published by this process")
            && text.contains("publish through the publisher it has open"),
        "{text}"
    );
    // The refused attempt changed nothing.
    let mut s = root.subscriber::<u64>("owned");
    assert_eq!(s.latest().unwrap().unwrap().value, 8);
    assert_eq!(p.publish(&9).unwrap(), 3);

    drop(p);
    let mut p2 = root.publisher::<u64>("owned");
    let t = p2.takeover().unwrap();
    assert!(!t.recreated && t.kept_last_value);
    assert_eq!(t.last_seq, 3);
    assert_eq!(
        s.latest().unwrap().unwrap().value,
        9,
        "value kept across takeover"
    );
    assert_eq!(p2.publish(&10).unwrap(), 4, "sequence continues");
    assert_eq!(s.try_recv().unwrap().unwrap().value, 10);
}

#[test]
fn another_buffer_num_recreates_the_topic_and_carries_the_last_value() {
    let root = TempRoot::new("resize");
    let mut p = root.publisher::<TestPose>("pose");
    let mut s = root.subscriber::<TestPose>("pose");
    for i in 1..=5 {
        p.publish(&TestPose::nth(i)).unwrap();
    }
    assert_eq!(s.try_recv().unwrap().unwrap().seq, 5);
    let old_file = std::fs::metadata(p.path()).unwrap();
    drop(p);

    let mut p = Publisher::<TestPose>::builder("pose")
        .root(root.path())
        .buffer_num(8)
        .create()
        .unwrap();
    assert_eq!(p.buffer_num(), 8);
    let t = p.takeover().unwrap();
    assert!(t.recreated && t.kept_last_value);
    use std::os::unix::fs::MetadataExt;
    assert_ne!(std::fs::metadata(p.path()).unwrap().ino(), old_file.ino());
    // The subscriber moved to the new file: same last value, not delivered twice.
    let latest = s.latest().unwrap().unwrap();
    assert_eq!((latest.seq, latest.value), (5, TestPose::nth(5)));
    assert!(s.try_recv().unwrap().is_none());
    assert_eq!(p.publish(&TestPose::nth(6)).unwrap(), 6);
    assert_eq!(s.try_recv().unwrap().unwrap().seq, 6);
}

#[test]
fn a_file_removed_by_hand_and_made_anew_is_followed() {
    let root = TempRoot::new("rm");
    let mut p = root.publisher::<u64>("t");
    let mut s = root.subscriber::<u64>("t");
    p.publish(&1).unwrap();
    p.publish(&2).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value, 2);
    drop(p);
    std::fs::remove_file(root.topic_file("t")).unwrap();
    let mut p = root.publisher::<u64>("t");
    assert!(p.takeover().is_none(), "a fresh file");
    assert_eq!(
        p.publish(&100).unwrap(),
        1,
        "a new file starts a new sequence"
    );
    let got = poll(Duration::from_secs(5), "the new file", || {
        s.try_recv().unwrap().filter(|x| x.value == 100)
    });
    assert_eq!(got.seq, 1);
}

#[test]
fn remove_topic_refuses_live_topics_and_detaches_subscribers() {
    let root = TempRoot::new("remove");
    let mut p = root.publisher::<f64>("x");
    p.publish(&1.5).unwrap();
    let mut s = root.subscriber::<f64>("x");
    assert_eq!(s.latest().unwrap().unwrap().value, 1.5);
    let err = shm::remove_topic_in(root.path(), "x").unwrap_err();
    assert!(matches!(err, shm::RemoveError::Busy { .. }), "{err}");
    assert!(err.to_string().contains("still published"), "{err}");
    drop(p);
    assert!(shm::remove_topic_in(root.path(), "x").unwrap());
    assert!(!root.topic_file("x").exists());
    assert!(s.latest().unwrap().is_none(), "removed topic has no data");
    assert!(!shm::remove_topic_in(root.path(), "x").unwrap());
}

#[test]
fn files_are_owner_only_by_default_and_subscribers_map_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let root = TempRoot::new("perm");
    let mut p = root.publisher::<u32>("private");
    p.publish(&5).unwrap();
    let mode = std::fs::metadata(p.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let wide = Publisher::<u32>::builder("group")
        .root(root.path())
        .mode(0o640)
        .create()
        .unwrap();
    let mode = std::fs::metadata(wide.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);

    for bad in [0o400, 0o644 | 0o100, 0o4600, 0o200, 0o660, 0o666, 0o602] {
        let err = Publisher::<u32>::builder("bad")
            .root(root.path())
            .mode(bad)
            .create()
            .unwrap_err();
        assert!(
            matches!(err, CreateError::InvalidMode { .. }),
            "{bad:o}: {err}"
        );
    }

    // The subscriber's mapping of the topic file is read-only and shared.
    let mut s = root.subscriber::<u32>("private");
    assert_eq!(s.latest().unwrap().unwrap().value, 5);
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(p.path()).unwrap().ino().to_string();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let perms: Vec<&str> = maps
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cols| cols.get(4) == Some(&ino.as_str()))
        .map(|cols| cols[1])
        .collect();
    assert!(perms.contains(&"r--s"), "subscriber mapping: {perms:?}");
    assert!(perms.contains(&"rw-s"), "publisher mapping: {perms:?}");
    drop(s);
}

#[test]
fn invalid_arguments_are_refused() {
    let root = TempRoot::new("args");
    for (name, what) in [("", "empty"), ("a\0b", "control"), ("x\n", "control")] {
        let err = Publisher::<u8>::builder(name)
            .root(root.path())
            .create()
            .unwrap_err();
        assert!(matches!(err, CreateError::InvalidName(_)), "{name:?}");
        assert!(err.to_string().contains(what), "{err}");
        let err = Subscriber::<u8>::builder(name)
            .root(root.path())
            .open()
            .unwrap_err();
        assert!(matches!(err, SubscribeError::InvalidName(_)), "{name:?}");
    }
    let long = "n".repeat(300);
    let err = Publisher::<u8>::builder(&long)
        .root(root.path())
        .create()
        .unwrap_err();
    assert!(err.to_string().contains("too long"), "{err}");
    for n in [0, 1, shm::MAX_BUFFER_NUM + 1, usize::MAX] {
        let err = Publisher::<u8>::builder("b")
            .root(root.path())
            .buffer_num(n)
            .create()
            .unwrap_err();
        assert!(
            matches!(err, CreateError::InvalidBufferNum { .. }),
            "{n}: {err}"
        );
        assert!(err.to_string().contains("out of range"), "{err}");
    }
    let err = Publisher::<u8>::builder("t")
        .root(root.path().join("missing"))
        .create()
        .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    // Nothing was left behind by the refused attempts.
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn names_map_to_distinct_readable_files() {
    let root = TempRoot::new("names");
    let mut a = root.publisher::<u8>("a/b");
    let mut b = root.publisher::<u8>("a_b");
    a.publish(&1).unwrap();
    b.publish(&2).unwrap();
    assert!(a.path().ends_with("shm.a%2Fb"));
    assert!(b.path().ends_with("shm.a_b"));
    assert_eq!(
        root.subscriber::<u8>("a/b")
            .latest()
            .unwrap()
            .unwrap()
            .value,
        1
    );
    assert_eq!(
        root.subscriber::<u8>("a_b")
            .latest()
            .unwrap()
            .unwrap()
            .value,
        2
    );
}

#[test]
fn bools_are_validated_after_a_consistent_read() {
    use std::os::unix::fs::FileExt;
    let root = TempRoot::new("bool");
    let mut p = root.publisher::<Flags>("flags");
    p.publish(&Flags {
        armed: true,
        moving: false,
        count: 3,
    })
    .unwrap();
    let mut s = root.subscriber::<Flags>("flags");
    assert!(s.latest().unwrap().unwrap().value.armed);
    // A foreign writer puts 2 into `moving` of the published slot (seq 1 lives in slot 1).
    // Offsets come from the header, as docs/FORMAT.md specifies them.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(p.path())
        .unwrap();
    let u64_at = |off: u64| {
        let mut b = [0u8; 8];
        file.read_exact_at(&mut b, off).unwrap();
        u64::from_le_bytes(b)
    };
    let data_offset = u64_at(52) & 0xffff_ffff;
    let (stride, slots_offset) = (u64_at(56), u64_at(64));
    let slot = slots_offset + stride; // seq 1 lives in slot 1 % 3
    file.write_all_at(&[2], slot + data_offset + 1).unwrap();
    let err = s.latest().unwrap_err();
    assert!(
        matches!(err, SubscribeError::InvalidValue { seq: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("not a valid value"), "{err}");
    // Reading into a caller's value refuses it too, and leaves the caller's value alone.
    let mut out = Flags {
        armed: false,
        moving: false,
        count: 9,
    };
    let err = s.latest_into(&mut out).unwrap_err();
    assert!(matches!(err, SubscribeError::InvalidValue { seq: 1, .. }));
    assert_eq!(out.count, 9);
    // The next good publish is read normally.
    p.publish(&Flags {
        armed: false,
        moving: true,
        count: 4,
    })
    .unwrap();
    assert!(s.latest().unwrap().unwrap().value.moving);
}

#[test]
fn message_shapes_round_trip() {
    #[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Rgb(u8, u8, u8);

    #[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C, align(32))]
    struct Aligned {
        v: [f32; 8],
    }

    #[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Tick;

    #[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Big {
        data: [u64; 8192],
        tail: [u8; 8],
    }

    let root = TempRoot::new("shapes");
    let mut p = root.publisher::<Rgb>("rgb");
    p.publish(&Rgb(1, 2, 3)).unwrap();
    assert_eq!(
        root.subscriber::<Rgb>("rgb")
            .latest()
            .unwrap()
            .unwrap()
            .value,
        Rgb(1, 2, 3)
    );

    let mut p = root.publisher::<Aligned>("aligned");
    let v = Aligned { v: [1.5; 8] };
    p.publish(&v).unwrap();
    assert_eq!(
        root.subscriber::<Aligned>("aligned")
            .latest()
            .unwrap()
            .unwrap()
            .value,
        v
    );

    let mut p = root.publisher::<Tick>("tick");
    let mut s = root.subscriber::<Tick>("tick");
    p.publish(&Tick).unwrap();
    p.publish(&Tick).unwrap();
    assert_eq!(s.try_recv().unwrap().unwrap().seq, 2);

    let mut big = Box::new(Big {
        data: [0; 8192],
        tail: *b"endofmsg",
    });
    for (i, w) in big.data.iter_mut().enumerate() {
        *w = i as u64 * 3;
    }
    let mut p = root.publisher::<Big>("big");
    p.publish(&big).unwrap();
    let got = root
        .subscriber::<Big>("big")
        .latest()
        .unwrap()
        .unwrap()
        .value;
    assert!(got == *big);
}

#[test]
fn derived_types_are_registered() {
    let s = shm::registry::find_by_hash(TestPose::SCHEMA.hash()).unwrap();
    assert_eq!(s.name(), "TestPose");
    // Two different types share the name "TestPose" (v2 sets it explicitly).
    let err = shm::registry::find("TestPose").unwrap_err();
    assert!(
        matches!(err, shm::registry::LookupError::Ambiguous { .. }),
        "{err}"
    );
    assert!(shm::registry::find_by_hash(v2::TestPose::SCHEMA.hash()).is_some());
    assert_eq!(shm::registry::find("Flags").unwrap().size(), 4);
    assert_eq!(
        shm::registry::find("i64").unwrap().hash(),
        i64::SCHEMA.hash()
    );
}

#[test]
fn a_taken_over_file_keeps_its_mode_unless_one_is_asked_for() {
    use std::os::unix::fs::PermissionsExt;
    let root = TempRoot::new("mode-reuse");
    let mode =
        |p: &Publisher<u8>| std::fs::metadata(p.path()).unwrap().permissions().mode() & 0o777;
    let p = Publisher::<u8>::builder("t")
        .root(root.path())
        .mode(0o640)
        .create()
        .unwrap();
    assert_eq!(mode(&p), 0o640);
    drop(p);
    let p = root.publisher::<u8>("t");
    assert_eq!(
        mode(&p),
        0o640,
        "a default publisher does not narrow a widened topic"
    );
    drop(p);
    let p = Publisher::<u8>::builder("t")
        .root(root.path())
        .buffer_num(5)
        .create()
        .unwrap();
    assert!(p.takeover().unwrap().recreated);
    assert_eq!(
        mode(&p),
        0o640,
        "a replacement file is as accessible as the old one"
    );
    drop(p);
    let p = Publisher::<u8>::builder("t")
        .root(root.path())
        .buffer_num(5)
        .mode(0o600)
        .create()
        .unwrap();
    assert_eq!(
        mode(&p),
        0o600,
        "an explicit mode applies to the reused file"
    );
}

#[test]
fn a_missing_root_is_an_error_not_an_empty_topic() {
    let root = TempRoot::new("noroot");
    let missing = root.path().join("typo");
    let err = Subscriber::<u8>::builder("t")
        .root(&missing)
        .open()
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SubscribeError::Io { .. }), "{text}");
    assert!(text.contains("typo") && text.contains("SHM_ROOT"), "{text}");
    let file = root.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = Subscriber::<u8>::builder("t")
        .root(&file)
        .open()
        .unwrap_err();
    assert!(err.to_string().contains("must be a directory"), "{err}");
}

#[test]
fn a_file_removed_by_hand_under_a_live_publisher_is_left_for_the_new_one() {
    // The old publisher keeps writing into its (now nameless) file; subscribers follow the
    // topic's path to the new publisher's file.
    let root = TempRoot::new("orphan");
    let mut old = root.publisher::<u64>("t");
    let mut s = root.subscriber::<u64>("t");
    old.publish(&1).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value, 1);
    std::fs::remove_file(root.topic_file("t")).unwrap();
    let mut new = root.publisher::<u64>("t");
    new.publish(&1000).unwrap();
    let mut n = 1;
    let got = poll(Duration::from_secs(5), "the new file", || {
        n += 1;
        old.publish(&n).unwrap();
        s.latest().unwrap().filter(|v| v.value == 1000)
    });
    assert_eq!(got.seq, 1);
}

#[test]
fn a_reader_that_never_finds_a_consistent_slot_gives_up_with_contended() {
    use std::os::unix::fs::FileExt;
    let root = TempRoot::new("contended");
    let mut p = root.publisher::<u64>("t");
    p.publish(&1).unwrap();
    let mut s = root.subscriber::<u64>("t");
    assert!(s.latest().unwrap().is_some());
    // As a writer lapping the ring forever would: the slot after the reader's shows a value
    // far ahead, and publish_seq names a value no slot holds.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(p.path())
        .unwrap();
    let u64_at = |off: u64| {
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, off).unwrap();
        u64::from_le_bytes(b)
    };
    let (stride, slots_offset) = (u64_at(56), u64_at(64));
    f.write_all_at(&(100u64 << 1).to_le_bytes(), slots_offset + 2 * stride)
        .unwrap();
    f.write_all_at(&7u64.to_le_bytes(), 200).unwrap();
    let err = s.latest().unwrap_err();
    assert!(
        matches!(err, SubscribeError::Contended { attempts: 1000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("buffer_num"), "{err}");
    assert!(s.retries() >= 1000);
    p.publish(&8).unwrap();
    assert_eq!(
        s.latest().unwrap().unwrap().value,
        8,
        "recovers with the next publish"
    );
}

#[test]
fn packed_and_nested_types_are_compared_field_by_field() {
    mod a {
        #[derive(shm::ShmMessage, Clone, Copy)]
        #[repr(C, packed)]
        pub(crate) struct Reading {
            pub(crate) valid: bool,
            pub(crate) value: f32,
        }
        #[derive(shm::ShmMessage, Clone, Copy)]
        #[repr(C)]
        pub(crate) struct Vec3 {
            pub(crate) x: f64,
            pub(crate) y: f64,
            pub(crate) z: f64,
        }
        #[derive(shm::ShmMessage, Clone, Copy)]
        #[repr(C)]
        pub(crate) struct Imu {
            pub(crate) accel: Vec3,
            pub(crate) seq: u64,
        }
    }
    mod b {
        #[derive(shm::ShmMessage, Clone, Copy)]
        #[repr(C, packed)]
        pub(crate) struct Reading {
            pub(crate) valid: bool,
            pub(crate) value: i32,
        }
        #[derive(shm::ShmMessage, Clone, Copy)]
        #[repr(C)]
        pub(crate) struct Vec3 {
            pub(crate) x: f64,
            pub(crate) y: f64,
            pub(crate) w: f64,
        }
        #[derive(shm::ShmMessage, Clone, Copy)]
        #[repr(C)]
        pub(crate) struct Imu {
            pub(crate) accel: Vec3,
            pub(crate) seq: u64,
        }
    }
    let root = TempRoot::new("nested");
    let mut p = root.publisher::<a::Reading>("reading");
    p.publish(&a::Reading {
        valid: true,
        value: 1.5,
    })
    .unwrap();
    let got = root
        .subscriber::<a::Reading>("reading")
        .latest()
        .unwrap()
        .unwrap()
        .value;
    assert!(got.valid && { got.value } == 1.5);
    let err = Subscriber::<b::Reading>::builder("reading")
        .root(root.path())
        .open()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("field `value`: `f32` in the topic, `i32` here"),
        "{err}"
    );

    let _p = root.publisher::<a::Imu>("imu");
    let err = Subscriber::<b::Imu>::builder("imu")
        .root(root.path())
        .open()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("another version of `Imu`"), "{text}");
    assert!(
        text.contains("field `accel.z`: f64 at offset 16 exists only in the topic"),
        "{text}"
    );
    assert!(
        text.contains("field `accel.w`: f64 at offset 16 exists only here"),
        "{text}"
    );
}

#[test]
fn publishers_and_subscribers_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Publisher<TestPose>>();
    send_sync::<Subscriber<TestPose>>();
    let root = TempRoot::new("threads");
    let mut p = root.publisher::<u64>("t");
    let mut s = root.subscriber::<u64>("t");
    std::thread::spawn(move || p.publish(&5).unwrap())
        .join()
        .unwrap();
    let v = std::thread::spawn(move || s.latest().unwrap().unwrap().value)
        .join()
        .unwrap();
    assert_eq!(v, 5);
}

#[test]
fn a_value_carried_into_a_file_made_anew_is_new_to_a_subscriber_of_the_removed_one() {
    // The subscriber's last value came from a file with higher numbers that was removed; the
    // topic was made anew (numbers restart) and then replaced (another buffer_num), carrying
    // its last value. That value was never returned: it is new, whatever its number.
    let root = TempRoot::new("lineage");
    let mut p = root.publisher::<u64>("t");
    for i in 1..=100 {
        p.publish(&i).unwrap();
    }
    let mut s = root.subscriber::<u64>("t");
    assert_eq!(s.try_recv().unwrap().unwrap().seq, 100);
    drop(p);
    assert!(shm::remove_topic_in(root.path(), "t").unwrap());
    let mut p = root.publisher::<u64>("t");
    for i in 1..=3 {
        assert_eq!(p.publish(&(1000 + i)).unwrap(), i);
    }
    drop(p);
    let _p = Publisher::<u64>::builder("t")
        .root(root.path())
        .buffer_num(5)
        .create()
        .unwrap();
    let v = s
        .try_recv()
        .unwrap()
        .expect("the carried value was never returned");
    assert_eq!((v.seq, v.value, v.is_new, v.missed), (3, 1003, true, 2));
    assert!(s.try_recv().unwrap().is_none());
    let again = s.latest().unwrap().unwrap();
    assert_eq!((again.value, again.is_new), (1003, false));
}

#[test]
fn a_read_of_nothing_new_copies_nothing() {
    let root = TempRoot::new("nothing-new");
    let mut p = root.publisher::<TestPose>("pose");
    let mut s = root.subscriber::<TestPose>("pose");
    let sentinel = TestPose::nth(999);
    let mut out = sentinel;
    assert!(s.try_recv_into(&mut out).unwrap().is_none());
    assert_eq!(out, sentinel, "nothing published: out untouched");
    p.publish(&TestPose::nth(1)).unwrap();
    assert_eq!(s.try_recv_into(&mut out).unwrap().unwrap().seq, 1);
    assert_eq!(out, TestPose::nth(1));
    // The newest value is the one returned: `out` is neither copied into nor changed.
    out = sentinel;
    assert!(s.try_recv_into(&mut out).unwrap().is_none());
    assert_eq!(
        out, sentinel,
        "a value already returned is not copied again"
    );
    // `latest_into` returns the newest value, new or not.
    assert_eq!(s.latest_into(&mut out).unwrap().unwrap().seq, 1);
    assert_eq!(out, TestPose::nth(1));

    // The same for slices: the caller's `Vec` keeps what it held.
    let mut ps = Publisher::<[u32]>::builder("ranges")
        .root(root.path())
        .max_len(64)
        .create()
        .unwrap();
    let mut ss = Subscriber::<[u32]>::builder("ranges")
        .root(root.path())
        .open()
        .unwrap();
    ps.publish(&[1, 2, 3]).unwrap();
    let mut ranges = Vec::new();
    assert!(ss.try_recv_into(&mut ranges).unwrap().is_some());
    assert_eq!(ranges, [1, 2, 3]);
    ranges = vec![7];
    assert!(ss.try_recv_into(&mut ranges).unwrap().is_none());
    assert_eq!(ranges, [7]);
    // A blocking wait into the caller's value, once something new arrives.
    ps.publish(&[4, 5]).unwrap();
    let sample = ss
        .recv_timeout_into(&mut ranges, Duration::from_secs(10))
        .unwrap();
    assert_eq!((sample.seq, ranges.as_slice()), (2, &[4, 5][..]));
    p.publish(&TestPose::nth(2)).unwrap();
    let sample = s.recv_into(&mut out).unwrap();
    assert_eq!((sample.seq, out), (2, TestPose::nth(2)));
}
