//! `shm rm` and `shm clean`: removing topic files, never one a live publisher holds, never one
//! of another user (the library's removal checks both, under the publisher's lock).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use clap::Args;
use shm::inspect::{self, Entry};
use shm::{InspectError, RemoveError, TopicPattern};

use crate::{Failure, format, out};

/// Arguments of `shm rm`.
#[derive(Args, Debug)]
pub(crate) struct RmArgs {
    /// The topics, or patterns (`robot/*`, `camera/**`; quote them): a pattern removes every
    /// matching topic of this user whose publisher is gone, and says which ones it kept.
    #[arg(required = true, value_name = "TOPIC")]
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
    /// Only topics matching these patterns (`robot/*`, `camera/**`; quote them).
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
    /// Only say what would be removed.
    #[arg(long)]
    dry_run: bool,
    /// Also remove this user's regular files named like topics that are not valid topic files.
    #[arg(long)]
    invalid: bool,
}

fn error(text: impl std::fmt::Display) {
    crate::error_line(&text.to_string());
}

/// The patterns given, parsed (a plain name is a pattern matching itself).
fn patterns(texts: &[String]) -> Result<Vec<TopicPattern>, Failure> {
    texts
        .iter()
        .map(|t| TopicPattern::new(t).map_err(Failure::new))
        .collect()
}

/// Whether `path` is a regular file of this user (not a link, a directory or another user's).
fn own_regular_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .is_ok_and(|m| m.is_file() && shm::Uid(m.uid()) == shm::Uid::current())
}

pub(crate) fn rm(root: Option<&Path>, args: &RmArgs) -> Result<(), Failure> {
    let root = root.map_or_else(shm::default_root, Path::to_path_buf);
    // A pattern stands for the topics of this user it matches whose publisher is gone; the
    // live ones it matches are kept, and said so. A name stands for itself (and is checked
    // as a name, below). A topic two arguments name is removed once.
    let mut topics: Vec<String> = Vec::new();
    let mut failed = 0;
    for text in &args.topics {
        let pattern = match TopicPattern::new(text) {
            Ok(p) if p.is_glob() => p,
            _ => {
                if !topics.contains(text) {
                    topics.push(text.clone());
                }
                continue;
            }
        };
        let entries = inspect::list(Some(&root))
            .map_err(|e| Failure::new(format!("cannot list {}: {e}", root.display())))?;
        let me = shm::Uid::current();
        let (mut matched, mut live) = (0, 0);
        for entry in entries {
            match entry {
                Entry::Topic(info) if pattern.matches(&info.topic) && info.owner.uid == me => {
                    matched += 1;
                    if info.publisher_alive {
                        live += 1;
                    } else if !topics.contains(&info.topic) {
                        topics.push(info.topic);
                    }
                }
                Entry::Invalid {
                    topic: Some(topic),
                    path,
                    ..
                } if args.invalid && pattern.matches(&topic) && own_regular_file(&path) => {
                    matched += 1;
                    if !topics.contains(&topic) {
                        topics.push(topic);
                    }
                }
                _ => {}
            }
        }
        if matched == 0 {
            failed += 1;
            error(format!(
                "no topic of this user matches '{text}' in {}",
                root.display()
            ));
        } else if live > 0 {
            out(format!(
                "kept {live} topic(s) matching '{text}' whose publisher is alive"
            ))?;
        }
    }
    for topic in &topics {
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
        1 if args.topics.len() == 1 => Err(Failure::status(1)),
        n => Err(Failure::new(format!("{n} of the topics given not removed"))),
    }
}

pub(crate) fn clean(root: Option<&Path>, args: &CleanArgs) -> Result<(), Failure> {
    let root = root.map_or_else(shm::default_root, Path::to_path_buf);
    let entries = inspect::list(Some(&root))
        .map_err(|e| Failure::new(format!("cannot list {}: {e}", root.display())))?;
    let me = shm::Uid::current();
    let patterns = patterns(&args.patterns)?;
    let wanted = |topic: &str| patterns.is_empty() || patterns.iter().any(|p| p.matches(topic));
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
            } if args.invalid && own_regular_file(&path) => (topic, "it is not a valid topic file"),
            // A name an older version allowed (`shm.a%20b`): no topic name reaches it, so it
            // goes by its file name.
            Entry::Invalid {
                topic: None, path, ..
            } if args.invalid && patterns.is_empty() && own_regular_file(&path) => {
                let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let shown = format::printable(file).into_owned();
                if args.dry_run {
                    out(format!(
                        "would remove file {shown}: its name is no topic name"
                    ))?;
                    removed += 1;
                    continue;
                }
                match shm::remove_topic_file_in(&root, file) {
                    Ok(true) => {
                        out(format!("removed file {shown}: its name is no topic name"))?;
                        removed += 1;
                    }
                    Ok(false) => {}
                    Err(RemoveError::Busy { .. }) => kept += 1,
                    Err(e) => {
                        failed += 1;
                        error(format!("could not remove file {shown}: {e}"));
                    }
                }
                continue;
            }
            _ => continue,
        };
        if !wanted(&topic) {
            continue;
        }
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
