//! Topic names and where their files live.
//!
//! A topic `robot/pose` lives in `<root>/shm.robot%2Fpose`: the prefix `shm.` marks our files, and
//! every byte outside `[A-Za-z0-9._-]` is percent-encoded (`%` itself too). The mapping is
//! injective (`a/b` → `shm.a%2Fb`, `a_b` → `shm.a_b`) and reversible, so a listing can show names.
//! The root is `/dev/shm` unless the `SHM_ROOT` environment variable (or a builder's `root`) says
//! otherwise.

use std::fmt;
use std::path::PathBuf;

use crate::error::NameError;

/// Environment variable that overrides the directory topics live in (default `/dev/shm`).
pub const ROOT_ENV: &str = "SHM_ROOT";

/// The directory topics live in when nothing else is said.
pub const DEFAULT_ROOT: &str = "/dev/shm";

/// File name prefix of every topic file.
pub(crate) const FILE_PREFIX: &str = "shm.";

/// Longest file name most Linux file systems accept.
const MAX_FILE_NAME: usize = 255;

/// The root directory from `SHM_ROOT`, or `/dev/shm`.
pub fn default_root() -> PathBuf {
    match std::env::var_os(ROOT_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_ROOT),
    }
}

/// A validated topic name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicName {
    name: String,
    file: String,
}

fn keep_verbatim(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

impl TopicName {
    /// Validates a topic name.
    ///
    /// ```
    /// let t = shm::TopicName::new("robot/pose").unwrap();
    /// assert_eq!(t.file_name(), "shm.robot%2Fpose");
    /// assert!(shm::TopicName::new("").is_err());
    /// ```
    pub fn new(name: &str) -> Result<TopicName, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if let Some((index, ch)) = name
            .char_indices()
            .find(|(_, c)| crate::text::is_unprintable(*c))
        {
            return Err(NameError::ControlCharacter { ch, index });
        }
        if name.trim() != name {
            return Err(NameError::SurroundingWhitespace);
        }
        let mut file = String::with_capacity(FILE_PREFIX.len() + name.len());
        file.push_str(FILE_PREFIX);
        for b in name.bytes() {
            if keep_verbatim(b) {
                file.push(b as char);
            } else {
                file.push_str(&format!("%{b:02X}"));
            }
        }
        if file.len() > MAX_FILE_NAME {
            return Err(NameError::TooLong {
                file_name_len: file.len(),
                max: MAX_FILE_NAME,
            });
        }
        Ok(TopicName {
            name: name.to_owned(),
            file,
        })
    }

    /// The topic name as given.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The file name inside the root directory.
    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The topic whose file this is, if it is one of ours (used to list topics).
    pub fn from_file_name(file: &str) -> Option<TopicName> {
        let enc = file.strip_prefix(FILE_PREFIX)?.as_bytes();
        let mut raw = Vec::with_capacity(enc.len());
        let mut i = 0;
        while i < enc.len() {
            match enc[i] {
                b'%' => {
                    let hex = std::str::from_utf8(enc.get(i + 1..i + 3)?).ok()?;
                    if hex.bytes().any(|c| c.is_ascii_lowercase()) {
                        return None;
                    }
                    let b = u8::from_str_radix(hex, 16).ok()?;
                    if keep_verbatim(b) {
                        return None; // not canonical: we never encode these
                    }
                    raw.push(b);
                    i += 3;
                }
                b if keep_verbatim(b) => {
                    raw.push(b);
                    i += 1;
                }
                _ => return None,
            }
        }
        let name = String::from_utf8(raw).ok()?;
        let t = TopicName::new(&name).ok()?;
        (t.file == file).then_some(t)
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn mapping_is_readable_and_injective() {
        let names = [
            "a/b",
            "a_b",
            "a%2Fb",
            "a%b",
            "a b",
            "a.b",
            "a-b",
            "A/B",
            "/a",
            "a/",
            "a//b",
            "ä",
            "ü/ö",
            "..",
            ".",
            "%",
            "%25",
            "robot/pose",
            "robot_pose",
            "日本語",
        ];
        let mut seen: HashMap<String, &str> = HashMap::new();
        for n in names {
            let t = TopicName::new(n).unwrap();
            if let Some(prev) = seen.insert(t.file_name().to_owned(), n) {
                panic!("{prev:?} and {n:?} both map to {}", t.file_name());
            }
            assert!(!t.file_name().contains('/'));
            let back = TopicName::from_file_name(t.file_name()).unwrap();
            assert_eq!(back.as_str(), n);
        }
        assert_eq!(TopicName::new("a/b").unwrap().file_name(), "shm.a%2Fb");
        assert_eq!(TopicName::new("a_b").unwrap().file_name(), "shm.a_b");
        assert_eq!(
            TopicName::new("robot/pose").unwrap().to_string(),
            "robot/pose"
        );
    }

    #[test]
    fn invalid_names_are_refused() {
        assert_eq!(TopicName::new(""), Err(NameError::Empty));
        assert!(matches!(
            TopicName::new("a\0b"),
            Err(NameError::ControlCharacter { ch: '\0', index: 1 })
        ));
        assert!(matches!(
            TopicName::new("a\nb"),
            Err(NameError::ControlCharacter { .. })
        ));
        assert_eq!(TopicName::new(" a"), Err(NameError::SurroundingWhitespace));
        assert_eq!(
            TopicName::new("a\u{2003}"),
            Err(NameError::SurroundingWhitespace)
        );
        assert!(TopicName::new("a b").is_ok());
        assert!(TopicName::new(&"x".repeat(251)).is_ok());
        assert!(matches!(
            TopicName::new(&"x".repeat(252)),
            Err(NameError::TooLong {
                file_name_len: 256,
                max: 255
            })
        ));
        assert!(matches!(
            TopicName::new(&"/".repeat(100)),
            Err(NameError::TooLong { .. })
        ));
        let msg = TopicName::new("").unwrap_err().to_string();
        assert!(msg.contains("empty"), "{msg}");
    }

    #[test]
    fn foreign_file_names_are_not_topics() {
        for f in [
            "other",
            "shm.",
            "shm.a%2fb",
            "shm.%41",
            "shm.a%2",
            "shm.a b",
            "shm.%00",
        ] {
            assert!(TopicName::from_file_name(f).is_none(), "{f}");
        }
    }
}
