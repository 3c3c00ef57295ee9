//! Topic files that are not what they should be: foreign, truncated, from a newer version,
//! corrupted, or booby-trapped. Each is refused with a clear error and left untouched; none
//! crashes a reader or a publisher.

use std::os::unix::fs::FileExt;
use std::path::Path;

use shm::{CreateError, FormatError, Publisher, SubscribeError, Subscriber};
use shm_integration::TestPose;
use shm_integration::hostile::write_topic_with_schema;
use shm_integration::root::TempRoot;

fn format_error(e: &SubscribeError) -> &FormatError {
    match e {
        SubscribeError::Format { source, .. } => source,
        other => panic!("expected a format error, got: {other}"),
    }
}

/// A valid topic file with one value, for tests to damage.
fn valid_topic(root: &TempRoot, topic: &str) -> Vec<u8> {
    let mut p = root.try_publisher::<TestPose>(topic).unwrap();
    p.publish(&TestPose::nth(1)).unwrap();
    std::fs::read(p.path()).unwrap()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn foreign_file_is_refused_by_both_sides_and_left_untouched() {
    let root = TempRoot::new("foreign");
    let path = root.topic_file("t");
    let junk = b"not a topic, but somebody's data ".repeat(20);
    write(&path, &junk);

    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    assert_eq!(format_error(&err), &FormatError::BadMagic);
    assert!(err.to_string().contains("not a shm topic"), "{err}");

    let err = root.try_publisher::<TestPose>("t").unwrap_err();
    assert!(
        matches!(
            err,
            CreateError::Format {
                source: FormatError::BadMagic,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), junk);

    // The remedy the message suggests works.
    assert!(shm::remove_topic_in(root.path(), "t").unwrap());
    root.try_publisher::<TestPose>("t").unwrap();
}

#[test]
fn small_and_truncated_files_are_refused() {
    let root = TempRoot::new("trunc");
    let good = valid_topic(&root, "t");
    let path = root.topic_file("t");

    write(&path, &good[..100]);
    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    assert_eq!(
        format_error(&err),
        &FormatError::TooSmall {
            size: 100,
            min: 320
        }
    );

    write(&path, &good[..good.len() - 1]);
    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    assert!(
        matches!(format_error(&err), FormatError::Truncated { needed, .. } if *needed == good.len() as u64),
        "{err}"
    );
    assert!(matches!(
        root.try_publisher::<TestPose>("t"),
        Err(CreateError::Format { .. })
    ));

    write(&path, &[]);
    assert!(matches!(
        format_error(&root.try_subscriber::<TestPose>("t").unwrap_err()),
        FormatError::TooSmall { .. }
    ));
}

#[test]
fn newer_format_version_is_refused() {
    let root = TempRoot::new("version");
    let mut bytes = valid_topic(&root, "t");
    bytes[8..12].copy_from_slice(&4u32.to_le_bytes());
    write(&root.topic_file("t"), &bytes);
    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    assert_eq!(
        format_error(&err),
        &FormatError::UnsupportedVersion {
            found: 4,
            supported: 3
        }
    );
    assert!(err.to_string().contains("upgrade"), "{err}");
    // Older versions (1: the state word elsewhere; 2: no lineage) are refused too, with
    // another remedy.
    for old in [1u32, 2] {
        bytes[8..12].copy_from_slice(&old.to_le_bytes());
        write(&root.topic_file("t"), &bytes);
        let err = root.try_subscriber::<TestPose>("t").unwrap_err();
        assert!(err.to_string().contains("an older version"), "{err}");
    }
    bytes[8..12].copy_from_slice(&4u32.to_le_bytes());
    write(&root.topic_file("t"), &bytes);
    // A publisher does not clobber a newer library's topic either.
    assert!(matches!(
        root.try_publisher::<TestPose>("t").unwrap_err(),
        CreateError::Format {
            source: FormatError::UnsupportedVersion { .. },
            ..
        }
    ));
}

#[test]
fn corrupted_schema_and_layout_fields_are_refused() {
    let root = TempRoot::new("corrupt");
    let good = valid_topic(&root, "t");
    let path = root.topic_file("t");

    let mut bytes = good.clone();
    bytes[320 + 9] ^= 0x20; // a letter of the type name in the stored schema
    write(&path, &bytes);
    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    assert!(
        matches!(format_error(&err), FormatError::SchemaCorrupt { .. }),
        "{err}"
    );

    let mut bytes = good.clone();
    bytes[48..52].copy_from_slice(&1000u32.to_le_bytes()); // slot_count
    write(&path, &bytes);
    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    assert!(
        matches!(format_error(&err), FormatError::Inconsistent { .. }),
        "{err}"
    );

    let mut bytes = good.clone();
    bytes[56..64].copy_from_slice(&u64::MAX.to_le_bytes()); // stride
    write(&path, &bytes);
    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    assert!(
        matches!(
            format_error(&err),
            FormatError::Inconsistent {
                field: "stride",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn every_single_byte_corruption_is_survived() {
    // Mutate each byte of the header and schema (and truncate at many lengths): opening and
    // reading must give a value or an error, never a crash, a panic or a hang.
    let root = TempRoot::new("sweep");
    let good = valid_topic(&root, "t");
    let header_end = u64::from_le_bytes(good[64..72].try_into().unwrap()) as usize;
    let path = root.topic_file("t");
    let (mut ok, mut refused) = (0, 0);
    for i in 0..header_end {
        for v in [0x00u8, 0x01, 0x80, 0xff] {
            if good[i] == v {
                continue;
            }
            let mut bytes = good.clone();
            bytes[i] = v;
            write(&path, &bytes);
            match root
                .try_subscriber::<TestPose>("t")
                .and_then(|mut s| s.latest().map(|_| ()))
            {
                Ok(()) => ok += 1,
                Err(_) => refused += 1,
            }
        }
    }
    for len in (0..good.len()).step_by(7) {
        write(&path, &good[..len]);
        assert!(
            root.try_subscriber::<TestPose>("t").is_err(),
            "truncated to {len} bytes"
        );
    }
    // The stored value only decodes when the damage is in a field readers do not depend on.
    assert!(refused > ok, "ok {ok}, refused {refused}");
    // And a publisher facing the same files never panics either.
    for i in (0..header_end).step_by(3) {
        let mut bytes = good.clone();
        bytes[i] ^= 0xff;
        write(&path, &bytes);
        let _ = root.try_publisher::<TestPose>("t");
    }
}

#[test]
fn symlinks_at_the_topic_path_are_not_followed() {
    let root = TempRoot::new("symlink");
    let victim = root.path().join("victim.txt");
    write(&victim, b"precious");
    std::os::unix::fs::symlink(&victim, root.topic_file("t")).unwrap();
    let err = root.try_publisher::<TestPose>("t").unwrap_err();
    assert!(matches!(err, CreateError::Io { .. }), "{err}");
    assert!(root.try_subscriber::<TestPose>("t").is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
}

/// Leaves `topic` as a publisher killed right after completing value 3 would: values 1 to 3 in
/// their slots, but the publish sequence still naming 2.
fn killed_after_stamping_3(root: &TempRoot, topic: &str) {
    let mut p = root.try_publisher::<TestPose>(topic).unwrap();
    for i in 1..=3 {
        p.publish(&TestPose::nth(i)).unwrap();
    }
    let path = p.path().to_path_buf();
    drop(p);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&2u64.to_le_bytes(), 200).unwrap(); // publish_seq, docs/FORMAT.md
}

#[test]
fn a_publisher_killed_after_stamping_a_value_is_continued_after_it() {
    // Killed between completing a slot (stamp 3 << 1) and naming it in the publish sequence
    // (still 2): value 3 is the newest complete value, and every read returns it (not 2 first
    // and 3 next); a new publisher continues after it.
    let root = TempRoot::new("stamped");
    killed_after_stamping_3(&root, "t");

    let mut s = root.try_subscriber::<TestPose>("t").unwrap();
    for _ in 0..3 {
        let v = s.latest().unwrap().unwrap();
        assert_eq!((v.seq, v.value), (3, TestPose::nth(3)), "stable");
    }
    let mut p = root.try_publisher::<TestPose>("t").unwrap();
    assert_eq!(p.takeover().unwrap().last_seq, 3);
    assert_eq!(p.publish(&TestPose::nth(4)).unwrap(), 4);
    let v = s.latest().unwrap().unwrap();
    assert_eq!((v.seq, v.value), (4, TestPose::nth(4)));
}

#[test]
fn a_reader_lapped_before_such_a_crash_still_reads_the_newest_value() {
    // The racy kill test's failure, built deterministically: a reader read value 1, the
    // publisher then lapped the ring (values 2 to 7 in 3 slots) and was killed after stamping 7
    // but before naming it. The reader's cursor is lapped, so it starts again from the publish
    // sequence (6): it must still return 7, every time.
    let root = TempRoot::new("stamped-lapped");
    let mut p = root.try_publisher::<TestPose>("t").unwrap();
    p.publish(&TestPose::nth(1)).unwrap();
    let mut s = root.try_subscriber::<TestPose>("t").unwrap();
    assert_eq!(s.latest().unwrap().unwrap().seq, 1);
    for i in 2..=7 {
        p.publish(&TestPose::nth(i)).unwrap();
    }
    let path = p.path().to_path_buf();
    drop(p);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&6u64.to_le_bytes(), 200).unwrap(); // publish_seq, docs/FORMAT.md
    for _ in 0..3 {
        let v = s.latest().unwrap().unwrap();
        assert_eq!(
            (v.seq, v.value),
            (7, TestPose::nth(7)),
            "stable after the kill"
        );
    }
    // A subscriber without a cursor agrees.
    let v = root
        .try_subscriber::<TestPose>("t")
        .unwrap()
        .latest()
        .unwrap()
        .unwrap();
    assert_eq!(v.seq, 7);
}

#[test]
fn a_replacement_after_such_a_crash_carries_the_stamped_value() {
    // As above, then the next publisher asks for another buffer_num, which replaces the file:
    // it carries value 3 (the highest stamp), not 2 (what the header named), so the numbers
    // have no gap.
    let root = TempRoot::new("stamped-replace");
    killed_after_stamping_3(&root, "t");
    let mut s = root.try_subscriber::<TestPose>("t").unwrap();
    assert_eq!(s.latest().unwrap().unwrap().seq, 3);
    let mut p = Publisher::<TestPose>::builder("t")
        .root(root.path())
        .buffer_num(5)
        .create()
        .unwrap();
    let takeover = p.takeover().unwrap();
    assert!(takeover.recreated && takeover.kept_last_value);
    assert_eq!(takeover.last_seq, 3);
    let carried = s.latest().unwrap().unwrap();
    assert_eq!((carried.seq, carried.value), (3, TestPose::nth(3)));
    assert!(!carried.is_new, "the same value as before the replacement");
    assert_eq!(p.publish(&TestPose::nth(4)).unwrap(), 4);
    let v = s.latest().unwrap().unwrap();
    assert_eq!((v.seq, v.value, v.missed), (4, TestPose::nth(4), 0));
}

#[test]
fn crash_mid_write_leaves_no_torn_value() {
    // Simulate a publisher killed between the two stamp stores: the slot it was writing has
    // an odd stamp and half-written data. Readers keep the previous value; a new publisher
    // overwrites the slot and continues.
    let root = TempRoot::new("midwrite");
    let mut p = root.try_publisher::<TestPose>("t").unwrap();
    p.publish(&TestPose::nth(1)).unwrap();
    p.publish(&TestPose::nth(2)).unwrap();
    let path = p.path().to_path_buf();
    drop(p);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mut b = [0u8; 8];
    f.read_exact_at(&mut b, 64).unwrap();
    let slots = u64::from_le_bytes(b);
    let slot3 = slots; // seq 3 lives in slot 3 % 3 == 0
    f.write_all_at(&((3u64 << 1) | 1).to_le_bytes(), slot3)
        .unwrap();
    f.write_all_at(&[0xAB; 16], slot3 + 16).unwrap();

    let mut s = root.try_subscriber::<TestPose>("t").unwrap();
    let v = s.latest().unwrap().unwrap();
    assert_eq!((v.seq, v.value), (2, TestPose::nth(2)));
    let mut p = root.try_publisher::<TestPose>("t").unwrap();
    assert_eq!(p.publish(&TestPose::nth(3)).unwrap(), 3);
    let v = s.latest().unwrap().unwrap();
    assert_eq!((v.seq, v.value), (3, TestPose::nth(3)));
}

#[test]
fn pipes_and_directories_at_the_topic_path_are_refused_without_hanging() {
    let root = TempRoot::new("fifo");
    let path = root.topic_file("t");
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Opening a FIFO blocks until a writer appears, unless done without blocking.
    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    assert_eq!(format_error(&err), &FormatError::NotAFile);
    assert!(
        err.to_string().contains("not a topic of this library"),
        "{err}"
    );
    let err = root.try_publisher::<TestPose>("t").unwrap_err();
    assert!(
        matches!(
            err,
            CreateError::Format {
                source: FormatError::NotAFile,
                ..
            }
        ),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();

    std::fs::create_dir(&path).unwrap();
    assert!(root.try_subscriber::<TestPose>("t").is_err());
    assert!(root.try_publisher::<TestPose>("t").is_err());
}

/// Offsets of docs/FORMAT.md.
const OFF_SEQ_BASE: u64 = 104;
const OFF_LEND_ENTRIES: u64 = 116;
const OFF_STATE: u64 = 168;
const OFF_PUBLISH_SEQ: u64 = 200;

fn poke(path: &Path, offset: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, offset).unwrap();
}

fn slots_offset(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    u64::from_le_bytes(bytes[64..72].try_into().unwrap())
}

#[test]
fn sequence_numbers_near_the_top_of_u64_are_refused_not_wrapped() {
    // A file claiming sequence numbers no publisher reaches (2^62 and more): a reader reports
    // it damaged (no panic in a debug build, no seq 0 or wrapped numbers in a release build),
    // and a publisher refuses to continue after it instead of restarting at 0.
    let root = TempRoot::new("seq-max");
    let path = root.topic_file("t");
    valid_topic(&root, "t");
    poke(&path, OFF_PUBLISH_SEQ, &u64::MAX.to_le_bytes());
    let slot0 = slots_offset(&path);
    poke(&path, slot0, &0xFFFF_FFFF_FFFF_FFFEu64.to_le_bytes());
    let mut s = root.try_subscriber::<TestPose>("t").unwrap();
    for _ in 0..4 {
        let err = s.latest().unwrap_err();
        assert!(
            matches!(
                format_error(&err),
                FormatError::Inconsistent {
                    field: "publish_seq",
                    ..
                }
            ),
            "{err}"
        );
    }
    let err = root.try_publisher::<TestPose>("t").unwrap_err();
    assert!(
        matches!(
            err,
            CreateError::Format {
                source: FormatError::Inconsistent {
                    field: "publish_seq",
                    ..
                },
                ..
            }
        ),
        "{err}"
    );

    // seq_base at the top: refused when opened, by both sides.
    valid_topic(&root, "u");
    let path = root.topic_file("u");
    poke(&path, OFF_SEQ_BASE, &u64::MAX.to_le_bytes());
    let err = root.try_subscriber::<TestPose>("u").unwrap_err();
    assert!(
        matches!(
            format_error(&err),
            FormatError::Inconsistent {
                field: "seq_base",
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        root.try_publisher::<TestPose>("u").unwrap_err(),
        CreateError::Format { .. }
    ));

    // A complete stamp at the top, publish_seq still sane: the publisher refuses too.
    valid_topic(&root, "v");
    let path = root.topic_file("v");
    let slot2 = slots_offset(&path) + 2 * 64;
    poke(&path, slot2, &(u64::MAX - 1).to_le_bytes());
    assert!(matches!(
        root.try_publisher::<TestPose>("v").unwrap_err(),
        CreateError::Format { .. }
    ));
}

#[test]
fn pin_entries_must_come_with_their_layout() {
    let root = TempRoot::new("reserved");
    // A copying topic's file claiming a pin table it does not have.
    valid_topic(&root, "t");
    poke(&root.topic_file("t"), OFF_LEND_ENTRIES, &[1]);
    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    assert!(
        matches!(
            format_error(&err),
            FormatError::Inconsistent {
                field: "slots_offset",
                ..
            }
        ),
        "{err}"
    );
    // More entries than a topic may have.
    valid_topic(&root, "u");
    poke(
        &root.topic_file("u"),
        OFF_LEND_ENTRIES,
        &65u32.to_le_bytes(),
    );
    let err = root.try_subscriber::<TestPose>("u").unwrap_err();
    assert!(
        matches!(
            format_error(&err),
            FormatError::Inconsistent {
                field: "lend_entries",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_damaged_state_word_ends_a_wait_with_an_error_instead_of_spinning() {
    // Any state but "live" after open used to make every wait step skip its sleep (and issue a
    // membarrier): a busy loop until the deadline. Now the subscriber reopens the path, and
    // the file is refused.
    let root = TempRoot::new("state");
    let mut p = root.try_publisher::<TestPose>("t").unwrap();
    p.publish(&TestPose::nth(1)).unwrap();
    let mut s = root.try_subscriber::<TestPose>("t").unwrap();
    assert!(s.try_recv().unwrap().is_some());
    poke(&root.topic_file("t"), OFF_STATE, &7u32.to_le_bytes());
    let start = std::time::Instant::now();
    let err = s
        .recv_timeout(std::time::Duration::from_secs(2))
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown state 7"),
        "{err} after {:?}",
        start.elapsed()
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn a_huge_foreign_schema_gives_a_short_mismatch_message() {
    // A crafted topic whose type has thousands of fields: the mismatch names the first
    // differences and how many more, in a bounded message.
    use shm::schema::{DescKind, FieldDesc, Primitive, SchemaDesc};
    let root = TempRoot::new("huge-schema");
    valid_topic(&root, "t");
    let path = root.topic_file("t");
    let mut fields = Vec::new();
    for i in 0..3500u64 {
        fields.push(FieldDesc {
            name: format!("field_with_a_long_name_{i:06}_{}", "x".repeat(200)),
            offset: i * 8,
            ty: SchemaDesc {
                name: "u64".into(),
                size: 8,
                align: 8,
                kind: DescKind::Primitive(Primitive::U64),
            },
        });
    }
    let schema = SchemaDesc {
        name: "TestPose".into(),
        size: 3500 * 8,
        align: 8,
        kind: DescKind::Struct(fields),
    }
    .encode();
    assert!(schema.len() > 800_000, "{}", schema.len());
    write_topic_with_schema(&path, &schema, 3500 * 8);
    let err = root.try_subscriber::<TestPose>("t").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SubscribeError::SchemaMismatch(_)), "{msg}");
    assert!(msg.len() < 4096, "{} bytes", msg.len());
    assert!(msg.contains("more difference"), "{msg}");
}

#[test]
fn a_carried_value_with_an_invalid_bool_is_not_carried() {
    // The last value of a file being replaced is copied into the new file only if it is a
    // valid value: a bool byte of 2 would make every subscriber fail until the next publish.
    use shm_integration::Flags;
    let root = TempRoot::new("carry-invalid");
    let mut p = Publisher::<Flags>::builder("t")
        .root(root.path())
        .create()
        .unwrap();
    let seq = p
        .publish(&Flags {
            armed: true,
            moving: false,
            count: 7,
        })
        .unwrap();
    drop(p);
    let path = root.topic_file("t");
    let slot = slots_offset(&path) + (seq % 3) * 64;
    poke(&path, slot + 16, &[2]); // `armed`, docs/FORMAT.md: data at +16
    let mut p = Publisher::<Flags>::builder("t")
        .root(root.path())
        .buffer_num(4)
        .create()
        .unwrap();
    let t = p.takeover().unwrap();
    assert!(t.recreated && !t.kept_last_value, "{t:?}");
    let mut s = Subscriber::<Flags>::builder("t")
        .root(root.path())
        .open()
        .unwrap();
    assert!(s.latest().unwrap().is_none(), "nothing invalid was carried");
    p.publish(&Flags {
        armed: false,
        moving: true,
        count: 8,
    })
    .unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value.count, 8);
}

#[test]
fn a_publisher_continuing_near_the_largest_number_stops_there() {
    // A (damaged) file whose last number is just below the bound is taken over; the publisher
    // writes up to the bound and then refuses, instead of writing a number readers reject.
    let root = TempRoot::new("seq-exhausted");
    let path = root.topic_file("t");
    valid_topic(&root, "t");
    const MAX_SEQ: u64 = 1 << 62;
    poke(&path, OFF_PUBLISH_SEQ, &(MAX_SEQ - 1).to_le_bytes());
    let mut p = root.try_publisher::<TestPose>("t").unwrap();
    assert_eq!(p.publish(&TestPose::nth(1)), Ok(MAX_SEQ));
    assert_eq!(
        p.publish(&TestPose::nth(2)),
        Err(shm::PublishError::SequenceExhausted)
    );
    let v = root.subscriber::<TestPose>("t").latest().unwrap().unwrap();
    assert_eq!((v.seq, v.value), (MAX_SEQ, TestPose::nth(1)));
}
