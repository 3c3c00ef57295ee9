//! Recording and replay of shm topics in formats other people's tools read (issue 26, in
//! progress): every topic file carries its schema, so any topic can be described as a ROS 2
//! message definition ([`ros2msg`]) and its values written as CDR ([`cdr`]), the encoding
//! rosbag2 and Foxglove read from MCAP files, and read back exactly.
//!
//! Values go through the one walker of the `shm` crate ([`shm::dynamic::decode_with`]); CDR is
//! read back into a [`shm::dynamic::Value`], which the same crate encodes into a topic's bytes.

pub mod cdr;
pub mod recorder;
pub mod ros2msg;
