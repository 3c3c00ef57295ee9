//! Topic names on the wire, and the topic patterns of `--export` / `--import`.
//!
//! A topic `robot/front camera` is the Zenoh key `<prefix>/robot/front%20camera`: its `/`s
//! separate key chunks (so Zenoh's own wildcards follow the topic hierarchy), every byte
//! outside `[A-Za-z0-9._-]` of a chunk is percent-encoded (Zenoh reserves `*`, `$`, `?`, `#`,
//! `@`), and an empty chunk is written `%` (which no encoding produces otherwise). Schemas and
//! liveliness live under `<prefix>/@schema/...` and `<prefix>/@alive/...`: chunks starting with
//! `@` are verbatim in Zenoh, never matched by a wildcard, so they never mix with topics.

/// The key chunk of a topic chunk.
fn encode_chunk(chunk: &str, out: &mut String) {
    if chunk.is_empty() {
        out.push('%');
        return;
    }
    for b in chunk.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The key of a topic, after the prefix: `robot/front%20camera`.
pub(crate) fn topic_key(topic: &str) -> String {
    let mut out = String::with_capacity(topic.len());
    for (i, chunk) in topic.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode_chunk(chunk, &mut out);
    }
    out
}

/// The topic of a key (after the prefix), if it is one [`topic_key`] makes.
pub(crate) fn key_topic(key: &str) -> Option<String> {
    let mut raw = Vec::with_capacity(key.len());
    for (i, chunk) in key.split('/').enumerate() {
        if i > 0 {
            raw.push(b'/');
        }
        if chunk == "%" {
            continue;
        }
        let bytes = chunk.as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            if bytes[j] == b'%' {
                let hex = std::str::from_utf8(bytes.get(j + 1..j + 3)?).ok()?;
                raw.push(u8::from_str_radix(hex, 16).ok()?);
                j += 3;
            } else {
                raw.push(bytes[j]);
                j += 1;
            }
        }
    }
    String::from_utf8(raw).ok()
}

/// A topic pattern (`shm::TopicPattern`: `*`, `?` within a chunk, `**` for any number of
/// chunks), and the Zenoh key expression that covers it.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(shm::TopicPattern);

impl Pattern {
    /// Parses a pattern (`robot/*`, `**`, `camera/front_*`).
    pub(crate) fn parse(text: &str) -> Result<Pattern, String> {
        shm::TopicPattern::new(text).map(Pattern)
    }

    /// Whether `topic` matches.
    pub(crate) fn matches(&self, topic: &str) -> bool {
        self.0.matches(topic)
    }

    /// A Zenoh key expression (after the prefix) that includes every key of a matching topic
    /// (the exact match is [`matches`](Self::matches)'s).
    pub(crate) fn key_expr(&self) -> String {
        let mut out = String::new();
        for (i, chunk) in self.0.chunks().iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            if chunk == "**" || chunk.contains('?') {
                out.push_str(if chunk == "**" { "**" } else { "*" });
            } else if chunk == "*" {
                out.push('*');
            } else if chunk.contains('*') {
                // Literal pieces around sub-chunk wildcards (`$*`).
                for (j, piece) in chunk.split('*').enumerate() {
                    if j > 0 {
                        out.push_str("$*");
                    }
                    if !piece.is_empty() {
                        encode_chunk(piece, &mut out);
                    }
                }
            } else {
                encode_chunk(chunk, &mut out);
            }
        }
        // Zenoh takes only canonical expressions (`a/**/**` is `a/**`, `**/*` is `*/**`).
        zenoh::key_expr::KeyExpr::autocanonize(out.clone())
            .map(|k| k.to_string())
            .unwrap_or(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_through_keys() {
        for topic in [
            "robot/pose",
            "a b/c*d$e",
            "/lead",
            "trail/",
            "a//b",
            "@x/y",
            "héllo",
        ] {
            let key = topic_key(topic);
            assert!(!key.contains(['*', '$', '?', '#', '@', ' ']), "{key}");
            assert!(!key.split('/').any(str::is_empty), "{key}");
            assert_eq!(key_topic(&key).as_deref(), Some(topic), "{key}");
        }
        assert_eq!(topic_key("robot/front camera"), "robot/front%20camera");
    }

    #[test]
    fn patterns_become_key_expressions_that_cover_them() {
        // (How patterns match is `shm::TopicPattern`'s, tested there.)
        let p = |t: &str| Pattern::parse(t).unwrap();
        assert!(p("robot/*").matches("robot/pose") && Pattern::parse("a**").is_err());
        assert_eq!(p("robot/*").key_expr(), "robot/*");
        assert_eq!(p("cam*/x y").key_expr(), "cam$*/x%20y");
        assert_eq!(p("a/**").key_expr(), "a/**");
        assert_eq!(p("a/**/**").key_expr(), "a/**");
        assert_eq!(p("**/*").key_expr(), "*/**");
        assert_eq!(p("a/*x*").key_expr(), "a/$*x$*");
    }
}
