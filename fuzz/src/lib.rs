//! Message types and a scratch topic directory shared by the fuzz targets and the seed maker.

use std::path::PathBuf;

use shm::{BoundedString, BoundedVec, ShmMessage};

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

/// Bounded sequences (of a primitive, of structs with `bool`s) and a bounded string: lengths
/// and UTF-8 checked on read, copied only as far as they are filled.
#[derive(ShmMessage, Clone, Copy, Debug)]
#[repr(C)]
pub struct Scan {
    /// The frame.
    pub frame_id: BoundedString<16>,
    /// Ranges.
    pub ranges: BoundedVec<f32, 32>,
    /// Poses.
    pub poses: BoundedVec<Pose, 4>,
}

/// The topic name every file-based target uses.
pub const TOPIC: &str = "fuzz";

/// Where [`scratch_root`] makes its directories: `scripts/fuzz.sh` sets it to a directory it
/// removes when the run ends (libFuzzer's processes exit without cleaning up).
pub const SCRATCH_ENV: &str = "SHM_FUZZ_SCRATCH";

/// A private topic directory for this process, under `$SHM_FUZZ_SCRATCH` (default `/dev/shm`,
/// tmpfs like real topics).
pub fn scratch_root() -> PathBuf {
    let base = std::env::var_os(SCRATCH_ENV).unwrap_or_else(|| "/dev/shm".into());
    let dir = PathBuf::from(base).join(format!("shm-fuzz.{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the fuzz root");
    dir
}
