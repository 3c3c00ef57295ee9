//! Checksummed payloads for the concurrency stress test. Every 8-byte word of a value is derived
//! from its counter, so a value mixed from two publishes (a torn read) is always detected.

use shm::ShmMessage;

/// 8-byte payload: high half the counter, low half a hash of it.
#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
pub struct S8 {
    /// Data words.
    pub w: [u64; 1],
}
/// 64-byte payload.
#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
pub struct S64 {
    /// Data words.
    pub w: [u64; 8],
}
/// 1 KiB payload.
#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
pub struct S1K {
    /// Data words.
    pub w: [u64; 128],
}
/// 4 KiB payload.
#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
pub struct S4K {
    /// Data words.
    pub w: [u64; 512],
}
/// 64 KiB payload.
#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
pub struct S64K {
    /// Data words.
    pub w: [u64; 8192],
}

/// A stress payload type.
pub trait Payload: ShmMessage + Copy {
    /// Its size in bytes, for reports.
    const SIZE: usize;
    /// The words.
    fn words(&self) -> &[u64];
    /// The value for `counter`.
    fn make(counter: u64) -> Self;
    /// The counter of a value, or `None` if its words are inconsistent (torn).
    fn check(&self) -> Option<u64> {
        check_words(self.words())
    }
}

/// A 64-bit mix (splitmix64 finaliser).
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fill(w: &mut [u64], counter: u64) {
    if w.len() == 1 {
        w[0] = (counter << 32) | (mix(counter) & 0xffff_ffff);
        return;
    }
    w[0] = counter;
    for (i, x) in w.iter_mut().enumerate().skip(1) {
        *x = mix(counter ^ ((i as u64) << 40));
    }
}

fn check_words(w: &[u64]) -> Option<u64> {
    if w.len() == 1 {
        let c = w[0] >> 32;
        return (w[0] & 0xffff_ffff == mix(c) & 0xffff_ffff).then_some(c);
    }
    let c = w[0];
    w.iter()
        .enumerate()
        .skip(1)
        .all(|(i, x)| *x == mix(c ^ ((i as u64) << 40)))
        .then_some(c)
}

macro_rules! payloads {
    ($($t:ident = $n:expr),*) => {$(
        impl Payload for $t {
            const SIZE: usize = $n * 8;
            fn words(&self) -> &[u64] {
                &self.w
            }
            fn make(counter: u64) -> Self {
                let mut v = $t { w: [0; $n] };
                fill(&mut v.w, counter);
                v
            }
        }
    )*};
}

payloads!(S8 = 1, S64 = 8, S1K = 128, S4K = 512, S64K = 8192);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_values_are_detected() {
        let a = S64::make(5);
        let b = S64::make(6);
        assert_eq!(a.check(), Some(5));
        for cut in 1..8 {
            let mut torn = a;
            torn.w[cut..].copy_from_slice(&b.w[cut..]);
            assert_eq!(torn.check(), None, "cut at {cut}");
        }
        let mut bad = S8::make(9);
        assert_eq!(bad.check(), Some(9));
        bad.w[0] ^= 1;
        assert_eq!(bad.check(), None);
    }
}
