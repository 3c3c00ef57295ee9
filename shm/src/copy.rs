//! Word-wise atomic copies between process-local memory and shared memory ("atomic memcpy",
//! rust-lang RFC 3301).
//!
//! Shared memory is only ever touched through 8-byte `Relaxed` atomic loads and stores of the same
//! granularity on both sides, so a concurrent write is never a data race (it may be a torn
//! *value*, which the seqlock stamp detects and discards). `Relaxed` loads of at most 8 bytes are
//! documented by `core::sync::atomic` as sound on read-only mappings on 64-bit targets, which is
//! how subscribers map topics.

use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Loads one shared word.
///
/// # Safety
/// `p` is 8-aligned, points into a live mapping, and every concurrent access to those 8 bytes is
/// an 8-byte atomic access.
#[inline(always)]
pub(crate) unsafe fn load_u64(p: *const u8) -> u64 {
    // SAFETY: alignment, liveness and atomic-only access are the caller's contract. The mapping
    // may be read-only, although `from_ptr` asks for memory valid for writes: the section
    // "Atomic accesses to read-only memory" of `core::sync::atomic` makes the exception that
    // `Relaxed` loads of at most 8 bytes are sound there on x86-64 and aarch64 (this crate
    // refuses to build for other targets), and a Relaxed load is all this reference is used for.
    let a = unsafe { AtomicU64::from_ptr(p.cast_mut().cast()) };
    a.load(Ordering::Relaxed)
}

/// Stores one shared word.
///
/// # Safety
/// As [`load_u64`], and the mapping is writable.
#[inline(always)]
pub(crate) unsafe fn store_u64(p: *mut u8, v: u64, order: Ordering) {
    // SAFETY: the caller guarantees alignment, a live writable mapping and atomic-only access.
    let a = unsafe { AtomicU64::from_ptr(p.cast()) };
    a.store(v, order);
}

/// Loads one shared 4-byte word.
///
/// # Safety
/// As [`load_u64`], with 4-byte alignment and 4-byte atomic accesses.
#[inline(always)]
pub(crate) unsafe fn load_u32(p: *const u8) -> u32 {
    // SAFETY: the caller's contract; on a read-only mapping the exception described in
    // `load_u64` covers this Relaxed 4-byte load, the only use of the reference.
    let a = unsafe { AtomicU32::from_ptr(p.cast_mut().cast()) };
    a.load(Ordering::Relaxed)
}

/// Stores one shared 4-byte word.
///
/// # Safety
/// As [`load_u32`], and the mapping is writable.
#[inline(always)]
pub(crate) unsafe fn store_u32(p: *mut u8, v: u32, order: Ordering) {
    // SAFETY: the caller guarantees alignment, a live writable mapping and atomic-only access.
    let a = unsafe { AtomicU32::from_ptr(p.cast()) };
    a.store(v, order);
}

/// Adds to one shared 4-byte word, wrapping.
///
/// # Safety
/// As [`store_u32`].
#[inline(always)]
pub(crate) unsafe fn fetch_add_u32(p: *mut u8, v: u32) -> u32 {
    // SAFETY: the caller guarantees alignment, a live writable mapping and atomic-only access.
    let a = unsafe { AtomicU32::from_ptr(p.cast()) };
    a.fetch_add(v, Ordering::SeqCst)
}

/// Adds to one shared word, wrapping.
///
/// # Safety
/// As [`store_u64`].
#[inline(always)]
pub(crate) unsafe fn fetch_add_u64(p: *mut u8, v: u64) -> u64 {
    // SAFETY: the caller guarantees alignment, a live writable mapping and atomic-only access.
    let a = unsafe { AtomicU64::from_ptr(p.cast()) };
    a.fetch_add(v, Ordering::SeqCst)
}

/// Copies `len` bytes out of shared memory.
///
/// # Safety
/// - `src` is 8-aligned and the `len.next_multiple_of(8)` bytes after it lie in a live mapping
///   where every concurrent access is an 8-byte atomic access (as done by [`store`]).
/// - `dst` is valid for writes of `len` bytes (any alignment) and is not shared memory.
#[inline]
pub(crate) unsafe fn load(src: *const u8, dst: *mut u8, len: usize) {
    let words = len / 8;
    for i in 0..words {
        // SAFETY: word `i` is 8-aligned and inside the source range (caller's contract).
        let w = unsafe { load_u64(src.add(i * 8)) };
        // SAFETY: bytes `8i..8i+8` of `dst` are inside its `len` writable bytes.
        unsafe { ptr::write_unaligned(dst.add(i * 8).cast::<u64>(), w) };
    }
    let rem = len % 8;
    if rem != 0 {
        // SAFETY: the last partial word is still inside the rounded-up source range.
        let w = unsafe { load_u64(src.add(words * 8)) };
        let bytes = w.to_ne_bytes();
        // SAFETY: `rem` bytes from a local array into the last `rem` bytes of `dst`.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), dst.add(words * 8), rem) };
    }
}

/// Copies `len` bytes into shared memory; the tail of the last word is zero-filled.
///
/// # Safety
/// - `dst` is 8-aligned and the `len.next_multiple_of(8)` bytes after it lie in a live writable
///   mapping where every concurrent access is an 8-byte atomic access.
/// - `src` is valid for reads of `len` initialised bytes and is not shared memory.
#[inline]
pub(crate) unsafe fn store(dst: *mut u8, src: *const u8, len: usize) {
    let words = len / 8;
    for i in 0..words {
        // SAFETY: bytes `8i..8i+8` of `src` are inside its `len` readable bytes.
        let w = unsafe { ptr::read_unaligned(src.add(i * 8).cast::<u64>()) };
        // SAFETY: word `i` is 8-aligned and inside the destination range.
        unsafe { store_u64(dst.add(i * 8), w, Ordering::Relaxed) };
    }
    let rem = len % 8;
    if rem != 0 {
        let mut bytes = [0u8; 8];
        // SAFETY: the last `rem` bytes of `src` into a local array.
        unsafe { ptr::copy_nonoverlapping(src.add(words * 8), bytes.as_mut_ptr(), rem) };
        // SAFETY: the last partial word is inside the rounded-up destination range.
        unsafe {
            store_u64(
                dst.add(words * 8),
                u64::from_ne_bytes(bytes),
                Ordering::Relaxed,
            )
        };
    }
}

/// A part of a value that a publish or a read copies, when its type holds bounded sequences or
/// strings (see `TopicSchema::runs`). Offsets are from the value's start and 8-aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// `len` bytes, whole.
    Bytes { offset: u64, len: u64 },
    /// A bounded sequence or string: its `u64` length, then that many elements of `stride`
    /// bytes (at most `cap`, whatever the length word says). With `zero_tail`, a read zeroes
    /// the destination's room past the length (elements with `bool`s or strings, which are
    /// checked over the whole room).
    Bounded {
        offset: u64,
        stride: u64,
        cap: u64,
        zero_tail: bool,
    },
}

impl Run {
    /// The bytes of the run to copy, given its length word (clamped to the capacity).
    #[inline]
    fn copied(stride: u64, cap: u64, len: u64) -> usize {
        (8 + len.min(cap) * stride) as usize
    }
}

/// Walks the runs of a value: for each, the bytes to copy from its start (`offset`, `n`), and
/// for a bounded part the bytes of its room past them (`n..room`) and whether the reader zeroes
/// those (`zero_tail`). `len_at(offset)` reads a bounded part's length word from the source.
/// The one walk behind [`load_runs`], [`store_runs`] and [`copy_plain`].
#[inline(always)]
fn walk_runs(
    runs: &[Run],
    len_at: impl Fn(usize) -> u64,
    mut part: impl FnMut(usize, usize),
    mut tail: impl FnMut(usize, usize, bool),
) {
    for run in runs {
        match *run {
            Run::Bytes { offset, len } => part(offset as usize, len as usize),
            Run::Bounded {
                offset,
                stride,
                cap,
                zero_tail,
            } => {
                let offset = offset as usize;
                let n = Run::copied(stride, cap, len_at(offset));
                part(offset, n);
                // `n` is at most the part's whole room (the length is clamped to its capacity).
                tail(offset + n, Run::copied(stride, cap, cap) - n, zero_tail);
            }
        }
    }
}

/// Copies the runs of a value out of shared memory: each bounded part only up to its length,
/// the rest of its room in `dst` left as it was (or zeroed, for a run that says so).
///
/// # Safety
/// As [`load`] for the whole value (`src`'s value is 8-aligned, and the runs lie inside it and
/// start 8-aligned), and `dst` is valid for writes of the whole value.
#[inline]
pub(crate) unsafe fn load_runs(src: *const u8, dst: *mut u8, runs: &[Run]) {
    walk_runs(
        runs,
        // SAFETY: a bounded part's length word is 8-aligned inside the value.
        |at| unsafe { load_u64(src.add(at)) },
        // SAFETY: each part lies inside the value, starting 8-aligned (a bounded one at most its
        // whole room).
        |at, n| unsafe { load(src.add(at), dst.add(at), n) },
        |at, n, zero| {
            if zero {
                // SAFETY: the room past a bounded part's length lies inside `dst`'s value.
                unsafe { ptr::write_bytes(dst.add(at), 0, n) }
            }
        },
    );
}

/// Copies the runs of a value into shared memory: each bounded part only up to its length, the
/// rest of its room in shared memory left as it was.
///
/// # Safety
/// As [`store`] for the whole value, with the runs as in [`load_runs`]; `src`'s whole value is
/// initialised.
#[inline]
pub(crate) unsafe fn store_runs(dst: *mut u8, src: *const u8, runs: &[Run]) {
    walk_runs(
        runs,
        // SAFETY: the length word lies inside `src`'s initialised value (any alignment).
        |at| unsafe { ptr::read_unaligned(src.add(at).cast::<u64>()) },
        // SAFETY: each part lies inside the value, starting 8-aligned.
        |at, n| unsafe { store(dst.add(at), src.add(at), n) },
        |_, _, _| {},
    );
}

/// Copies a value (its runs, if given: each bounded part only up to its length, and with
/// `zero_tail` the rest of a checked part's room in `dst` zeroed) with plain copies: for memory
/// no other process writes meanwhile, such as a pinned slot of a lending topic, where this is a
/// `memcpy`.
///
/// # Safety
/// `src` and `dst` are valid for `len` bytes (the whole value) and do not overlap; no other
/// thread or process writes either meanwhile; the runs (if any) lie inside the value.
#[inline]
pub(crate) unsafe fn copy_plain(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    runs: Option<&[Run]>,
    zero_tail: bool,
) {
    let Some(runs) = runs else {
        // SAFETY: the caller's contract.
        unsafe { ptr::copy_nonoverlapping(src, dst, len) };
        return;
    };
    walk_runs(
        runs,
        // SAFETY: the length word lies inside `src`'s value (any alignment).
        |at| unsafe { ptr::read_unaligned(src.add(at).cast::<u64>()) },
        // SAFETY: each part lies inside both values (a bounded one at most its whole room).
        |at, n| unsafe { ptr::copy_nonoverlapping(src.add(at), dst.add(at), n) },
        |at, n, checked| {
            if zero_tail && checked {
                // SAFETY: the room past a bounded part's length lies inside `dst`'s value.
                unsafe { ptr::write_bytes(dst.add(at), 0, n) }
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C, align(8))]
    struct Words([u8; 64]);

    #[test]
    fn round_trips_every_length() {
        for len in 0..=56 {
            let src: Vec<u8> = (0..len as u8)
                .map(|b| b.wrapping_mul(37).wrapping_add(1))
                .collect();
            let mut shared = Words([0xAA; 64]);
            // SAFETY: `shared` is 8-aligned, 64 bytes ≥ len rounded up, and only this thread
            // touches it; `src` holds `len` initialised bytes.
            unsafe { store(shared.0.as_mut_ptr(), src.as_ptr(), len) };
            let mut out = vec![0u8; len];
            // SAFETY: as above; `out` has `len` writable bytes.
            unsafe { load(shared.0.as_ptr(), out.as_mut_ptr(), len) };
            assert_eq!(out, src);
            // The tail of the last word is zero-filled, the next word untouched.
            let end = len.next_multiple_of(8);
            assert!(shared.0[len..end].iter().all(|b| *b == 0));
            assert!(shared.0[end..].iter().all(|b| *b == 0xAA));
        }
    }
}
