//! The message shared by the examples, and a tiny argument parser they use.

use shm::{BoundedString, BoundedVec, ShmMessage};

/// Topic the examples use unless told otherwise.
pub const DEFAULT_TOPIC: &str = "demo/robot/pose";

/// A robot's pose as a localisation process would publish it.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Pose {
    /// Position in metres, map frame.
    pub position: [f64; 3],
    /// Orientation as a unit quaternion (x, y, z, w).
    pub orientation: [f64; 4],
    /// Which map the pose refers to.
    pub map_id: u32,
    /// Whether localisation is currently tracking.
    pub tracking: bool,
    /// Explicit padding: messages may not have hidden padding.
    pub _reserved: [u8; 3],
}

impl Pose {
    /// A pose on a circle of radius 2 m, `t` seconds into the run.
    pub fn on_circle(t: f64) -> Pose {
        let heading = t * 0.5;
        Pose {
            position: [2.0 * heading.cos(), 2.0 * heading.sin(), 0.0],
            orientation: [0.0, 0.0, (heading / 2.0).sin(), (heading / 2.0).cos()],
            map_id: 7,
            tracking: true,
            _reserved: [0; 3],
        }
    }
}

/// An axis-aligned box in an image, in pixels.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct BoundingBox {
    /// Top-left corner (x, y).
    pub min: [f32; 2],
    /// Bottom-right corner (x, y).
    pub max: [f32; 2],
}

/// What a detector found in a frame: nested structs, a 2-D array and a flag, the shape of
/// message the Python interop tests check field by field (`detection_relay`).
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Detection {
    /// Up to two boxes.
    pub boxes: [BoundingBox; 2],
    /// Three class scores per box: `scores[class][box]`.
    pub scores: [[f32; 2]; 3],
    /// The most likely class.
    pub label: u16,
    /// Whether the detection is usable.
    pub valid: bool,
    /// Explicit padding.
    pub _reserved: [u8; 1],
}

/// Frame width of the camera examples, in pixels.
pub const FRAME_WIDTH: usize = 640;
/// Frame height of the camera examples, in pixels.
pub const FRAME_HEIGHT: usize = 480;

/// A 640×480 RGB camera frame (900 KiB) with its number and capture time: the same type as the
/// Python camera examples' `Frame` (same name and fields, so the schema hashes agree).
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Frame {
    /// Frame number, from 0.
    pub seq: u64,
    /// Capture time, ns on `CLOCK_MONOTONIC` (Python's `time.monotonic_ns()`).
    pub stamp_ns: u64,
    /// Rows of pixels, each pixel red, green, blue.
    pub pixels: [[[u8; 3]; FRAME_WIDTH]; FRAME_HEIGHT],
}

impl Frame {
    /// A black frame, boxed: at 900 KiB, a frame is kept on the heap.
    pub fn black() -> Box<Frame> {
        Box::new(Frame {
            seq: 0,
            stamp_ns: 0,
            pixels: [[[0; 3]; FRAME_WIDTH]; FRAME_HEIGHT],
        })
    }
}

/// One return of a lidar beam: where, how strong, which laser ring.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Echo {
    /// Beam angle, radians.
    pub angle: f32,
    /// Return strength.
    pub intensity: u16,
    /// Laser ring.
    pub ring: u16,
}

/// A lidar scan: data whose length changes every turn, in bounded sequences and a bounded
/// string. A publish and a read copy only what each holds (a scan of 360 ranges costs 360
/// ranges, not 4096). The same type as the Python scan examples' `Scan`.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Scan {
    /// Capture time, ns on `CLOCK_MONOTONIC`.
    pub stamp_ns: u64,
    /// The sensor's frame, up to 32 bytes of UTF-8.
    pub frame_id: BoundedString<32>,
    /// Measured ranges, metres: up to 4096.
    pub ranges: BoundedVec<f32, 4096>,
    /// The strongest returns: up to 64.
    pub echoes: BoundedVec<Echo, 64>,
}

/// A point of a point cloud (a slice topic: `Publisher<[Point]>`), as the Python examples'
/// `Point`.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Point {
    /// Position, metres.
    pub x: f32,
    /// Position, metres.
    pub y: f32,
    /// Position, metres.
    pub z: f32,
    /// Return strength.
    pub intensity: f32,
}

/// Service the service examples use unless told otherwise.
pub const DEFAULT_SERVICE: &str = "demo/plan";

/// A request to plan a path (`path_planner` serves it, `plan_client` and
/// `examples/python/services/plan_client.py` call it).
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct PlanRequest {
    /// Where the robot is, in metres (x, y).
    pub start: [f64; 2],
    /// Where it should go.
    pub goal: [f64; 2],
}

/// A planned path: how long it is and in how many steps of at most 0.5 m.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Plan {
    /// Length in metres.
    pub length: f64,
    /// Steps of at most 0.5 m.
    pub steps: u32,
    /// Whether the goal is within reach (100 m).
    pub reachable: bool,
    /// Explicit padding: messages may not have hidden padding.
    pub _reserved: [u8; 3],
}

impl Plan {
    /// A straight-line plan for `request`.
    pub fn straight(request: &PlanRequest) -> Plan {
        let [dx, dy] = [0, 1].map(|i| request.goal[i] - request.start[i]);
        let length = dx.hypot(dy);
        Plan {
            length,
            steps: (length / 0.5).ceil() as u32,
            reachable: length <= 100.0,
            _reserved: [0; 3],
        }
    }
}

/// Action the action examples use unless told otherwise.
pub const DEFAULT_ACTION: &str = "demo/navigate";

/// A goal: drive to `target` at `speed` (`navigator` runs it, `navigate_client` and
/// `examples/python/actions/navigate_client.py` send it).
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct NavigateGoal {
    /// Where to go, metres (x, y), from the origin.
    pub target: [f64; 2],
    /// Metres per step (a step is 20 ms); not positive: the goal is rejected.
    pub speed: f64,
}

/// Feedback while driving: where the robot is, and how far it still has to go.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct NavigateFeedback {
    /// Position, metres.
    pub position: [f64; 2],
    /// Metres to go.
    pub remaining: f64,
}

/// Where a drive ended, after how many steps.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct NavigateOutcome {
    /// Position, metres.
    pub position: [f64; 2],
    /// Steps driven.
    pub steps: u32,
    /// Explicit padding: messages may not have hidden padding.
    pub _reserved: [u8; 4],
}

impl NavigateGoal {
    /// Where the robot is after `steps` steps toward the target (straight, at most there).
    pub fn position_after(&self, steps: u32) -> [f64; 2] {
        let length = self.target[0].hypot(self.target[1]);
        let travelled = (self.speed * f64::from(steps)).min(length);
        if length == 0.0 {
            return [0.0, 0.0];
        }
        self.target.map(|t| t * travelled / length)
    }

    /// Steps it takes to get there.
    pub fn steps(&self) -> u32 {
        (self.target[0].hypot(self.target[1]) / self.speed).ceil() as u32
    }
}

/// `--name value` options from the command line, with defaults.
pub struct Args(Vec<String>);

impl Args {
    /// The process's arguments. With `--help` or `-h` among them, prints `usage` and exits.
    pub fn from_env(usage: &str) -> Args {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|a| a == "--help" || a == "-h") {
            println!("{usage}");
            std::process::exit(0);
        }
        Args(args)
    }

    /// The value after `--name`, parsed, or `default`. Exits with a message on a bad value.
    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        let flag = format!("--{name}");
        match self.0.iter().position(|a| *a == flag) {
            None => default,
            Some(i) => match self.0.get(i + 1).map(|v| v.parse()) {
                Some(Ok(v)) => v,
                _ => {
                    eprintln!("{flag} needs a valid value");
                    std::process::exit(2);
                }
            },
        }
    }
}

/// The scalar message types Python also speaks (`bool`, `i64`, `f64`, and through numpy
/// scalars `f32`, `i8` … `u64`), as text: parsed from a line and printed exactly, for the scalar
/// examples (and the Python interop tests).
pub trait Scalar: shm::ShmMessage + Copy {
    /// Parses one value: `true`/`false`; a decimal int; a float (`21.5`, `-0.0`, `inf`, `nan`)
    /// or `0x` and 16 hex digits giving a float's exact bits.
    fn parse(text: &str) -> Option<Self>;
    /// The value, exactly: a float is followed by its bits (`-0.0 0x8000000000000000`).
    fn show(self) -> String;
}

impl Scalar for bool {
    fn parse(text: &str) -> Option<bool> {
        text.parse().ok()
    }
    fn show(self) -> String {
        self.to_string()
    }
}

impl Scalar for i64 {
    fn parse(text: &str) -> Option<i64> {
        text.parse().ok()
    }
    fn show(self) -> String {
        self.to_string()
    }
}

impl Scalar for f64 {
    fn parse(text: &str) -> Option<f64> {
        match text.strip_prefix("0x") {
            Some(hex) if hex.len() == 16 => u64::from_str_radix(hex, 16).ok().map(f64::from_bits),
            Some(_) => None,
            None => text.parse().ok(),
        }
    }
    fn show(self) -> String {
        format!("{self:?} {:#018x}", self.to_bits())
    }
}

impl Scalar for f32 {
    fn parse(text: &str) -> Option<f32> {
        match text.strip_prefix("0x") {
            Some(hex) if hex.len() == 8 => u32::from_str_radix(hex, 16).ok().map(f32::from_bits),
            Some(_) => None,
            None => text.parse().ok(),
        }
    }
    fn show(self) -> String {
        format!("{self:?} {:#010x}", self.to_bits())
    }
}

/// The integer widths Python reaches with numpy scalars (`numpy.uint32(0)` as a default).
macro_rules! integer_scalars {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            fn parse(text: &str) -> Option<$t> {
                text.parse().ok()
            }
            fn show(self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_scalars!(i8, i16, i32, u8, u16, u32, u64);

/// Runs `f::<T>()` for the scalar type named by `--type`: `bool`, `i64` or `f64` (Python's
/// `bool`, `int`, `float`), or `f32`, `i8` … `u64` (Python's numpy scalars of that width).
#[macro_export]
macro_rules! with_scalar_type {
    ($name:expr, $f:ident) => {
        match $name {
            "bool" => $f::<bool>(),
            "i64" => $f::<i64>(),
            "f64" => $f::<f64>(),
            "f32" => $f::<f32>(),
            "i8" => $f::<i8>(),
            "i16" => $f::<i16>(),
            "i32" => $f::<i32>(),
            "u8" => $f::<u8>(),
            "u16" => $f::<u16>(),
            "u32" => $f::<u32>(),
            "u64" => $f::<u64>(),
            other => {
                eprintln!("--type must be bool, i64, f64, f32, i8, i16, i32, u8, u16, u32 or u64, not '{other}'");
                std::process::exit(2);
            }
        }
    };
}
