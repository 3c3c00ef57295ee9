//! Thin wrappers over the Linux calls the runtime needs: unnamed file creation and linking,
//! open-file-description locks, clocks, process identity. None of them is on the publish or
//! subscribe hot path except the clock.

use std::ffi::CString;
use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

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
                .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
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

/// Whether `path` currently names the same file as `file`.
pub(crate) fn names_file(path: &Path, file: &File) -> io::Result<bool> {
    let a = file.metadata()?;
    match std::fs::symlink_metadata(path) {
        Ok(b) => Ok(a.dev() == b.dev() && a.ino() == b.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

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
    let mut l = owner_lock(libc::F_WRLCK);
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

/// Whether some other open file description holds the publisher lock. Does not take it, so it
/// never makes a starting publisher fail.
pub(crate) fn publisher_lock_held(file: &File) -> io::Result<bool> {
    let mut l = owner_lock(libc::F_WRLCK);
    // SAFETY: `l` is a valid flock that outlives the call; F_OFD_GETLK writes the conflicting
    // lock (if any) into it.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut l) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(l.l_type != libc::F_UNLCK as libc::c_short)
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

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = MaybeUninit::<libc::timespec>::uninit();
    // SAFETY: `ts` is valid for writes of one timespec; clock_gettime with a valid clock id
    // only writes it (through the vDSO, without a syscall, for these clocks).
    let r = unsafe { libc::clock_gettime(clock, ts.as_mut_ptr()) };
    if r != 0 {
        return 0;
    }
    // SAFETY: clock_gettime returned 0, so it initialised `ts`.
    let ts = unsafe { ts.assume_init() };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Nanoseconds of `CLOCK_MONOTONIC` (the clock of Python's `time.monotonic_ns()`).
pub(crate) fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn realtime_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

/// 64 random bits from the kernel (time and pid mixed in if that fails).
pub(crate) fn random_u64() -> u64 {
    let mut v = 0u64;
    // SAFETY: the buffer is the 8 bytes of `v`, valid for writes for the duration of the call.
    let n = unsafe { libc::getrandom((&raw mut v).cast(), 8, 0) };
    if n == 8 {
        v
    } else {
        realtime_ns() ^ (u64::from(std::process::id()) << 32) ^ monotonic_ns().rotate_left(17)
    }
}

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

extern "C" fn after_fork_in_child() {
    // Async-signal-safe: a single atomic increment.
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// How many `fork`s separate this process from the one that first called this function. The
/// first call registers a `pthread_atfork` handler; publishers remember the value and compare
/// it with [`current_fork_generation`] on every publish (one relaxed load).
pub(crate) fn fork_generation() -> u64 {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers a child handler that only does an atomic increment; the function
        // is `extern "C"` and lives for the whole program.
        let r = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        debug_assert_eq!(r, 0);
    });
    current_fork_generation()
}

/// See [`fork_generation`].
#[inline(always)]
pub(crate) fn current_fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// Whether process `pid` exists and started at `start_ticks` (so it is not a reused pid).
pub(crate) fn process_is_running(pid: u32, start_ticks: u64) -> bool {
    pid != 0
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| start_ticks_of(&stat))
            == Some(start_ticks)
}

/// Who this process is, for the topic header and for error messages.
#[derive(Debug, Clone)]
pub(crate) struct ProcessIdentity {
    pub(crate) pid: u32,
    pub(crate) start_ticks: u64,
    pub(crate) name: [u8; 16],
}

impl ProcessIdentity {
    pub(crate) fn current() -> ProcessIdentity {
        let mut name = [0u8; 16];
        if let Ok(comm) = std::fs::read("/proc/self/comm") {
            let comm = comm.strip_suffix(b"\n").unwrap_or(&comm);
            let n = comm.len().min(15);
            name[..n].copy_from_slice(&comm[..n]);
        }
        ProcessIdentity {
            pid: std::process::id(),
            start_ticks: process_start_ticks().unwrap_or(0),
            name,
        }
    }
}

/// Field 22 of `/proc/self/stat`: when the process started, in clock ticks after boot.
fn process_start_ticks() -> Option<u64> {
    start_ticks_of(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

fn start_ticks_of(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces and parentheses; fields after it follow
    // the last ')'. Field 3 is the first one after it, so field 22 is the 20th.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_read() {
        let me = ProcessIdentity::current();
        assert_eq!(me.pid, std::process::id());
        assert!(me.start_ticks > 0);
        assert_ne!(me.name[0], 0);
        assert!(process_is_running(me.pid, me.start_ticks));
        assert!(
            !process_is_running(me.pid, me.start_ticks + 1),
            "a reused pid is told apart"
        );
        assert!(!process_is_running(0, 0));
    }

    #[test]
    fn clocks_advance() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(a > 0 && b >= a);
        assert!(realtime_ns() > 1_600_000_000_000_000_000);
        assert_ne!(random_u64(), random_u64());
    }
}
