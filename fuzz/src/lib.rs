//! Message types and a scratch topic directory shared by the fuzz targets and the seed maker.

use std::path::PathBuf;

use shm::ShmMessage;

/// A struct with booleans (validated on read) and an array.
#[derive(ShmMessage, Clone, Copy, Debug)]
#[repr(C)]
pub struct Pose {
    /// Position.
    pub position: [f64; 3],
    /// Heading.
    pub heading: f64,
    /// Tracking flag.
    pub tracking: bool,
    /// Explicit padding.
    pub _reserved: [u8; 7],
}

/// A nested struct.
#[derive(ShmMessage, Clone, Copy, Debug)]
#[repr(C)]
pub struct Imu {
    /// Stamp.
    pub stamp: u64,
    /// The pose.
    pub pose: Pose,
    /// Flags.
    pub flags: [bool; 8],
}

/// The topic name every file-based target uses.
pub const TOPIC: &str = "fuzz";

/// A private topic directory for this process (on tmpfs, like real topics).
pub fn scratch_root() -> PathBuf {
    let dir = PathBuf::from(format!("/dev/shm/shm-fuzz.{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the fuzz root");
    dir
}
