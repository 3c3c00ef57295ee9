//! Slice topics (`Publisher<[T]>`, `Subscriber<[T]>`): a room chosen at run time, a publisher
//! that grows it while a subscriber in another process reads every value whole, subscribers of
//! any room, and the refusals.

use shm::{BoundedVec, PublishError, Publisher, SubscribeError, Subscriber};
use shm_integration::payload::{check_slice, slice_words};
use shm_integration::process::TIMEOUT as T;
use shm_integration::root::TempRoot;

fn slice_publisher(root: &TempRoot, topic: &str, max_len: usize, grow: bool) -> Publisher<[u64]> {
    Publisher::<[u64]>::builder(topic)
        .root(root.path())
        .max_len(max_len)
        .grow(grow)
        .create()
        .unwrap()
}

fn slice_subscriber(root: &TempRoot, topic: &str) -> Subscriber<[u64]> {
    Subscriber::<[u64]>::builder(topic)
        .root(root.path())
        .open()
        .unwrap()
}

#[test]
fn a_growing_topic_is_followed_by_another_process_without_a_value_lost() {
    let root = TempRoot::new("slice-grow");
    let mut p = slice_publisher(&root, "cloud", 1000, true);
    let lengths = [
        1000, 1000, 2500, 10_000, 3, 50_000, 100_000, 100_000, 2, 64_000,
    ];
    let mut reader = root.helper(&["slice-recv", "cloud", &lengths.len().to_string(), "20000"]);
    reader.expect_line("READY", T);
    let mut rooms = vec![p.max_len()];
    for (i, len) in lengths.into_iter().enumerate() {
        let counter = 1000 + i as u64;
        let seq = p.publish(&slice_words(counter, len)).unwrap();
        // Lock-step: the reader must get this very value, whole, before the next publish.
        let got = reader.expect_line("GOT", T);
        assert_eq!(got, format!("GOT {seq} {len} {counter}"), "value #{i}");
        rooms.push(p.max_len());
    }
    rooms.dedup();
    assert_eq!(
        rooms,
        [1000, 4000, 16_000, 64_000, 128_000],
        "grown by doubling"
    );
    assert!(reader.wait(T).success());
    // A late subscriber reads the newest value of the grown topic.
    let mut s = slice_subscriber(&root, "cloud");
    let v = s.latest().unwrap().unwrap();
    assert_eq!((v.value.len(), check_slice(&v.value)), (64_000, Some(1009)));
    assert_eq!(s.max_len(), Some(128_000));
}

#[test]
fn values_read_while_the_topic_grows_are_never_torn() {
    let root = TempRoot::new("slice-grow-race");
    let mut p = slice_publisher(&root, "cloud", 64, true);
    p.publish(&slice_words(1, 64)).unwrap();
    const LAST: u64 = 4000;
    let mut readers: Vec<_> = (0..2)
        .map(|_| root.helper(&["slice-latest", "cloud", &LAST.to_string()]))
        .collect();
    for r in &mut readers {
        r.expect_line("READY", T);
    }
    // Lengths jump up and down while readers copy the newest value; their bound doubles every
    // 300 values up to 60,000, so the room doubles from 64 to 65,536 on the way.
    for counter in 2..=LAST {
        let bound = (64usize << (counter / 300).min(20)).min(60_000);
        let len = 2 + (shm_integration::payload::mix(counter) as usize) % (bound - 1);
        let len = if counter == LAST { 60_000 } else { len };
        p.publish(&slice_words(counter, len)).unwrap();
    }
    assert_eq!(p.max_len(), 65_536, "the topic grew");
    for r in &mut readers {
        let line = r.expect_line("READ", T);
        eprintln!("{line}");
        assert!(line.contains(" torn=0 "), "{line}");
        assert!(r.wait(T).success());
    }
}

#[test]
fn growing_keeps_every_value_of_the_ring_for_readers_of_every_value() {
    let root = TempRoot::new("slice-grow-ring");
    let mut p = slice_publisher(&root, "v", 4, true);
    let mut s = slice_subscriber(&root, "v");
    p.publish(&[1]).unwrap();
    assert_eq!(s.try_recv_all().unwrap().len(), 1);
    p.publish(&[2, 2]).unwrap();
    p.publish(&[3, 3, 3]).unwrap();
    p.publish(&[4; 9]).unwrap(); // grows: the ring's values are carried into the new file
    assert_eq!(p.max_len(), 16);
    let all = s.try_recv_all().unwrap();
    let got: Vec<(u64, Vec<u64>, u64)> = all
        .into_iter()
        .map(|x| (x.seq, x.value, x.missed))
        .collect();
    assert_eq!(
        got,
        [
            (2, vec![2, 2], 0),
            (3, vec![3, 3, 3], 0),
            (4, vec![4; 9], 0)
        ]
    );
}

#[test]
fn a_topic_that_may_not_grow_refuses_a_longer_value_and_keeps_its_last() {
    let root = TempRoot::new("slice-nogrow");
    let mut p = slice_publisher(&root, "v", 3, false);
    assert_eq!(p.max_len(), 3, "u64s fill words at any length");
    p.publish(&[1, 2, 3]).unwrap();
    let err = p.publish(&[1, 2, 3, 4]).unwrap_err();
    assert!(
        matches!(
            err,
            PublishError::TooLong {
                len: 4,
                max_len: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("holds at most 3"), "{err}");
    let mut s = slice_subscriber(&root, "v");
    assert_eq!(s.latest().unwrap().unwrap().value, [1, 2, 3]);
    assert_eq!(p.next_seq(), 2, "nothing was published");
    // An odd room of f32s is rounded up to fill whole words.
    let f = Publisher::<[f32]>::builder("f")
        .root(root.path())
        .max_len(3)
        .create()
        .unwrap();
    assert_eq!(f.max_len(), 4);
}

#[test]
fn slice_subscribers_read_any_room_and_refuse_other_elements() {
    let root = TempRoot::new("slice-any");
    // A fixed BoundedVec topic is a slice topic of its room.
    let mut fixed = root.publisher::<BoundedVec<u64, 8>>("fixed");
    fixed
        .publish(&BoundedVec::from_slice(&[4, 5]).unwrap())
        .unwrap();
    let mut s = slice_subscriber(&root, "fixed");
    let mut out = vec![9; 100];
    let sample = s.latest_into(&mut out).unwrap().unwrap();
    assert_eq!((out.as_slice(), sample.seq), (&[4u64, 5][..], 1));
    assert_eq!(s.max_len(), Some(8));
    // A typed subscriber of the same room reads a slice publisher's values.
    let mut p = slice_publisher(&root, "slice", 8, true);
    p.publish(&[7, 8, 9]).unwrap();
    let mut typed = root.subscriber::<BoundedVec<u64, 8>>("slice");
    assert_eq!(&typed.latest().unwrap().unwrap().value[..], &[7, 8, 9]);
    // Once the topic grows, the fixed type no longer matches: refused with what differs.
    p.publish(&[0; 9]).unwrap();
    let err = typed.latest().unwrap_err();
    assert!(matches!(err, SubscribeError::SchemaMismatch(_)), "{err}");
    // Elements of another type are refused, naming the slice type.
    let err = Subscriber::<[u32]>::builder("slice")
        .root(root.path())
        .open()
        .and_then(|mut s| s.latest().map(drop))
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SubscribeError::SchemaMismatch(_)), "{text}");
    assert!(
        text.contains("[u32]") && text.contains("BoundedVec<u64, 16>"),
        "{text}"
    );
    // try_recv / recv_timeout / try_recv_all.
    let mut s = slice_subscriber(&root, "slice");
    assert_eq!(s.try_recv().unwrap().unwrap().value, [0; 9]);
    assert!(s.try_recv().unwrap().is_none());
    p.publish(&[1]).unwrap();
    p.publish(&[2, 2]).unwrap();
    let all = s.try_recv_all().unwrap();
    assert_eq!(
        all.iter().map(|s| s.value.clone()).collect::<Vec<_>>(),
        [vec![1], vec![2, 2]]
    );
    p.publish(&[3]).unwrap();
    assert_eq!(s.recv_timeout(T).unwrap().value, [3]);
}
