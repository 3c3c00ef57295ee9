//! Typed publish/subscribe between processes on one machine, over shared memory.
//!
//! A topic holds the latest value of one message type. A [`Publisher`] writes values into a
//! small ring of slots in a shared-memory file; any number of [`Subscriber`]s in other processes
//! read the newest complete value. Publishing is wait-free (no lock, no allocation, no syscall
//! but one `stat` every 100 ms); reading is a seqlock copy that never returns a torn value. The
//! message type is checked across processes: a subscriber of another type is refused with an
//! error that says what differs.
//!
//! # Two processes
//!
//! Define the message once (a `#[repr(C)]` struct of plain data), derive [`ShmMessage`]:
//!
//! ```no_run
//! use shm::prelude::*;
//!
//! #[derive(ShmMessage, Clone, Copy, Debug)]
//! #[repr(C)]
//! struct Pose {
//!     position: [f64; 3],
//!     heading: f64,
//! }
//!
//! // Process A
//! fn publish() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut publisher = Publisher::<Pose>::new("robot/pose")?;
//!     publisher.publish(&Pose { position: [1.0, 2.0, 0.0], heading: 0.5 })?;
//!     Ok(())
//! }
//!
//! // Process B
//! fn subscribe() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut subscriber = Subscriber::<Pose>::new("robot/pose")?;
//!     match subscriber.latest()? {
//!         Some(sample) => println!("#{}: {:?}", sample.seq, sample.value),
//!         None => println!("no pose published yet"),
//!     }
//!     Ok(())
//! }
//! # publish().unwrap(); subscribe().unwrap();
//! ```
//!
//! Topic files live in `/dev/shm` (or `$SHM_ROOT`), owner-only by default. The on-disk format
//! is specified in `docs/FORMAT.md`.
//!
//! # Waiting
//!
//! [`Subscriber::recv_timeout`] blocks until a new value arrives: a short spin, then a sleep on a
//! futex in the topic file that the publisher wakes (a publisher nobody waits for makes no
//! syscall). Waits end early with [`RecvError::PublisherGone`] when the publisher exits or is
//! killed. [`Sample`]s carry their freshness (`is_new`, `missed`, `age()`), and
//! [`SubscriberBuilder::max_age`] turns old values into no value. See [`wait`].
//!
//! # Derive checks
//!
//! `#[derive(ShmMessage)]` refuses at compile time: a missing `#[repr(C)]`, padding (it says how
//! many bytes), fields that are not messages themselves (`String`, `Vec`, references, pointers,
//! `Option`, `char`, ...), enums, unions and generic structs. It generates a structural schema
//! hash and registers the type in the [`registry`].

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_endian = "little"
)))]
compile_error!(
    "shm supports 64-bit little-endian Linux on x86-64 and aarch64 only (it relies on open-file-description locks, O_TMPFILE, and Relaxed 8-byte atomic loads being sound on read-only mappings, which Rust documents for those targets)"
);

extern crate self as shm;

pub mod action;
mod bounded;
mod copy;
mod discovery;
pub mod dynamic;
/// Looking at topic files without subscribing to them (what the `shm` tool lists and describes):
/// read with `pread`, never mapped, and validated as a subscriber validates them.
pub mod inspect {
    pub use crate::segment::inspect::{
        Entries, Entry, LendingInfo, TopicInfo, file_owner, inspect, list, topic_file_size,
    };
}
mod error;
mod executor;
mod message;
mod name;
mod node;
mod owner;
mod publisher;
pub mod registry;
pub mod schema;
mod segment;
pub mod service;
pub mod stop;
mod subscriber;
mod sys;
pub mod text;
mod topic;
pub mod waitset;
pub mod wait {
    //! Blocking waits for new values: a short spin, then a shared futex in the topic header.
    //!
    //! [`Subscriber::recv_timeout`](crate::Subscriber::recv_timeout) is a loop of
    //! [`Subscriber::wait_step`](crate::Subscriber::wait_step) (look at the topic; decide whether
    //! the wait is over) and [`Sleeper::block`] (block until the topic may have changed). The two
    //! are public so that a wait can block without holding the subscriber: a Python binding
    //! releases its interpreter lock only around `block`, and checks for Ctrl-C between steps.

    pub use crate::subscriber::wait::{
        CHECK_INTERVAL, CHECK_INTERVAL_ENV, DEFAULT_SPIN, Sleeper, Wait, WaitStep,
    };
}

pub use action::{ActionClient, ActionServer, GoalStatus};
pub use bounded::{BoundedString, BoundedVec, CapacityError};
pub use error::{
    CreateError, FormatError, InspectError, IoFailure, LookupError, NameError, PublishError,
    RecvError, RemoveError, SchemaDecodeError, SchemaMismatch, SubscribeError, ValueError,
    ValueErrorKind,
};
pub use executor::{CallbackError, CallbackResult, Executor, SpinError, Stopper};
pub use message::{ShmMessage, TopicType};
pub use name::{DEFAULT_ROOT, ROOT_ENV, TopicName, TopicPattern, default_root};
pub use node::{MAX_NODE_NAME, NODE_NAME_ENV, NodeNameError, node_name, set_node_name};
pub use owner::{FileOwner, PublisherProcess, TopicOwner, Uid};
pub use publisher::{
    DEFAULT_BUFFER_NUM, DEFAULT_LENDING_BUFFER_NUM, DEFAULT_MODE, Loan, MAX_BUFFER_NUM,
    MIN_BUFFER_NUM, MIN_LENDING_BUFFER_NUM, PublishClock, Publisher, PublisherBuilder, Takeover,
};
pub use schema::Schema;
pub use segment::header::{MAX_LEND_ENTRIES, PINS_PER_ENTRY as MAX_BORROWED};
pub use service::{CallError, Client, Pending, ReplyError, Request, Server, ServerError};
pub use subscriber::{Borrowed, Sample, Subscriber, SubscriberBuilder, Timestamp};
pub use topic::{remove_topic, remove_topic_file_in, remove_topic_in};
pub use waitset::{
    AttachError, Attachable, AttachmentId, Event, EventKind, WaitSet, Waker, Watchable,
};

/// Derives [`ShmMessage`](trait@ShmMessage) for a `#[repr(C)]` struct of plain data.
///
/// Attributes: `#[shm(name = "...")]` sets the schema name (default: the bare type name);
/// `#[shm(crate = "path")]` names this crate if it is renamed.
pub use shm_derive::ShmMessage;

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The Rust guide's examples (`docs/rust.md`), compiled as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../../docs/rust.md")]
struct DocsRustDoctests;

/// The services guide's examples (`docs/services.md`).
#[cfg(doctest)]
#[doc = include_str!("../../docs/services.md")]
struct DocsServicesDoctests;

/// The types most programs need.
pub mod prelude {
    pub use crate::{Publisher, Sample, ShmMessage, Subscriber};
}

/// The publish, read and wake-up protocols, generic over the memory they run on, for the loom
/// model in `verify/`; not a public API.
#[doc(hidden)]
pub mod __model {
    pub use crate::segment::header::{MAX_SEQ, PINS_PER_ENTRY, STATE_LIVE, STATE_RETIRED};
    pub use crate::segment::lend::{
        LOCK_ENTRY, LendWords, LendWordsMut, Pin, PinWordsMut, claim, commit, pin_newest,
        pin_value, unpin,
    };
    pub use crate::segment::ring::{
        Cursor, Located, SlotRead, TopicWords, TopicWordsMut, highest_stamped_seq, locate,
        read_exact, read_highest, read_next, write,
    };
    pub use crate::segment::wake::{WakeWords, sleep, wake_ticket};
}

/// Entry points for the fuzz targets in `fuzz/` and hostile inputs for tests; not a public API.
#[doc(hidden)]
pub mod __fuzz {
    use zerocopy::FromBytes;

    use crate::schema::{Primitive, SchemaDesc};

    /// The 131-byte schema of an outside review: `[S; 2^31]` with `S { b: bool, x: u8 }`, a
    /// value of 4 GiB holding 2^31 `bool`s (one run per element once took 16 GiB to describe).
    pub fn schema_bomb() -> Vec<u8> {
        let s = SchemaDesc::c_struct(
            "S",
            vec![
                ("b".to_owned(), SchemaDesc::primitive(Primitive::Bool)),
                ("x".to_owned(), SchemaDesc::primitive(Primitive::U8)),
            ],
        )
        .expect("a struct without padding");
        SchemaDesc::array(s, 1 << 31).encode()
    }

    /// Validates a fixed header (its first 128 bytes) for a file of `file_size` bytes: the
    /// part of opening a topic file that needs no file.
    pub fn validate_header(bytes: &[u8], file_size: u64) -> Result<(), crate::FormatError> {
        let fixed = crate::segment::FixedHeader::read_from_bytes(
            bytes
                .get(..crate::segment::FIXED_SIZE)
                .ok_or(crate::FormatError::TooSmall {
                    size: bytes.len() as u64,
                    min: crate::segment::FIXED_SIZE as u64,
                })?,
        )
        .map_err(|_| crate::FormatError::BadMagic)?;
        fixed.validate(file_size).map(drop)
    }
}

/// Items used by `#[derive(ShmMessage)]`'s expansion; not a public API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
