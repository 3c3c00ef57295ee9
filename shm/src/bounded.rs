//! Bounded sequences and strings: variable-length data with room for a fixed maximum, inline,
//! so that a message keeps one fixed layout. A publish and a read copy each of them only up to
//! its length.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

use crate::ShmMessage;
use crate::schema::Schema;

/// Too many elements (or bytes) for a bounded sequence's (or string's) capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityError {
    /// How many elements (bytes, for a string) it would have held.
    pub needed: usize,
    /// How many it can hold.
    pub capacity: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} element(s) do not fit a capacity of {}",
            self.needed, self.capacity
        )
    }
}

impl std::error::Error for CapacityError {}

/// Whether the room of `cap` elements of `T` fills whole 8-byte words after the length word,
/// so the type has no padding: checked when the type is used (a compile error).
const fn room_fits<T>(cap: usize) -> bool {
    align_of::<T>() <= 8 && (size_of::<T>() * cap).is_multiple_of(8)
}

/// A sequence of at most `N` elements, stored inline: a message field (or a topic's whole type)
/// for data whose length varies, such as the points of a lidar scan or a list of detections.
///
/// It derefs to the slice of its elements. A publish and a read copy it only up to its length:
/// a `BoundedVec<f32, 262_144>` (1 MiB of room) holding 1,000 values costs about as much as a
/// 4 KB message. The room past the length is neither written nor read; a value returned by a
/// read (`latest`, `recv`) holds zeros there, one read into (`latest_into`) keeps what it held
/// (zeros, for elements holding `bool`s or strings, which are checked over the whole room).
///
/// Its layout is a `u64` length, then the room for `N` elements; `N × size_of::<T>()` must be a
/// multiple of 8 (so that no padding follows the elements, which shared memory cannot carry):
/// `BoundedVec<f32, 4096>` compiles, `BoundedVec<f32, 3>` does not.
///
/// ```
/// use shm::BoundedVec;
/// let mut ranges = BoundedVec::<f32, 8>::new();
/// ranges.push(1.5);
/// ranges.try_push(2.5).unwrap();
/// assert_eq!(&ranges[..], &[1.5, 2.5]);
/// assert_eq!((ranges.len(), ranges.capacity()), (2, 8));
/// let full = BoundedVec::<u8, 8>::from_slice(&[0; 9]).unwrap_err();
/// assert_eq!(full.to_string(), "9 element(s) do not fit a capacity of 8");
/// ```
#[repr(C)]
pub struct BoundedVec<T, const N: usize> {
    len: u64,
    items: [T; N],
}

impl<T: ShmMessage, const N: usize> BoundedVec<T, N> {
    const ROOM: () = assert!(
        room_fits::<T>(N),
        "BoundedVec<T, N>: N × size_of::<T>() must be a multiple of 8 (no padding may follow the \
         elements; round N up), and T aligned to at most 8"
    );

    /// An empty sequence (its room zeroed).
    pub fn new() -> Self {
        let () = Self::ROOM;
        // SAFETY: all-zero bytes are a valid `BoundedVec` of messages: length 0, and zero bytes
        // are a valid value of every message type (`bool`s false, lengths 0; ShmMessage's
        // contract).
        unsafe { std::mem::zeroed() }
    }

    /// An empty sequence made on the heap, for a room too large for the stack (a
    /// `BoundedVec<f32, 262_144>` is 1 MiB).
    pub fn new_boxed() -> Box<Self> {
        let () = Self::ROOM;
        let zeroed = Box::<Self>::new_zeroed();
        // SAFETY: all-zero bytes are a valid empty sequence (as in `new`).
        unsafe { zeroed.assume_init() }
    }

    /// A sequence holding a copy of `items`, or the error if they are more than `N`.
    pub fn from_slice(items: &[T]) -> Result<Self, CapacityError>
    where
        T: Clone,
    {
        let mut out = Self::new();
        out.extend_from_slice(items)?;
        Ok(out)
    }

    /// Appends `item`, or gives it back if the sequence is full.
    pub fn try_push(&mut self, item: T) -> Result<(), T> {
        let len = self.len();
        if len == N {
            return Err(item);
        }
        self.items[len] = item;
        self.len += 1;
        Ok(())
    }

    /// Appends `item`.
    ///
    /// # Panics
    /// If the sequence is full; see [`try_push`](Self::try_push).
    pub fn push(&mut self, item: T) {
        if self.try_push(item).is_err() {
            panic!("BoundedVec::push: the sequence is full ({N} elements)");
        }
    }

    /// Appends copies of `items`, all or (if they do not fit) none.
    pub fn extend_from_slice(&mut self, items: &[T]) -> Result<(), CapacityError>
    where
        T: Clone,
    {
        let len = self.len();
        let needed = len + items.len();
        if needed > N {
            return Err(CapacityError {
                needed,
                capacity: N,
            });
        }
        self.items[len..needed].clone_from_slice(items);
        self.len = needed as u64;
        Ok(())
    }

    /// Removes and returns the last element.
    pub fn pop(&mut self) -> Option<T>
    where
        T: Copy,
    {
        let len = self.len().checked_sub(1)?;
        self.len = len as u64;
        Some(self.items[len])
    }

    /// Shortens the sequence to `len` elements (nothing if it is not longer).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.len = len as u64;
        }
    }

    /// Removes every element (the room keeps its bytes; it is never read).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        // (At most `N`: every way of making or changing a value keeps it so, and a value read
        // from a topic is checked.)
        (self.len as usize).min(N)
    }

    /// Whether it holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most elements it holds, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len()]
    }

    /// The elements, to change in place.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        let len = self.len();
        &mut self.items[..len]
    }
}

impl<T: ShmMessage, const N: usize> Default for BoundedVec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ShmMessage, const N: usize> Deref for BoundedVec<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: ShmMessage, const N: usize> DerefMut for BoundedVec<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T: ShmMessage + Clone, const N: usize> TryFrom<&[T]> for BoundedVec<T, N> {
    type Error = CapacityError;
    fn try_from(items: &[T]) -> Result<Self, CapacityError> {
        Self::from_slice(items)
    }
}

impl<T: ShmMessage + Clone, const N: usize> Clone for BoundedVec<T, N> {
    fn clone(&self) -> Self {
        let mut out = Self::new();
        out.items[..self.len()].clone_from_slice(self.as_slice());
        out.len = self.len;
        out
    }
}

impl<T: ShmMessage + Copy, const N: usize> Copy for BoundedVec<T, N> {}

impl<T: ShmMessage + PartialEq, const N: usize> PartialEq for BoundedVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: ShmMessage + Eq, const N: usize> Eq for BoundedVec<T, N> {}

impl<T: ShmMessage + Hash, const N: usize> Hash for BoundedVec<T, N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl<T: ShmMessage + fmt::Debug, const N: usize> fmt::Debug for BoundedVec<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

// SAFETY: `#[repr(C)]`: a `u64` length at offset 0, then `[T; N]` at offset 8 (`T` is aligned
// to at most 8, asserted with the size below), so the size is `8 + N × size_of::<T>()`, which
// `ROOM` makes a multiple of 8: no padding. The schema records the capacity and element type;
// its checks refuse a length above `N` and check the elements' `bool`s over the whole room, so
// any bytes that pass them are a valid value (and zeros are one).
unsafe impl<T: ShmMessage, const N: usize> ShmMessage for BoundedVec<T, N> {
    const SCHEMA: &'static Schema = &{
        let () = Self::ROOM;
        assert!(size_of::<Self>() == 8 + N * size_of::<T>());
        Schema::sequence(T::SCHEMA, N, size_of::<Self>(), align_of::<Self>())
    };
}

/// A UTF-8 string of at most `N` bytes, stored inline: a message field for a name, a frame id,
/// a state, a log line. It derefs to `str`. As for [`BoundedVec`], a publish and a read copy
/// only its bytes, and `N` must be a multiple of 8.
///
/// ```
/// use shm::BoundedString;
/// let frame: BoundedString<16> = "lidar".try_into().unwrap();
/// assert_eq!((frame.as_str(), frame.len(), frame.capacity()), ("lidar", 5, 16));
/// assert_eq!(frame.to_string(), "lidar");
/// assert!(BoundedString::<8>::try_from("far too long").is_err());
/// ```
#[repr(C)]
pub struct BoundedString<const N: usize> {
    len: u64,
    bytes: [u8; N],
}

impl<const N: usize> BoundedString<N> {
    const ROOM: () = assert!(
        N.is_multiple_of(8),
        "BoundedString<N>: N must be a multiple of 8 (no padding may follow the bytes; round N up)"
    );

    /// An empty string.
    pub const fn new() -> Self {
        let () = Self::ROOM;
        BoundedString {
            len: 0,
            bytes: [0; N],
        }
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        let bytes = &self.bytes[..self.len()];
        // Every way of making or changing a value leaves UTF-8 here, and a value read from a
        // topic is checked; still, never trust it without looking: the check is cheap next to
        // the copy that brought the bytes.
        match std::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                // SAFETY: `from_utf8` checked the first `valid_up_to` bytes.
                unsafe { std::str::from_utf8_unchecked(&bytes[..e.valid_up_to()]) }
            }
        }
    }

    /// Appends `s`, all or (if it does not fit) nothing.
    pub fn push_str(&mut self, s: &str) -> Result<(), CapacityError> {
        let len = self.len();
        let needed = len + s.len();
        if needed > N {
            return Err(CapacityError {
                needed,
                capacity: N,
            });
        }
        self.bytes[len..needed].copy_from_slice(s.as_bytes());
        self.len = needed as u64;
        Ok(())
    }

    /// Empties the string.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        (self.len as usize).min(N)
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most bytes it holds, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> Default for BoundedString<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> TryFrom<&str> for BoundedString<N> {
    type Error = CapacityError;
    fn try_from(s: &str) -> Result<Self, CapacityError> {
        let mut out = Self::new();
        out.push_str(s)?;
        Ok(out)
    }
}

impl<const N: usize> Deref for BoundedString<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> Clone for BoundedString<N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<const N: usize> Copy for BoundedString<N> {}

impl<const N: usize> PartialEq for BoundedString<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<const N: usize> Eq for BoundedString<N> {}

impl<const N: usize> PartialEq<str> for BoundedString<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for BoundedString<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> Hash for BoundedString<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl<const N: usize> fmt::Debug for BoundedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for BoundedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// SAFETY: `#[repr(C)]`: a `u64` length at offset 0, then `N` bytes from offset 8; `N` is a
// multiple of 8, so there is no padding. The schema's checks refuse a length above `N` and
// bytes that are not UTF-8, so bytes that pass them are a valid value (zeros are one).
unsafe impl<const N: usize> ShmMessage for BoundedString<N> {
    const SCHEMA: &'static Schema = &{
        let () = Self::ROOM;
        assert!(size_of::<Self>() == 8 + N);
        Schema::string(N, size_of::<Self>(), align_of::<Self>())
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{SchemaDesc, TopicSchema};

    #[test]
    fn layouts_are_a_length_then_the_room() {
        assert_eq!(size_of::<BoundedVec<f32, 4096>>(), 8 + 4 * 4096);
        assert_eq!(
            BoundedVec::<f32, 4096>::SCHEMA.type_name(),
            "BoundedVec<f32, 4096>"
        );
        assert_eq!(BoundedString::<32>::SCHEMA.type_name(), "BoundedString<32>");
        assert_eq!(
            SchemaDesc::from_schema(BoundedVec::<u16, 4>::SCHEMA),
            SchemaDesc::sequence(SchemaDesc::from_schema(u16::SCHEMA), 4).unwrap()
        );
        assert_ne!(
            BoundedVec::<u8, 8>::SCHEMA.hash(),
            BoundedVec::<u8, 16>::SCHEMA.hash()
        );
        assert_ne!(
            BoundedVec::<u8, 8>::SCHEMA.hash(),
            BoundedString::<8>::SCHEMA.hash()
        );
        assert!(BoundedString::<8>::SCHEMA.needs_validation());
        assert!(<[BoundedString<8>; 2]>::SCHEMA.has_bounded());
        assert!(!<[BoundedString<8>; 0]>::SCHEMA.has_bounded());
    }

    fn bytes_of<T: ShmMessage>(v: &T) -> Vec<u8> {
        // SAFETY: a message has no padding (ShmMessage's contract), so all its bytes are
        // initialised.
        unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
    }

    #[test]
    fn values_read_back_are_checked() {
        let schema = TopicSchema::of(BoundedString::<8>::SCHEMA);
        let good = BoundedString::<8>::try_from("héllo").unwrap();
        let mut bytes = bytes_of(&good);
        assert!(schema.is_valid(&bytes));
        bytes[8 + 3] = 0xC3; // a lead byte followed by `l`, no continuation byte
        let err = schema.validate(&bytes).unwrap_err();
        assert_eq!(
            err.problem,
            "the string at byte 0 is not UTF-8 from its byte 3"
        );
        bytes[..8].copy_from_slice(&9u64.to_ne_bytes());
        let err = schema.validate(&bytes).unwrap_err();
        assert_eq!(
            err.problem,
            "the length at byte 0 is 9, above the capacity 8"
        );

        let seq = TopicSchema::of(BoundedVec::<bool, 8>::SCHEMA);
        let mut v = BoundedVec::<bool, 8>::from_slice(&[true, false]).unwrap();
        assert!(seq.is_valid(&bytes_of(&v)));
        v.clear();
        let mut bytes = bytes_of(&v);
        bytes[8 + 7] = 2; // past the length, still refused: the whole room holds valid bools
        assert_eq!(seq.first_invalid(&bytes), Some(15));
    }

    #[test]
    fn vec_api() {
        let mut v = BoundedVec::<u32, 2>::new();
        assert!(v.is_empty());
        v.push(1);
        v.push(2);
        assert_eq!(v.try_push(3), Err(3));
        assert_eq!(v.pop(), Some(2));
        v[0] = 7;
        assert_eq!(format!("{v:?}"), "[7]");
        assert_eq!(v, BoundedVec::try_from(&[7][..]).unwrap());
        let w = v;
        assert_eq!(w.len(), 1);
        v.truncate(0);
        assert_ne!(v, w);
        let mut s = BoundedString::<8>::new();
        s.push_str("ab").unwrap();
        assert_eq!(
            s.push_str("1234567"),
            Err(CapacityError {
                needed: 9,
                capacity: 8
            })
        );
        assert_eq!(s, "ab");
        assert_eq!(format!("{s:?}"), "\"ab\"");
    }
}
