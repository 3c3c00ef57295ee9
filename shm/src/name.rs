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
    /// Validates a topic name, and normalises it: one leading `/` is dropped (`/robot/pose` is
    /// `robot/pose`, as ROS users write it).
    ///
    /// The grammar: one or more segments separated by single `/`s; a segment is letters and
    /// digits (any script's), `_`, `-` and `.`, and is not `.` or `..`. So a name never holds a
    /// space, a glob character (`*`, `?`, `[`, `{`) or an empty segment (`a//b`, `trail/`), and
    /// a pattern such as `robot/*` can never be a topic's own name.
    ///
    /// ```
    /// let t = shm::TopicName::new("robot/pose").unwrap();
    /// assert_eq!(t.file_name(), "shm.robot%2Fpose");
    /// assert_eq!(shm::TopicName::new("/robot/pose").unwrap(), t);
    /// assert!(shm::TopicName::new("").is_err());
    /// assert!(shm::TopicName::new("robot/*").is_err());
    /// ```
    pub fn new(name: &str) -> Result<TopicName, NameError> {
        let name = check_name(name)?;
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

    /// The topic name (without the leading `/` one may have given).
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

/// Checks `name` against the grammar of [`TopicName::new`] and returns it without its leading
/// `/`.
pub(crate) fn check_name(name: &str) -> Result<&str, NameError> {
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
    let body = name.strip_prefix('/').unwrap_or(name);
    let skipped = name.len() - body.len();
    if let Some((index, ch)) = body
        .char_indices()
        .find(|&(_, c)| !(c == '/' || c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(NameError::InvalidCharacter {
            ch,
            index: index + skipped,
        });
    }
    let mut at = skipped;
    for segment in body.split('/') {
        match segment {
            "" => return Err(NameError::EmptySegment { index: at }),
            "." | ".." => {
                return Err(NameError::DotSegment {
                    segment: segment.to_owned(),
                });
            }
            _ => {}
        }
        at += segment.len() + 1;
    }
    Ok(body)
}

/// A pattern over topic names, as `shm rm`, `shm clean`, `shm list` and the bridge's
/// `--export` / `--import` take them: `/`-separated chunks, where `*` matches any characters but
/// `/` within a chunk, `?` one such character, and a chunk `**` any number of chunks (none
/// too). Topic names never hold `*` or `?` ([`TopicName::new`]), so a pattern is never
/// mistaken for a name.
///
/// ```
/// let p = shm::TopicPattern::new("robot/*").unwrap();
/// assert!(p.matches("robot/pose") && !p.matches("robot/arm/joint"));
/// assert!(shm::TopicPattern::new("robot/**").unwrap().matches("robot/arm/joint"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPattern {
    chunks: Vec<String>,
}

impl TopicPattern {
    /// Parses a pattern (`robot/*`, `**`, `camera/front_?`); a leading `/` is dropped, as in
    /// names.
    pub fn new(text: &str) -> Result<TopicPattern, String> {
        let body = text.strip_prefix('/').unwrap_or(text);
        if body.is_empty() {
            return Err("an empty pattern matches nothing; `**` matches every topic".to_owned());
        }
        let chunks: Vec<String> = body.split('/').map(str::to_owned).collect();
        if let Some(bad) = chunks
            .iter()
            .find(|c| c.contains("**") && c.as_str() != "**")
        {
            return Err(format!(
                "`{text}`: `**` must be a whole chunk (`a/**/b`), not part of `{bad}`"
            ));
        }
        Ok(TopicPattern { chunks })
    }

    /// Whether the pattern has a wildcard (else it names one topic).
    pub fn is_glob(&self) -> bool {
        self.chunks.iter().any(|c| c.contains(['*', '?']))
    }

    /// Its chunks, in order (`**` for any number of chunks).
    pub fn chunks(&self) -> &[String] {
        &self.chunks
    }

    /// Whether `topic` matches. Time is at most the product of the pattern's and the name's
    /// lengths, whatever they hold (names come from files other users may write).
    pub fn matches(&self, topic: &str) -> bool {
        let parts: Vec<&str> = topic.split('/').collect();
        // reach[j]: the pattern's chunks so far can match the first `j` parts.
        let mut reach = vec![false; parts.len() + 1];
        reach[0] = true;
        for chunk in &self.chunks {
            let mut next = vec![false; parts.len() + 1];
            if chunk == "**" {
                let mut any = false;
                for j in 0..=parts.len() {
                    any |= reach[j];
                    next[j] = any;
                }
            } else {
                for j in 0..parts.len() {
                    next[j + 1] = reach[j] && glob_chunk(chunk.as_bytes(), parts[j].as_bytes());
                }
            }
            reach = next;
        }
        reach[parts.len()]
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chunks.join("/"))
    }
}

/// `*` and `?` within one chunk (characters, not bytes), in time `pattern × text`: the classic
/// greedy match that backtracks only to the last `*`.
fn glob_chunk(pattern: &[u8], text: &[u8]) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (
        String::from_utf8_lossy(pattern).chars().collect(),
        String::from_utf8_lossy(text).chars().collect(),
    );
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || (p[i] != '*' && p[i] == t[j])) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
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
            "a.b",
            "a-b",
            "A/B",
            "ä",
            "ü/ö",
            "robot/pose",
            "robot_pose",
            "日本語",
            "..a",
            "a..",
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
        // The grammar: segments of letters, digits, `_`, `-`, `.`, one `/` between them.
        let invalid = |name: &str| TopicName::new(name).unwrap_err();
        assert_eq!(
            invalid("a b"),
            NameError::InvalidCharacter { ch: ' ', index: 1 }
        );
        for (name, ch) in [("*", '*'), ("robot/**", '*'), ("a?", '?'), ("a%2Fb", '%')] {
            assert!(
                matches!(invalid(name), NameError::InvalidCharacter { ch: c, .. } if c == ch),
                "{name}"
            );
        }
        assert_eq!(invalid("a//b"), NameError::EmptySegment { index: 2 });
        assert_eq!(invalid("trail/"), NameError::EmptySegment { index: 6 });
        assert_eq!(invalid("/"), NameError::EmptySegment { index: 1 });
        assert_eq!(
            invalid(".."),
            NameError::DotSegment {
                segment: "..".into()
            }
        );
        assert!(matches!(invalid("a/./b"), NameError::DotSegment { .. }));
        // `/abs` and `abs` are one topic.
        assert_eq!(TopicName::new("/abs").unwrap().as_str(), "abs");
        assert_eq!(TopicName::new("/abs"), TopicName::new("abs"));
        let text = invalid("robot/*").to_string();
        assert!(
            text.contains("'*' at byte 6") && text.contains("letters, digits"),
            "{text}"
        );
        assert!(TopicName::new(&"x".repeat(251)).is_ok());
        assert!(matches!(
            TopicName::new(&"x".repeat(252)),
            Err(NameError::TooLong {
                file_name_len: 256,
                max: 255
            })
        ));
        assert!(matches!(
            TopicName::new("a/".repeat(90).trim_end_matches('/')),
            Err(NameError::TooLong { .. })
        ));
        let msg = TopicName::new("").unwrap_err().to_string();
        assert!(msg.contains("empty"), "{msg}");
    }

    #[test]
    fn patterns_match_like_shell_globs_over_chunks() {
        let p = |t: &str| TopicPattern::new(t).unwrap();
        assert!(p("robot/*").matches("robot/pose") && !p("robot/*").matches("robot/a/b"));
        assert!(p("robot/**").matches("robot/a/b") && p("robot/**").matches("robot"));
        assert!(p("**").matches("anything/at/all"));
        assert!(p("cam*/front_?").matches("camera/front_1"));
        assert!(!p("cam*/front_?").matches("camera/front_12"));
        assert!(p("a/**/z").matches("a/z") && p("a/**/z").matches("a/b/c/z"));
        assert!(p("/robot/*").matches("robot/x") && p("?/日?").matches("x/日本"));
        assert!(p("*a*b").matches("xaab") && !p("*a*b").matches("xaa"));
        assert!(p("robot/*").is_glob() && !p("robot/pose").is_glob());
        assert!(TopicPattern::new("a**").is_err() && TopicPattern::new("").is_err());
        // Hostile lengths cost their product, not an exponential.
        let long = "a".repeat(2000);
        let star = format!("{}b", "*a".repeat(500));
        assert!(!p(&star).matches(&long));
        let deep = vec!["**"; 300].join("/") + "/x";
        assert!(!p(&deep).matches(&vec!["a"; 300].join("/")));
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
            // Decodes to a name the grammar refuses.
            "shm.a%20b",
            "shm.a%2F%2Fb",
        ] {
            assert!(TopicName::from_file_name(f).is_none(), "{f}");
        }
    }
}
