//! The [`ShmMessage`] trait and its implementations for the built-in types.

use crate::schema::{Primitive, Schema};

/// A plain-old-data type that can be published through shared memory.
///
/// Implemented by `#[derive(ShmMessage)]` for your `#[repr(C)]` structs, and by this crate for
/// `bool`, `i8`–`i64`, `u8`–`u64`, `f32`, `f64`, fixed arrays `[T; N]` of messages, bounded
/// sequences [`BoundedVec<T, N>`](crate::BoundedVec) and strings
/// [`BoundedString<N>`](crate::BoundedString).
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
/// 4. Any `size_of::<Self>()` bytes that pass the schema's checks (every `bool` 0 or 1, every
///    bounded length at most its capacity, every bounded string UTF-8) are a valid `Self` (no
///    references, pointers, niches, enums or interior mutability); all-zero bytes pass them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent through shared memory: it is not a `ShmMessage`",
    label = "not a shared-memory message type",
    note = "messages hold only bool, i8-i64, u8-u64, f32, f64, fixed arrays of them, shm::BoundedVec, shm::BoundedString, and structs with #[derive(ShmMessage)]",
    note = "String, Vec, Box, references, pointers, Option, char and enums point to or depend on memory of one process; use shm::BoundedString<N>, shm::BoundedVec<T, N>, fixed-size arrays and integer codes instead"
)]
pub unsafe trait ShmMessage: Sized + 'static {
    /// The type's layout description; its [`hash`](Schema::hash) identifies the type on a topic.
    const SCHEMA: &'static Schema;
}

/// A type a topic carries: a message (`T: ShmMessage`, one value of one fixed size), or a
/// slice of messages (`[T]`, any number of them up to a room chosen at run time; see
/// [`PublisherBuilder::max_len`](crate::PublisherBuilder::max_len)). `Publisher<T>` and
/// `Subscriber<T>` exist for both; this trait cannot be implemented outside this crate.
pub trait TopicType: sealed::Sealed + 'static {
    /// What a read returns: `T` for a message `T`, `Vec<T>` for a slice `[T]`.
    type Owned;
    /// Publishes `value`.
    #[doc(hidden)]
    fn publish(
        publisher: &mut crate::Publisher<Self>,
        value: &Self,
    ) -> Result<u64, crate::PublishError>;
    /// The newest value, or (`next`) one newer than the last one returned.
    #[doc(hidden)]
    fn read(
        subscriber: &mut crate::Subscriber<Self>,
        next: bool,
    ) -> Result<Option<crate::Sample<Self::Owned>>, crate::SubscribeError>;
    /// As `read`, into `out`.
    #[doc(hidden)]
    fn read_into(
        subscriber: &mut crate::Subscriber<Self>,
        next: bool,
        out: &mut Self::Owned,
    ) -> Result<Option<crate::Sample<()>>, crate::SubscribeError>;
    /// Every new value the ring holds, appended to `out`.
    #[doc(hidden)]
    fn read_all_into(
        subscriber: &mut crate::Subscriber<Self>,
        out: &mut Vec<crate::Sample<Self::Owned>>,
    ) -> Result<usize, crate::SubscribeError>;
    /// One step of a blocking wait.
    #[doc(hidden)]
    fn wait_step(
        subscriber: &mut crate::Subscriber<Self>,
        wait: &mut crate::wait::Wait,
    ) -> Result<crate::wait::WaitStep<Self::Owned>, crate::RecvError>;
    /// One step of a blocking wait, into `out`.
    #[doc(hidden)]
    fn wait_step_into(
        subscriber: &mut crate::Subscriber<Self>,
        wait: &mut crate::wait::Wait,
        out: &mut Self::Owned,
    ) -> Result<crate::wait::WaitStep<()>, crate::RecvError>;
    /// Creates the publisher `builder` describes.
    #[doc(hidden)]
    fn create_publisher(
        builder: crate::PublisherBuilder<Self>,
    ) -> Result<crate::Publisher<Self>, crate::CreateError>;
    /// Opens the subscriber `builder` describes.
    #[doc(hidden)]
    fn open_subscriber(
        builder: crate::SubscriberBuilder<Self>,
    ) -> Result<crate::Subscriber<Self>, crate::SubscribeError>;
}

mod sealed {
    pub trait Sealed {}
    impl<T: super::ShmMessage> Sealed for T {}
    impl<T: super::ShmMessage> Sealed for [T] {}
}

impl<T: ShmMessage> TopicType for T {
    type Owned = T;

    #[inline]
    fn publish(p: &mut crate::Publisher<T>, value: &T) -> Result<u64, crate::PublishError> {
        p.publish_typed(value)
    }

    #[inline]
    fn read(
        s: &mut crate::Subscriber<T>,
        next: bool,
    ) -> Result<Option<crate::Sample<T>>, crate::SubscribeError> {
        s.read_typed(next)
    }

    #[inline]
    fn read_into(
        s: &mut crate::Subscriber<T>,
        next: bool,
        out: &mut T,
    ) -> Result<Option<crate::Sample<()>>, crate::SubscribeError> {
        s.read_into_typed(next, out)
    }

    fn read_all_into(
        s: &mut crate::Subscriber<T>,
        out: &mut Vec<crate::Sample<T>>,
    ) -> Result<usize, crate::SubscribeError> {
        s.read_all_typed(out)
    }

    fn wait_step(
        s: &mut crate::Subscriber<T>,
        wait: &mut crate::wait::Wait,
    ) -> Result<crate::wait::WaitStep<T>, crate::RecvError> {
        s.wait_step_typed(wait)
    }

    fn wait_step_into(
        s: &mut crate::Subscriber<T>,
        wait: &mut crate::wait::Wait,
        out: &mut T,
    ) -> Result<crate::wait::WaitStep<()>, crate::RecvError> {
        s.wait_step_into_typed(wait, out)
    }

    fn create_publisher(
        builder: crate::PublisherBuilder<T>,
    ) -> Result<crate::Publisher<T>, crate::CreateError> {
        builder.create_typed()
    }

    fn open_subscriber(
        builder: crate::SubscriberBuilder<T>,
    ) -> Result<crate::Subscriber<T>, crate::SubscribeError> {
        builder.open_typed()
    }
}

impl<T: ShmMessage> TopicType for [T] {
    type Owned = Vec<T>;

    fn publish(p: &mut crate::Publisher<[T]>, items: &[T]) -> Result<u64, crate::PublishError> {
        p.publish_slice(items)
    }

    fn read(
        s: &mut crate::Subscriber<[T]>,
        next: bool,
    ) -> Result<Option<crate::Sample<Vec<T>>>, crate::SubscribeError> {
        s.read_slice(next)
    }

    fn read_into(
        s: &mut crate::Subscriber<[T]>,
        next: bool,
        out: &mut Vec<T>,
    ) -> Result<Option<crate::Sample<()>>, crate::SubscribeError> {
        s.read_into_slice(next, out)
    }

    fn read_all_into(
        s: &mut crate::Subscriber<[T]>,
        out: &mut Vec<crate::Sample<Vec<T>>>,
    ) -> Result<usize, crate::SubscribeError> {
        s.read_all_slice(out)
    }

    fn wait_step(
        s: &mut crate::Subscriber<[T]>,
        wait: &mut crate::wait::Wait,
    ) -> Result<crate::wait::WaitStep<Vec<T>>, crate::RecvError> {
        s.wait_step_slice(wait)
    }

    fn wait_step_into(
        s: &mut crate::Subscriber<[T]>,
        wait: &mut crate::wait::Wait,
        out: &mut Vec<T>,
    ) -> Result<crate::wait::WaitStep<()>, crate::RecvError> {
        s.wait_step_into_slice(wait, out)
    }

    fn create_publisher(
        builder: crate::PublisherBuilder<[T]>,
    ) -> Result<crate::Publisher<[T]>, crate::CreateError> {
        builder.create_slice()
    }

    fn open_subscriber(
        builder: crate::SubscriberBuilder<[T]>,
    ) -> Result<crate::Subscriber<[T]>, crate::SubscribeError> {
        builder.open_slice()
    }
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
