//! Items used by `#[derive(ShmMessage)]`'s expansion (as `::shm::__private`); not a public API.

pub use crate::registry::REGISTRY;
pub use crate::schema::{Field, Schema};
pub use linkme;

/// Implemented only for `N == 0`: the derive checks `<() as NoPaddingAfter<S, field, N>>` with
/// `N` the bytes between a field and the next, so any gap is a compile error in these words.
#[diagnostic::on_unimplemented(
    message = "`{S}` has {N} byte(s) of padding after field `{F}`, which shared memory cannot carry",
    label = "{N} byte(s) of padding after this field",
    note = "add an explicit field `_reserved: [u8; {N}]` right after `{F}` (or reorder the fields from largest to smallest alignment)"
)]
pub trait NoPaddingAfter<S, F, const N: usize> {
    /// Named by the check.
    const OK: () = ();
}
impl<S, F> NoPaddingAfter<S, F, 0> for () {}

/// As [`NoPaddingAfter`], for the bytes after the last field (up to the struct's size).
#[diagnostic::on_unimplemented(
    message = "`{S}` has {N} byte(s) of padding at its end, which shared memory cannot carry",
    label = "{N} byte(s) of padding after the last field",
    note = "add an explicit field `_reserved: [u8; {N}]` at the end (its size must be a multiple of its alignment)"
)]
pub trait NoTrailingPadding<S, const N: usize> {
    /// Named by the check.
    const OK: () = ();
}
impl<S> NoTrailingPadding<S, 0> for () {}

/// As [`NoPaddingAfter`], for the whole struct (`repr(transparent)`).
#[diagnostic::on_unimplemented(
    message = "`{S}` has {N} byte(s) of padding, which shared memory cannot carry",
    label = "{N} byte(s) of padding",
    note = "add explicit `_reserved: [u8; N]` fields where the padding is"
)]
pub trait NoPadding<S, const N: usize> {
    /// Named by the check.
    const OK: () = ();
}
impl<S> NoPadding<S, 0> for () {}
