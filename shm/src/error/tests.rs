//! Every public error, one value per variant: an error reporter that prints the whole chain
//! (`Display`, then each `source()`) never prints a message twice.

use std::error::Error;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::owner::{FileOwner, PublisherProcess, TopicOwner, Uid};

fn path() -> PathBuf {
    PathBuf::from("/dev/shm/shm.t")
}

fn io_error() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSPC)
}

fn owner() -> PublisherProcess {
    PublisherProcess {
        pid: 42,
        process_name: "robot".into(),
        start_ticks: 7,
        node_name: String::new(),
    }
}

fn file_owner() -> FileOwner {
    FileOwner {
        uid: Uid(65534),
        mode: 0o644,
    }
}

fn format_errors() -> Vec<FormatError> {
    vec![
        FormatError::TooSmall { size: 1, min: 320 },
        FormatError::BadMagic,
        FormatError::UnsupportedVersion {
            found: 9,
            supported: 3,
        },
        FormatError::Inconsistent {
            field: "stride",
            detail: "7".into(),
        },
        FormatError::Truncated { size: 1, needed: 2 },
        FormatError::SchemaCorrupt {
            detail: "bad".into(),
        },
        FormatError::NotAFile,
    ]
}

fn mismatch() -> SchemaMismatch {
    SchemaMismatch {
        topic: "t".into(),
        topic_type: "Pose".into(),
        topic_hash: 1,
        expected_type: "Twist".into(),
        expected_hash: 2,
        differences: vec!["field `x`: f64 at offset 0 exists only here".into()],
    }
}

fn subscribe_errors() -> Vec<SubscribeError> {
    let mut all = vec![
        SubscribeError::InvalidName(NameError::Empty),
        SubscribeError::SchemaMismatch(Box::new(mismatch())),
        SubscribeError::UntrustedOwner {
            path: path(),
            owner: file_owner(),
            trusted: TopicOwner::Me,
        },
        SubscribeError::InvalidValue {
            topic: "t".into(),
            seq: 3,
        },
        SubscribeError::Contended {
            topic: "t".into(),
            attempts: 1000,
        },
        SubscribeError::PermissionDenied(IoFailure::new(path(), "open", io_error())),
        SubscribeError::Io(IoFailure::new(path(), "open", io_error())),
    ];
    all.extend(
        format_errors()
            .into_iter()
            .map(|source| SubscribeError::Format {
                path: path(),
                source,
            }),
    );
    all
}

/// Every error value: the chain from `Display` down every `source()`.
fn chains() -> Vec<Vec<String>> {
    fn chain(e: &dyn Error) -> Vec<String> {
        let mut out = vec![e.to_string()];
        let mut next = e.source();
        while let Some(s) = next {
            out.push(s.to_string());
            next = s.source();
        }
        out
    }
    let mut all: Vec<Box<dyn Error>> = Vec::new();
    all.extend(
        format_errors()
            .into_iter()
            .map(|e| Box::new(e) as Box<dyn Error>),
    );
    all.push(Box::new(mismatch()));
    all.push(Box::new(SchemaDecodeError {
        at: 3,
        reason: "x".into(),
    }));
    all.push(Box::new(PublishError::ForkedProcess));
    let creates = vec![
        CreateError::InvalidName(NameError::SurroundingWhitespace),
        CreateError::InvalidBufferNum {
            requested: 1,
            min: 2,
            max: 4096,
        },
        CreateError::InvalidMode { mode: 0o666 },
        CreateError::TooLarge { bytes: 1 << 50 },
        CreateError::UnsupportedType { detail: "x".into() },
        CreateError::Busy {
            topic: "t".into(),
            owner: owner(),
        },
        CreateError::Format {
            path: path(),
            source: FormatError::BadMagic,
        },
        CreateError::ForeignFile {
            path: path(),
            owner: file_owner(),
        },
        CreateError::PermissionDenied(IoFailure::new(path(), "open", io_error())),
        CreateError::Io(IoFailure::new(path(), "size", io_error())),
    ];
    all.extend(creates.into_iter().map(|e| Box::new(e) as Box<dyn Error>));
    all.extend(
        subscribe_errors()
            .into_iter()
            .map(|e| Box::new(e) as Box<dyn Error>),
    );
    let mut recvs = vec![
        RecvError::Timeout {
            topic: "t".into(),
            waited: Duration::from_secs(1),
        },
        RecvError::PublisherGone {
            topic: "t".into(),
            owner: owner(),
            still_running: false,
        },
        RecvError::PublisherGone {
            topic: "t".into(),
            owner: owner(),
            still_running: true,
        },
    ];
    recvs.extend(subscribe_errors().into_iter().map(RecvError::Subscribe));
    all.extend(recvs.into_iter().map(|e| Box::new(e) as Box<dyn Error>));
    let removes = vec![
        RemoveError::InvalidName(NameError::Empty),
        RemoveError::Busy {
            topic: "t".into(),
            owner: owner(),
        },
        RemoveError::ForeignFile {
            path: path(),
            owner: file_owner(),
        },
        RemoveError::PermissionDenied(IoFailure::new(path(), "open", io_error())),
        RemoveError::Io(IoFailure::new(path(), "remove", io_error())),
    ];
    all.extend(removes.into_iter().map(|e| Box::new(e) as Box<dyn Error>));
    all.push(Box::new(NameError::TooLong {
        file_name_len: 300,
        max: 255,
    }));
    all.push(Box::new(LookupError::NotFound { name: "X".into() }));
    all.iter().map(|e| chain(e.as_ref())).collect()
}

#[test]
fn no_error_chain_repeats_a_message() {
    for chain in chains() {
        assert!(!chain[0].is_empty());
        for (i, later) in chain.iter().enumerate().skip(1) {
            for earlier in &chain[..i] {
                assert!(
                    !earlier.contains(later.as_str()),
                    "a reporter would print this twice: {chain:#?}"
                );
            }
        }
    }
}

#[test]
fn a_wrapped_subscribe_error_displays_exactly_its_cause() {
    for e in subscribe_errors() {
        let shown = e.to_string();
        assert_eq!(RecvError::Subscribe(e).to_string(), shown);
    }
}

#[test]
fn remedies_name_the_tool_not_only_a_rust_function() {
    // A full file system: the remedy a Python or tool user can follow.
    let full = CreateError::Io(IoFailure::new(path(), "allocate", io_error())).to_string();
    assert!(
        full.contains("`shm clean` removes every topic whose publisher is gone"),
        "{full}"
    );
    assert!(!full.contains("shm::remove_topic"), "{full}");
    let stale = FormatError::BadMagic.remedy();
    assert!(!stale.contains("shm::"), "{stale}");
    let old = FormatError::UnsupportedVersion {
        found: 1,
        supported: 2,
    }
    .remedy();
    assert!(old.contains("`shm rm TOPIC`"), "{old}");
}
