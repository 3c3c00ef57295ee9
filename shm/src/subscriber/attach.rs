//! Finding and opening the topic file: attaching, following it when it is recreated, noticing
//! its creation without a syscall per read (see [`crate::discovery`]), and refusing files of
//! owners the subscriber does not trust.

use std::io;
use std::path::Path;
use std::sync::Arc;

use super::Subscriber;
use crate::discovery::Generation;
use crate::error::{FormatError, IoFailure, SchemaMismatch, SubscribeError};
use crate::message::ShmMessage;
use crate::owner::{TopicOwner, effective_uid, untrusted_by_subscriber};
use crate::schema::SchemaDesc;
use crate::segment::{OpenFailure, ReadOnly, STATE_LIVE, STATE_RETIRED, Segment};
use crate::sys;

/// What the subscriber is attached to.
pub(crate) enum Attach {
    /// No topic file (yet), or it was removed.
    Detached,
    /// The topic carries another type; kept to notice when it is replaced.
    Mismatch(Arc<Segment<ReadOnly>>, Box<SchemaMismatch>),
    /// Attached to a topic of our type (shared with the sleepers of blocking waits).
    Ready(Arc<Segment<ReadOnly>>),
}

/// The generation counter a subscriber watches (see [`crate::discovery`]): the one of the user
/// it trusts. Without one (any owner trusted, or the file unusable), every look says "moved".
pub(super) struct Watch {
    /// The user whose counter it is; `None` when any owner is trusted.
    uid: Option<u32>,
    generation: Option<Arc<Generation>>,
    /// The counter's value when the topic's path was last looked at.
    seen: u64,
}

impl Watch {
    pub(super) fn new(trusted: TopicOwner) -> Watch {
        Watch {
            uid: trusted.uid(),
            generation: None,
            seen: 0,
        }
    }

    /// Whether the path may have changed since [`note`](Self::note): one atomic load when the
    /// counter is mapped; else tries to map it (a syscall) and says yes.
    #[inline]
    pub(super) fn moved(&mut self, root: &Path) -> bool {
        match &self.generation {
            Some(g) => g.load() != self.seen,
            None => {
                self.map(root);
                true
            }
        }
    }

    /// Records the counter's value: call *before* looking at the path, so that a topic named
    /// after the look moves the counter past this value.
    pub(super) fn note(&mut self, root: &Path) {
        if self.generation.is_none() {
            self.map(root);
        }
        if let Some(g) = &self.generation {
            self.seen = g.load();
        }
    }

    /// Maps the counter's file again if it was removed or replaced by hand.
    pub(super) fn recheck(&mut self, root: &Path) {
        if let (Some(g), Some(uid)) = (&self.generation, self.uid)
            && g.replaced(root, uid)
        {
            self.generation = Generation::shared(root, uid, uid == effective_uid(), true);
        }
    }

    fn map(&mut self, root: &Path) {
        if let Some(uid) = self.uid {
            // A subscriber may create its own user's file (publishers of that user bump it);
            // another user's file only that user makes.
            self.generation = Generation::shared(root, uid, uid == effective_uid(), false);
        }
    }
}

impl<T: ShmMessage> Subscriber<T> {
    /// Attaches or reattaches when the state calls for it. While detached, that costs one
    /// atomic load unless the topic directory changed.
    #[inline]
    pub(super) fn attach_if_needed(&mut self) -> Result<(), SubscribeError> {
        match &self.state {
            Attach::Detached => {
                if self.recheck.due() {
                    self.watch.recheck(&self.root);
                }
                if self.watch.moved(&self.root) {
                    self.attach()
                } else {
                    Ok(())
                }
            }
            // Replaced or removed by the library (or a damaged state word: then reopening
            // reports it).
            Attach::Ready(seg) | Attach::Mismatch(seg, _) if seg.state() != STATE_LIVE => {
                self.attach()
            }
            Attach::Ready(seg) | Attach::Mismatch(seg, _) => {
                // A topic named in the directory since the last look: if this file was removed
                // by hand and the topic made anew, follow at once.
                if self.watch.moved(&self.root) {
                    self.watch.note(&self.root);
                    if seg.replaced_at(&self.path) {
                        return self.attach();
                    }
                }
                Ok(())
            }
        }
    }

    /// (Re)opens the topic file, replacing the current state.
    pub(crate) fn attach(&mut self) -> Result<(), SubscribeError> {
        self.state = Attach::Detached;
        self.cursor = None;
        // Before looking at the path: a topic named after this look moves the counter.
        self.watch.note(&self.root);
        let file = match sys::open_existing(&self.path, false) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(IoFailure::new(&self.path, "open", e).into()),
        };
        let meta = file
            .metadata()
            .map_err(|e| IoFailure::new(&self.path, "inspect", e))?;
        if let Some(owner) = untrusted_by_subscriber(&meta, self.trusted) {
            return Err(SubscribeError::UntrustedOwner {
                path: self.path.clone(),
                owner,
                trusted: self.trusted,
            });
        }
        let seg = match Segment::<ReadOnly>::open(file, &self.path) {
            Ok(seg) => seg,
            Err(OpenFailure::Format(source)) => {
                return Err(SubscribeError::Format {
                    path: self.path.clone(),
                    source,
                });
            }
            Err(OpenFailure::Io(e)) => return Err(e.into()),
        };
        if seg.state() == STATE_RETIRED {
            // Retired but still named: a removal between this open and its unlink. As good as
            // absent; the removal moves the counter once done.
            return Ok(());
        }
        if seg.schema_hash() != T::SCHEMA.hash() {
            let mismatch = self.mismatch(&seg)?;
            self.state = Attach::Mismatch(Arc::new(seg), Box::new(mismatch));
            return Ok(());
        }
        let l = seg.layout();
        if l.elem_size != size_of::<T>() as u64 || l.elem_align != align_of::<T>() as u64 {
            return Err(SubscribeError::Format {
                path: self.path.clone(),
                source: FormatError::Inconsistent {
                    field: "elem_size",
                    detail: format!(
                        "{} bytes aligned to {} for a schema that needs {} aligned to {}",
                        l.elem_size,
                        l.elem_align,
                        size_of::<T>(),
                        align_of::<T>()
                    ),
                },
            });
        }
        self.state = Attach::Ready(Arc::new(seg));
        Ok(())
    }

    fn mismatch(&self, seg: &Segment<ReadOnly>) -> Result<SchemaMismatch, SubscribeError> {
        let topic_desc = seg.schema_desc().map_err(|source| SubscribeError::Format {
            path: self.path.clone(),
            source,
        })?;
        let ours = SchemaDesc::from_schema(T::SCHEMA);
        Ok(SchemaMismatch {
            topic: self.topic.as_str().to_owned(),
            topic_type: topic_desc.type_name(),
            topic_hash: seg.schema_hash(),
            expected_type: ours.type_name(),
            expected_hash: T::SCHEMA.hash(),
            differences: topic_desc.differences(&ours),
        })
    }
}
