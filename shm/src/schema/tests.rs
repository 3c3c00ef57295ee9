//! Tests of the static schemas, the hash, the encoding, the decoder and the diff.

use super::desc::{encode_node, put_str};
use super::*;
use super::{TAG_ARRAY, TAG_STRUCT};
use crate::ValueErrorKind;

static F64: Schema = Schema::primitive(Primitive::F64);
static U32: Schema = Schema::primitive(Primitive::U32);
static BOOL: Schema = Schema::primitive(Primitive::Bool);

fn pose(name: &'static str, fields: &'static [Field]) -> Schema {
    Schema::__structure(name, 24, 8, fields)
}

static XYZ: [Field; 3] = [
    Field::__new("x", 0, &F64),
    Field::__new("y", 8, &F64),
    Field::__new("z", 16, &F64),
];

#[test]
fn hash_is_fnv_of_the_encoding() {
    let arr = Schema::array(&F64, 3, 24, 8);
    for s in [&F64, &U32, &BOOL, &pose("Pose", &XYZ), &arr] {
        assert_eq!(s.hash(), schema_hash_of_encoding(&s.encode()), "{s:?}");
    }
}

#[test]
fn hash_is_pinned() {
    // The hash is part of the on-disk format: if this changes, bump FORMAT_VERSION.
    assert_eq!(F64.hash(), 0x693a_0a54_1927_c896, "{:#x}", F64.hash());
}

#[test]
fn renaming_reordering_retyping_changes_the_hash() {
    static RENAMED: [Field; 3] = [
        Field::__new("x", 0, &F64),
        Field::__new("y", 8, &F64),
        Field::__new("w", 16, &F64),
    ];
    static REORDERED: [Field; 3] = [
        Field::__new("y", 0, &F64),
        Field::__new("x", 8, &F64),
        Field::__new("z", 16, &F64),
    ];
    static RETYPED: [Field; 4] = [
        Field::__new("x", 0, &F64),
        Field::__new("y", 8, &F64),
        Field::__new("z", 16, &U32),
        Field::__new("pad", 20, &U32),
    ];
    let base = pose("Pose", &XYZ).hash();
    assert_ne!(base, pose("Pose", &RENAMED).hash());
    assert_ne!(base, pose("Pose", &REORDERED).hash());
    assert_ne!(base, pose("Pose", &RETYPED).hash());
    assert_ne!(base, pose("Pose2", &XYZ).hash());
    assert_eq!(base, pose("Pose", &XYZ).hash());
}

#[test]
fn decode_round_trips() {
    let p = pose("Pose", &XYZ);
    let d = SchemaDesc::decode(&p.encode()).unwrap();
    assert_eq!(d, SchemaDesc::from_schema(&p));
    assert_eq!(d.type_name(), "Pose");
    let arr = Schema::array(&F64, 3, 24, 8);
    assert_eq!(
        SchemaDesc::decode(&arr.encode()).unwrap().type_name(),
        "[f64; 3]"
    );
}

#[test]
fn decode_rejects_garbage_without_panicking() {
    let good = pose("Pose", &XYZ).encode();
    assert!(SchemaDesc::decode(&good[..good.len() - 1]).is_err());
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(SchemaDesc::decode(&trailing).is_err());
    assert!(SchemaDesc::decode(&[]).is_err());
    // Every single-byte corruption either decodes to something consistent or is refused.
    for i in 0..good.len() {
        for v in [0u8, 1, 0x7f, 0xff] {
            let mut b = good.clone();
            b[i] = v;
            let _ = SchemaDesc::decode(&b);
        }
    }
    // A deeply nested array chain is refused, not a stack overflow.
    let mut deep = Vec::new();
    for _ in 0..200 {
        deep.push(TAG_ARRAY);
        deep.extend_from_slice(&0u32.to_le_bytes());
        deep.extend_from_slice(&8u64.to_le_bytes());
        deep.extend_from_slice(&8u64.to_le_bytes());
        deep.extend_from_slice(&1u64.to_le_bytes());
    }
    let err = SchemaDesc::decode(&deep).unwrap_err();
    assert!(err.reason.contains("nested deeper"), "{err}");
}

/// A struct encoding with the given fields (name, offset, type), sizes as given.
fn struct_encoding(size: u64, fields: &[(&str, u64, &Schema)]) -> Vec<u8> {
    let mut out = vec![TAG_STRUCT];
    put_str(&mut out, "S");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&8u64.to_le_bytes());
    out.extend_from_slice(&(fields.len() as u32).to_le_bytes());
    for (name, offset, ty) in fields {
        put_str(&mut out, name);
        out.extend_from_slice(&offset.to_le_bytes());
        encode_node(&mut out, &SchemaDesc::from_schema(ty));
    }
    out
}

#[test]
fn decode_refuses_overlaps_holes_and_duplicate_names() {
    static EMPTY: Schema = Schema::array(&F64, 0, 0, 8);
    let decode = |fields: &[(&str, u64, &Schema)]| {
        SchemaDesc::decode(&struct_encoding(16, fields)).map_err(|e| e.reason)
    };
    assert!(decode(&[("a", 0, &F64), ("b", 8, &F64)]).is_ok());
    // Sizes add up to 16, but `b` overlaps `a` and leaves bytes 12..16 to nobody.
    let err = decode(&[("a", 0, &F64), ("b", 4, &F64)]).unwrap_err();
    assert!(err.contains("hole or an overlap"), "{err}");
    // A hole before `b`, then `a` overlapping it: declaration order is layout order.
    let err = decode(&[("b", 8, &F64), ("a", 0, &F64)]).unwrap_err();
    assert!(err.contains("hole or an overlap"), "{err}");
    let err = decode(&[("a", 0, &F64), ("a", 8, &F64)]).unwrap_err();
    assert!(err.contains("twice"), "{err}");
    // Zero-sized fields may sit anywhere inside.
    assert!(decode(&[("a", 0, &F64), ("z", 16, &EMPTY), ("b", 8, &F64)]).is_ok());
    assert!(decode(&[("a", 0, &F64), ("z", 24, &EMPTY), ("b", 8, &F64)]).is_err());
}

#[test]
fn differences_of_a_huge_schema_are_bounded() {
    // A topic of 65,000 fields against a one-field type: a hostile file must not make an
    // error message of megabytes.
    let mut fields = Vec::new();
    for i in 0..65_000u64 {
        fields.push(FieldDesc {
            name: format!("field_{i}"),
            offset: i,
            ty: SchemaDesc::from_schema(&BOOL),
        });
    }
    let topic = SchemaDesc {
        name: "Huge".into(),
        size: 65_000,
        align: 1,
        kind: DescKind::Struct(fields),
    };
    static OTHER: [Field; 1] = [Field::__new("other", 0, &F64)];
    let ours = SchemaDesc::from_schema(&Schema::__structure("Huge", 8, 8, &OTHER));
    let d = topic.differences(&ours);
    assert_eq!(d.len(), MAX_DIFFERENCES);
}

#[test]
fn differences_name_what_differs() {
    static V2: [Field; 3] = [
        Field::__new("x", 0, &F64),
        Field::__new("y", 8, &F64),
        Field::__new("heading", 16, &F64),
    ];
    let topic = SchemaDesc::from_schema(&pose("Pose", &XYZ));
    let ours = SchemaDesc::from_schema(&pose("Pose", &V2));
    let d = topic.differences(&ours);
    assert_eq!(
        d,
        vec![
            "field `z`: f64 at offset 16 exists only in the topic".to_owned(),
            "field `heading`: f64 at offset 16 exists only here".to_owned(),
        ]
    );
    let prim = SchemaDesc::from_schema(&F64);
    let d = prim.differences(&SchemaDesc::from_schema(&U32));
    assert_eq!(d, vec!["type: `f64` in the topic, `u32` here".to_owned()]);
    assert!(topic.differences(&topic).is_empty());
}

#[test]
fn nested_differences_name_the_full_path_and_absolute_offset() {
    static INNER_A: [Field; 2] = [Field::__new("x", 0, &F64), Field::__new("y", 8, &F64)];
    static INNER_B: [Field; 2] = [Field::__new("x", 0, &F64), Field::__new("w", 8, &F64)];
    static A: Schema = Schema::__structure("Vec2", 16, 8, &INNER_A);
    static B: Schema = Schema::__structure("Vec2", 16, 8, &INNER_B);
    static OUTER_A: [Field; 2] = [Field::__new("id", 0, &F64), Field::__new("accel", 8, &A)];
    static OUTER_B: [Field; 2] = [Field::__new("id", 0, &F64), Field::__new("accel", 8, &B)];
    let topic = SchemaDesc::from_schema(&Schema::__structure("Imu", 24, 8, &OUTER_A));
    let ours = SchemaDesc::from_schema(&Schema::__structure("Imu", 24, 8, &OUTER_B));
    assert_eq!(
        topic.differences(&ours),
        vec![
            "field `accel.y`: f64 at offset 16 exists only in the topic".to_owned(),
            "field `accel.w`: f64 at offset 16 exists only here".to_owned(),
        ]
    );
}

#[test]
fn nested_offsets_are_reported_per_side() {
    static INNER_A: [Field; 1] = [Field::__new("x", 0, &F64)];
    static INNER_B: [Field; 1] = [Field::__new("w", 0, &F64)];
    static A: Schema = Schema::__structure("V", 8, 8, &INNER_A);
    static B: Schema = Schema::__structure("V", 8, 8, &INNER_B);
    static OUTER_A: [Field; 2] = [Field::__new("id", 0, &F64), Field::__new("v", 8, &A)];
    static OUTER_B: [Field; 2] = [Field::__new("v", 0, &B), Field::__new("id", 8, &F64)];
    let topic = SchemaDesc::from_schema(&Schema::__structure("M", 16, 8, &OUTER_A));
    let ours = SchemaDesc::from_schema(&Schema::__structure("M", 16, 8, &OUTER_B));
    let d = topic.differences(&ours);
    let has = |line: &str| d.iter().any(|x| x == line);
    assert!(
        has("field `v.x`: f64 at offset 8 exists only in the topic"),
        "{d:?}"
    );
    assert!(
        has("field `v.w`: f64 at offset 0 exists only here"),
        "{d:?}"
    );
}

#[test]
fn packed_structs_decode() {
    static PACKED: [Field; 2] = [Field::__new("tag", 0, &BOOL), Field::__new("v", 1, &U32)];
    let s = Schema::__structure("Packed", 5, 1, &PACKED);
    let d = SchemaDesc::decode(&s.encode()).unwrap();
    assert_eq!(d, SchemaDesc::from_schema(&s));
}

#[test]
fn bool_validation() {
    static FLAGS: [Field; 2] = [Field::__new("a", 0, &BOOL), Field::__new("b", 1, &BOOL)];
    let s = Schema::__structure("Flags", 2, 1, &FLAGS);
    assert!(s.needs_validation());
    let t = TopicSchema::of(&s);
    assert!(t.is_valid(&[0, 1]));
    assert!(!t.is_valid(&[0, 2]));
    let arr = Schema::array(&BOOL, 4, 4, 1);
    let t = TopicSchema::of(&arr);
    assert!(t.is_valid(&[1, 1, 0, 1]));
    assert!(!t.is_valid(&[1, 1, 0, 9]));
    assert!(!pose("Pose", &XYZ).needs_validation());
}

#[test]
fn descriptions_built_at_run_time_are_the_rust_types() {
    for p in Primitive::all() {
        assert_eq!(Primitive::from_name(p.name()), Some(p));
        let built = TopicSchema::new(&SchemaDesc::primitive(p)).unwrap();
        assert_eq!(
            built,
            TopicSchema::of(&Schema::primitive(p)),
            "{}",
            p.name()
        );
    }
    assert_eq!(Primitive::from_name("float"), None);
    let f64s = SchemaDesc::array(SchemaDesc::primitive(Primitive::F64), 3);
    let rust = Schema::array(&F64, 3, 24, 8);
    assert_eq!(TopicSchema::new(&f64s).unwrap(), TopicSchema::of(&rust));
    assert_eq!(f64s.type_name(), "[f64; 3]");
}

#[test]
fn values_above_the_format_limit_are_refused() {
    let huge = SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), MAX_MESSAGE_SIZE + 1);
    let err = TopicSchema::new(&huge).unwrap_err();
    assert!(err.reason.contains("at most 4294967296 bytes"), "{err}");
    let most = SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), MAX_MESSAGE_SIZE);
    assert_eq!(
        TopicSchema::new(&most).unwrap().size() as u64,
        MAX_MESSAGE_SIZE
    );
}

#[test]
fn c_structs_are_laid_out_as_the_compiler_does_and_refuse_padding() {
    #[derive(crate::ShmMessage, Clone, Copy)]
    #[repr(C)]
    struct Pose {
        position: [f64; 3],
        heading: f64,
        tracking: bool,
        _reserved: [u8; 7],
    }
    let p = |p| SchemaDesc::primitive(p);
    let fields = vec![
        (
            "position".to_owned(),
            SchemaDesc::array(p(Primitive::F64), 3),
        ),
        ("heading".to_owned(), p(Primitive::F64)),
        ("tracking".to_owned(), p(Primitive::Bool)),
        (
            "_reserved".to_owned(),
            SchemaDesc::array(p(Primitive::U8), 7),
        ),
    ];
    let built = SchemaDesc::c_struct("Pose", fields.clone()).unwrap();
    assert_eq!(
        built,
        SchemaDesc::from_schema(<Pose as crate::ShmMessage>::SCHEMA)
    );
    assert_eq!(built.hash(), <Pose as crate::ShmMessage>::SCHEMA.hash());

    let mut gap = fields.clone();
    gap.swap(1, 2); // tracking (1 byte) before heading (align 8)
    let err = SchemaDesc::c_struct("Pose", gap).unwrap_err().to_string();
    assert!(
        err.starts_with("`Pose` has 7 byte(s) of padding after field `tracking`"),
        "{err}"
    );
    let mut tail = fields.clone();
    tail.pop();
    let err = SchemaDesc::c_struct("Pose", tail).unwrap_err().to_string();
    assert!(
        err.starts_with("`Pose` has 7 byte(s) of padding at its end"),
        "{err}"
    );
    let mut twice = fields;
    twice.push(("heading".to_owned(), p(Primitive::F64)));
    assert!(SchemaDesc::c_struct("Pose", twice).is_err());
}

/// `struct S { b: bool, x: u8 }`.
fn bool_and_byte() -> SchemaDesc {
    SchemaDesc::c_struct(
        "S",
        vec![
            ("b".to_owned(), SchemaDesc::primitive(Primitive::Bool)),
            ("x".to_owned(), SchemaDesc::primitive(Primitive::U8)),
        ],
    )
    .unwrap()
}

#[test]
fn a_schema_bomb_costs_what_its_encoding_costs() {
    // 131 bytes describing 4 GiB of values with 2^31 `bool`s: one repeated check, not 2^31
    // runs (which took 16 GiB and aborted the tool).
    let bomb = SchemaDesc::array(bool_and_byte(), 1 << 31);
    let encoding = bomb.encode();
    assert!(encoding.len() < 140, "{}", encoding.len());
    let schema = TopicSchema::decode(&encoding).unwrap();
    assert_eq!(schema.size() as u64, MAX_MESSAGE_SIZE);
    assert!(schema.check_count() <= 2, "{}", schema.check_count());
    // Nested arrays of such structs: still one check per schema node.
    let mut deep = bool_and_byte();
    for _ in 0..20 {
        deep = SchemaDesc::array(deep, 2);
    }
    let deep = TopicSchema::new(&deep).unwrap();
    assert!(deep.check_count() <= 21, "{}", deep.check_count());
    // And they check what the runs checked: every element's `bool`, nothing else.
    let small = TopicSchema::new(&SchemaDesc::array(bool_and_byte(), 5)).unwrap();
    let mut value = [1, 7, 0, 200, 1, 2, 0, 0, 1, 255];
    assert_eq!(small.first_invalid(&value), None);
    value[6] = 2;
    assert_eq!(small.first_invalid(&value), Some(6));
    assert!(!small.is_valid(&value));
    let err = small.validate(&value).unwrap_err();
    assert_eq!(err.kind, ValueErrorKind::InvalidBool);
    assert_eq!(err.problem, "the bool at byte 6 is 2, not 0 or 1");
    assert_eq!(small.first_invalid(&value[..9]), Some(9), "too short");
    let mut deep_value = vec![0u8; deep.size()];
    assert!(deep.is_valid(&deep_value));
    let last_bool = deep.size() - 2;
    deep_value[last_bool] = 3;
    assert_eq!(deep.first_invalid(&deep_value), Some(last_bool as u64));
}

#[test]
fn every_bool_is_checked_at_below_and_above_the_size_limit() {
    let bools = |len| SchemaDesc::array(SchemaDesc::primitive(Primitive::Bool), len);
    let structs = |len| {
        SchemaDesc::array(
            SchemaDesc::c_struct(
                "B",
                vec![("b".to_owned(), SchemaDesc::primitive(Primitive::Bool))],
            )
            .unwrap(),
            len,
        )
    };
    for make in [&bools as &dyn Fn(u64) -> SchemaDesc, &structs] {
        // Above: refused with the one message, whichever way the size is reached.
        let err = TopicSchema::new(&make(MAX_MESSAGE_SIZE + 1)).unwrap_err();
        assert!(
            err.reason
                .ends_with("a value of 4294967297 bytes; a topic carries at most 4294967296 bytes"),
            "{err}"
        );
        let below = TopicSchema::new(&make(MAX_MESSAGE_SIZE - 1)).unwrap();
        assert_eq!(below.check_count(), 1);
        let at = TopicSchema::new(&make(MAX_MESSAGE_SIZE)).unwrap();
        assert_eq!(at.check_count(), 1);
        assert!(at.needs_validation());
    }
    // At the limit, the last byte is checked too (a 4 GiB value, mapped lazily: only the
    // pages written and the zero page are touched).
    let mut value = vec![0u8; MAX_MESSAGE_SIZE as usize];
    value[MAX_MESSAGE_SIZE as usize - 1] = 2;
    for schema in [bools(MAX_MESSAGE_SIZE), structs(MAX_MESSAGE_SIZE)] {
        let schema = TopicSchema::new(&schema).unwrap();
        assert_eq!(schema.first_invalid(&value), Some(MAX_MESSAGE_SIZE - 1));
    }
    let below = TopicSchema::new(&bools(MAX_MESSAGE_SIZE - 1)).unwrap();
    assert_eq!(
        below.first_invalid(&value),
        None,
        "the byte after it is not its"
    );
    assert_eq!(
        below.first_invalid(&value[..MAX_MESSAGE_SIZE as usize - 2]),
        Some(MAX_MESSAGE_SIZE - 2)
    );
}

#[test]
fn sizes_beyond_the_limit_get_one_message() {
    // `[u64; 2^62]` saturates, `[u8; 10^12]` does not: both are told the limit.
    let huge = SchemaDesc::array(SchemaDesc::primitive(Primitive::U64), 1 << 62);
    let err = TopicSchema::new(&huge).unwrap_err().to_string();
    assert!(
        err.contains("a value of 2^64 bytes or more; a topic carries at most 4294967296 bytes"),
        "{err}"
    );
    let big = SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), 1_000_000_000_000);
    let err = TopicSchema::new(&big).unwrap_err().to_string();
    assert!(
        err.contains("a value of 1000000000000 bytes; a topic carries at most 4294967296 bytes"),
        "{err}"
    );
}

#[test]
fn names_that_would_drive_a_terminal_are_refused() {
    for name in ["\u{1b}[31mFORGED", "a\nb", "x\u{202e}y", "\u{9b}2J"] {
        let desc = SchemaDesc::c_struct(
            name,
            vec![("v".to_owned(), SchemaDesc::primitive(Primitive::F64))],
        )
        .unwrap();
        let err = TopicSchema::new(&desc).unwrap_err().to_string();
        assert!(err.contains("control character"), "{err}");
        assert!(!err.chars().any(crate::text::is_unprintable), "{err:?}");
        let field = SchemaDesc::c_struct(
            "Pose",
            vec![(name.to_owned(), SchemaDesc::primitive(Primitive::F64))],
        )
        .unwrap();
        assert!(TopicSchema::new(&field).is_err(), "field {name:?}");
    }
    let fine = SchemaDesc::c_struct(
        "Posé_中",
        vec![("v".to_owned(), SchemaDesc::primitive(Primitive::F64))],
    )
    .unwrap();
    assert!(TopicSchema::new(&fine).is_ok());
}
