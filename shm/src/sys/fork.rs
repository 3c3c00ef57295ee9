//! Publishers across `fork`: what a child inherits, and how it gives it up.

use std::fs::{File, OpenOptions};
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

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
