//! The wake-up handshake between a subscriber about to sleep and the publisher: the ticket, the
//! sleeping flag, the futex sleep and the wake. `docs/FORMAT.md`, "Blocking waits", specifies it
//! and argues why no wake-up is lost; the publisher's half is the end of [`ring::write`].
//!
//! Written once, generic over [`WakeWords`], like the ring: the loom model (`verify/`) checks
//! this code.
//!
//! [`ring::write`]: super::ring::write

use std::sync::atomic::Ordering;

use memmap2::{MmapOptions, MmapRaw};

use super::header::{OFF_SLEEPING, OFF_STATE, OFF_WAKE, STATE_LIVE, STATE_RETIRED};
use super::ring::TopicWords;
use super::{Access, ReadOnly, ReadWrite, Segment};
use crate::copy;

/// What a sleeping subscriber needs beyond the ring's words.
#[doc(hidden)]
pub trait WakeWords: TopicWords {
    /// The futex word (a Relaxed load).
    fn wake_word(&self) -> u32;
    /// The segment's state (a Relaxed load).
    fn state(&self) -> u32;
    /// Sets the sleeping flag (sequentially consistent). `false` if this process may only read
    /// the file and so cannot ask for a wake-up.
    fn ask_for_wake_up(&self) -> bool;
    /// The heavy half of the publishers' fence (`membarrier`); `false` if the kernel refused it.
    fn heavy_fence(&self) -> bool;
    /// Sleeps while the futex word is `ticket`, until woken or `deadline_ns` (may return early).
    fn futex_wait(&self, ticket: u32, deadline_ns: u64);
    /// `CLOCK_MONOTONIC` now, in ns.
    fn now_ns(&self) -> u64;
}

/// The wake word's current value, read before a wait step looks at the topic (its value, the
/// publisher's lock) and passed to [`sleep`]: anything that bumps the word after this read (a
/// publish to sleepers, a retirement, the publisher's exit) makes that sleep return at once
/// instead of being lost.
#[doc(hidden)]
pub fn wake_ticket<M: WakeWords>(m: &M) -> u32 {
    let ticket = m.wake_word();
    // Orders the load before the sleeping flag's store in `sleep`.
    M::fence(Ordering::SeqCst);
    ticket
}

/// Sleeps until the publisher publishes something after `seen` (the newest sequence number the
/// caller found), the segment is retired or released, or `deadline_ns` passes. May return
/// early; callers look at the topic again.
///
/// The sleeper's half of the handshake: flag, full fence (`membarrier` for publishers that use
/// the light one), look at the publish sequence, then sleep on the ticket. Why no wake-up is lost:
/// `docs/FORMAT.md`, "Blocking waits" (and the loom model in `verify/`). A process that may only
/// read the file cannot set the flag, and one whose `membarrier` the kernel refuses cannot rely on
/// light-fenced publishers seeing it: both sleep at most `unregistered_poll_ns` at a time.
#[doc(hidden)]
pub fn sleep<M: WakeWords>(
    m: &M,
    ticket: u32,
    seen: u64,
    deadline_ns: u64,
    unregistered_poll_ns: u64,
) {
    let poll = deadline_ns.min(m.now_ns().saturating_add(unregistered_poll_ns));
    let until = if m.ask_for_wake_up() {
        M::fence(Ordering::SeqCst);
        if m.heavy_fence() { deadline_ns } else { poll }
    } else {
        poll
    };
    // Newer than `seen` (which a reader following stamps may find a moment before the publisher
    // names it in the publish sequence, or forever if it died in between). Any state but live
    // (retired, or a damaged word) sends the caller back to look at the path.
    if m.publish_seq() > seen || m.state() != STATE_LIVE {
        return;
    }
    m.futex_wait(ticket, until);
}

// ---------------------------------------------------------------------------------------------
// The handshake on a mapped topic file.
// ---------------------------------------------------------------------------------------------

/// Bytes a subscriber maps writable to sleep: the page holding the wake words.
const DOORBELL_LEN: usize = 4096;

impl<A: Access> Segment<A> {
    fn wake_word_ptr(&self) -> *const u32 {
        self.at(OFF_WAKE).cast::<u32>().cast_const()
    }
}

impl Segment<ReadOnly> {
    /// See [`wake_ticket`].
    pub(crate) fn wake_ticket(&self) -> u32 {
        wake_ticket(self)
    }

    /// See [`sleep`].
    pub(crate) fn sleep(&self, ticket: u32, seen: u64, deadline_ns: u64, poll_ns: u64) {
        sleep(self, ticket, seen, deadline_ns, poll_ns);
    }

    /// Whether the publisher named a value after `seen`, or the file is no longer live (what
    /// ends a spin, and stops a sleep from beginning).
    pub(crate) fn moved_past(&self, seen: u64) -> bool {
        self.publish_seq() > seen || self.state() != STATE_LIVE
    }

    /// The futex word sleepers wait on, for a wait set's `futex_waitv` (4-aligned, in this
    /// live shared mapping).
    pub(crate) fn wake_word_addr(&self) -> *const u32 {
        self.wake_word_ptr()
    }

    /// Sets the sleeping flag (see [`WakeWords::ask_for_wake_up`]); `false` if this process
    /// may only read the file.
    pub(crate) fn request_wake_up(&self) -> bool {
        self.ask_for_wake_up()
    }

    /// When value `seq` was published, if its slot still holds it (a look, not a read: the
    /// slot may be rewritten meanwhile, then `None` or a later time).
    pub(crate) fn publish_time_of(&self, seq: u64) -> Option<u64> {
        let n = self.slot_count();
        let index = if self.is_lending() {
            crate::segment::lend::LendWords::newest_slot(self)
        } else {
            (seq % u64::from(n)) as u32
        };
        if index >= n || self.stamp(index) != seq << 1 {
            return None;
        }
        // As a read of the slot: the time between two loads of the stamp, fenced.
        Self::fence(Ordering::Acquire);
        let time = self.time(index);
        Self::fence(Ordering::Acquire);
        (self.stamp(index) == seq << 1).then_some(time)
    }

    /// The writable mapping of the wake words, made once; `None` if this process may not open
    /// the file for writing (then for good), or could not now (then it tries again next time).
    fn doorbell(&self) -> Option<*mut u8> {
        if self.doorbell.get().is_none() {
            let mapped = crate::sys::reopen_writable(&self.file)
                .and_then(|file| MmapOptions::new().len(DOORBELL_LEN).map_raw(&file));
            match mapped {
                Ok(map) => {
                    let _ = self.doorbell.set(Some(map));
                }
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EACCES | libc::EPERM | libc::EROFS)
                    ) =>
                {
                    let _ = self.doorbell.set(None);
                }
                Err(_) => return None,
            }
        }
        self.doorbell
            .get()
            .and_then(Option::as_ref)
            .map(MmapRaw::as_mut_ptr)
    }
}

impl WakeWords for Segment<ReadOnly> {
    fn wake_word(&self) -> u32 {
        // SAFETY: the wake word is a 4-aligned header word, accessed only atomically; a Relaxed
        // load, sound on this read-only mapping.
        unsafe { copy::load_u32(self.wake_word_ptr().cast()) }
    }

    fn state(&self) -> u32 {
        Segment::state(self)
    }

    fn ask_for_wake_up(&self) -> bool {
        match self.doorbell() {
            Some(bell) => {
                // SAFETY: the doorbell maps the first DOORBELL_LEN bytes of this file writable;
                // the flag is an aligned header word accessed only atomically.
                unsafe { copy::store_u32(bell.add(OFF_SLEEPING as usize), 1, Ordering::SeqCst) };
                true
            }
            None => false,
        }
    }

    fn heavy_fence(&self) -> bool {
        crate::sys::heavy_fence()
    }

    fn futex_wait(&self, ticket: u32, deadline_ns: u64) {
        // SAFETY: the wake word is a 4-aligned word of this live shared file mapping.
        unsafe { crate::sys::futex_wait(self.wake_word_ptr(), ticket, deadline_ns) };
    }

    fn now_ns(&self) -> u64 {
        crate::sys::monotonic_ns()
    }
}

impl Segment<ReadWrite> {
    /// Tells attached subscribers to reopen the topic's path, and wakes those sleeping on it.
    pub(crate) fn retire(&self) {
        self.store_u32(OFF_STATE, STATE_RETIRED, Ordering::SeqCst);
        self.wake_sleepers();
    }

    /// Releases the publisher lock (the file stays), then wakes sleeping subscribers so they
    /// notice at once that the publisher is gone. Unconditionally: a subscriber that saw the
    /// lock held may not have set the sleeping flag yet, but it read the wake word before it
    /// looked at the lock, so the bump makes its sleep return (see [`sleep`]).
    pub(crate) fn release(&self) {
        let _ = crate::sys::unlock_publisher(&self.file);
        self.wake_sleepers();
    }

    /// Wakes every subscriber sleeping on this file. Only called when the sleeping flag is set
    /// (or on rare events: retirement, release), so a publisher nobody waits for makes no
    /// syscall.
    #[cold]
    #[inline(never)]
    pub(crate) fn wake_sleepers(&self) {
        self.store_u32(OFF_SLEEPING, 0, Ordering::SeqCst);
        // SAFETY: the wake word is a 4-aligned header word of this writable mapping, accessed
        // only atomically (and by the kernel's futex code, which only reads it).
        unsafe {
            copy::fetch_add_u32(self.at(OFF_WAKE), 1);
            crate::sys::futex_wake_all(self.wake_word_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::schema_hash_of_encoding;
    use crate::segment::{Continues, Layout, LockedFile, header::OFF_WAKE};

    /// A subscriber that asked for a wake-up and died leaves the flag set: the next publish
    /// answers it once (one syscall) and clears it, so later publishes make none. With either
    /// half of the publisher's fence (a process registered for membarrier or not).
    #[test]
    fn a_stale_wake_up_request_costs_one_wake() {
        let dir = std::env::temp_dir().join(format!("shm-seg-test.{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for light_fence in [true, false] {
            let path = dir.join(format!("topic-{light_fence}"));
            let layout = Layout::compute(8, 8, 3, 8).unwrap();
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .unwrap();
            file.set_len(layout.total_size).unwrap();
            let hash = schema_hash_of_encoding(&[0; 8]);
            let file = crate::sys::open_registered(|| Ok((file, ()))).unwrap().0;
            let locked = LockedFile::lock(file).unwrap().ok().unwrap();
            let mut writer = Segment::<ReadWrite>::init(
                locked,
                &path,
                layout,
                hash,
                &[0; 8],
                Continues::default(),
                0o600,
            )
            .unwrap();
            writer.light_fence = light_fence;
            let reader =
                Segment::<ReadOnly>::open(std::fs::File::open(&path).unwrap(), &path).unwrap();
            assert_eq!(writer.load_u32(OFF_SLEEPING), 0);
            // A sleep whose deadline has passed still registers, then returns at once.
            reader.sleep(reader.wake_ticket(), 0, 0, 0);
            assert_eq!(writer.load_u32(OFF_SLEEPING), 1);
            let word = writer.load_u32(OFF_WAKE);
            let value = 5u64;
            // SAFETY: `value` has the 8 bytes of the element.
            unsafe { writer.write(1, 0, (&raw const value).cast()) };
            assert_eq!(
                writer.load_u32(OFF_SLEEPING),
                0,
                "the wake cleared the request"
            );
            assert_eq!(writer.load_u32(OFF_WAKE), word.wrapping_add(1));
            // SAFETY: as above.
            unsafe { writer.write(2, 0, (&raw const value).cast()) };
            assert_eq!(
                writer.load_u32(OFF_WAKE),
                word.wrapping_add(1),
                "no second wake"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
