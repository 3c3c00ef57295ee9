//! Publishing a topic whose type is known only at run time.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::Value;
use crate::error::{CreateError, PublishError};
use crate::publisher::{PubOptions, PublisherCore, Takeover, grown_room, publisher_options};
use crate::schema::{DescKind, SchemaDesc, TopicSchema};
use crate::subscriber::Timestamp;

/// Publishes values of a type given at run time ([`TopicSchema`]): bytes checked to be one
/// valid value, or a [`Value`] tree checked field by field. A topic it creates is the topic a
/// `#[derive(ShmMessage)]` type of the same schema creates (same hash): typed subscribers read
/// it, and a typed publisher may take it over, and the other way round.
pub struct AnyPublisher {
    core: PublisherCore,
}

/// Options for creating an [`AnyPublisher`]; see [`AnyPublisher::builder`].
#[must_use = "call .create() to create the publisher"]
#[derive(Debug)]
pub struct AnyPublisherBuilder {
    options: PubOptions,
    schema: Arc<TopicSchema>,
}

impl AnyPublisherBuilder {
    publisher_options!();

    /// Creates the topic, or takes it over from a publisher that is gone (as
    /// [`PublisherBuilder::create`](crate::PublisherBuilder::create)).
    pub fn create(self) -> Result<AnyPublisher, CreateError> {
        Ok(AnyPublisher {
            core: PublisherCore::create(self.options, self.schema)?,
        })
    }
}

impl AnyPublisher {
    /// Options for creating a publisher of `topic` with values of `schema`.
    pub fn builder(topic: &str, schema: Arc<TopicSchema>) -> AnyPublisherBuilder {
        AnyPublisherBuilder {
            options: PubOptions::new(topic),
            schema,
        }
    }

    /// Publishes one value's bytes (native byte order), checked: exactly the type's size, and
    /// every `bool` 0 or 1. Returns its sequence number; refuses as
    /// [`Publisher::publish`](crate::Publisher::publish) does.
    #[inline]
    pub fn publish(&mut self, bytes: &[u8]) -> Result<u64, PublishError> {
        self.check(bytes)?;
        // SAFETY: `bytes` are exactly one value's size, initialised, and a valid value (its
        // `bool`s were just checked; every other byte pattern is a value).
        unsafe { self.core.publish_raw(bytes.as_ptr()) }
    }

    /// As [`publish`](AnyPublisher::publish), stamped as published at `published` (not later
    /// than now: a time in the future is taken as now) rather than now: for a value that was
    /// published elsewhere first, such as a bridge's, whose subscribers must see its age
    /// (`Sample::published`, `max_age`) as where it was published.
    pub fn publish_stamped(
        &mut self,
        bytes: &[u8],
        published: Timestamp,
    ) -> Result<u64, PublishError> {
        self.check(bytes)?;
        // SAFETY: as in `publish`.
        unsafe {
            self.core
                .publish_raw_at(bytes.as_ptr(), Some(published.as_nanos()))
        }
    }

    fn check(&self, bytes: &[u8]) -> Result<(), PublishError> {
        let schema = self.core.schema();
        if bytes.len() != schema.size() {
            return Err(PublishError::WrongSize {
                expected: schema.size(),
                given: bytes.len(),
            });
        }
        schema.validate(bytes).map_err(PublishError::InvalidValue)
    }

    /// Publishes a value given as a tree, checked against the type part by part (the error
    /// names the part that does not fit).
    pub fn publish_value(&mut self, value: &Value) -> Result<u64, PublishError> {
        let bytes = value
            .encode(self.core.schema())
            .map_err(PublishError::InvalidValue)?;
        self.publish(&bytes)
    }

    /// For a topic of a bounded sequence (a slice topic): replaces the topic with one whose
    /// room holds at least `needed` elements (the room doubled until it does), as a growing
    /// `Publisher<[T]>` does, and returns the new room. Slice subscribers follow; the values
    /// of the ring are carried over. Refused for other types, or if the file cannot be made.
    pub fn grow(&mut self, needed: usize) -> Result<usize, PublishError> {
        let schema = self.core.schema().clone();
        let topic = self.core.topic().to_owned();
        let failed = |why: String| PublishError::GrowFailed {
            topic: topic.clone(),
            len: needed,
            why,
        };
        let DescKind::Sequence { elem, cap } = &schema.desc().kind else {
            return Err(failed(format!(
                "`{}` is not a bounded sequence",
                schema.type_name()
            )));
        };
        let cap = usize::try_from(*cap).unwrap_or(usize::MAX);
        if needed <= cap {
            return Ok(cap);
        }
        let room = grown_room(cap, needed, elem.size as usize);
        let grown = SchemaDesc::sequence((**elem).clone(), room as u64)
            .map_err(|e| failed(e.to_string()))
            .and_then(|d| TopicSchema::new(&d).map_err(|e| failed(e.to_string())))?;
        self.core
            .replace_type(Arc::new(grown))
            .map_err(|e| match e {
                PublishError::FileLost { why, .. } => failed(why),
                other => other,
            })?;
        Ok(room)
    }

    /// The type of the values.
    pub fn schema(&self) -> &Arc<TopicSchema> {
        self.core.schema()
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        self.core.topic()
    }

    /// The topic file.
    pub fn path(&self) -> &Path {
        self.core.path()
    }

    /// Number of slots in the ring.
    pub fn buffer_num(&self) -> usize {
        self.core.buffer_num()
    }

    /// The sequence number the next `publish` will return.
    pub fn next_seq(&self) -> u64 {
        self.core.next_seq()
    }

    /// What this publisher took over, if the topic existed.
    pub fn takeover(&self) -> Option<&Takeover> {
        self.core.takeover()
    }
}

impl fmt::Debug for AnyPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyPublisher")
            .field("topic", &self.topic())
            .field("type", &self.schema().type_name())
            .field("buffer_num", &self.buffer_num())
            .field("next_seq", &self.next_seq())
            .field("path", &self.path())
            .finish()
    }
}
