//! Slice topics: `Publisher<[T]>`, whose room (the most elements a value holds) is chosen at
//! run time, and which may replace its topic with a larger one when a value does not fit.
//! On the wire a slice topic is a bounded sequence (`BoundedVec<T, room>`): subscribers of any
//! language read it, and slice subscribers accept any room.

use std::marker::PhantomData;
use std::sync::Arc;

use super::core::PublisherCore;
use super::{Publisher, PublisherBuilder};
use crate::error::{CreateError, PublishError};
use crate::message::ShmMessage;
use crate::schema::{SchemaDesc, TopicSchema};

/// A slice publisher's room and whether it grows.
///
/// ```no_run
/// # #[derive(shm::ShmMessage, Clone, Copy)] #[repr(C)] struct Point { x: f32, y: f32, z: f32 }
/// let mut cloud = shm::Publisher::<[Point]>::builder("lidar/points")
///     .max_len(100_000)
///     .grow(true)
///     .create()?;
/// cloud.publish(&[Point { x: 1.0, y: 2.0, z: 0.5 }])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub(super) struct SliceState {
    /// The most elements a value holds now.
    room: usize,
    /// Whether a longer value replaces the topic with one of more room.
    grow: bool,
}

/// The smallest room of at least `len` elements of `T` that fills whole 8-byte words.
fn room_for<T>(len: usize) -> usize {
    room_for_size(size_of::<T>(), len)
}

/// The smallest room of at least `len` elements of `size` bytes that fills whole 8-byte words.
fn room_for_size(size: usize, len: usize) -> usize {
    usize::try_from(crate::schema::room_for(size as u64, len as u64)).unwrap_or(usize::MAX)
}

/// The room a growing topic of `room` elements of `size` bytes takes to hold `needed`:
/// doubled until it fits, then rounded to fill whole words.
pub(crate) fn grown_room(room: usize, needed: usize, size: usize) -> usize {
    let mut grown = room.max(1);
    while grown < needed {
        grown = grown.saturating_mul(2);
    }
    room_for_size(size, grown)
}

/// The schema of a slice topic of `room` elements of `T`.
fn schema_of<T: ShmMessage>(room: usize) -> Result<TopicSchema, CreateError> {
    let desc =
        SchemaDesc::sequence(SchemaDesc::from_schema(T::SCHEMA), room as u64).map_err(|e| {
            CreateError::UnsupportedType {
                detail: e.to_string(),
            }
        })?;
    TopicSchema::new(&desc).map_err(|e| CreateError::UnsupportedType {
        detail: e.to_string(),
    })
}

impl<T: ShmMessage> PublisherBuilder<[T]> {
    /// The most elements a value holds (default 0: set it). Rounded up so that the elements
    /// fill whole 8-byte words (an odd number of `f32`s gets room for one more). The room is
    /// reserved in every slot of the topic; a publish copies only the elements it is given.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Whether a publish of more elements than the room replaces the topic with one of more
    /// room (doubled until it fits) instead of failing with [`PublishError::TooLong`] (the
    /// default). Subscribers of the slice (`Subscriber<[T]>`, Python) follow without losing a
    /// value or reading a torn one; subscribers of a fixed `BoundedVec<T, N>` are refused from
    /// then on, as for any change of type. A growth costs a new file (microseconds to
    /// milliseconds, with the room): grow rarely, by sizing `max_len` for the usual case.
    pub fn grow(mut self, grow: bool) -> Self {
        self.grow = grow;
        self
    }

    /// Creates the topic, or takes it over from a publisher that is gone (a topic of another
    /// room is replaced).
    pub(crate) fn create_slice(self) -> Result<Publisher<[T]>, CreateError> {
        let room = room_for::<T>(self.max_len);
        let schema = Arc::new(schema_of::<T>(room)?);
        Ok(Publisher {
            core: PublisherCore::create(self.options, schema)?,
            slice: Some(Box::new(SliceState {
                room,
                grow: self.grow,
            })),
            _type: PhantomData,
        })
    }
}

impl<T: ShmMessage> Publisher<[T]> {
    /// Publishes `items` and returns the value's sequence number. Copies the elements given,
    /// once, straight into the topic (never the unused room). More elements than the room:
    /// [`PublishError::TooLong`], or, when the publisher may [`grow`](PublisherBuilder::grow),
    /// a new file with room for them first.
    pub(crate) fn publish_slice(&mut self, items: &[T]) -> Result<u64, PublishError> {
        self.make_room(items.len())?;
        // SAFETY: `T` is padding-free (ShmMessage's contract), so the elements' bytes are
        // initialised, `size_of_val(items)` of them.
        let bytes =
            unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), size_of_val(items)) };
        // SAFETY: the topic's type is a bounded sequence of `T` with room for `items.len()`
        // elements (`make_room`), and `items` are valid `T`s.
        unsafe { self.core.publish_sequence(items.len() as u64, bytes) }
    }

    /// Makes sure a value of `len` elements fits: [`PublishError::TooLong`], or, when the
    /// publisher may grow, a new file with room for them.
    pub(super) fn make_room(&mut self, len: usize) -> Result<(), PublishError> {
        let state = self
            .slice
            .as_mut()
            .expect("a slice publisher has its state");
        if len > state.room {
            if !state.grow {
                return Err(PublishError::TooLong {
                    topic: self.core.topic().to_owned(),
                    len,
                    max_len: state.room,
                });
            }
            let room = grown_room(state.room, len, size_of::<T>());
            let topic = self.core.topic().to_owned();
            let failed = |why: String| PublishError::GrowFailed {
                topic: topic.clone(),
                len,
                why,
            };
            let schema = schema_of::<T>(room).map_err(|e| failed(e.to_string()))?;
            self.core
                .replace_type(Arc::new(schema))
                .map_err(|e| match e {
                    // (A displaced publisher stays displaced, as for any publish.)
                    PublishError::FileLost { why, .. } => failed(why),
                    other => other,
                })?;
            state.room = room;
        }
        Ok(())
    }

    /// The most elements a value holds now (the room, which a growing publisher enlarges).
    pub fn max_len(&self) -> usize {
        self.slice.as_ref().map_or(0, |s| s.room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_fill_whole_words() {
        assert_eq!(room_for::<f32>(3), 4);
        assert_eq!(room_for::<f64>(3), 3);
        assert_eq!(room_for::<u8>(1), 8);
        assert_eq!(room_for::<[u8; 3]>(5), 8);
        assert_eq!(room_for::<[f32; 3]>(100_000), 100_000);
        assert_eq!(room_for::<u16>(0), 0);
    }
}
