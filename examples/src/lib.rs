//! The message shared by the examples, and a tiny argument parser they use.

use shm::ShmMessage;

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

/// `--name value` options from the command line, with defaults.
pub struct Args(Vec<String>);

impl Args {
    /// The process's arguments.
    pub fn from_env() -> Args {
        Args(std::env::args().skip(1).collect())
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
