//! The [`ShmMessage`] trait and its implementations for the built-in types.

use crate::schema::{Primitive, Schema};

/// A plain-old-data type that can be published through shared memory.
///
/// Implemented by `#[derive(ShmMessage)]` for your `#[repr(C)]` structs, and by this crate for
/// `bool`, `i8`–`i64`, `u8`–`u64`, `f32`, `f64` and fixed arrays `[T; N]` of messages.
///
/// ```
/// use shm::ShmMessage;
///
/// #[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
/// #[repr(C)]
/// struct Wheel {
///     speed: [f32; 4],
///     braking: bool,
///     _reserved: [u8; 3],
/// }
/// assert_eq!(Wheel::SCHEMA.name(), "Wheel");
/// assert_eq!(Wheel::SCHEMA.size(), 20);
/// ```
///
/// # Safety
///
/// Do not implement this trait by hand; derive it. Deriving it means that any bytes with valid
/// `bool`s are a value of the type (as with zerocopy's `FromBytes`): invariants that your
/// constructors enforce are not checked for values read from a topic.
///
/// An implementation promises:
///
/// 1. `Self` has one fixed layout, the same in every process built from the same definition
///    (`#[repr(C)]` or `#[repr(transparent)]`, a primitive, or an array).
/// 2. [`SCHEMA`](ShmMessage::SCHEMA) describes that layout exactly: `size_of::<Self>()`,
///    `align_of::<Self>()` and, for each field, its name, offset and its type's schema.
/// 3. `Self` has no padding: every byte belongs to a primitive of the schema, so the bytes of
///    any value are initialised and may be copied out.
/// 4. Any `size_of::<Self>()` bytes in which every `bool` of the schema is 0 or 1 are a valid
///    `Self` (no references, pointers, niches, enums or interior mutability).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent through shared memory: it is not a `ShmMessage`",
    label = "not a shared-memory message type",
    note = "messages hold only bool, i8-i64, u8-u64, f32, f64, fixed arrays of them, and structs with #[derive(ShmMessage)]",
    note = "String, Vec, Box, references, pointers, Option, char and enums point to or depend on memory of one process; use fixed-size arrays and integer codes instead"
)]
pub unsafe trait ShmMessage: Sized + 'static {
    /// The type's layout description; its [`hash`](Schema::hash) identifies the type on a topic.
    const SCHEMA: &'static Schema;
}

macro_rules! primitive_messages {
    ($($ty:ty => $prim:ident, $reg:ident;)*) => {$(
        // SAFETY: primitives have a fixed layout equal to their size, no padding, and every bit
        // pattern is valid except for `bool`, whose schema (`Primitive::Bool`) is validated to
        // 0 or 1 before a value is produced.
        unsafe impl ShmMessage for $ty {
            const SCHEMA: &'static Schema = &Schema::primitive(Primitive::$prim);
        }

        #[linkme::distributed_slice(crate::registry::REGISTRY)]
        static $reg: &'static Schema = <$ty as ShmMessage>::SCHEMA;
    )*};
}

primitive_messages! {
    bool => Bool, REG_BOOL;
    i8 => I8, REG_I8;
    i16 => I16, REG_I16;
    i32 => I32, REG_I32;
    i64 => I64, REG_I64;
    u8 => U8, REG_U8;
    u16 => U16, REG_U16;
    u32 => U32, REG_U32;
    u64 => U64, REG_U64;
    f32 => F32, REG_F32;
    f64 => F64, REG_F64;
}

// SAFETY: an array of messages is laid out as `N` consecutive elements with no padding between
// them (size is a multiple of alignment); the schema records element type and count, and an array
// is valid exactly when each element is, which validation checks element by element.
unsafe impl<T: ShmMessage, const N: usize> ShmMessage for [T; N] {
    const SCHEMA: &'static Schema = &Schema::array(
        T::SCHEMA,
        N,
        core::mem::size_of::<[T; N]>(),
        core::mem::align_of::<[T; N]>(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaKind;

    #[test]
    fn builtins_describe_their_layout() {
        assert_eq!(f64::SCHEMA.name(), "f64");
        assert_eq!(f64::SCHEMA.size(), 8);
        assert_eq!(u16::SCHEMA.align(), 2);
        assert!(bool::SCHEMA.needs_validation());
        assert!(!i64::SCHEMA.needs_validation());
        let a = <[[u8; 3]; 2]>::SCHEMA;
        assert_eq!(a.size(), 6);
        assert_eq!(a.type_name(), "[[u8; 3]; 2]");
        assert!(matches!(a.kind(), SchemaKind::Array { len: 2, .. }));
        assert!(<[bool; 2]>::SCHEMA.needs_validation());
        assert!(!<[bool; 0]>::SCHEMA.needs_validation());
        assert_ne!(<[u8; 3]>::SCHEMA.hash(), <[u8; 4]>::SCHEMA.hash());
        assert_ne!(<[u8; 4]>::SCHEMA.hash(), <[i8; 4]>::SCHEMA.hash());
    }
}
