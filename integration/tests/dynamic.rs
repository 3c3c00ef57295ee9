//! Topics without their Rust type: read any topic with the schema in its file, decode values to
//! trees, publish values checked against a schema; typed and untyped sides interoperate.

use std::sync::Arc;

use shm::dynamic::{AnyPublisher, AnySubscriber, TopicSchema, Value};
use shm::schema::{DescKind, FieldDesc, Primitive, SchemaDesc};
use shm::{PublishError, ShmMessage, SubscribeError, Subscriber};
use shm_integration::process::TIMEOUT as T;
use shm_integration::root::TempRoot;
use shm_integration::{Flags, TestPose};

fn any(root: &TempRoot, topic: &str) -> AnySubscriber {
    AnySubscriber::builder(topic)
        .root(root.path())
        .open()
        .unwrap()
}

fn primitive(p: Primitive) -> SchemaDesc {
    SchemaDesc {
        name: p.name().into(),
        size: p.size() as u64,
        align: p.size() as u64,
        kind: DescKind::Primitive(p),
    }
}

/// `TestPose`'s schema, written out by hand as a tool or another language would.
fn test_pose_by_hand() -> SchemaDesc {
    let field = |name: &str, offset: u64, p: Primitive| FieldDesc {
        name: name.into(),
        offset,
        ty: primitive(p),
    };
    SchemaDesc {
        name: "TestPose".into(),
        size: 32,
        align: 8,
        kind: DescKind::Struct(vec![
            field("x", 0, Primitive::F64),
            field("y", 8, Primitive::F64),
            field("theta", 16, Primitive::F64),
            field("counter", 24, Primitive::U64),
        ]),
    }
}

#[test]
fn an_untyped_subscriber_reads_a_derived_type_published_by_another_process() {
    let root = TempRoot::new("dyn-read");
    let mut s = any(&root, "robot/pose");
    assert!(s.latest().unwrap().is_none() && s.schema().is_none());
    let mut p = root.helper(&["publish", "pose", "robot/pose", "3", "0"]);
    p.expect_line("DONE", T);
    let sample = s.latest().unwrap().unwrap();
    assert_eq!(sample.seq, 3);
    assert_eq!(
        sample.value.schema.hash(),
        TestPose::SCHEMA.hash(),
        "the hashes agree"
    );
    assert_eq!(sample.value.schema.type_name(), "TestPose");
    let v = sample.value.decode();
    assert_eq!(
        v.to_string(),
        "TestPose { x: 3.0, y: -3.0, theta: 0.75, counter: 3 }"
    );
    assert_eq!(v.at("theta").unwrap(), &Value::Float(0.75));
    assert_eq!(v.at("counter").unwrap(), &Value::UInt(3));
    assert!(v.at("nope").unwrap_err().contains("no field `nope`"));
}

#[test]
fn a_typed_subscriber_reads_a_topic_created_from_a_schema_written_by_hand() {
    let root = TempRoot::new("dyn-write");
    let schema = Arc::new(TopicSchema::new(&test_pose_by_hand()).unwrap());
    assert_eq!(schema.hash(), TestPose::SCHEMA.hash(), "the same type");
    let mut p = AnyPublisher::builder("robot/pose", schema.clone())
        .root(root.path())
        .create()
        .unwrap();
    let value = Value::Struct {
        name: "TestPose".into(),
        fields: vec![
            ("x".into(), Value::Float(1.0)),
            ("y".into(), Value::Int(-2)), // an integer is an exact float
            ("theta".into(), Value::Float(0.5)),
            ("counter".into(), Value::UInt(7)),
        ],
    };
    assert_eq!(p.publish_value(&value).unwrap(), 1);
    let mut typed: Subscriber<TestPose> = root.subscriber("robot/pose");
    let got = typed.latest().unwrap().unwrap().value;
    assert_eq!(
        got,
        TestPose {
            x: 1.0,
            y: -2.0,
            theta: 0.5,
            counter: 7
        }
    );
    // And a typed publisher may take the topic over (the same type), continuing the numbers.
    drop(p);
    let mut typed_pub = root.publisher::<TestPose>("robot/pose");
    assert_eq!(typed_pub.publish(&TestPose::nth(2)).unwrap(), 2);
}

#[test]
fn values_that_do_not_fit_the_type_are_refused_naming_the_part() {
    let root = TempRoot::new("dyn-refuse");
    let schema = Arc::new(TopicSchema::of(TestPose::SCHEMA));
    let mut p = AnyPublisher::builder("t", schema)
        .root(root.path())
        .create()
        .unwrap();
    let pose = |fields: Vec<(&str, Value)>| Value::Struct {
        name: "TestPose".into(),
        fields: fields.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
    };
    let good = vec![
        ("x", Value::Float(1.0)),
        ("y", Value::Float(2.0)),
        ("theta", Value::Float(0.0)),
        ("counter", Value::UInt(1)),
    ];
    let mut refused = |v: Value| match p.publish_value(&v) {
        Err(PublishError::InvalidValue(e)) => e.to_string(),
        other => panic!("{other:?}"),
    };
    let mut missing = good.clone();
    missing.pop();
    assert_eq!(
        refused(pose(missing)),
        "field `counter`: is missing (a u64 of `TestPose`)"
    );
    let mut typo = good.clone();
    typo.push(("cuonter", Value::UInt(1)));
    assert!(refused(pose(typo)).contains("has no field `cuonter`"));
    let mut float_into_int = good.clone();
    float_into_int[3].1 = Value::Float(1.5);
    assert!(
        refused(pose(float_into_int)).contains("field `counter`: expects u64, got the float 1.5")
    );
    let mut negative = good.clone();
    negative[3].1 = Value::Int(-1);
    assert!(refused(pose(negative)).contains("-1 is out of range for u64"));
    assert!(refused(Value::Float(1.0)).contains("expects a struct `TestPose`"));
    assert_eq!(p.publish_value(&pose(good)).unwrap(), 1);
    assert!(matches!(
        p.publish(&[0u8; 3]),
        Err(PublishError::WrongSize {
            expected: 32,
            given: 3
        })
    ));
}

#[test]
fn bools_are_validated_both_ways() {
    let root = TempRoot::new("dyn-bool");
    let schema = Arc::new(TopicSchema::of(Flags::SCHEMA));
    let mut p = AnyPublisher::builder("flags", schema)
        .root(root.path())
        .create()
        .unwrap();
    assert!(matches!(
        p.publish(&[2, 0, 0, 0]),
        Err(PublishError::InvalidValue(_))
    ));
    assert_eq!(p.publish(&[1, 0, 9, 0]).unwrap(), 1);
    let v = any(&root, "flags")
        .latest()
        .unwrap()
        .unwrap()
        .value
        .decode();
    assert_eq!(
        v.to_string(),
        "Flags { armed: true, moving: false, count: 9 }"
    );
    // A byte of 2 written by hand is refused by the untyped reader too.
    let path = root.topic_file("flags");
    let bytes = std::fs::read(&path).unwrap();
    let slots = u64::from_le_bytes(bytes[64..72].try_into().unwrap());
    let at = slots + 64 + 16; // value 1 is in slot 1, its data at +16 (docs/FORMAT.md)
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[2], at).unwrap();
    let err = any(&root, "flags").latest().unwrap_err();
    assert!(matches!(err, SubscribeError::InvalidValue { .. }), "{err}");
}

#[test]
fn an_expected_type_is_refused_like_a_typed_subscriber_refuses_it() {
    let root = TempRoot::new("dyn-expect");
    let mut p = root.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(1)).unwrap();
    let err = AnySubscriber::builder("t")
        .root(root.path())
        .expect(Arc::new(TopicSchema::of(Flags::SCHEMA)))
        .open()
        .unwrap_err();
    assert!(matches!(err, SubscribeError::SchemaMismatch(_)), "{err}");
    assert!(
        err.to_string()
            .contains("carries `TestPose` but this side expects `Flags`")
    );
}

#[test]
fn a_topic_recreated_with_another_type_is_followed_with_its_schema() {
    let root = TempRoot::new("dyn-retype");
    let mut p = root.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(1)).unwrap();
    let mut s = any(&root, "t");
    assert_eq!(
        s.latest().unwrap().unwrap().value.schema.type_name(),
        "TestPose"
    );
    drop(p);
    let mut p = root.publisher::<u64>("t");
    p.publish(&42).unwrap();
    let sample = s.latest().unwrap().unwrap();
    assert_eq!(sample.value.schema.type_name(), "u64");
    assert_eq!(sample.value.decode(), Value::UInt(42));
    let batch = s.try_recv_all().unwrap();
    assert!(batch.is_empty(), "already returned");
}

/// A slice topic of `Flags` (room for 8), as a binding describes it.
fn flags_slice() -> Arc<TopicSchema> {
    let elem = SchemaDesc::from_schema(Flags::SCHEMA);
    Arc::new(TopicSchema::new(&SchemaDesc::sequence(elem, 8).unwrap()).unwrap())
}

fn flags(items: &[(u8, u8, u16)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (armed, moving, count) in items {
        bytes.extend([*armed, *moving]);
        bytes.extend(count.to_ne_bytes());
    }
    bytes
}

#[test]
fn sequences_are_published_from_their_elements_checked_on_both_kinds_of_topic() {
    let root = TempRoot::new("dyn-seq");
    for lending in [false, true] {
        let topic = format!("flags_{lending}");
        let mut p = AnyPublisher::builder(&topic, flags_slice())
            .root(root.path())
            .lending(lending)
            .create()
            .unwrap();
        let mut s = Subscriber::<[Flags]>::builder(&topic)
            .root(root.path())
            .open()
            .unwrap();
        assert_eq!(
            p.publish_sequence(&flags(&[(1, 0, 5), (0, 1, 6)])).unwrap(),
            1
        );
        let want = vec![
            Flags {
                armed: true,
                moving: false,
                count: 5,
            },
            Flags {
                armed: false,
                moving: true,
                count: 6,
            },
        ];
        assert_eq!(s.latest().unwrap().unwrap().value, want);
        // Refused, naming the part, and nothing published: the last value stays.
        let refused = |e: PublishError| e.to_string();
        let bad_bool = p.publish_sequence(&flags(&[(1, 0, 5), (0, 3, 6)]));
        assert!(
            refused(bad_bool.unwrap_err()).contains("the bool at byte 13 is 3"),
            "element 1's `moving`: 8 (the length) + 4 + 1"
        );
        let torn = p.publish_sequence(&[1, 0, 5]).unwrap_err();
        assert!(refused(torn).contains("3 bytes are not whole elements of `Flags` (4 bytes each)"));
        let long = p.publish_sequence(&flags(&[(0, 0, 0); 9])).unwrap_err();
        assert!(
            matches!(
                long,
                PublishError::TooLong {
                    len: 9,
                    max_len: 8,
                    ..
                }
            ),
            "{long}"
        );
        assert_eq!(p.publish_sequence(&[]).unwrap(), 2);
        assert_eq!(s.latest().unwrap().unwrap().value, Vec::new());
        assert_eq!(p.next_seq(), 3);
    }
    let mut pose = AnyPublisher::builder("pose", Arc::new(TopicSchema::of(TestPose::SCHEMA)))
        .root(root.path())
        .create()
        .unwrap();
    let err = pose.publish_sequence(&[0; 32]).unwrap_err();
    assert!(
        err.to_string()
            .contains("`TestPose` is not a bounded sequence"),
        "{err}"
    );
}

/// A lending slot's room past a value's elements holds what was there before: after a loan
/// given up with bytes that are no `Flags` (a Python block that raised, say), a shorter value
/// published into that slot is still borrowed whole and valid, whichever way it came.
#[test]
fn a_shorter_value_after_a_loan_given_up_with_invalid_bytes_is_borrowed_valid() {
    let root = TempRoot::new("dyn-room");
    let mut p = AnyPublisher::builder("flags", flags_slice())
        .root(root.path())
        .lending(true)
        .create()
        .unwrap();
    let mut s = Subscriber::<[Flags]>::builder("flags")
        .root(root.path())
        .open()
        .unwrap();
    let slots = p.buffer_num();
    for round in 0..3 * slots {
        let loan = p.loan_bytes().unwrap();
        // SAFETY: the loan's slot, `len()` bytes, is this publisher's until its next publish.
        unsafe { std::ptr::write_bytes(loan.as_mut_ptr(), 7, loan.len()) };
        let count = round as u16;
        if round % 3 == 0 {
            // Given up by the next publish (into the same slot, the next claimed).
            p.publish_sequence(&flags(&[(1, 1, count)])).unwrap();
        } else if round % 3 == 1 {
            // The same, with the whole value given (its room zeros; copied up to its length).
            let mut value = vec![0u8; p.schema().size()];
            value[..8].copy_from_slice(&1u64.to_ne_bytes());
            value[8..12].copy_from_slice(&flags(&[(1, 1, count)]));
            p.publish(&value).unwrap();
        } else {
            // Or published as it is: a length and an element written over the 7s.
            let mut value = 1u64.to_ne_bytes().to_vec();
            value.extend(flags(&[(1, 1, count)]));
            // SAFETY: as above.
            unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), loan.as_mut_ptr(), 12) };
            p.publish_loan(&loan).unwrap();
        }
        let got = s.borrow().unwrap().unwrap();
        assert_eq!(
            &*got,
            &[Flags {
                armed: true,
                moving: true,
                count
            }],
            "round {round}"
        );
    }
}

/// A batch reader meets a value that is not one (written into the file by hand, as a hostile
/// process could): the values before it come first, then the error for it alone, then the
/// values after it. One bad value never stops a queue.
#[test]
fn a_batch_reader_reports_a_bad_value_once_and_goes_on_after_it() {
    let root = TempRoot::new("dyn-batch-bad");
    let schema = Arc::new(TopicSchema::of(Flags::SCHEMA));
    let mut p = AnyPublisher::builder("flags", Arc::clone(&schema))
        .root(root.path())
        .buffer_num(8)
        .create()
        .unwrap();
    let mut s = AnySubscriber::builder("flags")
        .root(root.path())
        .expect(schema)
        .open()
        .unwrap();
    for count in 1..=3u8 {
        p.publish(&[1, 0, count, 0]).unwrap();
    }
    let info = shm::inspect::inspect(Some(root.path()), "flags").unwrap();
    let at = info.slots_offset + (2 % u64::from(info.slots)) * info.stride + 16;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&info.path)
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[2], at).unwrap();
    let seqs = |s: &mut AnySubscriber| -> Result<Vec<u64>, SubscribeError> {
        Ok(s.try_recv_all()?.iter().map(|v| v.seq).collect())
    };
    assert_eq!(seqs(&mut s).unwrap(), vec![1]);
    let err = seqs(&mut s).unwrap_err();
    assert!(
        matches!(err, SubscribeError::InvalidValue { seq: 2, .. }),
        "{err}"
    );
    assert_eq!(seqs(&mut s).unwrap(), vec![3]);
    assert_eq!(seqs(&mut s).unwrap(), Vec::<u64>::new());
}
