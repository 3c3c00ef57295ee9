//! Text from files and peers, made safe to print: a topic file's type and field names, the
//! process name its publisher recorded, a topic name from a directory listing or a remote
//! bridge are written by whoever made them. Printed as they are, escape sequences in them could
//! recolour a terminal, move its cursor, forge rows of a table or reverse the direction of the
//! text after them. Every printer of such text (the `shm` tool, the bridge's log, this crate's
//! error messages) goes through [`printable`].

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is: a control character (C0, DEL, C1: escape
/// sequences, carriage returns, bells), a Unicode direction mark, override or isolate (which
/// reorder the text that follows), or a line or paragraph separator.
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every [`is_unprintable`] character written as a Rust escape (`\u{1b}`, `\n`),
/// and `\` itself doubled when anything was escaped, so that an escape can never be forged;
/// borrowed as it is when nothing needs escaping.
///
/// ```
/// assert_eq!(shm::text::printable("robot/pose"), "robot/pose");
/// assert_eq!(shm::text::printable("\u{1b}[31mFORGED"), "\\u{1b}[31mFORGED");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_unprintable(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        assert_eq!(printable("a/b c"), "a/b c");
        assert_eq!(printable("x\u{1b}[2J"), "x\\u{1b}[2J");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m", "C1 CSI");
        assert_eq!(printable("a\rb\n"), "a\\rb\\n");
        assert_eq!(printable("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(printable("\u{1b}]0;title\u{7}"), "\\u{1b}]0;title\\u{7}");
        // A backslash is doubled only where escapes appear, so `\u{1b}` typed literally in a
        // name next to a real escape cannot pass for one.
        assert_eq!(printable("a\\b"), "a\\b");
        assert_eq!(printable("\\u{1b}\u{1b}"), "\\\\u{1b}\\u{1b}");
        assert_eq!(printable("é ü 中文"), "é ü 中文");
    }
}
