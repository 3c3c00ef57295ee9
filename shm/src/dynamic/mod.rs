//! Topics without their Rust type: read any topic with the schema stored in its file, decode its
//! values into a [`Value`] tree (`serde::Serialize` with the `serde` feature, so JSON is one
//! call), and publish values checked against a schema. The `shm` command-line tool, the Python
//! binding's message classes and the network bridge are all built on this one API.
//!
//! The guarantees are the typed API's: values are seqlock-consistent copies, `bool`s are
//! validated, and both sides interoperate: an [`AnySubscriber`] reads a topic of a
//! `#[derive(ShmMessage)]` type, and a typed [`Subscriber`](crate::Subscriber) reads a topic an
//! [`AnyPublisher`] created from the same schema (the hashes agree).
//!
//! ```no_run
//! use shm::dynamic::AnySubscriber;
//!
//! let mut topic = AnySubscriber::new("robot/pose")?;
//! if let Some(sample) = topic.latest()? {
//!     // `Pose { position: [1.0, 2.0, 0.0], heading: 0.5, ... }`, whatever the topic's type.
//!     println!("#{} {}", sample.seq, sample.value.decode());
//! }
//! # Ok::<(), shm::SubscribeError>(())
//! ```

mod publisher;
mod subscriber;
mod text;
mod value;
mod walk;

pub use crate::schema::TopicSchema;
pub use publisher::{AnyPublisher, AnyPublisherBuilder, BytesLoan};
pub use subscriber::{AnySubscriber, AnySubscriberBuilder, BorrowedBytes, RawValue};
pub use text::{BlockStats, block_len, mean_text, quoted, scalar_text, show, show_summarized};
pub use value::Value;
pub use walk::{
    Decode, Problem, Scalar, Source, decode_part_with, decode_primitive, decode_with,
    encode_primitive, encode_with,
};
