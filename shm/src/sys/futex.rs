//! Sleeping and waking across processes (a shared futex in the topic file), and the asymmetric
//! fence of the wake-up handshake (`membarrier`).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::{current_fork_generation, monotonic_ns};

/// Sleeps while the shared 4-byte word at `word` holds `expected`, until another process wakes
/// it with [`futex_wake_all`], a signal arrives, or `CLOCK_MONOTONIC` reaches `deadline_ns`.
/// Returns early (and spuriously) in all of those cases; callers look at the shared state again.
/// A shared (not process-private) futex: the kernel keys it by file and offset, so every process
/// mapping the topic file wakes the same sleepers.
///
/// # Safety
/// `word` is 4-aligned and points into a live shared mapping of a file (read-only is enough).
pub(crate) unsafe fn futex_wait(word: *const u32, expected: u32, deadline_ns: u64) {
    // SAFETY: the caller's contract, for a shared word.
    unsafe { wait_bitset(word, 0, expected, deadline_ns) }
}

/// `FUTEX_WAIT_BITSET` (plus `private`: 0 or `FUTEX_PRIVATE_FLAG`) on `word` until
/// `deadline_ns`; an unexpected error sleeps a little instead (see [`after_failed_wait`]).
///
/// # Safety
/// `word` is 4-aligned and valid for reads until the call returns: in a live shared mapping of
/// a file for a shared wait, in this process's memory for a private one.
unsafe fn wait_bitset(word: *const u32, private: libc::c_int, expected: u32, deadline_ns: u64) {
    let ts = timespec_of(deadline_ns);
    // SAFETY: FUTEX_WAIT_BITSET reads the word at `word` (valid per the caller) and the timespec
    // (a local that outlives the call); it writes nothing. An absolute CLOCK_MONOTONIC deadline.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word,
            libc::FUTEX_WAIT_BITSET | private,
            expected,
            &raw const ts,
            std::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        )
    };
    if r != 0 {
        after_failed_wait(deadline_ns);
    }
}

/// An absolute `CLOCK_MONOTONIC` time as a `timespec`.
fn timespec_of(deadline_ns: u64) -> libc::timespec {
    libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    }
}

/// After a futex sleep that returned an error: nothing for the expected ones (a changed word,
/// the deadline, a signal); for any other (futexes unusable: a seccomp filter, say), sleeps a
/// little rather than let the caller spin.
fn after_failed_wait(deadline_ns: u64) {
    if !matches!(
        io::Error::last_os_error().raw_os_error(),
        Some(libc::EAGAIN | libc::ETIMEDOUT | libc::EINTR)
    ) {
        let left = deadline_ns.saturating_sub(monotonic_ns());
        std::thread::sleep(std::time::Duration::from_nanos(left.min(1_000_000)));
    }
}

/// Wakes every process sleeping in [`futex_wait`] on the shared word at `word`.
///
/// # Safety
/// As [`futex_wait`].
pub(crate) unsafe fn futex_wake_all(word: *const u32) {
    wake_all(word, 0);
}

/// `FUTEX_WAKE` (plus `private`: 0 or `FUTEX_PRIVATE_FLAG`) of every sleeper on `word`.
fn wake_all(word: *const u32, private: libc::c_int) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it reads and writes no user memory.
    unsafe { libc::syscall(libc::SYS_futex, word, libc::FUTEX_WAKE | private, i32::MAX) };
}

/// Most words one [`futex_waitv`] call sleeps on (the kernel's `FUTEX_WAITV_MAX`).
pub(crate) const FUTEX_WAITV_MAX: usize = 128;

/// One word of a [`futex_waitv`] call: the kernel's `struct futex_waitv`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct FutexWaitv {
    /// The value the word must hold for the sleep to begin.
    val: u64,
    /// The word's address.
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

// The kernel's layout of `struct futex_waitv`.
const _: () =
    assert!(std::mem::size_of::<FutexWaitv>() == 24 && std::mem::align_of::<FutexWaitv>() == 8);

/// `FUTEX2_SIZE_U32`: a 4-byte word.
const FUTEX2_SIZE_U32: u32 = 0x02;
/// `FUTEX2_PRIVATE`: a word of this process only (keyed by address, not by file).
const FUTEX2_PRIVATE: u32 = 128;

impl FutexWaitv {
    /// The shared 4-byte word at `word` (a file mapping, as for [`futex_wait`]), expected to
    /// hold `expected`.
    pub(crate) fn shared(word: *const u32, expected: u32) -> FutexWaitv {
        FutexWaitv {
            val: u64::from(expected),
            uaddr: word as u64,
            flags: FUTEX2_SIZE_U32,
            reserved: 0,
        }
    }

    /// A 4-byte word of this process's own memory.
    pub(crate) fn private(word: *const u32, expected: u32) -> FutexWaitv {
        FutexWaitv {
            flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
            ..FutexWaitv::shared(word, expected)
        }
    }
}

/// What a [`futex_waitv`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waitv {
    /// It slept and returned: woken on the word of this index, or (`None`) because a word
    /// did not hold its value, a signal, or the deadline.
    Returned(Option<usize>),
    /// The kernel has no `futex_waitv` (before Linux 5.16, or a seccomp filter refuses it).
    Unsupported,
}

/// Sleeps until one of `words` (at most [`FUTEX_WAITV_MAX`]) no longer holds its expected
/// value or is woken ([`futex_wake_all`] for shared words, `FUTEX_WAKE` for private ones), a
/// signal arrives, or `CLOCK_MONOTONIC` reaches `deadline_ns`. Returns early in all of those
/// cases; callers look at the shared state again.
///
/// # Safety
/// Every word is 4-aligned and lives until the call returns: a shared one in a live shared
/// mapping of a file (read-only is enough), a private one in this process's memory.
pub(crate) unsafe fn futex_waitv(words: &[FutexWaitv], deadline_ns: u64) -> Waitv {
    debug_assert!(!words.is_empty() && words.len() <= FUTEX_WAITV_MAX);
    let ts = timespec_of(deadline_ns);
    // SAFETY: futex_waitv reads `words.len()` entries at `words` (a live slice of the
    // kernel's layout), the words they name (valid per the caller) and the timespec (a local
    // that outlives the call); it writes no user memory. An absolute CLOCK_MONOTONIC deadline.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            words.as_ptr(),
            words.len() as libc::c_uint,
            0 as libc::c_uint,
            &raw const ts,
            libc::CLOCK_MONOTONIC,
        )
    };
    if r >= 0 {
        return Waitv::Returned(usize::try_from(r).ok());
    }
    if matches!(
        io::Error::last_os_error().raw_os_error(),
        Some(libc::ENOSYS | libc::EPERM)
    ) {
        return Waitv::Unsupported;
    }
    after_failed_wait(deadline_ns);
    Waitv::Returned(None)
}

/// Wakes every thread of this process sleeping on the private word at `word` (in
/// [`futex_waitv`] or `FUTEX_WAIT`).
///
/// # Safety
/// `word` is 4-aligned (it is only used as a key).
pub(crate) unsafe fn futex_wake_private(word: *const u32) {
    wake_all(word, libc::FUTEX_PRIVATE_FLAG);
}

/// As [`futex_wait`] for a private word of this process.
///
/// # Safety
/// `word` is 4-aligned and lives until the call returns.
pub(crate) unsafe fn futex_wait_private(word: *const u32, expected: u32, deadline_ns: u64) {
    // SAFETY: the caller's contract, for a private word.
    unsafe { wait_bitset(word, libc::FUTEX_PRIVATE_FLAG, expected, deadline_ns) }
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
