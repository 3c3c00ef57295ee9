//! Colour on a terminal: `--color auto` (the default) colours what goes to a terminal unless
//! `NO_COLOR` is set (to anything but the empty string) or `TERM` is `dumb`; a pipe or a file
//! gets plain text. Only the tool's own words are coloured, after names from files were
//! escaped, so colour codes never come from a file.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

/// `--color`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always (even into a pipe).
    Always,
    /// Never.
    Never,
}

/// Where colour goes: bit 0 standard output, bit 1 standard error.
static ENABLED: AtomicU8 = AtomicU8::new(0);

/// Decides, once per command, where colour goes.
pub(crate) fn init(choice: ColorChoice) {
    let auto = || {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        !no_color && !dumb
    };
    let bits = match choice {
        ColorChoice::Never => 0,
        ColorChoice::Always => 3,
        ColorChoice::Auto if !auto() => 0,
        ColorChoice::Auto => {
            u8::from(std::io::stdout().is_terminal())
                | (u8::from(std::io::stderr().is_terminal()) << 1)
        }
    };
    ENABLED.store(bits, Ordering::Relaxed);
}

/// A stream.
#[derive(Clone, Copy)]
pub(crate) enum To {
    Out,
    Err,
}

/// `text` in the SGR style `code` (`1` bold, `31` red, `32` green, `33` yellow), if colour
/// goes to `to`. `text` must be printable already.
pub(crate) fn paint(text: &str, code: &str, to: To) -> String {
    let bit = match to {
        To::Out => 1,
        To::Err => 2,
    };
    if ENABLED.load(Ordering::Relaxed) & bit == 0 || text.is_empty() {
        return text.to_owned();
    }
    format!("\u{1b}[{code}m{text}\u{1b}[0m")
}
