//! Options for creating a publisher, and the creation itself (which `create.rs` carries out).

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::path::PathBuf;

use super::create::{Attempt, Created, Plan};
use super::{MAX_BUFFER_NUM, MIN_BUFFER_NUM, Publisher, Timestamps};
use crate::error::{CreateError, IoFailure};
use crate::message::ShmMessage;
use crate::name::{TopicName, default_root};
use crate::segment::{Layout, LayoutError};
use crate::sys::{self, ProcessIdentity};

/// Options for creating a [`Publisher`]; see [`Publisher::builder`].
#[must_use = "call .create() to create the publisher"]
pub struct PublisherBuilder<T: ShmMessage> {
    pub(super) topic: String,
    pub(super) buffer_num: usize,
    pub(super) mode: Option<u32>,
    pub(super) root: Option<PathBuf>,
    pub(super) timestamps: Timestamps,
    pub(super) _type: PhantomData<fn(&T)>,
}

impl<T: ShmMessage> fmt::Debug for PublisherBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublisherBuilder")
            .field("topic", &self.topic)
            .field("type", &T::SCHEMA.type_name())
            .field("buffer_num", &self.buffer_num)
            .field("mode", &self.mode)
            .field("root", &self.root)
            .field("timestamps", &self.timestamps)
            .finish()
    }
}

impl<T: ShmMessage> PublisherBuilder<T> {
    /// How values are stamped with their publish time (default [`Timestamps::Precise`]).
    pub fn timestamps(mut self, timestamps: Timestamps) -> Self {
        self.timestamps = timestamps;
        self
    }

    /// Number of slots in the ring (default 3). More slots let slow readers finish a copy while
    /// the publisher keeps writing; each costs one message-size slot of memory.
    pub fn buffer_num(mut self, n: usize) -> Self {
        self.buffer_num = n;
        self
    }

    /// Permission bits of the topic file (default `0o600`, owner only). Must include `0o600`
    /// and may add read access: `0o640` lets the owner's group subscribe, `0o644` everyone.
    /// Subscribers need no write access, so none can be given (a blocking wait in a process
    /// that may only read the file looks for new values every millisecond instead of being
    /// woken). When set, it also applies
    /// to an existing topic file this publisher takes over; when not set, a taken-over file
    /// keeps its mode.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Directory of topic files (default: `$SHM_ROOT`, else `/dev/shm`).
    pub fn root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.root = Some(dir.into());
        self
    }

    /// Creates the topic, or takes it over from a publisher that is gone.
    pub fn create(self) -> Result<Publisher<T>, CreateError> {
        let topic = TopicName::new(&self.topic).map_err(CreateError::InvalidName)?;
        if !(MIN_BUFFER_NUM..=MAX_BUFFER_NUM).contains(&self.buffer_num) {
            return Err(CreateError::InvalidBufferNum {
                requested: self.buffer_num,
                min: MIN_BUFFER_NUM,
                max: MAX_BUFFER_NUM,
            });
        }
        if let Some(mode) = self.mode.filter(|m| m & 0o600 != 0o600 || m & !0o644 != 0) {
            return Err(CreateError::InvalidMode { mode });
        }
        let schema = T::SCHEMA.encode();
        let layout = Layout::compute(
            size_of::<T>() as u64,
            align_of::<T>() as u64,
            self.buffer_num as u32,
            schema.len() as u64,
        )
        .map_err(|e| match e {
            LayoutError::ElemSize(_) | LayoutError::TotalSize => CreateError::TooLarge {
                bytes: (size_of::<T>() as u64).saturating_mul(self.buffer_num as u64),
            },
            other => CreateError::UnsupportedType {
                detail: format!("{}: {other}", other.field()),
            },
        })?;
        let root = self.root.unwrap_or_else(default_root);
        let path = root.join(topic.file_name());
        let plan = Plan {
            root: &root,
            path: &path,
            topic: &topic,
            layout,
            schema: &schema,
            schema_hash: T::SCHEMA.hash(),
            validate: &|bytes| T::SCHEMA.bytes_valid(bytes),
            mode: self.mode,
            me: ProcessIdentity::current(),
            generation: RefCell::new(None),
        };
        let fork_generation = sys::fork_generation()
            .map_err(|e| IoFailure::new(&root, "register the fork handler for", e))?;
        // Each pass either finishes or observed another process change the path meanwhile.
        for _ in 0..16 {
            if let Attempt::Done(created) = plan.attempt()? {
                let Created {
                    mut seg,
                    next_seq,
                    takeover,
                } = *created;
                seg.use_light_fence();
                let slot_count = seg.layout().slot_count;
                let generation = plan.generation.take();
                return Ok(Publisher {
                    next_slot: (next_seq % u64::from(slot_count)) as u32,
                    slot_count,
                    timestamps: self.timestamps,
                    seg,
                    topic,
                    path,
                    next_seq,
                    takeover,
                    fork_generation,
                    _generation: generation,
                    _type: PhantomData,
                });
            }
        }
        Err(CreateError::Io {
            path,
            action: "create",
            source: io::Error::other("the topic file kept changing under concurrent publishers"),
        })
    }
}
