//! Recording and replay of shm topics as MCAP files other people's tools read: every topic file
//! carries its schema, so any topic can be described as a ROS 2 message definition
//! ([`ros2msg`]) and its values written as CDR ([`cdr`]), the encoding rosbag2 and Foxglove
//! read, and played back exactly. [`recorder`] writes files, [`bag`] reads them (and says what
//! they hold), [`player`] publishes them again with their timing.
//!
//! Values are written through the one walker of the `shm` crate
//! ([`shm::dynamic::decode_with`]); CDR is read straight back into a topic's bytes, which the
//! same walker turns into a [`shm::dynamic::Value`] where one is wanted.

pub mod bag;
pub mod cdr;
pub mod player;
pub mod recorder;
pub mod ros2msg;

/// At most `max` characters of `text` (an ellipsis after a cut), escaped as the `shm` tool
/// prints names: names and reasons read from a file are hostile.
pub(crate) fn shown_at_most(text: &str, max: usize) -> String {
    let mut s: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        s.push('…');
    }
    shm::text::printable(&s).into_owned()
}

/// How many characters of a reason that may quote a file are shown.
pub(crate) const REASON_CHARS: usize = 400;
