//! The schema decoder: arbitrary bytes decode to a description that re-encodes to the same
//! bytes, or give a `SchemaDecodeError`; decoded descriptions compare (diff) and print with
//! bounded output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shm::ShmMessage;
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
});
