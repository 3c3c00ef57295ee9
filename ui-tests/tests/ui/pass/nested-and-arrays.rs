use shm::ShmMessage;

#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
struct Vec3 {
    x: f64,
    y: f64,
    z: f64,
}

#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
struct Imu {
    accel: Vec3,
    gyro: Vec3,
    covariance: [[f32; 3]; 3],
    valid: [bool; 3],
    _pad: [u8; 1],
    frame: u32,
    seq: u32,
}

fn main() {
    let s = Imu::SCHEMA;
    assert_eq!(s.name(), "Imu");
    assert_eq!(s.size(), std::mem::size_of::<Imu>());
    assert!(s.needs_validation(), "contains bools");
    assert!(!Vec3::SCHEMA.needs_validation());
    let shm::schema::SchemaKind::Struct(fields) = s.kind() else { panic!() };
    let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["accel", "gyro", "covariance", "valid", "_pad", "frame", "seq"]);
    assert_eq!(fields[1].offset(), 24);
    assert_eq!(fields[2].ty().type_name(), "[[f32; 3]; 3]");
    assert_eq!(fields[0].ty().hash(), Vec3::SCHEMA.hash());
    // Registered without any call.
    assert!(shm::registry::find("Imu").is_ok());
    assert!(shm::registry::find("Vec3").is_ok());
}
