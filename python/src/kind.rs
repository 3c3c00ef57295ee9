//! The kind of a Python publisher or subscriber (which carried type), and the typed cores behind
//! both classes, all generated from the one list of carried types
//! ([`carried_types!`](crate::carried_types)).

use pyo3::prelude::*;
use pyo3::types::PyType;
use shm::ShmMessage;

use crate::carried::Carried;

macro_rules! kinds {
    ($($variant:ident => $ty:ty),* $(,)?) => {
        /// Which carried type a publisher or subscriber holds.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Kind {
            $(
                #[doc = concat!("`", stringify!($ty), "`")]
                $variant,
            )*
        }

        impl Kind {
            /// Every kind, in matching order.
            pub(crate) const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The kind a `default_value` selects, if any.
            fn selected_by(value: &Bound<'_, PyAny>) -> Option<Kind> {
                $(
                    if <$ty as Carried>::selected_by(value) {
                        return Some(Kind::$variant);
                    }
                )*
                None
            }

            /// The name of the `shm` message type in the registry (`"i64"`).
            pub(crate) fn message_name(self) -> &'static str {
                match self {
                    $(Kind::$variant => <$ty as Carried>::MESSAGE_NAME,)*
                }
            }

            /// The message type's schema hash, as the typed core knows it.
            pub(crate) fn schema_hash(self) -> u64 {
                match self {
                    $(Kind::$variant => <$ty as ShmMessage>::SCHEMA.hash(),)*
                }
            }

            /// The Python type's name (`"int"`).
            pub(crate) fn python_name(self) -> &'static str {
                match self {
                    $(Kind::$variant => <$ty as Carried>::PYTHON_NAME,)*
                }
            }

            /// How error messages name the kind (`"int (i64)"`).
            pub(crate) fn label(self) -> &'static str {
                match self {
                    $(Kind::$variant => <$ty as Carried>::LABEL,)*
                }
            }

            /// `"an int"`.
            pub(crate) fn with_article(self) -> &'static str {
                match self {
                    $(Kind::$variant => <$ty as Carried>::WITH_ARTICLE,)*
                }
            }

            /// The Python type object.
            pub(crate) fn python_type(self, py: Python<'_>) -> Bound<'_, PyType> {
                match self {
                    $(Kind::$variant => <$ty as Carried>::python_type(py),)*
                }
            }

            /// Checks that `value` is a valid value of this kind (an int in range, ...).
            fn check(self, value: &Bound<'_, PyAny>, topic: &str) -> PyResult<()> {
                match self {
                    $(Kind::$variant => <$ty as Carried>::extract(value, topic).map(drop),)*
                }
            }
        }

        /// The publisher behind a Python one.
        pub(crate) enum PublisherCore {
            $(
                #[doc = concat!("Of `", stringify!($ty), "`.")]
                $variant(shm::Publisher<$ty>),
            )*
            /// Of a message type.
            Message($crate::message::MessagePublisher),
        }

        /// The subscriber behind a Python one.
        pub(crate) enum SubscriberCore {
            $(
                #[doc = concat!("Of `", stringify!($ty), "`.")]
                $variant(shm::Subscriber<$ty>),
            )*
            /// Of a message type, or any type.
            Message($crate::message::MessageSubscriber),
        }

        impl PublisherCore {
            /// Creates the publisher of `kind` with `f`, given the carried type.
            pub(crate) fn create<E>(
                kind: Kind,
                f: impl MakePublisher<Error = E>,
            ) -> Result<PublisherCore, E> {
                Ok(match kind {
                    $(Kind::$variant => PublisherCore::$variant(f.make::<$ty>()?),)*
                })
            }
        }

        impl SubscriberCore {
            /// Opens the subscriber of `kind` with `f`, given the carried type.
            pub(crate) fn open<E>(
                kind: Kind,
                f: impl MakeSubscriber<Error = E>,
            ) -> Result<SubscriberCore, E> {
                Ok(match kind {
                    $(Kind::$variant => SubscriberCore::$variant(f.make::<$ty>()?),)*
                })
            }
        }

        /// Runs `$body` with `$p` bound to the publisher (`&mut` or `&`, as `$core`),
        /// whatever it carries: a typed `shm::Publisher<T: Carried>` or a message publisher,
        /// which have the same methods.
        macro_rules! with_publisher {
            ($core:expr, $p:ident => $body:expr) => {
                match $core {
                    $($crate::kind::PublisherCore::$variant($p) => $body,)*
                    $crate::kind::PublisherCore::Message($p) => $body,
                }
            };
        }

        /// As `with_publisher!`, for subscribers.
        macro_rules! with_subscriber {
            ($core:expr, $s:ident => $body:expr) => {
                match $core {
                    $($crate::kind::SubscriberCore::$variant($s) => $body,)*
                    $crate::kind::SubscriberCore::Message($s) => $body,
                }
            };
        }
    };
}

crate::carried_types!(kinds);

// Paths for the macros the list generated, so other modules import them like items.
#[allow(clippy::single_component_path_imports)]
pub(crate) use {with_publisher, with_subscriber};

impl Kind {
    /// The kind a `default_value` selects, checked to be a valid value of it (an int in
    /// range); `role` ("Publisher", "Subscriber") and `topic` are for the error message.
    pub(crate) fn of_default(value: &Bound<'_, PyAny>, role: &str, topic: &str) -> PyResult<Kind> {
        let Some(kind) = Kind::selected_by(value) else {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "{role} default_value must be a bool, int or float, a numpy scalar of another \
                 width (numpy.float32, numpy.uint8, numpy.int32, ...), or a value of a \
                 shm_pub_sub.Message class, which selects the topic's type, not {}",
                crate::value::describe(value)
            )));
        };
        kind.check(value, topic)?;
        Ok(kind)
    }

    /// The kind whose message is called `name`, if any.
    pub(crate) fn from_message_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.message_name() == name)
    }
}

/// Makes a typed publisher once the carried type is known (a generic closure).
pub(crate) trait MakePublisher {
    /// Why making it can fail.
    type Error;
    /// The publisher of `T`.
    fn make<T: Carried>(self) -> Result<shm::Publisher<T>, Self::Error>;
}

/// Makes a typed subscriber once the carried type is known (a generic closure).
pub(crate) trait MakeSubscriber {
    /// Why making it can fail.
    type Error;
    /// The subscriber of `T`.
    fn make<T: Carried>(self) -> Result<shm::Subscriber<T>, Self::Error>;
}
