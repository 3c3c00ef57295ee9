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

/// Wakes every process sleeping in [`futex_wait`] on the shared word at `word`.
///
/// # Safety
/// As [`futex_wait`].
pub(crate) unsafe fn futex_wake_all(word: *const u32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it reads and writes no user memory.
    unsafe { libc::syscall(libc::SYS_futex, word, libc::FUTEX_WAKE, i32::MAX) };
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
