//! Taking a topic file's publisher lock, for a publisher taking the topic over and for topic
//! removal, after checking that the file is ours to take.

use std::fs::File;
use std::path::Path;

use super::{ReadOnly, Segment};
use crate::error::IoFailure;
use crate::owner::PublisherProcess;
use crate::owner::{FileOwner, foreign_to_publisher};
use crate::sys::GuardedFile;

/// A topic file whose publisher lock this process holds, registered with the fork handler
/// since it was opened ([`sys::open_registered`](crate::sys::open_registered)): a `fork` at any
/// moment leaves the child without a share of the lock.
pub(crate) struct LockedFile(GuardedFile);

impl LockedFile {
    /// Takes the publisher lock of `file`; `Ok(Err(file))` if another description holds it.
    pub(crate) fn lock(mut file: GuardedFile) -> std::io::Result<Result<LockedFile, GuardedFile>> {
        if file.lock()? {
            Ok(Ok(LockedFile(file)))
        } else {
            Ok(Err(file))
        }
    }

    /// The file.
    pub(crate) fn file(&self) -> &File {
        &self.0
    }

    /// The registered, locked file.
    pub(crate) fn into_inner(self) -> GuardedFile {
        self.0
    }
}

/// The outcome of trying to take the publisher lock of the file at a topic's path.
pub(crate) enum Claim {
    /// No file at the path.
    Absent,
    /// A live publisher holds it.
    Busy(PublisherProcess),
    /// Locked, but the path named another file by then: look again.
    Moved,
    /// Another user owns the file, or others may write it: it is not ours to adopt, map or
    /// remove (it was neither mapped nor locked).
    Foreign(FileOwner),
    /// Locked, and still the topic's file; the lock lasts as long as this descriptor.
    Locked(LockedFile),
}

/// Opens the file at `path` for writing and takes its publisher lock, checking afterwards that
/// the path still names the file that was locked (another publisher may have replaced it in
/// between). Shared by publishers taking a topic over and by topic removal.
pub(crate) fn claim(path: &Path) -> Result<Claim, IoFailure> {
    let opened = crate::sys::open_registered(|| Ok((crate::sys::open_existing(path, true)?, ())));
    let file = match opened {
        Ok((f, ())) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Claim::Absent),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            // Not ours to write: say whose it is, if it is another user's regular file.
            return match std::fs::symlink_metadata(path) {
                Ok(meta) if foreign_to_publisher(&meta).is_some() => {
                    Ok(Claim::Foreign(FileOwner::of(&meta)))
                }
                _ => Err(IoFailure::new(path, "open", e)),
            };
        }
        Err(e) => return Err(IoFailure::new(path, "open", e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| IoFailure::new(path, "inspect", e))?;
    if let Some(owner) = foreign_to_publisher(&meta) {
        return Ok(Claim::Foreign(owner));
    }
    let locked = match LockedFile::lock(file).map_err(|e| IoFailure::new(path, "lock", e))? {
        Ok(locked) => locked,
        Err(file) => return Ok(Claim::Busy(live_owner(file, path))),
    };
    if !crate::sys::names_file(path, locked.file())
        .map_err(|e| IoFailure::new(path, "inspect", e))?
    {
        return Ok(Claim::Moved);
    }
    Ok(Claim::Locked(locked))
}

/// Who holds the lock of a topic file, for "busy" errors: the owner recorded in its header if
/// that process is still running, else "another process" (one that is just taking the topic
/// over and has not written its name yet, or a header that cannot be read).
fn live_owner(file: GuardedFile, path: &Path) -> PublisherProcess {
    match Segment::<ReadOnly>::open(file, path) {
        Ok(seg) => {
            let owner = seg.owner();
            if crate::sys::process_is_running(owner.pid, owner.start_ticks) {
                owner
            } else {
                PublisherProcess::unknown()
            }
        }
        Err(_) => PublisherProcess::unknown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileTypeExt;

    /// A file is registered with the fork handler before its lock is taken, so a child forked
    /// at any moment after `lock` returned holds /dev/null at that descriptor, not a share of
    /// the lock.
    #[test]
    fn a_child_forked_right_after_locking_holds_no_share_of_the_lock() {
        crate::sys::fork_generation().unwrap();
        let path = std::env::temp_dir().join(format!("shm-claim-test.{}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let file = crate::sys::open_registered(|| Ok((file, ()))).unwrap().0;
        let locked = LockedFile::lock(file).unwrap().ok().unwrap();
        let fd = locked.file().as_raw_fd();
        // SAFETY: the child only calls fstat (async-signal-safe) and `_exit`s.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: `st` is a valid out-pointer for fstat; `_exit` ends the child at once.
            unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                let null =
                    libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFCHR;
                libc::_exit(if null { 0 } else { 1 });
            }
        }
        let mut status = 0;
        // SAFETY: waits for our own child; `status` is a valid out-pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the child kept the locked descriptor"
        );
        assert!(
            !locked
                .file()
                .metadata()
                .unwrap()
                .file_type()
                .is_char_device()
        );
        drop(locked);
        std::fs::remove_file(&path).unwrap();
    }
}
