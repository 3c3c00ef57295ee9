//! Clocks and random numbers.

use std::mem::MaybeUninit;

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
