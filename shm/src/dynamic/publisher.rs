//! Publishing a topic whose type is known only at run time.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::Value;
use crate::error::{CreateError, PublishError};
use crate::publisher::{PubOptions, PublisherCore, Takeover, grown_room, publisher_options};
use crate::schema::{BOUNDED_DATA_OFFSET, DescKind, SchemaDesc, TopicSchema, length_at};
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

    /// Lets these users and groups read the file too (an access ACL beside the mode, which is
    /// `0o600` unless set): for services across users.
    pub(crate) fn readers(mut self, readers: crate::sys::Readers) -> Self {
        self.options.readers = readers;
        self
    }

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

    /// For a topic of a bounded sequence (a slice topic): publishes the value whose elements
    /// are `elems` (their bytes back to back, native byte order), checked as
    /// [`publish`](Self::publish) checks a value. The elements are copied once, straight into
    /// the topic (nothing of the room past them), where `publish` would take a whole value
    /// assembled first. Returns its sequence number.
    ///
    /// # Errors
    /// [`PublishError::TooLong`] for more elements than the room (see [`grow`](Self::grow));
    /// [`PublishError::InvalidValue`] for bytes that are not whole valid elements, or a topic
    /// that is not a bounded sequence; otherwise as `publish`.
    pub fn publish_sequence(&mut self, elems: &[u8]) -> Result<u64, PublishError> {
        let schema = self.core.schema();
        let len = schema
            .validate_elements(elems)
            .map_err(PublishError::InvalidValue)?;
        let cap = schema.sequence_cap().unwrap_or(0); // (other types refused above)
        if len as u64 > cap {
            return Err(PublishError::TooLong {
                topic: self.core.topic().to_owned(),
                len,
                max_len: usize::try_from(cap).unwrap_or(usize::MAX),
            });
        }
        // SAFETY: the topic's type is a bounded sequence of capacity at least `len`, and
        // `elems` are `len` valid elements of it (just checked).
        unsafe { self.core.publish_sequence(len as u64, elems) }
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

    /// Whether this publisher's topic is a lending one
    /// ([`PublisherBuilder::lending`](crate::PublisherBuilder::lending)).
    pub fn is_lending(&self) -> bool {
        self.core.is_lending()
    }

    /// Lends the slot of a lending topic the next value goes into, to write in place (as
    /// [`Publisher::loan_uninit`](crate::Publisher::loan_uninit)), for callers that cannot hold
    /// a borrow of the publisher meanwhile (language bindings): the loan holds the mapping, and
    /// [`publish_loan`](Self::publish_loan) checks it is still this publisher's. Its bytes are
    /// the slot's as they are (an earlier value, or zeros). No process reads the slot until it
    /// is published; any other publish, or a new loan, gives it up (its bytes must not be
    /// written after that: the slot may be claimed again).
    pub fn loan_bytes(&mut self) -> Result<BytesLoan, PublishError> {
        let (seq, slot, _) = self.core.loan_raw()?;
        Ok(BytesLoan {
            seg: Arc::clone(self.core.segment()),
            seq,
            slot,
            len: self.core.schema().size(),
        })
    }

    /// Publishes the value written into `loan`'s slot, checked (every `bool` 0 or 1, every
    /// bounded length within its room); returns its sequence number. A slice topic's value is
    /// checked up to its length, and the room past it, which holds what the slot held before,
    /// is zeroed if it holds no valid elements.
    ///
    /// # Errors
    /// [`PublishError::InvalidValue`] for bytes that are not a value (nothing is published;
    /// the loan is given up); [`PublishError::LoanGivenUp`] for a loan that is not this
    /// publisher's last, or was given up by another publish; [`PublishError::ForkedProcess`]
    /// in a forked child.
    pub fn publish_loan(&mut self, loan: &BytesLoan) -> Result<u64, PublishError> {
        if !self.core.in_own_process() {
            return Err(PublishError::ForkedProcess);
        }
        if !Arc::ptr_eq(&loan.seg, self.core.segment())
            || !self.core.is_current_loan(loan.seq, loan.slot)
        {
            return Err(PublishError::LoanGivenUp {
                topic: self.core.topic().to_owned(),
            });
        }
        // SAFETY: the slot is claimed by this publisher (its current loan): no other process
        // reads or writes it, and no other reference to it exists during this check.
        let bytes = unsafe { std::slice::from_raw_parts(loan.as_mut_ptr().cast_const(), loan.len) };
        let schema = self.core.schema();
        // A bounded sequence's value is its length and that many elements: the room past them
        // is the slot's own business (`commit_sequence` makes it valid).
        let checked = match schema.sequence_cap() {
            Some(cap) if length_at(bytes, 0) <= cap => {
                let len = length_at(bytes, 0);
                let elems = &bytes[BOUNDED_DATA_OFFSET as usize..schema.sequence_bytes(len)];
                schema.validate_elements(elems).map(|_| Some(len))
            }
            _ => schema.validate(bytes).map(|()| None),
        };
        match checked {
            Err(e) => {
                self.core.give_up_loan();
                Err(PublishError::InvalidValue(e))
            }
            // SAFETY: the loan is this publisher's current one, holding a valid length and
            // that many valid elements (just checked).
            Ok(Some(len)) => Ok(unsafe { self.core.commit_sequence(loan.seq, loan.slot, len) }),
            // SAFETY: the loan is this publisher's current one, and its bytes were just
            // checked to be a valid value.
            Ok(None) => Ok(unsafe { self.core.commit_loan(loan.seq, loan.slot) }),
        }
    }

    /// Slots of this lending topic no publish or loan may take (replacing the last list): a
    /// binding's loans whose memory something it handed out may still write. Not for
    /// applications.
    #[doc(hidden)]
    pub fn avoid_slots(&mut self, slots: Vec<u32>) {
        self.core.avoid_slots(slots);
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

/// A slot of a lending topic lent to an [`AnyPublisher`] ([`AnyPublisher::loan_bytes`]): the
/// bytes to write the next value into, in place. It keeps the topic file mapped, so its pointer
/// stays valid for as long as it lives, even if the publisher moves to another file.
pub struct BytesLoan {
    seg: Arc<crate::segment::Segment<crate::segment::ReadWrite>>,
    seq: u64,
    slot: u32,
    len: usize,
}

impl fmt::Debug for BytesLoan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BytesLoan")
            .field("seq", &self.seq)
            .field("slot", &self.slot)
            .field("len", &self.len)
            .finish()
    }
}

impl BytesLoan {
    /// The slot's first byte: `len()` bytes, aligned for the topic's type, writable until the
    /// loan is published or given up.
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.seg.slot_data(self.slot)
    }

    /// The value's size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the value has no bytes (a zero-sized type).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sequence number the value gets when published.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The slot (for [`AnyPublisher::avoid_slots`]).
    pub fn slot(&self) -> u32 {
        self.slot
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
