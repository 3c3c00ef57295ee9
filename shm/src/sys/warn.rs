//! Warnings a publisher prints once per process on standard error (`shm: warning: ...`), for
//! set-ups that work but cost: a topic directory on a disk file system (every page written goes
//! to the disk), and a topic file that takes much of the free memory. `SHM_WARNINGS=0` turns
//! them off.

use std::collections::HashSet;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Environment variable that silences the warnings when `0`.
pub(crate) const WARNINGS_ENV: &str = "SHM_WARNINGS";

/// File systems whose pages live in memory.
const TMPFS_MAGIC: u32 = 0x0102_1994;
const RAMFS_MAGIC: u32 = 0x8584_58f6;

/// A file system's name, from its `statfs` magic.
fn fs_name(magic: u32) -> String {
    match magic {
        0xEF53 => "ext2/3/4".to_owned(),
        0x5846_5342 => "xfs".to_owned(),
        0x9123_683E => "btrfs".to_owned(),
        0x794C_7630 => "overlayfs".to_owned(),
        0x6969 => "nfs".to_owned(),
        0x0102_1997 => "9p".to_owned(),
        0x6573_5546 => "fuse".to_owned(),
        other => format!("a file system of type {other:#x}"),
    }
}

/// The `statfs` magic of the file system `file` is on.
fn fs_magic(file: &File) -> Option<u32> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: fstatfs writes a `statfs` into the buffer we pass, on a descriptor we own.
    let r = unsafe { libc::fstatfs(file.as_raw_fd(), st.as_mut_ptr()) };
    if r != 0 {
        return None;
    }
    // SAFETY: fstatfs returned 0, so it filled the struct.
    let st = unsafe { st.assume_init() };
    // Magic numbers are 32 bits; `f_type` is wider on 64-bit Linux, and signed on 32-bit
    // (where ramfs's magic would read negative): its low 32 bits are the magic.
    #[allow(clippy::unnecessary_cast)]
    Some(st.f_type as u32)
}

/// Bytes of memory available now (`MemAvailable` of `/proc/meminfo`).
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Whether a topic file of `size` bytes takes more than a quarter of `available` memory.
pub(crate) fn too_large_for_memory(size: u64, available: u64) -> bool {
    size > available / 4
}

/// What to warn about a new topic file of `size` bytes in `root` (`file` is on that file
/// system, not allocated yet: the memory available still counts the file's), if anything: at
/// most once per root directory (the file-system warning) and once per process (the size
/// warning).
pub(crate) fn warn_about_topic_file(root: &Path, file: &File, size: u64) {
    if std::env::var_os(WARNINGS_ENV).is_some_and(|v| v == "0") {
        return;
    }
    static ROOTS: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    static SIZE_WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if let Some(magic) = fs_magic(file)
        && magic != TMPFS_MAGIC
        && magic != RAMFS_MAGIC
    {
        // (A poisoned lock only means another thread panicked while warning.)
        let mut roots = ROOTS.lock().unwrap_or_else(|e| e.into_inner());
        if roots
            .get_or_insert_with(HashSet::new)
            .insert(root.to_path_buf())
        {
            eprintln!(
                "shm: warning: topic directory {} is on {}, not a memory file system (tmpfs): \
                 topics work, but every page written may go to the disk; set SHM_ROOT to a \
                 tmpfs such as /dev/shm ({WARNINGS_ENV}=0 silences this)",
                crate::text::printable(&root.display().to_string()),
                fs_name(magic)
            );
        }
    }
    if let Some(available) = available_memory()
        && too_large_for_memory(size, available)
        && !SIZE_WARNED.swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        eprintln!(
            "shm: warning: a topic file of {size} bytes takes more than a quarter of the \
             {available} bytes of memory available; use fewer slots (buffer_num) or smaller \
             values ({WARNINGS_ENV}=0 silences this)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_of_free_memory_is_the_limit() {
        assert!(!too_large_for_memory(1 << 30, 4 << 30));
        assert!(too_large_for_memory((1 << 30) + 1, 4 << 30));
        assert!(available_memory().is_some_and(|m| m > 0));
        assert_eq!(fs_name(0xEF53), "ext2/3/4");
        let dev_shm = File::open("/dev/shm");
        if let Ok(f) = dev_shm {
            assert_eq!(fs_magic(&f), Some(TMPFS_MAGIC));
        }
    }
}
