//! `shm rm` and `shm clean`: removing topic files, never one a live publisher holds, never one
//! of another user (the library's removal checks both, under the publisher's lock).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use clap::Args;
use shm::inspect::{self, Entry};
use shm::{InspectError, RemoveError};

use crate::{Failure, out};

/// Arguments of `shm rm`.
#[derive(Args, Debug)]
pub(crate) struct RmArgs {
    /// The topics.
    #[arg(required = true)]
    topics: Vec<String>,
    /// Also remove files named like these topics that are not valid topic files (damaged, or
    /// of another format version), as their error messages advise.
    #[arg(long)]
    invalid: bool,
}

/// Arguments of `shm clean`.
#[derive(Args, Debug)]
#[command(
    after_help = "A value left by `shm pub` counts as abandoned too: its publisher, \
    the command, is gone."
)]
pub(crate) struct CleanArgs {
    /// Only say what would be removed.
    #[arg(long)]
    dry_run: bool,
    /// Also remove this user's regular files named like topics that are not valid topic files.
    #[arg(long)]
    invalid: bool,
}

fn error(text: impl std::fmt::Display) {
    crate::note(format_args!("shm: error: {text}"));
}

pub(crate) fn rm(root: Option<&Path>, args: &RmArgs) -> Result<(), Failure> {
    let root = root.map_or_else(shm::default_root, Path::to_path_buf);
    let mut failed = 0;
    for topic in &args.topics {
        // A file that is not a valid topic is removed only when asked: it may be someone's
        // newer-format topic, or evidence of what went wrong.
        if !args.invalid
            && let Err(e @ InspectError::Format { .. }) = inspect::inspect(Some(&root), topic)
        {
            failed += 1;
            error(format!(
                "{e}; not removed: remove it with shm rm --invalid {topic}"
            ));
            continue;
        }
        match shm::remove_topic_in(&root, topic) {
            Ok(true) => out(format!("removed '{topic}'"))?,
            Ok(false) => {
                failed += 1;
                error(format!("no topic '{topic}' in {}", root.display()));
            }
            Err(e) => {
                failed += 1;
                error(e);
            }
        }
    }
    match failed {
        0 => Ok(()),
        // Each failure was reported; one topic needs no summary.
        _ if args.topics.len() == 1 => Err(Failure::status(1)),
        n => Err(Failure::new(format!(
            "{n} of {} topics not removed",
            args.topics.len()
        ))),
    }
}

pub(crate) fn clean(root: Option<&Path>, args: &CleanArgs) -> Result<(), Failure> {
    let root = root.map_or_else(shm::default_root, Path::to_path_buf);
    let entries = inspect::list(Some(&root))
        .map_err(|e| Failure::new(format!("cannot list {}: {e}", root.display())))?;
    let me = shm::Uid::current();
    // Kept: taken over by a publisher meanwhile. Failed: could not be removed.
    let (mut removed, mut kept, mut failed) = (0, 0, 0);
    for entry in entries {
        // Topics whose publisher is gone and, with `--invalid`, this user's regular files named
        // like topics that are not valid ones. Other users' files are theirs to clean; a
        // directory or a link named like a topic is not a topic file at all.
        let (topic, why) = match entry {
            Entry::Topic(info) if !info.publisher_alive && info.owner.uid == me => {
                (info.topic, "its publisher is gone")
            }
            Entry::Invalid {
                topic: Some(topic),
                path,
                ..
            } if args.invalid
                && std::fs::symlink_metadata(&path)
                    .is_ok_and(|m| m.is_file() && shm::Uid(m.uid()) == me) =>
            {
                (topic, "it is not a valid topic file")
            }
            _ => continue,
        };
        if args.dry_run {
            out(format!("would remove '{topic}': {why}"))?;
            removed += 1;
            continue;
        }
        match shm::remove_topic_in(&root, &topic) {
            Ok(true) => {
                out(format!("removed '{topic}': {why}"))?;
                removed += 1;
            }
            Ok(false) => {}
            // A publisher took the topic over meanwhile: it is in use again.
            Err(RemoveError::Busy { .. }) => kept += 1,
            Err(e) => {
                failed += 1;
                error(format!("could not remove '{topic}': {e}"));
            }
        }
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let topics = |n: usize| match n {
        1 => "1 topic".to_owned(),
        n => format!("{n} topics"),
    };
    match (removed, kept) {
        (0, 0) if failed == 0 => out(format!("nothing to clean in {}", root.display()))?,
        (n, 0) => out(format!("{verb} {}", topics(n)))?,
        (n, k) => out(format!(
            "{verb} {}; {} kept (a publisher took them over meanwhile)",
            topics(n),
            topics(k)
        ))?,
    }
    match failed {
        0 => Ok(()),
        n => Err(Failure::new(format!("{} could not be removed", topics(n)))),
    }
}
