use shm::ShmMessage;

mod a {
    #[derive(shm::ShmMessage)]
    #[repr(C)]
    #[shm(name = "robot.Pose")]
    pub struct Pose {
        pub x: f64,
    }
}

mod b {
    #[derive(shm::ShmMessage)]
    #[repr(C)]
    pub struct Pose {
        pub x: f64,
    }
}

fn main() {
    assert_eq!(a::Pose::SCHEMA.name(), "robot.Pose");
    assert_eq!(b::Pose::SCHEMA.name(), "Pose", "the bare type name, never a module path");
    assert_ne!(a::Pose::SCHEMA.hash(), b::Pose::SCHEMA.hash());
    let found = shm::registry::find("robot.Pose").unwrap();
    assert_eq!(found.hash(), a::Pose::SCHEMA.hash());
}
