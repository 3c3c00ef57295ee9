//! Thin wrappers over the Linux calls the runtime needs, one concern per file: files (unnamed
//! creation and linking), the publisher lock, futexes and `membarrier`, clocks, `fork`, process
//! identity. None of them is on the publish or subscribe hot path except the clock.

mod acl;
mod clock;
mod files;
mod fork;
mod futex;
mod lock;
mod process;
mod warn;

pub(crate) use acl::{Readers, has_acl, set_access};
pub(crate) use clock::{
    monotonic_coarse_ns, monotonic_ns, random_nonzero_u64, random_u64, realtime_ns,
};
pub(crate) use files::{
    create_unnamed, link_new, link_replace, names_file, open_existing, preallocate,
    reopen_for_mapping, reopen_readonly, reopen_writable,
};
pub(crate) use fork::{GuardedFile, current_fork_generation, fork_generation, open_registered};
pub(crate) use futex::{
    FUTEX_WAITV_MAX, FutexWaitv, Waitv, futex_wait, futex_wait_private, futex_waitv,
    futex_wake_all, futex_wake_private, heavy_fence, register_for_heavy_fences,
};
pub(crate) use lock::{
    byte_locked_by_other, publisher_lock_held, try_lock_byte, try_lock_publisher,
    try_read_lock_byte, unlock_byte, unlock_from, unlock_publisher,
};
pub(crate) use process::{ProcessIdentity, process_is_running};
pub(crate) use warn::warn_about_topic_file;
