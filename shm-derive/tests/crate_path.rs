//! `#[shm(crate = "...")]` makes the generated code name the runtime by another path. This test
//! crate only knows the runtime as `shm_renamed`: generated code that named `::shm` would not
//! compile.

use shm_renamed::ShmMessage;

#[derive(ShmMessage)]
#[shm(crate = "shm_renamed")]
#[repr(C)]
struct Pose {
    x: f64,
    y: f64,
}

mod nested {
    pub(crate) mod path {
        pub(crate) use shm_renamed as runtime;
    }
}

#[derive(shm_renamed::ShmMessage)]
#[shm(crate = "crate::nested::path::runtime", name = "Renamed")]
#[repr(C)]
struct Other(u32);

#[test]
fn derive_uses_the_given_crate_path() {
    assert_eq!(Pose::SCHEMA.name(), "Pose");
    assert_eq!(Pose::SCHEMA.size(), 16);
    assert_eq!(Other::SCHEMA.name(), "Renamed");
    assert!(shm_renamed::registry::find("Renamed").is_ok());
}
