//! Bounded sequences and strings in messages: values of every length round-trip, typed and
//! untyped; a publish and a read copy only what each holds; a length above the capacity or a
//! string that is not UTF-8, written into a topic file by hand, is refused and never handed out.
//! (Across processes: the `svar` kind of the stress test, the CLI tests and the Python interop
//! tests with the `scan_filter` example.)

use std::os::unix::fs::FileExt;
use std::sync::Arc;

use shm::dynamic::{AnyPublisher, AnySubscriber, TopicSchema, Value};
use shm::{BoundedString, BoundedVec, ShmMessage, SubscribeError};
use shm_integration::root::TempRoot;

#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Echo {
    angle: f32,
    intensity: u16,
    valid: bool,
    _reserved: u8,
}

#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Scan {
    stamp: u64,
    frame_id: BoundedString<16>,
    ranges: BoundedVec<f32, 64>,
    echoes: BoundedVec<Echo, 4>,
    tags: [BoundedString<8>; 2],
}

fn scan(n_ranges: usize, n_echoes: usize, frame: &str) -> Scan {
    let ranges: Vec<f32> = (0..n_ranges).map(|i| i as f32 * 0.5).collect();
    let echoes: Vec<Echo> = (0..n_echoes)
        .map(|i| Echo {
            angle: i as f32,
            intensity: 100 + i as u16,
            valid: i % 2 == 0,
            _reserved: 0,
        })
        .collect();
    Scan {
        stamp: (n_ranges * 10 + n_echoes) as u64,
        frame_id: frame.try_into().unwrap(),
        ranges: BoundedVec::from_slice(&ranges).unwrap(),
        echoes: BoundedVec::from_slice(&echoes).unwrap(),
        tags: ["a".try_into().unwrap(), "ünï".try_into().unwrap()],
    }
}

/// Empty, partly filled and full.
fn cases() -> [Scan; 3] {
    [
        scan(0, 0, ""),
        scan(10, 1, "lidar"),
        scan(64, 4, "ümlaut-frame-15"),
    ]
}

/// The bytes of a value (a message has no padding: all of them are initialised).
fn bytes_of<T: ShmMessage>(v: &T) -> &[u8] {
    // SAFETY: `v` is a live `T`, whose `size_of::<T>()` bytes are all initialised (no padding,
    // ShmMessage's contract); the slice borrows `v`.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }
}

#[test]
fn values_of_every_length_round_trip_typed_and_untyped() {
    assert_eq!(size_of::<Scan>(), 8 + 24 + (8 + 256) + (8 + 32) + 32);
    let root = TempRoot::new("bounded-rt");
    let mut p = root.publisher::<Scan>("scan");
    let mut s = root.subscriber::<Scan>("scan");
    let mut any = AnySubscriber::builder("scan")
        .root(root.path())
        .open()
        .unwrap();
    for want in cases() {
        p.publish(&want).unwrap();
        let got = s.try_recv().unwrap().unwrap().value;
        assert_eq!(got, want);
        let raw = any.try_recv().unwrap().unwrap().value;
        let value = raw.decode();
        let Value::Struct { fields, .. } = &value else {
            panic!("{value}")
        };
        assert_eq!(fields[1].1, Value::String(want.frame_id.to_string()));
        let Value::Array(ranges) = &fields[2].1 else {
            panic!("{value}")
        };
        assert_eq!(ranges.len(), want.ranges.len());
        // Published again untyped, from the value tree: the same value.
        let mut again = AnyPublisher::builder("again", any.schema().unwrap().clone())
            .root(root.path())
            .create()
            .unwrap();
        again.publish_value(&value).unwrap();
        let back = root.subscriber::<Scan>("again").latest().unwrap().unwrap();
        assert_eq!(back.value, want);
    }
    // A bounded sequence is a topic type of its own.
    let mut p = root.publisher::<BoundedVec<Echo, 4>>("echoes");
    let mut s = root.subscriber::<BoundedVec<Echo, 4>>("echoes");
    for want in cases() {
        p.publish(&want.echoes).unwrap();
        assert_eq!(s.try_recv().unwrap().unwrap().value, want.echoes);
    }
    // `Display` of the untyped value: strings quoted.
    let text = any.latest().unwrap().unwrap().value.decode().to_string();
    assert!(
        text.contains(r#"frame_id: "ümlaut-frame-15""#) && text.contains(r#"tags: ["a", "ünï"]"#),
        "{text}"
    );
}

#[test]
fn too_long_or_not_utf8_is_refused_when_published_untyped() {
    let root = TempRoot::new("bounded-bad");
    let schema = Arc::new(TopicSchema::of(Scan::SCHEMA));
    let mut p = AnyPublisher::builder("scan", schema)
        .root(root.path())
        .create()
        .unwrap();
    let good = cases()[1];
    let mut bytes = bytes_of(&good).to_vec();
    bytes[8..16].copy_from_slice(&17u64.to_ne_bytes()); // frame_id's length, capacity 16
    let err = p.publish(&bytes).unwrap_err().to_string();
    assert!(
        err.contains("the length at byte 8 is 17, above the capacity 16"),
        "{err}"
    );
    let mut bytes = bytes_of(&good).to_vec();
    bytes[16] = 0xff; // frame_id's first byte
    let err = p.publish(&bytes).unwrap_err().to_string();
    assert!(err.contains("is not UTF-8"), "{err}");
    assert_eq!(
        p.publish(bytes_of(&good)).unwrap(),
        1,
        "nothing was published before"
    );
}

/// A topic file's slot `index`: the offset of its value (docs/FORMAT.md).
fn value_offset(file: &std::fs::File, index: u64) -> u64 {
    let u64_at = |off: u64| {
        let mut b = [0u8; 8];
        file.read_exact_at(&mut b, off).unwrap();
        u64::from_le_bytes(b)
    };
    let data_offset = u64_at(52) & 0xffff_ffff;
    let (stride, slots_offset) = (u64_at(56), u64_at(64));
    slots_offset + stride * index + data_offset
}

#[test]
fn only_what_is_filled_is_copied() {
    let root = TempRoot::new("bounded-copy");
    let mut p = root.publisher::<BoundedVec<u32, 64>>("v");
    let file = std::fs::File::open(p.path()).unwrap();
    let full = BoundedVec::<u32, 64>::from_slice(&[7; 64]).unwrap();
    p.publish(&full).unwrap(); // seq 1, slot 1 of 3
    p.publish(&full).unwrap();
    p.publish(&full).unwrap();
    let short = BoundedVec::<u32, 64>::from_slice(&[1, 2]).unwrap();
    p.publish(&short).unwrap(); // seq 4, slot 1 again
    let mut slot = vec![0u8; 8 + 256];
    file.read_exact_at(&mut slot, value_offset(&file, 1))
        .unwrap();
    assert_eq!(slot[..8], 2u64.to_ne_bytes());
    assert_eq!(slot[8..16], [1, 0, 0, 0, 2, 0, 0, 0]);
    assert!(
        slot[16..].chunks(4).all(|w| w == [7, 0, 0, 0]),
        "the publish left the room past the length alone"
    );
    // A read by value: zeros past the length. A read into a value: its bytes there are kept.
    let mut s = root.subscriber::<BoundedVec<u32, 64>>("v");
    let got = s.latest().unwrap().unwrap().value;
    assert_eq!(&got[..], &[1, 2]);
    assert!(bytes_of(&got)[16..].iter().all(|b| *b == 0));
    let mut into = BoundedVec::<u32, 64>::from_slice(&[9; 64]).unwrap();
    s.latest_into(&mut into).unwrap().unwrap();
    assert_eq!(&into[..], &[1, 2]);
    assert!(bytes_of(&into)[16..].chunks(4).all(|w| w == [9, 0, 0, 0]));
}

#[test]
fn hand_written_lengths_and_bytes_are_refused_and_never_handed_out() {
    let root = TempRoot::new("bounded-hostile");
    let mut p = root.publisher::<Scan>("scan");
    p.publish(&cases()[1]).unwrap(); // seq 1: slot 1
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(p.path())
        .unwrap();
    let at = value_offset(&file, 1);
    let mut s = root.subscriber::<Scan>("scan");
    let mut any = AnySubscriber::builder("scan")
        .root(root.path())
        .open()
        .unwrap();
    // The ranges' length (at 32, capacity 64) set to 65: never read past the room.
    file.write_all_at(&65u64.to_ne_bytes(), at + 32).unwrap();
    let err = s.latest().unwrap_err();
    assert!(
        matches!(err, SubscribeError::InvalidValue { seq: 1, .. }),
        "{err}"
    );
    let err = any.latest().unwrap_err();
    assert!(
        matches!(err, SubscribeError::InvalidValue { seq: 1, .. }),
        "{err}"
    );
    let mut out = cases()[2];
    let err = s.latest_into(&mut out).unwrap_err();
    assert!(matches!(err, SubscribeError::InvalidValue { .. }), "{err}");
    assert!(
        out.ranges.len() <= 64 && out.frame_id.len() <= 16,
        "a valid value"
    );
    assert!(
        TopicSchema::of(Scan::SCHEMA).is_valid(bytes_of(&out)),
        "out is a valid Scan again: {out:?}"
    );
    // Back to 10, then a frame_id that is not UTF-8 (0xff at its first byte).
    file.write_all_at(&10u64.to_ne_bytes(), at + 32).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value, cases()[1]);
    file.write_all_at(&[0xff], at + 16).unwrap();
    let err = s.latest().unwrap_err();
    assert!(
        matches!(err, SubscribeError::InvalidValue { seq: 1, .. }),
        "{err}"
    );
    // A length far beyond anything (a hostile u64), in the echoes of elements with bools.
    file.write_all_at(b"l", at + 16).unwrap();
    file.write_all_at(&u64::MAX.to_ne_bytes(), at + 32 + 264)
        .unwrap();
    assert!(matches!(
        s.latest().unwrap_err(),
        SubscribeError::InvalidValue { .. }
    ));
    // A byte of 2 in a bool past the echoes' length is never read: the value is read whole,
    // with its one echo, and nothing of the room after it.
    file.write_all_at(&1u64.to_ne_bytes(), at + 32 + 264)
        .unwrap();
    file.write_all_at(&[2], at + 32 + 264 + 8 + 3 * 8 + 6)
        .unwrap();
    let got = any.latest().unwrap().unwrap().value;
    assert!(got.schema.is_valid(&got.bytes));
    let got = s.latest().unwrap().unwrap().value;
    assert_eq!(got.echoes.len(), 1);
    assert_eq!(
        bytes_of(&got)[296 + 8 + 3 * 8 + 6],
        0,
        "zeros past the length"
    );
    // Within the length, it is refused.
    file.write_all_at(&4u64.to_ne_bytes(), at + 32 + 264)
        .unwrap();
    let err = any.latest().unwrap_err();
    assert!(matches!(err, SubscribeError::InvalidValue { .. }), "{err}");
}

#[test]
fn a_truncated_file_ending_in_a_sequence_is_refused() {
    let root = TempRoot::new("bounded-trunc");
    let mut p = root.publisher::<BoundedVec<f64, 512>>("v");
    p.publish(&BoundedVec::from_slice(&[1.0; 512]).unwrap())
        .unwrap();
    let path = p.path().to_path_buf();
    drop(p);
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len - 100).unwrap();
    let err = root
        .try_subscriber::<BoundedVec<f64, 512>>("v")
        .and_then(|mut s| s.latest().map(|_| ()))
        .unwrap_err();
    assert!(matches!(err, SubscribeError::Format { .. }), "{err}");
}

#[test]
fn the_room_past_the_length_of_checked_elements_never_fails_a_read() {
    // Elements with a `bool`: checked over the whole room, which a read zeroes past the length,
    // so whatever a caller's buffer (or an earlier, longer value) left there cannot fail it.
    let root = TempRoot::new("bounded-tail");
    let mut p = root.publisher::<BoundedVec<Echo, 4>>("e");
    let echo = |i: u16| Echo {
        angle: 0.5,
        intensity: i,
        valid: true,
        _reserved: 0,
    };
    p.publish(&BoundedVec::from_slice(&[echo(1), echo(2), echo(3)]).unwrap())
        .unwrap();
    let mut any = AnySubscriber::builder("e")
        .root(root.path())
        .open()
        .unwrap();
    let mut buf = vec![0xff_u8; size_of::<BoundedVec<Echo, 4>>()];
    any.latest_into(&mut buf).unwrap().unwrap();
    assert_eq!(&buf[..8], &3u64.to_ne_bytes());
    assert!(
        buf[8 + 3 * 8..].iter().all(|b| *b == 0),
        "zeroed past the length"
    );
    p.publish(&BoundedVec::from_slice(&[echo(4)]).unwrap())
        .unwrap();
    let v = any.latest().unwrap().unwrap().value.decode().to_string();
    assert_eq!(
        v,
        "[Echo { angle: 0.5, intensity: 4, valid: true, _reserved: 0 }]"
    );
}
