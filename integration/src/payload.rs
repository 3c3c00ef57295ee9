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

/// 6 MiB payload, a camera frame's size: made in place ([`Payload::fill`]), never on the
/// stack.
#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
pub struct S6M {
    /// Data words.
    pub w: [u64; 786_432],
}

/// A payload of varying length: 1 to 2048 words (up to 16 KiB) in a bounded sequence, its
/// length derived from its counter, so a value whose length and words come from different
/// publishes is detected, as is a copy that stopped short or ran past the length.
#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
pub struct SVar {
    /// Data words: the counter, then words derived from it.
    pub w: shm::BoundedVec<u64, 2048>,
}

impl SVar {
    /// The length of the value for `counter`.
    fn len_of(counter: u64) -> usize {
        1 + (mix(counter ^ 0x5eed) % 2048) as usize
    }

    /// The value for `counter`.
    pub fn make(counter: u64) -> SVar {
        let mut words = vec![0; SVar::len_of(counter)];
        fill(&mut words, counter);
        words[0] = counter;
        SVar {
            w: shm::BoundedVec::from_slice(&words).expect("at most 2048 words"),
        }
    }

    /// The counter of a value, or `None` if its length or words are inconsistent.
    pub fn check(&self) -> Option<u64> {
        let c = *self.w.first()?;
        (self.w.len() == SVar::len_of(c)
            && self
                .w
                .iter()
                .enumerate()
                .skip(1)
                .all(|(i, x)| *x == mix(c ^ ((i as u64) << 40))))
        .then_some(c)
    }
}

/// The words of slice value `counter` of `len` words (at least 2): the counter, the length,
/// then words derived from the counter, so a value mixed from two publishes, cut short or
/// run long is detected by [`check_slice`].
pub fn slice_words(counter: u64, len: usize) -> Vec<u64> {
    let mut w: Vec<u64> = (0..len as u64).map(|i| mix(counter ^ (i << 40))).collect();
    w[0] = counter;
    w[1] = len as u64;
    w
}

/// The counter of slice words made by [`slice_words`], if they are intact.
pub fn check_slice(w: &[u64]) -> Option<u64> {
    let (&c, &len) = (w.first()?, w.get(1)?);
    (len == w.len() as u64
        && w.iter()
            .enumerate()
            .skip(2)
            .all(|(i, x)| *x == mix(c ^ ((i as u64) << 40))))
    .then_some(c)
}

/// A stress payload type.
pub trait Payload: ShmMessage + Copy {
    /// Its size in bytes, for reports.
    const SIZE: usize;
    /// The words.
    fn words(&self) -> &[u64];
    /// The words, to write.
    fn words_mut(&mut self) -> &mut [u64];
    /// The value for `counter`.
    fn make(counter: u64) -> Self;
    /// Makes this the value for `counter`, in place.
    fn fill(&mut self, counter: u64) {
        fill(self.words_mut(), counter);
    }
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
            fn words_mut(&mut self) -> &mut [u64] {
                &mut self.w
            }
            fn make(counter: u64) -> Self {
                let mut v = $t { w: [0; $n] };
                fill(&mut v.w, counter);
                v
            }
        }
    )*};
}

payloads!(
    S8 = 1,
    S64 = 8,
    S1K = 128,
    S4K = 512,
    S64K = 8192,
    S6M = 786_432
);

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
        let v = SVar::make(7);
        assert_eq!(v.check(), Some(7));
        let mut short = v;
        short.w.truncate(v.w.len() - 1);
        assert_eq!(short.check(), None);
        let mut bad = S8::make(9);
        assert_eq!(bad.check(), Some(9));
        bad.w[0] ^= 1;
        assert_eq!(bad.check(), None);
    }
}
