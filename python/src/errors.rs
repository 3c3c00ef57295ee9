//! The module's exception classes and the mapping of `shm` errors onto them.
//!
//! Each `shm` error becomes the most specific Python exception that fits, so that callers can
//! catch built-in classes (`TypeError`, `FileExistsError`, `PermissionError`, ...) or ours.
//! Messages are the runtime's, which say what went wrong and what to do.

use std::io;

use pyo3::create_exception;
use pyo3::exceptions::{
    PyFileExistsError, PyOSError, PyPermissionError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use shm::{CreateError, SchemaMismatch, SubscribeError};

use crate::kind::Kind;
use crate::ty::Ty;

create_exception!(
    shm_pub_sub,
    SchemaMismatchError,
    PyTypeError,
    "The topic carries another type than this subscriber's `default_value` selects.\n\n\
     Attributes `topic`, `topic_type` and `expected_type` name the topic and both types."
);
create_exception!(
    shm_pub_sub,
    TopicBusyError,
    PyFileExistsError,
    "Another live process publishes this topic (a topic has one publisher at a time)."
);
create_exception!(
    shm_pub_sub,
    ForeignTopicError,
    PyPermissionError,
    "The topic's file belongs to another user (or users other than its owner may write it).\n\n\
     A publisher never adopts such a file; a subscriber reads only files of the owner it trusts\n\
     (`owner=`, by default this user). Attributes `path`, `owner_uid` and `mode` describe the file."
);
create_exception!(
    shm_pub_sub,
    TopicFormatError,
    PyOSError,
    "A file at the topic's path is not a valid topic (foreign, damaged, or a newer format)."
);
create_exception!(
    shm_pub_sub,
    ForkedProcessError,
    PyRuntimeError,
    "A publisher was used in a child process made by `fork`; create it in the child instead."
);
create_exception!(
    shm_pub_sub,
    ContendedError,
    PyRuntimeError,
    "The publisher overwrote the value being read on every attempt; give it more buffers."
);

/// `OSError(errno, message)`, which Python turns into the matching subclass
/// (`FileNotFoundError`, `NotADirectoryError`, ...).
fn os_error(source: &io::Error, message: String) -> PyErr {
    match source.raw_os_error() {
        Some(errno) => PyOSError::new_err((errno, message)),
        None => PyOSError::new_err(message),
    }
}

fn permission_error(source: &io::Error, message: String) -> PyErr {
    match source.raw_os_error() {
        Some(errno) => PyPermissionError::new_err((errno, message)),
        None => PyPermissionError::new_err(message),
    }
}

/// A publisher's creation error.
pub(crate) fn create_error(e: CreateError) -> PyErr {
    let message = e.to_string();
    match e {
        CreateError::InvalidName(_)
        | CreateError::InvalidBufferNum { .. }
        | CreateError::InvalidMode { .. }
        | CreateError::TooLarge { .. } => PyValueError::new_err(message),
        CreateError::UnsupportedType { .. } => PyTypeError::new_err(message),
        CreateError::Busy { .. } => TopicBusyError::new_err(message),
        CreateError::Format { .. } => TopicFormatError::new_err(message),
        CreateError::ForeignFile { path, owner } => foreign_error(message, &path, owner),
        CreateError::PermissionDenied(e) => permission_error(&e.source, message),
        CreateError::Io(e) => os_error(&e.source, message),
        _ => PyOSError::new_err(message),
    }
}

/// A subscriber's error (opening or reading); `ty` is what the subscriber expects.
pub(crate) fn subscribe_error(py: Python<'_>, e: SubscribeError, ty: &Ty) -> PyErr {
    match e {
        SubscribeError::SchemaMismatch(m) => mismatch_error(py, &m, ty),
        SubscribeError::WrongBufferSize { .. } => PyValueError::new_err(e.to_string()),
        SubscribeError::InvalidName(_) => PyValueError::new_err(e.to_string()),
        SubscribeError::Format { .. } | SubscribeError::InvalidValue { .. } => {
            TopicFormatError::new_err(e.to_string())
        }
        SubscribeError::Contended { .. } => ContendedError::new_err(e.to_string()),
        SubscribeError::NotLending { ref topic } => PyTypeError::new_err(format!(
            "topic '{topic}' is a copying topic (its Publisher was created without \
             lending=True), whose slots cannot be borrowed; read it with subscribe() or \
             subscribe_into()"
        )),
        SubscribeError::BorrowLimit {
            ref topic,
            max_borrowed,
        } => PyRuntimeError::new_err(format!(
            "this subscriber of topic '{topic}' holds {max_borrowed} borrowed value(s), the \
             most it may (max_borrowed={max_borrowed}): a borrow's with block is still open, or \
             arrays taken from an earlier borrow are still alive; end the block, release the \
             arrays (del) or copy what you keep inside the block, or create the Subscriber \
             with a larger max_borrowed"
        )),
        SubscribeError::TooManyBorrowers {
            ref topic, needed, ..
        } => PyRuntimeError::new_err(format!(
            "topic '{topic}' cannot serve another subscriber: its slots are reserved by its \
             publisher and subscribers already; create its Publisher with buffer_num={needed} \
             or more (or lower max_borrowed, of this subscriber or the others)"
        )),
        SubscribeError::CannotPin { ref topic, .. } => PyPermissionError::new_err(format!(
            "topic '{topic}' is a lending topic made for its owner only (mode 0o600): this \
             process may only read its file, and its publisher looks only at pins stored in \
             the file; run as the topic's owner, or create its Publisher with mode=0o640 or \
             mode=0o644 (its readers then pin slots with locks)"
        )),
        SubscribeError::InvalidMaxBorrowed { .. } => PyValueError::new_err(e.to_string()),
        SubscribeError::UntrustedOwner {
            ref path, owner, ..
        } => foreign_error(e.to_string(), path, owner),
        SubscribeError::PermissionDenied(ref f) => permission_error(&f.source, e.to_string()),
        SubscribeError::Io(ref f) => os_error(&f.source, e.to_string()),
        _ => PyOSError::new_err(e.to_string()),
    }
}

/// `SchemaMismatchError`, worded for Python: both types by their Python names where they have
/// one, what differs between two message types, and what to change.
fn mismatch_error(py: Python<'_>, m: &SchemaMismatch, ty: &Ty) -> PyErr {
    let topic_kind = Kind::from_message_name(&m.topic_type);
    let message = match (ty, topic_kind) {
        (Ty::Scalar(kind), Some(topic_kind)) => format!(
            "topic '{}' carries {} values, but this subscriber's default_value is {}, so it reads {} values; \
             create the Subscriber with a default_value of type {}, or use another topic name",
            m.topic,
            topic_kind.label(),
            kind.with_article(),
            kind.label(),
            topic_kind.python_name(),
        ),
        (Ty::Scalar(kind), None) => format!(
            "topic '{}' carries `{}` messages, but this subscriber's default_value is {}, so it \
             reads {} values; subscribe with a value of a Message class of that type (declared \
             with the same fields), or with default_value=None to read whatever the topic carries",
            m.topic,
            m.topic_type,
            kind.with_article(),
            kind.label(),
        ),
        // Message types: the runtime's message names every field that differs.
        _ => m.to_string(),
    };
    let err = SchemaMismatchError::new_err(message);
    let value = err.value(py);
    // Attributes for programs that handle the error; failing to set one only loses the extra.
    let _ = value.setattr("topic", &m.topic);
    let _ = value.setattr("topic_type", &m.topic_type);
    let _ = value.setattr("expected_type", &m.expected_type);
    err
}

/// `ForeignTopicError` with the file's path, owner and mode as attributes.
fn foreign_error(message: String, path: &std::path::Path, owner: shm::FileOwner) -> PyErr {
    Python::attach(|py| {
        let err = ForeignTopicError::new_err((EACCES, message));
        let value = err.value(py);
        // Attributes for programs that handle the error; failing to set one only loses it.
        let _ = value.setattr("path", path.display().to_string());
        let _ = value.setattr("owner_uid", owner.uid.0);
        let _ = value.setattr("mode", owner.mode);
        err
    })
}

/// `EACCES` (Linux), the errno this `PermissionError` carries.
const EACCES: i32 = 13;

/// `ValueError` for an operation on a closed object.
pub(crate) fn closed_error(what: &str, topic: &str) -> PyErr {
    PyValueError::new_err(format!(
        "{what} on topic '{topic}' is closed; create a new one to use the topic again"
    ))
}
