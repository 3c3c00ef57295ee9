//! Tests of the static schemas, the hash, the encoding, the decoder and the diff.

use super::desc::{encode_node, put_str};
use super::*;
use super::{TAG_ARRAY, TAG_STRUCT};

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
