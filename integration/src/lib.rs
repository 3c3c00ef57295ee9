//! Shared pieces of the integration tests: message types, checksummed stress payloads,
//! isolated topic roots and a child-process harness with timeouts everywhere.

pub mod hostile;
pub mod payload;
pub mod process;
pub mod root;
pub mod services;
pub mod stress;

use shm::ShmMessage;

/// The pose type published by the helper and read by the tests.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct TestPose {
    /// Position.
    pub x: f64,
    /// Position.
    pub y: f64,
    /// Heading in radians.
    pub theta: f64,
    /// Which publish this is (a check against the sequence number).
    pub counter: u64,
}

/// The same name as [`TestPose`], but its third field was renamed and retyped: a
/// "new version" of the message that must be refused by old subscribers.
pub mod v2 {
    use shm::ShmMessage;

    /// See the module docs.
    #[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    #[shm(name = "TestPose")]
    pub struct TestPose {
        /// Position.
        pub x: f64,
        /// Position.
        pub y: f64,
        /// Heading, now in degrees as f32.
        pub heading_deg: f32,
        /// Explicit padding.
        pub _pad: u32,
        /// Which publish this is.
        pub counter: u64,
    }
}

impl TestPose {
    /// The pose published as value number `counter`.
    pub fn nth(counter: u64) -> TestPose {
        let c = counter as f64;
        TestPose {
            x: c,
            y: -c,
            theta: c * 0.25,
            counter,
        }
    }
}

/// A message with booleans, to check validation.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Flags {
    /// A flag.
    pub armed: bool,
    /// Another.
    pub moving: bool,
    /// A counter.
    pub count: u16,
}
