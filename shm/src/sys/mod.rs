//! Thin wrappers over the Linux calls the runtime needs: unnamed file creation and linking,
//! open-file-description locks, clocks, process identity. None of them is on the publish or
//! subscribe hot path except the clock.

use std::ffi::CString;
use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

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

/// Releases the publisher lock taken by [`try_lock_publisher`] on this open file description.
pub(crate) fn unlock_publisher(file: &File) -> io::Result<()> {
    let mut l = owner_lock(libc::F_UNLCK);
    // SAFETY: `l` is a valid flock that outlives the call; F_OFD_SETLK only reads it.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut l) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sleeps while the shared 4-byte word at `word` holds `expected`, until another process wakes
/// it with [`futex_wake_all`], a signal arrives, or `CLOCK_MONOTONIC` reaches `deadline_ns`.
/// Returns early (and spuriously) in all of those cases; callers look at the shared state again.
/// A shared (not process-private) futex: the kernel keys it by file and offset, so every process
/// mapping the topic file wakes the same sleepers.
///
/// # Safety
/// `word` is 4-aligned and points into a live shared mapping of a file (read-only is enough).
pub(crate) unsafe fn futex_wait(word: *const u32, expected: u32, deadline_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: FUTEX_WAIT_BITSET reads the word at `word` (valid per the caller) and the timespec
    // (a local that outlives the call); it writes nothing. An absolute CLOCK_MONOTONIC deadline.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word,
            libc::FUTEX_WAIT_BITSET,
            expected,
            &raw const ts,
            std::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        )
    };
    if r != 0 {
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::EAGAIN | libc::ETIMEDOUT | libc::EINTR) => {}
            // Futexes unusable (a seccomp filter, say): sleep a little rather than spin.
            _ => {
                let left = deadline_ns.saturating_sub(monotonic_ns());
                std::thread::sleep(std::time::Duration::from_nanos(left.min(1_000_000)));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Asymmetric fences. The publisher's side of the wake-up handshake needs a full barrier between
// storing the publish sequence and loading the sleeping flag; a sequentially consistent store
// costs every publish a few ns, and far more when a reader polls the line. Instead, processes
// that publish register with membarrier(2), and a subscriber about to sleep (rare) issues
// MEMBARRIER_CMD_GLOBAL_EXPEDITED, which makes every running thread of every registered process
// execute a full barrier: the heavy half of the fence, on the slow path only.
// ---------------------------------------------------------------------------------------------

const MEMBARRIER_CMD_GLOBAL_EXPEDITED: libc::c_int = 1 << 1;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: libc::c_int = 1 << 2;

/// Registers this process for global expedited membarriers, once per process. `false` if the
/// kernel refuses (before Linux 4.16, or a seccomp filter): this process's publishers then use
/// a full fence on every publish instead. A child made by `fork` inherits the registration
/// (exec drops it, with everything else); registering again in the child, as this does, is
/// harmless and does not depend on that.
pub(crate) fn register_for_heavy_fences() -> bool {
    // fork generation + 1 of the last successful registration; 0: none.
    static REGISTERED: AtomicU64 = AtomicU64::new(0);
    let generation = current_fork_generation() + 1;
    if REGISTERED.load(Ordering::Acquire) == generation {
        return true;
    }
    // SAFETY: membarrier takes two integers (and a cpu id, unused here); no memory involved.
    let r = unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
            0,
            0,
        )
    };
    if r == 0 {
        REGISTERED.store(generation, Ordering::Release);
    }
    r == 0
}

/// The heavy half of the asymmetric fence: returns once every running thread of every process
/// registered by [`register_for_heavy_fences`] has executed a full memory barrier (and this
/// thread too). `false` if the kernel refuses; callers must then not rely on it.
pub(crate) fn heavy_fence() -> bool {
    // Once refused, always refused (a seccomp filter or an old kernel): skip the syscall.
    static REFUSED: AtomicBool = AtomicBool::new(false);
    if REFUSED.load(Ordering::Relaxed) {
        return false;
    }
    // SAFETY: as above.
    let r = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) };
    if r != 0 {
        REFUSED.store(true, Ordering::Relaxed);
    }
    r == 0
}

/// Wakes every process sleeping in [`futex_wait`] on the shared word at `word`.
///
/// # Safety
/// As [`futex_wait`].
pub(crate) unsafe fn futex_wake_all(word: *const u32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it reads and writes no user memory.
    unsafe { libc::syscall(libc::SYS_futex, word, libc::FUTEX_WAKE, i32::MAX) };
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

/// `CLOCK_MONOTONIC_COARSE` in ns: the same clock as [`monotonic_ns`], as of the kernel's last
/// timer tick (1–4 ms resolution), read in a few ns instead of about 20.
pub(crate) fn monotonic_coarse_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC_COARSE)
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn realtime_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

/// 64 random bits, never 0 (an identifier).
pub(crate) fn random_nonzero_u64() -> u64 {
    loop {
        let v = random_u64();
        if v != 0 {
            return v;
        }
    }
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

// ---------------------------------------------------------------------------------------------
// fork() without exec: a child inherits the parent's publishers (memory and descriptors). Two
// processes writing one topic would defeat the seqlock, and the inherited descriptor would keep
// the topic locked after the parent exits. A `pthread_atfork` child handler therefore bumps a
// generation counter (publishers refuse to publish when it changed) and points every
// registered publisher descriptor at /dev/null, which drops the child's share of the lock.
// ---------------------------------------------------------------------------------------------

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
/// Most publishers per process whose lock a forked child gives up; more still refuse to publish
/// in the child, but keep the topic locked while it lives.
const MAX_GUARDED: usize = 256;
static GUARDED: [AtomicI32; MAX_GUARDED] = [const { AtomicI32::new(-1) }; MAX_GUARDED];
static DEV_NULL: AtomicI32 = AtomicI32::new(-1);

extern "C" fn after_fork_in_child() {
    // Async-signal-safe only: atomics and dup3.
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    let null = DEV_NULL.load(Ordering::Relaxed);
    if null < 0 {
        return;
    }
    for slot in &GUARDED {
        let fd = slot.load(Ordering::Relaxed);
        if fd >= 0 {
            // SAFETY: replaces this process's copy of a descriptor it owns (a publisher's topic
            // file) with /dev/null; no memory is involved and dup3 is async-signal-safe.
            unsafe { libc::dup3(null, fd, libc::O_CLOEXEC) };
        }
    }
}

/// Registers the fork handler (once per process) and returns how many `fork`s separate this
/// process from the one that registered it. Publishers remember the value and compare it with
/// [`current_fork_generation`] on every publish (one relaxed load).
pub(crate) fn fork_generation() -> io::Result<u64> {
    static REGISTER: Once = Once::new();
    static FAILED: AtomicI32 = AtomicI32::new(0);
    REGISTER.call_once(|| {
        if let Ok(null) = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open("/dev/null")
        {
            DEV_NULL.store(null.into_raw_fd(), Ordering::Relaxed);
        }
        // SAFETY: registers a child handler that only does atomics and dup3; the function is
        // `extern "C"` and lives for the whole program.
        let r = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        FAILED.store(r, Ordering::Relaxed);
    });
    match FAILED.load(Ordering::Relaxed) {
        0 => Ok(current_fork_generation()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// See [`fork_generation`].
#[inline(always)]
pub(crate) fn current_fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// A file whose descriptor a forked child gives up (see above) while it is registered: a
/// publisher's topic file, registered before its lock is taken, so that no `fork` finds the lock
/// taken and the descriptor unregistered. The registration ends before the descriptor is closed
/// (a closed number can be reused by an unrelated file, which a child would then lose).
pub(crate) struct GuardedFile {
    slot: Option<usize>,
    file: ManuallyDrop<File>,
}

impl GuardedFile {
    /// `file`, registered with the fork handler (if fewer than `MAX_GUARDED` are).
    pub(crate) fn registered(file: File) -> GuardedFile {
        let fd = file.as_raw_fd();
        let slot = GUARDED.iter().position(|s| {
            s.compare_exchange(-1, fd, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        });
        GuardedFile {
            slot,
            file: ManuallyDrop::new(file),
        }
    }

    /// `file`, not registered (a forked child keeps its copy, as any descriptor).
    pub(crate) fn plain(file: File) -> GuardedFile {
        GuardedFile {
            slot: None,
            file: ManuallyDrop::new(file),
        }
    }
}

impl std::ops::Deref for GuardedFile {
    type Target = File;
    fn deref(&self) -> &File {
        &self.file
    }
}

impl From<File> for GuardedFile {
    fn from(file: File) -> GuardedFile {
        GuardedFile::plain(file)
    }
}

impl Drop for GuardedFile {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            GUARDED[i].store(-1, Ordering::Relaxed);
        }
        // SAFETY: dropped exactly once, here, after the registration ended; never used again.
        unsafe { ManuallyDrop::drop(&mut self.file) };
    }
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
    /// This process, read from `/proc` once per process (again in a child made by `fork`).
    pub(crate) fn current() -> ProcessIdentity {
        static CACHE: std::sync::Mutex<Option<ProcessIdentity>> = std::sync::Mutex::new(None);
        let pid = std::process::id();
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        match &*cache {
            Some(me) if me.pid == pid => me.clone(),
            _ => {
                let me = ProcessIdentity::read();
                *cache = Some(me.clone());
                me
            }
        }
    }

    fn read() -> ProcessIdentity {
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
