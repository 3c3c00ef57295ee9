//! The node name a process gives itself, recorded in the header of every topic it publishes
//! and shown by `shm list` / `shm info` and in errors (`node imu_driver (pid 4242, python)`),
//! instead of only a process name every Python program shares.
//!
//! Set with [`set_node_name`] (Python `shm_pub_sub.set_node_name`), or with the environment
//! variable `SHM_NODE_NAME` (read when the first publisher is created, if no name was set).

use std::fmt;
use std::sync::Mutex;

/// Environment variable that names the process's node.
pub const NODE_NAME_ENV: &str = "SHM_NODE_NAME";

/// The longest node name, in bytes (what the topic header holds).
pub const MAX_NODE_NAME: usize = 48;

/// Why a node name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeNameError {
    /// The name given (as given).
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for NodeNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node name {:?} {}; a node name is 1 to {MAX_NODE_NAME} bytes of letters, digits, \
             `_`, `-`, `.` and `/` (such as \"imu_driver\" or \"arm/controller\")",
            crate::text::printable(&self.name),
            self.reason
        )
    }
}

impl std::error::Error for NodeNameError {}

/// `None`: not decided yet (the environment is read on first use); `Some(None)`: no name.
static NODE: Mutex<Option<Option<String>>> = Mutex::new(None);

fn check(name: &str) -> Result<(), NodeNameError> {
    let refuse = |reason: String| {
        Err(NodeNameError {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("is empty".to_owned());
    }
    if name.len() > MAX_NODE_NAME {
        return refuse(format!("is {} bytes long", name.len()));
    }
    if let Some((at, c)) = name
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')))
    {
        return refuse(format!("holds {c:?} at byte {at}"));
    }
    Ok(())
}

/// Names this process's node: topics it publishes from now on record the name (those it
/// already publishes keep the one they were created with until the next publisher takes them
/// over). Overrides `SHM_NODE_NAME`.
///
/// ```
/// shm::set_node_name("imu_driver").unwrap();
/// assert_eq!(shm::node_name().as_deref(), Some("imu_driver"));
/// assert!(shm::set_node_name("imu driver").is_err());
/// ```
pub fn set_node_name(name: &str) -> Result<(), NodeNameError> {
    check(name)?;
    *NODE.lock().unwrap_or_else(|e| e.into_inner()) = Some(Some(name.to_owned()));
    Ok(())
}

/// This process's node name: the one set with [`set_node_name`], else `SHM_NODE_NAME`'s (an
/// invalid one is ignored, with a warning on standard error), else none.
pub fn node_name() -> Option<String> {
    let mut node = NODE.lock().unwrap_or_else(|e| e.into_inner());
    node.get_or_insert_with(|| {
        let value = std::env::var(NODE_NAME_ENV).ok()?;
        match check(&value) {
            Ok(()) => Some(value),
            Err(e) => {
                eprintln!("shm: warning: {NODE_NAME_ENV} ignored: {e}");
                None
            }
        }
    })
    .clone()
}

/// The node name as the header stores it: UTF-8, NUL-padded.
pub(crate) fn header_bytes() -> [u8; MAX_NODE_NAME] {
    let mut out = [0u8; MAX_NODE_NAME];
    if let Some(name) = node_name() {
        out[..name.len()].copy_from_slice(name.as_bytes());
    }
    out
}

/// A node name read from a header (another process's file: anything may be there). Bytes
/// that are no valid node name give no name.
pub(crate) fn from_header(bytes: &[u8; MAX_NODE_NAME]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    match std::str::from_utf8(&bytes[..end]) {
        Ok(name) if check(name).is_ok() => name.to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_headers_distrusted() {
        assert!(check("arm/controller_2").is_ok());
        assert!(check("ロボット").is_ok());
        for bad in ["", "a b", "x\u{1b}[2J", &"n".repeat(49)] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        let text = check("a b").unwrap_err().to_string();
        assert!(
            text.contains("holds ' ' at byte 1") && text.contains("letters, digits"),
            "{text}"
        );
        let mut header = [0u8; MAX_NODE_NAME];
        header[..4].copy_from_slice(b"node");
        assert_eq!(from_header(&header), "node");
        header[..4].copy_from_slice(b"n\x1bde");
        assert_eq!(from_header(&header), "");
        assert_eq!(
            from_header(&[b'x'; MAX_NODE_NAME]),
            "x".repeat(MAX_NODE_NAME)
        );
    }
}
