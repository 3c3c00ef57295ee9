//! Options for creating a publisher (written once for both builders), and the typed builder.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use super::Publisher;
use super::core::{PubOptions, PublisherCore};
use crate::error::CreateError;
use crate::message::{ShmMessage, TopicType};
use crate::schema::TopicSchema;

/// Options for creating a [`Publisher`]; see [`Publisher::builder`].
#[must_use = "call .create() to create the publisher"]
pub struct PublisherBuilder<T: ?Sized> {
    pub(super) options: PubOptions,
    /// A slice topic's room, in elements.
    pub(super) max_len: usize,
    /// Whether a slice publisher may grow the room.
    pub(super) grow: bool,
    pub(super) _type: PhantomData<fn(&T)>,
}

impl<T: ?Sized> PublisherBuilder<T> {
    pub(super) fn new(topic: &str) -> PublisherBuilder<T> {
        PublisherBuilder {
            options: PubOptions::new(topic),
            max_len: 0,
            grow: false,
            _type: PhantomData,
        }
    }
}

impl<T: ?Sized> fmt::Debug for PublisherBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublisherBuilder")
            .field("options", &self.options)
            .field("type", &std::any::type_name::<T>())
            .finish()
    }
}

/// The builder methods both publisher builders have (this one and
/// [`AnyPublisherBuilder`](crate::dynamic::AnyPublisherBuilder)), written once.
macro_rules! publisher_options {
    () => {
        /// How values are stamped with their publish time (default
        /// [`PublishClock::Precise`](crate::PublishClock::Precise)).
        pub fn clock(mut self, clock: crate::PublishClock) -> Self {
            self.options.clock = clock;
            self
        }

        /// Number of slots in the ring (default 3). More slots let slow readers finish a copy
        /// while the publisher keeps writing, and let readers of every value
        /// (`try_recv_all`) fall further behind; each costs one message-size slot of memory.
        pub fn buffer_num(mut self, n: usize) -> Self {
            self.options.buffer_num = Some(n);
            self
        }

        /// Makes a *lending* topic: its values are written in place
        /// ([`Publisher::loan`](crate::Publisher::loan)) and read in place
        /// ([`Subscriber::borrow`](crate::Subscriber::borrow)), with no copy at any size, and
        /// copied (`publish`, `latest`, ...) at `memcpy` speed. Every subscriber pins the slots
        /// it reads, so the publisher never writes them meanwhile: the owner's subscribers in
        /// the topic file, other users' (admitted by [`mode`](Self::mode)) with locks the kernel
        /// keeps, which costs the publisher two system calls (about 1 µs) per publish. A topic of `n` slots
        /// serves subscribers holding together at most `n - 2` values (`buffer_num` defaults to
        /// 10 for a lending topic; the most is 66). For large values (frames, clouds): below a
        /// few KiB the default copying topic is as fast. See the performance guide.
        pub fn lending(mut self, on: bool) -> Self {
            self.options.lending = on;
            self
        }

        /// Permission bits of the topic file (default `0o600`, owner only). Must include
        /// `0o600` and may add read access: `0o640` lets the owner's group subscribe, `0o644`
        /// everyone. Subscribers need no write access, so none can be given (a blocking wait
        /// in a process that may only read the file looks for new values every millisecond
        /// instead of being woken). When set, it also applies to an existing topic file this
        /// publisher takes over; when not set, a taken-over file keeps its mode.
        pub fn mode(mut self, mode: u32) -> Self {
            self.options.mode = Some(mode);
            self
        }

        /// Directory of topic files (default: `$SHM_ROOT`, else `/dev/shm`).
        pub fn root(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
            self.options.root = Some(dir.into());
            self
        }
    };
}
pub(crate) use publisher_options;

impl<T: ?Sized + TopicType> PublisherBuilder<T> {
    publisher_options!();

    /// Creates the topic, or takes it over from a publisher that is gone (a topic of another
    /// type, or another number of slots, is replaced by a new file).
    pub fn create(self) -> Result<Publisher<T>, CreateError> {
        T::create_publisher(self)
    }
}

impl<T: ShmMessage> PublisherBuilder<T> {
    pub(crate) fn create_typed(self) -> Result<Publisher<T>, CreateError> {
        let schema = Arc::new(TopicSchema::of(T::SCHEMA));
        Ok(Publisher {
            core: PublisherCore::create(self.options, schema)?,
            slice: None,
            _type: PhantomData,
        })
    }
}
