//! Files: opening topic files safely, creating them unnamed and naming them, second open
//! descriptions, preallocation.

use std::ffi::CString;
use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::random_u64;

/// Opens an existing topic file without following symlinks (a symlink planted in a shared
/// directory must not redirect a publisher's writes) and without blocking (opening a named pipe
/// would wait for a writer forever; the caller then refuses anything but a regular file).
pub(crate) fn open_existing(path: &Path, writable: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(writable)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// A new file with no name yet (`O_TMPFILE`), or, where the file system lacks that, a hidden
/// uniquely named one whose name is returned.
pub(crate) fn create_unnamed(dir: &Path, mode: u32) -> io::Result<(File, Option<PathBuf>)> {
    let unnamed = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(mode)
        .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
        .open(dir);
    let file = match unnamed {
        Ok(f) => (f, None),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
            ) =>
        {
            let tmp = staging_name(dir);
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(mode)
                .custom_flags(libc::O_CLOEXEC)
                .open(&tmp)?;
            (f, Some(tmp))
        }
        Err(e) => return Err(e),
    };
    // Exactly the mode asked for, whatever the umask.
    file.0.set_permissions(Permissions::from_mode(mode))?;
    Ok(file)
}

fn staging_name(dir: &Path) -> PathBuf {
    dir.join(format!(
        ".shm-new.{}.{:016x}",
        std::process::id(),
        random_u64()
    ))
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))
}

/// Gives `file` the name `target`; fails with `AlreadyExists` if `target` exists.
pub(crate) fn link_new(file: &File, tmp: Option<&Path>, target: &Path) -> io::Result<()> {
    match tmp {
        Some(tmp) => {
            let r = std::fs::hard_link(tmp, target);
            let _ = std::fs::remove_file(tmp);
            r
        }
        None => {
            let src = c_path(Path::new(&format!("/proc/self/fd/{}", file.as_raw_fd())))?;
            let dst = c_path(target)?;
            // SAFETY: both pointers are NUL-terminated strings that outlive the call; linkat
            // reads them and does not keep them.
            let r = unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    src.as_ptr(),
                    libc::AT_FDCWD,
                    dst.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            };
            if r == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }
    }
}

/// Gives `file` the name `target`, atomically replacing whatever file is there.
pub(crate) fn link_replace(file: &File, tmp: Option<&Path>, target: &Path) -> io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let staged = match tmp {
        Some(t) => t.to_path_buf(),
        None => {
            let t = staging_name(dir);
            link_new(file, None, &t)?;
            t
        }
    };
    let r = std::fs::rename(&staged, target);
    if r.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    r
}

/// A second, independent open file description of `file` (through `/proc/self/fd`). The
/// publisher maps its topic through one of these, so that its *locked* description is
/// referenced by nothing but its descriptor: a mapping references the description it was made
/// from, and would keep the lock alive in a forked child even after the child gives up the
/// descriptor. Falls back to a duplicate of `file` where `/proc` is not mounted.
pub(crate) fn reopen_for_mapping(file: &File) -> io::Result<File> {
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => Ok(f),
        Err(_) => file.try_clone(),
    }
}

/// Opens `file` again for reading and writing (through `/proc/self/fd`, so that it is the same
/// file even if its path was replaced meanwhile). Subscribers use this to map the one page with
/// the wake-up words; the kernel refuses it to processes that may only read the file.
pub(crate) fn reopen_writable(file: &File) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// Opens `file` again for reading only (through `/proc/self/fd`): a new open file description,
/// whose locks are its own.
pub(crate) fn reopen_readonly(file: &File) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// Whether `path` currently names the same file as `file`.
pub(crate) fn names_file(path: &Path, file: &File) -> io::Result<bool> {
    let a = file.metadata()?;
    match std::fs::symlink_metadata(path) {
        Ok(b) => Ok(a.dev() == b.dev() && a.ino() == b.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reserves the file's blocks now, so a full tmpfs fails here with an error instead of later
/// with SIGBUS on first touch. File systems that cannot preallocate are left alone.
pub(crate) fn preallocate(file: &File, len: u64) -> io::Result<()> {
    let len = libc::off_t::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large"))?;
    // SAFETY: plain syscall on a descriptor we own; no pointers involved.
    let r = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    match r {
        0 | libc::EOPNOTSUPP | libc::EINVAL => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}
