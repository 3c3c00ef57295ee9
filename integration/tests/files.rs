//! Topic files that are not what they should be: foreign, truncated, from a newer version,
//! corrupted, or booby-trapped. Each is refused with a clear error and left untouched; none
//! crashes a reader or a publisher.

use std::os::unix::fs::FileExt;
use std::path::Path;

use shm::{CreateError, FormatError, Publisher, SubscribeError, Subscriber};
use shm_integration::TestPose;
use shm_integration::root::TempRoot;

fn open_sub(root: &TempRoot, topic: &str) -> Result<Subscriber<TestPose>, SubscribeError> {
    Subscriber::builder(topic).root(root.path()).open()
}

fn create_pub(root: &TempRoot, topic: &str) -> Result<Publisher<TestPose>, CreateError> {
    Publisher::builder(topic).root(root.path()).create()
}

fn format_error(e: &SubscribeError) -> &FormatError {
    match e {
        SubscribeError::Format { source, .. } => source,
        other => panic!("expected a format error, got: {other}"),
    }
}

/// A valid topic file with one value, for tests to damage.
fn valid_topic(root: &TempRoot, topic: &str) -> Vec<u8> {
    let mut p = create_pub(root, topic).unwrap();
    p.publish(&TestPose::nth(1));
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

    let err = open_sub(&root, "t").unwrap_err();
    assert_eq!(format_error(&err), &FormatError::BadMagic);
    assert!(err.to_string().contains("not a shm topic"), "{err}");

    let err = create_pub(&root, "t").unwrap_err();
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
    create_pub(&root, "t").unwrap();
}

#[test]
fn small_and_truncated_files_are_refused() {
    let root = TempRoot::new("trunc");
    let good = valid_topic(&root, "t");
    let path = root.topic_file("t");

    write(&path, &good[..100]);
    let err = open_sub(&root, "t").unwrap_err();
    assert_eq!(
        format_error(&err),
        &FormatError::TooSmall {
            size: 100,
            min: 320
        }
    );

    write(&path, &good[..good.len() - 1]);
    let err = open_sub(&root, "t").unwrap_err();
    assert!(
        matches!(format_error(&err), FormatError::Truncated { needed, .. } if *needed == good.len() as u64),
        "{err}"
    );
    assert!(matches!(
        create_pub(&root, "t"),
        Err(CreateError::Format { .. })
    ));

    write(&path, &[]);
    assert!(matches!(
        format_error(&open_sub(&root, "t").unwrap_err()),
        FormatError::TooSmall { .. }
    ));
}

#[test]
fn newer_format_version_is_refused() {
    let root = TempRoot::new("version");
    let mut bytes = valid_topic(&root, "t");
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    write(&root.topic_file("t"), &bytes);
    let err = open_sub(&root, "t").unwrap_err();
    assert_eq!(
        format_error(&err),
        &FormatError::UnsupportedVersion {
            found: 3,
            supported: 2
        }
    );
    assert!(err.to_string().contains("upgrade"), "{err}");
    // Version 1 (the state word at another offset) is refused too, with another remedy.
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    write(&root.topic_file("t"), &bytes);
    let err = open_sub(&root, "t").unwrap_err();
    assert!(err.to_string().contains("an older version"), "{err}");
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    write(&root.topic_file("t"), &bytes);
    // A publisher does not clobber a newer library's topic either.
    assert!(matches!(
        create_pub(&root, "t").unwrap_err(),
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
    let err = open_sub(&root, "t").unwrap_err();
    assert!(
        matches!(format_error(&err), FormatError::SchemaCorrupt { .. }),
        "{err}"
    );

    let mut bytes = good.clone();
    bytes[48..52].copy_from_slice(&1000u32.to_le_bytes()); // slot_count
    write(&path, &bytes);
    let err = open_sub(&root, "t").unwrap_err();
    assert!(
        matches!(format_error(&err), FormatError::Inconsistent { .. }),
        "{err}"
    );

    let mut bytes = good.clone();
    bytes[56..64].copy_from_slice(&u64::MAX.to_le_bytes()); // stride
    write(&path, &bytes);
    let err = open_sub(&root, "t").unwrap_err();
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
            match open_sub(&root, "t").and_then(|mut s| s.latest().map(|_| ())) {
                Ok(()) => ok += 1,
                Err(_) => refused += 1,
            }
        }
    }
    for len in (0..good.len()).step_by(7) {
        write(&path, &good[..len]);
        assert!(open_sub(&root, "t").is_err(), "truncated to {len} bytes");
    }
    // The stored value only decodes when the damage is in a field readers do not depend on.
    assert!(refused > ok, "ok {ok}, refused {refused}");
    // And a publisher facing the same files never panics either.
    for i in (0..header_end).step_by(3) {
        let mut bytes = good.clone();
        bytes[i] ^= 0xff;
        write(&path, &bytes);
        let _ = create_pub(&root, "t");
    }
}

#[test]
fn symlinks_at_the_topic_path_are_not_followed() {
    let root = TempRoot::new("symlink");
    let victim = root.path().join("victim.txt");
    write(&victim, b"precious");
    std::os::unix::fs::symlink(&victim, root.topic_file("t")).unwrap();
    let err = create_pub(&root, "t").unwrap_err();
    assert!(matches!(err, CreateError::Io { .. }), "{err}");
    assert!(open_sub(&root, "t").is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
}

/// Leaves `topic` as a publisher killed right after completing value 3 would: values 1 to 3 in
/// their slots, but the publish sequence still naming 2.
fn killed_after_stamping_3(root: &TempRoot, topic: &str) {
    let mut p = create_pub(root, topic).unwrap();
    for i in 1..=3 {
        p.publish(&TestPose::nth(i));
    }
    let path = p.path().to_path_buf();
    drop(p);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&2u64.to_le_bytes(), 200).unwrap(); // publish_seq, docs/FORMAT.md
}

#[test]
fn a_publisher_killed_after_stamping_a_value_is_continued_after_it() {
    // Killed between completing a slot (stamp 3 << 1) and naming it in the publish sequence
    // (still 2): readers that follow stamps may return value 3, so a new publisher must not
    // write another value 3.
    let root = TempRoot::new("stamped");
    killed_after_stamping_3(&root, "t");

    let mut s = open_sub(&root, "t").unwrap();
    let first = s.latest().unwrap().unwrap();
    assert_eq!(
        (first.seq, first.value),
        (2, TestPose::nth(2)),
        "named by the header"
    );
    let next = s.latest().unwrap().unwrap();
    assert_eq!(
        (next.seq, next.value),
        (3, TestPose::nth(3)),
        "found by its stamp"
    );
    let mut p = create_pub(&root, "t").unwrap();
    assert_eq!(p.takeover().unwrap().last_seq, 3);
    assert_eq!(p.publish(&TestPose::nth(4)), 4);
    let v = s.latest().unwrap().unwrap();
    assert_eq!((v.seq, v.value), (4, TestPose::nth(4)));
}

#[test]
fn a_replacement_after_such_a_crash_carries_the_stamped_value() {
    // As above, then the next publisher asks for another buffer_num, which replaces the file:
    // it carries value 3 (the highest stamp), not 2 (what the header named), so the numbers
    // have no gap and readers following stamps see the new values at once.
    let root = TempRoot::new("stamped-replace");
    killed_after_stamping_3(&root, "t");
    let mut s = open_sub(&root, "t").unwrap();
    assert_eq!(s.latest().unwrap().unwrap().seq, 2);
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
    assert_eq!(p.publish(&TestPose::nth(4)), 4);
    let v = s.latest().unwrap().unwrap();
    assert_eq!((v.seq, v.value, v.missed), (4, TestPose::nth(4), 0));
}

#[test]
fn crash_mid_write_leaves_no_torn_value() {
    // Simulate a publisher killed between the two stamp stores: the slot it was writing has
    // an odd stamp and half-written data. Readers keep the previous value; a new publisher
    // overwrites the slot and continues.
    let root = TempRoot::new("midwrite");
    let mut p = create_pub(&root, "t").unwrap();
    p.publish(&TestPose::nth(1));
    p.publish(&TestPose::nth(2));
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

    let mut s = open_sub(&root, "t").unwrap();
    let v = s.latest().unwrap().unwrap();
    assert_eq!((v.seq, v.value), (2, TestPose::nth(2)));
    let mut p = create_pub(&root, "t").unwrap();
    assert_eq!(p.publish(&TestPose::nth(3)), 3);
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
    let err = open_sub(&root, "t").unwrap_err();
    assert_eq!(format_error(&err), &FormatError::NotAFile);
    assert!(
        err.to_string().contains("not a topic of this library"),
        "{err}"
    );
    let err = create_pub(&root, "t").unwrap_err();
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
    assert!(open_sub(&root, "t").is_err());
    assert!(create_pub(&root, "t").is_err());
}
