//! Open-file-description locks on single bytes of a topic file: the publisher lock on byte 0,
//! and the locks of a lending topic's pin entries and of its read-only subscribers' pins
//! (`segment/lend.rs`).

use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;

fn owner_lock(kind: libc::c_int) -> libc::flock {
    // SAFETY: `flock` is a plain C struct of integers; all-zero is a valid value.
    let mut l: libc::flock = unsafe { MaybeUninit::zeroed().assume_init() };
    l.l_type = kind as libc::c_short;
    l.l_whence = libc::SEEK_SET as libc::c_short;
    l.l_start = 0;
    l.l_len = 1;
    l
}

/// Takes the publisher lock (an open-file-description write lock on byte 0) without waiting.
/// `Ok(false)` when another open file description holds it. The kernel drops the lock when the
/// holder's last descriptor closes, including when the process dies, so it does not depend on
/// pids (which are reused).
pub(crate) fn try_lock_publisher(file: &File) -> io::Result<bool> {
    try_lock_byte(file, 0)
}

/// Whether some other open file description holds the publisher lock. Does not take it, so it
/// never makes a starting publisher fail.
pub(crate) fn publisher_lock_held(file: &File) -> io::Result<bool> {
    byte_locked_by_other(file, 0)
}

/// Whether an open file description other than `file`'s holds a lock (read or write) on byte
/// `offset`. Takes none, and needs only read access.
pub(crate) fn byte_locked_by_other(file: &File, offset: u64) -> io::Result<bool> {
    let mut l = byte_lock(libc::F_WRLCK, offset)?;
    // SAFETY: `l` is a valid flock that outlives the call; F_OFD_GETLK writes the conflicting
    // lock (if any) into it.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut l) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(l.l_type != libc::F_UNLCK as libc::c_short)
}

/// Releases the publisher lock taken by [`try_lock_publisher`] on this open file description.
pub(crate) fn unlock_publisher(file: &File) -> io::Result<()> {
    unlock_byte(file, 0)
}

fn byte_lock(kind: libc::c_int, offset: u64) -> io::Result<libc::flock> {
    let mut l = owner_lock(kind);
    l.l_start = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "lock offset too large"))?;
    Ok(l)
}

/// Takes an open-file-description write lock on byte `offset` of `file` (opened for writing)
/// without waiting: `Ok(false)` when another open file description holds a lock there. Lending
/// topics lock one byte per pin entry this way (see `docs/FORMAT.md`, "Lending topics").
pub(crate) fn try_lock_byte(file: &File, offset: u64) -> io::Result<bool> {
    set_byte_lock(file, libc::F_WRLCK, offset)
}

/// Takes an open-file-description read lock on byte `offset` of `file` (opened for reading;
/// the byte may lie past the end of the file) without waiting: `Ok(false)` when another open
/// file description holds a write lock there. Subscribers of a lending topic that may only read
/// its file pin slots and reserve pins this way.
pub(crate) fn try_read_lock_byte(file: &File, offset: u64) -> io::Result<bool> {
    set_byte_lock(file, libc::F_RDLCK, offset)
}

fn set_byte_lock(file: &File, kind: libc::c_int, offset: u64) -> io::Result<bool> {
    let mut l = byte_lock(kind, offset)?;
    // SAFETY: `l` is a valid flock that outlives the call; F_OFD_SETLK only reads it.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut l) };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN | libc::EACCES) => Ok(false),
        _ => Err(e),
    }
}

/// Releases every lock this open file description holds on bytes `offset` and beyond.
pub(crate) fn unlock_from(file: &File, offset: u64) -> io::Result<()> {
    unlock_range(file, offset, 0) // a length of 0: to the end of any file
}

/// Releases a lock taken by [`try_lock_byte`] or [`try_read_lock_byte`] on this open file
/// description.
pub(crate) fn unlock_byte(file: &File, offset: u64) -> io::Result<()> {
    unlock_range(file, offset, 1)
}

fn unlock_range(file: &File, offset: u64, len: libc::off_t) -> io::Result<()> {
    let mut l = byte_lock(libc::F_UNLCK, offset)?;
    l.l_len = len;
    // SAFETY: `l` is a valid flock that outlives the call; F_OFD_SETLK only reads it.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut l) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
