//! Managing topic files: removal.

use std::io;
use std::path::Path;

use crate::discovery;
use crate::error::{IoFailure, RemoveError};
use crate::name::{TopicName, default_root};
use crate::segment::{Claim, ReadWrite, Segment, claim};

/// Removes a topic from `$SHM_ROOT` (or `/dev/shm`): see [`remove_topic_in`].
pub fn remove_topic(topic: &str) -> Result<bool, RemoveError> {
    remove_topic_in(&default_root(), topic)
}

/// Removes a topic's file from `root`, unless a live publisher holds it. Attached subscribers
/// notice at their next read and report "no data" until a publisher creates the topic again.
/// Returns whether there was a file. Files that are not valid topics are removed too (that is
/// the remedy the format errors suggest).
pub fn remove_topic_in(root: &Path, topic: &str) -> Result<bool, RemoveError> {
    let name = TopicName::new(topic).map_err(RemoveError::InvalidName)?;
    remove_path(root, &root.join(name.file_name()), topic)
}

/// Removes the topic file named `file_name` (`shm.` and an encoded name) from `root`, unless a
/// live publisher holds it, as [`remove_topic_in`] does: for files whose name decodes to no
/// valid topic name (one an older version allowed, such as `shm.a%20b`), which no topic name
/// reaches. Returns whether there was a file.
pub fn remove_topic_file_in(root: &Path, file_name: &str) -> Result<bool, RemoveError> {
    let topic = file_name.strip_prefix(crate::name::FILE_PREFIX);
    let Some(topic) = topic.filter(|t| !t.is_empty() && !t.contains('/') && !t.starts_with('.'))
    else {
        return Err(RemoveError::InvalidName(
            crate::error::NameError::InvalidFileName {
                file_name: file_name.to_owned(),
            },
        ));
    };
    remove_path(root, &root.join(file_name), topic)
}

/// Removes the topic file at `path` (of `topic`, for messages) under its publisher's lock.
fn remove_path(root: &Path, path: &Path, topic: &str) -> Result<bool, RemoveError> {
    // The lock taken below must not be shared with a child forked meanwhile.
    crate::sys::fork_generation()
        .map_err(|e| IoFailure::new(root, "register the fork handler for", e))?;
    let path = path.to_path_buf();
    // Each pass either finishes or saw the path change under it (a new publisher's file).
    for _ in 0..16 {
        // The locked descriptor holds the lock until it is dropped at the end of this pass:
        // only then may a publisher take the topic, and by then its name is gone.
        let file = match claim(&path)? {
            Claim::Absent => return Ok(false),
            Claim::Busy(owner) => {
                return Err(RemoveError::Busy {
                    topic: topic.to_owned(),
                    owner,
                });
            }
            Claim::Foreign(owner) => return Err(RemoveError::ForeignFile { path, owner }),
            Claim::Moved => continue,
            Claim::Locked(file) => file,
        };
        // Another open file description of the file, for the mapping: it does not carry the
        // lock, so a `fork` meanwhile gives the child no share of it, and closing it releases
        // nothing.
        let other = crate::sys::reopen_for_mapping(file.file())
            .map_err(|e| IoFailure::new(&path, "open", e))?;
        let removed = match std::fs::remove_file(&path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(IoFailure::new(&path, "remove", e).into()),
        };
        // Attached subscribers see this flag on their next read and reopen the absent path.
        if let Ok(seg) = Segment::<ReadWrite>::open(other, &path) {
            seg.retire();
        }
        drop(file);
        if removed {
            // After the name is gone: subscribers of this user notice at their next read.
            let _ = discovery::announce(root);
        }
        return Ok(removed);
    }
    Err(IoFailure::new(
        &path,
        "remove",
        io::Error::other("the topic file kept changing under concurrent publishers"),
    )
    .into())
}
