//! The schema decoder: arbitrary bytes decode to a description that re-encodes to the same
//! bytes, or give a `SchemaDecodeError`; decoded descriptions compare (diff) and print with
//! bounded output; a schema's checks cost what its encoding costs, whatever size of value it
//! describes (a 131-byte "schema bomb" once described 2^31 `bool` runs: libFuzzer's RSS and
//! time limits catch any such shape), and they check every `bool` and nothing else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shm::ShmMessage;
use shm::dynamic::TopicSchema;
use shm::schema::SchemaDesc;
use shm_fuzz::{Imu, Pose};

fuzz_target!(|data: &[u8]| {
    let Ok(desc) = SchemaDesc::decode(data) else {
        return;
    };
    assert_eq!(desc.encode(), data, "decode then encode is the identity");
    let _ = desc.type_name();
    for ours in [Pose::SCHEMA, Imu::SCHEMA, f64::SCHEMA] {
        let d = desc.differences(&SchemaDesc::from_schema(ours));
        assert!(d.len() <= shm::schema::MAX_DIFFERENCES);
    }
    let Ok(schema) = TopicSchema::decode(data) else {
        return;
    };
    // Values small enough to make: zeros are a value of every type; all ones is one unless the
    // type holds a bounded sequence or string (a length of 0x0101.. is above any capacity; a
    // `bool` may be 1, any other byte anything); all twos only if the type has nothing to check.
    if schema.size() <= 1 << 16 {
        let size = schema.size();
        assert!(schema.is_valid(&vec![0u8; size]));
        assert_eq!(
            schema.is_valid(&vec![1u8; size]),
            !schema.desc().has_bounded()
        );
        assert_eq!(
            schema.is_valid(&vec![2u8; size]),
            !schema.needs_validation()
        );
        // A valid value decodes, and its tree encodes back to a value that decodes the same.
        let value = shm::dynamic::Value::decode(&schema, &vec![0u8; size]);
        let again = value.encode(&schema).expect("a decoded value encodes");
        assert_eq!(shm::dynamic::Value::decode(&schema, &again), value);
    }
});
