//! Every error type of the runtime lives in this module, one file per side: `format.rs` (what can
//! be wrong with a file or schema), `create.rs` (publishing), `subscribe.rs` (subscribing and
//! waiting), `manage.rs` (names, type look-ups, removal). One enum per operation; every
//! `Display` says what happened and what to do.
//!
//! Chains are printed once: an error's `Display` includes its cause, so `source()` returns
//! `None`; a variant that only wraps another error is transparent (it displays the inner error
//! and forwards `source()` to it, as thiserror's `#[error(transparent)]`). The underlying
//! `io::Error`, `FormatError` or `NameError` stays available in the variant.

mod create;
mod format;
mod manage;
mod subscribe;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use create::{CreateError, PublishError};
pub use format::{FormatError, SchemaDecodeError, SchemaMismatch, ValueError, ValueErrorKind};
pub use manage::{InspectError, LookupError, NameError, RemoveError};
pub use subscribe::{RecvError, SubscribeError};

/// "could not <action> <path>: <error>", with advice for the cause.
pub(super) fn write_io(
    f: &mut fmt::Formatter<'_>,
    path: &std::path::Path,
    action: &str,
    source: &io::Error,
) -> fmt::Result {
    write!(
        f,
        "could not {action} {}: {source}{}",
        path.display(),
        io_hint(source)
    )
}

/// Advice for an I/O error, by cause.
fn io_hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::ENOMEM) => {
            "; the shared-memory file system is full: remove stale topics (`shm clean` removes every topic whose publisher is gone) or use smaller messages or fewer buffers"
        }
        Some(libc::ELOOP) => {
            "; the topic path is a symbolic link, which is never followed: remove it"
        }
        Some(libc::ENOENT) => "; create the directory or point SHM_ROOT at an existing one",
        Some(libc::ENOTDIR) => "; SHM_ROOT (or the root given) must be a directory",
        Some(libc::EROFS) => "; the file system is read-only: choose another root",
        _ => "",
    }
}

/// A file operation that failed: the file, what was being done, and the operating system's
/// error. The `PermissionDenied` and `Io` variants of [`CreateError`], [`SubscribeError`],
/// [`RemoveError`] and [`InspectError`] carry one.
#[derive(Debug)]
#[non_exhaustive]
pub struct IoFailure {
    /// The file or directory.
    pub path: PathBuf,
    /// What was being done (`"open"`, `"map"`, ...).
    pub action: &'static str,
    /// The underlying error.
    pub source: io::Error,
}

impl fmt::Display for IoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_io(f, &self.path, self.action, &self.source)
    }
}

impl std::error::Error for IoFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl IoFailure {
    /// Writes "permission denied for <path>: <error>; <remedy>".
    fn denied(&self, f: &mut fmt::Formatter<'_>, remedy: &str) -> fmt::Result {
        write!(
            f,
            "permission denied for {}: {}; {remedy}",
            self.path.display(),
            self.source
        )
    }

    pub(crate) fn new(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        IoFailure {
            path: path.into(),
            action,
            source,
        }
    }

    fn is_permission(&self) -> bool {
        self.source.kind() == io::ErrorKind::PermissionDenied
    }
}

macro_rules! from_io_failure {
    ($($error:ident),*) => {$(
        impl From<IoFailure> for $error {
            fn from(e: IoFailure) -> Self {
                if e.is_permission() {
                    $error::PermissionDenied(e)
                } else {
                    $error::Io(e)
                }
            }
        }
    )*};
}

from_io_failure!(CreateError, SubscribeError, RemoveError);
