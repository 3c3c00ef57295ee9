use shm::ShmMessage;

mod original {
    #[derive(shm::ShmMessage)]
    #[repr(C)]
    pub struct Pose {
        pub x: f64,
        pub y: f64,
    }
}
mod renamed_field {
    #[derive(shm::ShmMessage)]
    #[repr(C)]
    pub struct Pose {
        pub x: f64,
        pub z: f64,
    }
}
mod reordered {
    #[derive(shm::ShmMessage)]
    #[repr(C)]
    pub struct Pose {
        pub y: f64,
        pub x: f64,
    }
}
mod retyped {
    #[derive(shm::ShmMessage)]
    #[repr(C)]
    pub struct Pose {
        pub x: f64,
        pub y: i64,
    }
}
mod same_again {
    #[derive(shm::ShmMessage)]
    #[repr(C)]
    pub struct Pose {
        pub x: f64,
        pub y: f64,
    }
}

fn main() {
    let h = original::Pose::SCHEMA.hash();
    assert_ne!(h, renamed_field::Pose::SCHEMA.hash());
    assert_ne!(h, reordered::Pose::SCHEMA.hash());
    assert_ne!(h, retyped::Pose::SCHEMA.hash());
    assert_eq!(h, same_again::Pose::SCHEMA.hash(), "structural: same definition, same hash");
}
