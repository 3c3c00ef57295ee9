//! How a subscriber learns, without a syscall per read, that the topic it waits for was created.
//!
//! Each user has a *generation file* in the topic directory, `.shm-generation.<uid>`: 64 bytes
//! holding one counter. Whenever a publisher of that user names a topic file (creation or
//! replacement) or the user removes one, it adds 1 to the counter *after* the directory entry
//! changed. A subscriber whose topic file does not exist reads the counter of the user it trusts
//! (one atomic load) and opens the path only when the counter moved since its last look. So a
//! topic created before a read began (in any process, however the two were synchronised) is
//! found by that read, and polling a missing topic costs no syscall while nothing changes.
//!
//! Who may write a counter: its user only. The file is created by that user (mode `0o644`) and
//! is used only if it is still owned by that user, a regular file of mode `0o644` and at least
//! 64 bytes with the right magic; publishers write only their own user's file, subscribers map
//! only the file of the owner they trust (whose topic files they map anyway). A file that fails
//! these checks (planted by another user, damaged) is not used by either side: subscribers then
//! look for the topic file on every read instead. A hostile writer of a counter can thus cause
//! extra `open()` calls, never a wrong value (values come from the topic file, validated as
//! always), and no user can make another user's process map a file it controls.
//!
//! A subscriber that trusts any owner ([`TopicOwner::Anyone`](crate::TopicOwner::Anyone)) has no
//! single counter to watch and looks for its topic file on every read while it is missing.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use memmap2::{MmapOptions, MmapRaw};

use crate::copy;

/// File name prefix of the generation files (never a topic file: those start with `shm.`).
pub(crate) const GENERATION_PREFIX: &str = ".shm-generation.";
const MAGIC: [u8; 8] = *b"SHMGENER";
/// Size of a generation file; the counter is the word at [`OFF_COUNTER`].
const SIZE: u64 = 64;
const OFF_COUNTER: usize = 16;
const MODE: u32 = 0o644;

/// The generation file of `uid` in `root`.
pub(crate) fn path_of(root: &Path, uid: u32) -> PathBuf {
    root.join(format!("{GENERATION_PREFIX}{uid}"))
}

/// A mapped, validated generation file.
pub(crate) struct Generation {
    map: MmapRaw,
    writable: bool,
    dev: u64,
    ino: u64,
}

impl Generation {
    /// The generation file of `uid` in `root`, if it exists and passes the checks (see the module
    /// docs); `create`: make it first if it does not exist (only for this process's own uid).
    /// `writable` maps it for [`bump`](Self::bump). `Ok(None)`: no usable file.
    pub(crate) fn open(
        root: &Path,
        uid: u32,
        create: bool,
        writable: bool,
    ) -> io::Result<Option<Generation>> {
        let path = path_of(root, uid);
        let file = match open_existing(&path, writable) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                // Losing a race to create it is fine (then it exists); any other failure shows
                // as a missing file below.
                let _ = create_file(root, &path);
                match open_existing(&path, writable) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            // Another user's mode or a planted symlink: not usable.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EACCES | libc::EPERM | libc::ELOOP | libc::ENXIO)
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() || meta.uid() != uid || meta.mode() & 0o7777 != MODE || meta.len() < SIZE
        {
            return Ok(None);
        }
        let opts = MmapOptions::new().len(SIZE as usize).clone();
        let map = if writable {
            opts.map_raw(&file)?
        } else {
            opts.map_raw_read_only(&file)?
        };
        let generation = Generation {
            map,
            writable,
            dev: meta.dev(),
            ino: meta.ino(),
        };
        // The file may have shrunk since `metadata`: check the magic through the mapping only
        // if the file still has its size (a SIGBUS otherwise), then never look at the size
        // again (its owner could shrink it under us, like a topic file it owns).
        if file.metadata()?.len() < SIZE || generation.magic() != MAGIC {
            return Ok(None);
        }
        Ok(Some(generation))
    }

    /// The read-only mapping of `uid`'s generation file in `root` that this process's
    /// subscribers share (one mapping, not one per subscriber), opened (and, if `create`,
    /// created) on first use; `fresh`: open the file again, as after it was replaced by hand.
    pub(crate) fn shared(
        root: &Path,
        uid: u32,
        create: bool,
        fresh: bool,
    ) -> Option<Arc<Generation>> {
        Generation::cached(root, uid, create, false, fresh)
    }

    /// One mapping per (root, uid, access) for the whole process, kept while someone uses it.
    ///
    /// The cache's lock is never held across I/O, and only tried: a child made by `fork` while
    /// another thread held it (it stays locked in the child) maps its own copy instead of
    /// waiting forever.
    fn cached(
        root: &Path,
        uid: u32,
        create: bool,
        writable: bool,
        fresh: bool,
    ) -> Option<Arc<Generation>> {
        type Cache = Mutex<HashMap<(PathBuf, u32, bool), Weak<Generation>>>;
        static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let key = (root.to_path_buf(), uid, writable);
        if !fresh
            && let Ok(map) = cache.try_lock()
            && let Some(g) = map.get(&key).and_then(Weak::upgrade)
        {
            return Some(g);
        }
        let g = Arc::new(
            Generation::open(root, uid, create, writable)
                .ok()
                .flatten()?,
        );
        if let Ok(mut map) = cache.try_lock() {
            if map.len() >= 64 {
                map.retain(|_, w| w.strong_count() > 0);
            }
            map.insert(key, Arc::downgrade(&g));
        }
        Some(g)
    }

    fn magic(&self) -> [u8; 8] {
        // SAFETY: the mapping is page-aligned and SIZE (≥ 8) bytes long; the file's words are
        // only ever accessed as 8-byte atomics; a Relaxed load is sound on a read-only mapping.
        unsafe { copy::load_u64(self.map.as_ptr()) }.to_ne_bytes()
    }

    /// The counter (an Acquire load: a topic named before the bump that made this value is
    /// visible to an `open` after it).
    #[inline]
    pub(crate) fn load(&self) -> u64 {
        // SAFETY: an 8-aligned word inside the SIZE-byte mapping, accessed only atomically.
        let v = unsafe { copy::load_u64(self.map.as_ptr().add(OFF_COUNTER)) };
        std::sync::atomic::fence(Ordering::Acquire);
        v
    }

    /// Adds 1 to the counter: a topic was named or removed (call after the directory changed).
    pub(crate) fn bump(&self) {
        assert!(self.writable, "bump on a read-only generation file");
        // SAFETY: an 8-aligned word inside the SIZE-byte writable mapping, accessed only
        // atomically by every process.
        unsafe { copy::fetch_add_u64(self.map.as_mut_ptr().add(OFF_COUNTER), 1) };
    }

    /// Whether `root`'s generation file of `uid` is no longer this one (removed or replaced by
    /// hand): then the caller opens it again.
    pub(crate) fn replaced(&self, root: &Path, uid: u32) -> bool {
        match std::fs::symlink_metadata(path_of(root, uid)) {
            Ok(m) => m.dev() != self.dev || m.ino() != self.ino,
            Err(_) => true,
        }
    }
}

fn open_existing(path: &Path, writable: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(writable)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Creates the generation file, complete before it gets its name (as topic files are).
fn create_file(root: &Path, path: &Path) -> io::Result<()> {
    let (file, staged) = crate::sys::create_unnamed(root, MODE)?;
    let result = (|| {
        file.set_len(SIZE)?;
        let mut header = [0u8; SIZE as usize];
        header[..8].copy_from_slice(&MAGIC);
        header[8..12].copy_from_slice(&1u32.to_ne_bytes()); // version
        file.write_all_at(&header, 0)?;
        crate::sys::link_new(&file, staged.as_deref(), path)
    })();
    if let (Err(_), Some(s)) = (&result, &staged) {
        let _ = std::fs::remove_file(s);
    }
    result
}

/// Tells subscribers of this user watching `root` that a topic was named or removed there. A
/// user whose generation file cannot be used (see the module docs) has subscribers that look
/// for their topic on every read anyway, so a failure here loses nothing.
///
/// The writable mapping is kept for the next announcement while `keep` lives (a publisher
/// keeps it, so that creating many topics maps the file once); the file is checked to be still
/// the one at the path each time (one `stat`), so a file removed by hand is made again.
pub(crate) fn announce(root: &Path) -> Option<Arc<Generation>> {
    let uid = crate::owner::effective_uid();
    let mut g = Generation::cached(root, uid, true, true, false)?;
    if g.replaced(root, uid) {
        g = Generation::cached(root, uid, true, true, true)?;
    }
    g.bump();
    Some(g)
}
