//! Finding and opening the topic file: attaching, following it when it is recreated, noticing
//! its creation without a syscall per read (see [`crate::discovery`]), and refusing files of
//! owners the subscriber does not trust.

use std::io;
use std::path::Path;
use std::sync::Arc;

use super::core::{Core, Expect};
use crate::discovery::Generation;
use crate::error::{FormatError, IoFailure, SchemaMismatch, SubscribeError};
use crate::owner::{FileOwner, effective_uid, untrusted_by_subscriber};
use crate::schema::{DescKind, SchemaDesc, TopicSchema};
use crate::segment::lend::PinFailure;
use crate::segment::{OpenFailure, ReadOnly, STATE_LIVE, STATE_RETIRED, Segment};
use crate::sys;

/// What the subscriber is attached to.
pub(super) enum Attach {
    /// No topic file (yet), or it was removed.
    Detached,
    /// The topic carries another type; kept to notice when it is replaced.
    Mismatch(Arc<Segment<ReadOnly>>, Box<SchemaMismatch>),
    /// Attached to a topic of the expected type (the segment shared with the sleepers of
    /// blocking waits), with the schema its values are read with.
    Ready(Arc<Segment<ReadOnly>>, Arc<TopicSchema>),
}

/// The generation counter a subscriber watches (see [`crate::discovery`]): the one of the user
/// it trusts.
///
/// Without a usable counter (any owner trusted, or the file missing or unusable), a detached
/// subscriber looks at the path on every read (correct, at one `open()` per read); mapping the
/// counter is retried only at the by-hand check's pace (at most every 10 ms), and an attached
/// subscriber then relies on that check alone, so a planted or damaged counter costs an
/// attached subscriber nothing.
pub(super) struct Watch {
    /// The user whose counter it is; `None` when any owner is trusted.
    uid: Option<u32>,
    generation: Option<Arc<Generation>>,
    /// The counter's value when the topic's path was last looked at.
    seen: u64,
    /// The last look at the path failed, or the counter was mapped anew: look again.
    stale: bool,
}

impl Watch {
    /// The watch of the counter of `uid` (`None`: any owner) in `root`, mapped now.
    pub(super) fn new(root: &Path, uid: Option<u32>) -> Watch {
        let mut watch = Watch {
            uid,
            generation: None,
            seen: 0,
            stale: true,
        };
        watch.map(root);
        watch
    }

    /// Whether the path may have changed since [`note`](Self::note): `Some` with one atomic
    /// load when the counter is mapped, `None` when there is no usable counter.
    #[inline]
    pub(super) fn moved(&self) -> Option<bool> {
        self.generation
            .as_ref()
            .map(|g| self.stale || g.load() != self.seen)
    }

    /// Records the counter's value: call *before* looking at the path, so that a topic named
    /// after the look moves the counter past this value.
    pub(super) fn note(&mut self) {
        if let Some(g) = &self.generation {
            self.seen = g.load();
            self.stale = false;
        }
    }

    /// The look at the path after [`note`](Self::note) failed: the next read looks again,
    /// whether or not the counter moves.
    pub(super) fn look_again(&mut self) {
        self.stale = true;
    }

    /// The by-hand check (at most every 10 ms): maps the counter if there was none usable, or
    /// again if its file was removed or replaced by hand. A new mapping's value says nothing
    /// about the path: the next read looks.
    pub(super) fn recheck(&mut self, root: &Path) {
        let Some(uid) = self.uid else { return };
        match &self.generation {
            Some(g) if !g.replaced(root, uid) => {}
            Some(_) => {
                self.generation = Generation::shared(root, uid, uid == effective_uid(), true);
                self.stale = true;
            }
            None => self.map(root),
        }
    }

    fn map(&mut self, root: &Path) {
        if let Some(uid) = self.uid {
            // A subscriber may create its own user's file (publishers of that user bump it);
            // another user's file only that user makes.
            self.generation = Generation::shared(root, uid, uid == effective_uid(), false);
            self.stale = true;
        }
    }
}

impl Core {
    /// Attaches or reattaches when the state calls for it. While detached, that costs one
    /// atomic load unless the topic directory changed (one `open()` without a usable counter).
    #[inline]
    pub(super) fn attach_if_needed(&mut self) -> Result<(), SubscribeError> {
        match &self.state {
            Attach::Detached => {
                if self.recheck.due() {
                    self.watch.recheck(&self.root);
                }
                if self.watch.moved() == Some(false) {
                    Ok(())
                } else {
                    self.attach()
                }
            }
            // Replaced or removed by the library (or a damaged state word: then reopening
            // reports it); or a lending topic whose pin entry this process inherited from the
            // parent it was forked from (it takes its own).
            Attach::Ready(seg, _) | Attach::Mismatch(seg, _)
                if seg.state() != STATE_LIVE || seg.pins_inherited() =>
            {
                self.attach()
            }
            Attach::Ready(seg, _) | Attach::Mismatch(seg, _) => {
                // A topic named in the directory since the last look: if this file was removed
                // by hand and the topic made anew, follow at once. (Without a counter, the
                // by-hand check in `read` notices within 10 ms.)
                if self.watch.moved() == Some(true) {
                    self.watch.note();
                    if seg.replaced_at(&self.path) {
                        return self.attach();
                    }
                }
                Ok(())
            }
        }
    }

    /// (Re)opens the topic file, replacing the current state. If it fails, the next read
    /// tries again (the error is reported each time, never turned into "no data").
    pub(crate) fn attach(&mut self) -> Result<(), SubscribeError> {
        let result = self.try_attach();
        if result.is_err() {
            self.watch.look_again();
        }
        result
    }

    fn try_attach(&mut self) -> Result<(), SubscribeError> {
        self.state = Attach::Detached;
        self.cursor = None;
        // Before looking at the path: a topic named after this look moves the counter.
        self.watch.note();
        let file = match sys::open_existing(&self.path, false) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied && self.denied_is_absent => {
                return Ok(());
            }
            Err(e) => return Err(IoFailure::new(&self.path, "open", e).into()),
        };
        let meta = file
            .metadata()
            .map_err(|e| IoFailure::new(&self.path, "inspect", e))?;
        let untrusted = match &self.admit {
            Some(admit) => untrusted_by_subscriber(&meta, None).or_else(|| {
                let owner = FileOwner::of(&meta);
                (meta.is_file() && !admit.admits(owner.uid.0)).then_some(owner)
            }),
            None => untrusted_by_subscriber(&meta, self.trusted_uid),
        };
        if let Some(owner) = untrusted {
            return Err(SubscribeError::UntrustedOwner {
                path: self.path.clone(),
                owner,
                trusted: self.trusted,
            });
        }
        self.file_uid = Some(FileOwner::of(&meta).uid.0);
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
        let schema = match &self.expect {
            Expect::Exactly(schema) if seg.schema_hash() != schema.hash() => {
                let mismatch = self.mismatch(&seg, schema)?;
                self.state = Attach::Mismatch(Arc::new(seg), Box::new(mismatch));
                return Ok(());
            }
            Expect::Exactly(schema) => {
                let l = seg.layout();
                if l.elem_size != schema.size() as u64 || l.elem_align != schema.align() as u64 {
                    return Err(SubscribeError::Format {
                        path: self.path.clone(),
                        source: FormatError::Inconsistent {
                            field: "elem_size",
                            detail: format!(
                                "{} bytes aligned to {} for a schema that needs {} aligned to {}",
                                l.elem_size,
                                l.elem_align,
                                schema.size(),
                                schema.align()
                            ),
                        },
                    });
                }
                schema.clone()
            }
            Expect::SequenceOf(elem) => {
                let topic = seg
                    .topic_schema()
                    .map_err(|source| SubscribeError::Format {
                        path: self.path.clone(),
                        source,
                    })?;
                let room = match &topic.desc().kind {
                    DescKind::Sequence { elem: e, .. } if **e == *elem.desc() => None,
                    DescKind::Sequence { cap, .. } => Some(*cap),
                    _ => Some(8),
                };
                if let Some(room) = room {
                    // What differs, against a sequence of our elements of the topic's room.
                    let ours = SchemaDesc::sequence(elem.desc().clone(), room)
                        .ok()
                        .and_then(|d| TopicSchema::new(&d).ok())
                        .unwrap_or_else(|| (**elem).clone());
                    let mut mismatch = self.mismatch(&seg, &ours)?;
                    mismatch.expected_type = format!("[{}]", elem.type_name());
                    self.state = Attach::Mismatch(Arc::new(seg), Box::new(mismatch));
                    return Ok(());
                }
                Arc::new(topic)
            }
            Expect::Any => {
                Arc::new(
                    seg.topic_schema()
                        .map_err(|source| SubscribeError::Format {
                            path: self.path.clone(),
                            source,
                        })?,
                )
            }
        };
        let mut seg = seg;
        seg.set_runs(&schema);
        if self.watch_only {
            self.state = Attach::Ready(Arc::new(seg), schema);
            return Ok(());
        }
        seg.take_pin_entry(self.max_borrowed).map_err(|e| match e {
            PinFailure::ReadOnly => SubscribeError::CannotPin {
                topic: self.topic.as_str().to_owned(),
                path: self.path.clone(),
            },
            PinFailure::Full { needed } => SubscribeError::TooManyBorrowers {
                topic: self.topic.as_str().to_owned(),
                slots: seg.layout().slot_count,
                needed,
            },
            PinFailure::Io(e) => IoFailure::new(&self.path, "take a pin entry in", e).into(),
        })?;
        self.state = Attach::Ready(Arc::new(seg), schema);
        Ok(())
    }

    fn mismatch(
        &self,
        seg: &Segment<ReadOnly>,
        ours: &TopicSchema,
    ) -> Result<SchemaMismatch, SubscribeError> {
        let topic_desc = seg.schema_desc().map_err(|source| SubscribeError::Format {
            path: self.path.clone(),
            source,
        })?;
        Ok(SchemaMismatch {
            topic: self.topic.as_str().to_owned(),
            topic_type: topic_desc.type_name(),
            topic_hash: seg.schema_hash(),
            expected_type: ours.type_name(),
            expected_hash: ours.hash(),
            differences: topic_desc.differences(ours.desc()),
        })
    }
}
