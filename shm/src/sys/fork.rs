//! Publishers across `fork`: what a child inherits, and how it gives it up.

use std::fs::{File, OpenOptions};
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};

// ---------------------------------------------------------------------------------------------
// fork() without exec: a child inherits the parent's publishers (memory and descriptors). Two
// processes writing one topic would defeat the seqlock, and the inherited descriptor would keep
// the topic locked after the parent exits. A `pthread_atfork` child handler therefore bumps a
// generation counter (publishers refuse to publish when it changed) and points every
// registered publisher descriptor at /dev/null, which drops the child's share of the lock.
//
// A descriptor must be registered from the moment it exists: the lock belongs to the open file
// description, which a child forked between `open` and the registration would share unseen.
// So opening and registering form a section that `fork` waits for (the prepare handler), and
// sections wait while a `fork` is under way.
// ---------------------------------------------------------------------------------------------

/// Sections between opening a publisher's file and registering its descriptor, under way.
static IN_SECTION: AtomicU32 = AtomicU32::new(0);
/// A `fork` is under way: no section may start.
static FORKING: AtomicBool = AtomicBool::new(false);

extern "C" fn before_fork() {
    // Dekker with `open_registered`: the forking thread announces itself, then waits for the
    // sections that did not see it; a section announces itself, then backs off if it sees it.
    FORKING.store(true, Ordering::SeqCst);
    while IN_SECTION.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
}

extern "C" fn after_fork_in_parent() {
    FORKING.store(false, Ordering::SeqCst);
}

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
/// Most publishers per process whose lock a forked child gives up; more still refuse to publish
/// in the child, but keep the topic locked while it lives.
const MAX_GUARDED: usize = 256;
static GUARDED: [AtomicI32; MAX_GUARDED] = [const { AtomicI32::new(-1) }; MAX_GUARDED];
static DEV_NULL: AtomicI32 = AtomicI32::new(-1);

extern "C" fn after_fork_in_child() {
    // Async-signal-safe only: atomics and dup3.
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    // A thread that entered a section and backed off may have left its count behind; no other
    // thread exists in the child.
    IN_SECTION.store(0, Ordering::SeqCst);
    FORKING.store(false, Ordering::SeqCst);
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
        // SAFETY: registers handlers that only do atomics, sched_yield and dup3; the functions
        // are `extern "C"` and live for the whole program.
        let r = unsafe {
            libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_in_parent),
                Some(after_fork_in_child),
            )
        };
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

/// Opens a publisher's file with `open` and registers its descriptor, in one section that no
/// `fork` interrupts (see above). Also installs the fork handlers.
pub(crate) fn open_registered<T>(
    open: impl FnOnce() -> io::Result<(File, T)>,
) -> io::Result<(GuardedFile, T)> {
    fork_generation()?;
    loop {
        while FORKING.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        IN_SECTION.fetch_add(1, Ordering::SeqCst);
        if !FORKING.load(Ordering::SeqCst) {
            break;
        }
        IN_SECTION.fetch_sub(1, Ordering::SeqCst);
    }
    let opened = open().map(|(file, extra)| (GuardedFile::registered(file), extra));
    IN_SECTION.fetch_sub(1, Ordering::SeqCst);
    opened
}

/// A file whose descriptor a forked child gives up (see above) while it is registered: a
/// publisher's topic file, registered from its opening ([`open_registered`]), so that no `fork`
/// finds the descriptor unregistered. A locked file is unlocked, then unregistered, then closed:
/// a child forked at any point of that holds no share of the lock, and a closed number (which
/// an unrelated file may reuse) is never registered.
pub(crate) struct GuardedFile {
    slot: Option<usize>,
    /// Locked by this process in this fork generation (`u64::MAX`: not locked).
    locked_in: u64,
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
            locked_in: u64::MAX,
            file: ManuallyDrop::new(file),
        }
    }

    /// `file`, not registered (a forked child keeps its copy, as any descriptor).
    pub(crate) fn plain(file: File) -> GuardedFile {
        GuardedFile {
            slot: None,
            locked_in: u64::MAX,
            file: ManuallyDrop::new(file),
        }
    }

    /// Takes the publisher lock; `false` if another description holds it.
    pub(crate) fn lock(&mut self) -> io::Result<bool> {
        let locked = super::try_lock_publisher(&self.file)?;
        if locked {
            self.locked_in = current_fork_generation();
        }
        Ok(locked)
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
        // Only in the process that locked it: a forked child whose descriptor was not
        // redirected would otherwise release the parent's lock (it is the description's).
        if self.locked_in == current_fork_generation() {
            let _ = super::unlock_publisher(&self.file);
        }
        if let Some(i) = self.slot {
            GUARDED[i].store(-1, Ordering::Relaxed);
        }
        // SAFETY: dropped exactly once, here, after the registration ended; never used again.
        unsafe { ManuallyDrop::drop(&mut self.file) };
    }
}
