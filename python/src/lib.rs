//! `shm_pub_sub._shm_pub_sub`, the compiled part of the `shm_pub_sub` Python module: typed
//! publish/subscribe of `bool`, `int` and `float` values over shared memory, on the `shm`
//! runtime.
//!
//! Python's `bool`, `int` and `float` travel as the built-in `bool`, `i64` and `f64` messages,
//! found by name in the same registry `#[derive(ShmMessage)]` registers into, so a Rust
//! process reading or writing those types interoperates with Python on the same topic.

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;

mod action;
mod carried;
mod common;
mod errors;
mod kind;
mod message;
mod publisher;
mod service;
mod subscriber;
mod ty;
mod value;
mod waitset;

use kind::Kind;

/// The registry's schema for each kind must be the one the typed core uses; a build that lost
/// the registrations (or registered another type under those names) refuses to import.
fn check_registry() -> PyResult<()> {
    for kind in Kind::ALL {
        match shm::registry::find(kind.message_name()) {
            Ok(found) if found.hash() == kind.schema_hash() => {}
            Ok(found) => {
                return Err(PyImportError::new_err(format!(
                    "shm registry: `{}` has schema hash {:#018x}, expected {:#018x}; the build is inconsistent, reinstall shm_pub_sub",
                    kind.message_name(),
                    found.hash(),
                    kind.schema_hash()
                )));
            }
            Err(e) => {
                return Err(PyImportError::new_err(format!(
                    "shm registry: {e}; the build is inconsistent, reinstall shm_pub_sub"
                )));
            }
        }
    }
    Ok(())
}

/// Names of all message types registered in this process, sorted: the built-in scalars,
/// every Rust `#[derive(ShmMessage)]` type linked in, and every `Message` class declared.
/// Python reads and writes them all.
#[pyfunction]
fn message_types() -> Vec<String> {
    let mut names: Vec<String> = shm::registry::schemas()
        .iter()
        .map(|s| s.type_name())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Names this process's node: topics it publishes from now on record the name, which `shm list`,
/// `shm info` and error messages show (`node imu_driver (pid 4242, python)`) instead of only
/// `python`. 1 to 48 bytes of letters, digits, `_`, `-`, `.`, `/`; `ValueError` otherwise.
/// Overrides the `SHM_NODE_NAME` environment variable.
#[pyfunction]
fn set_node_name(name: &str) -> PyResult<()> {
    shm::set_node_name(name).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// This process's node name (`set_node_name`'s, else `SHM_NODE_NAME`'s), or `None`.
#[pyfunction]
fn node_name() -> Option<String> {
    shm::node_name()
}

/// Runs the `shm` command-line tool (`argv[0]` is the program name) and returns its exit
/// status; the `shm` console script calls it. The GIL is released while it runs.
#[pyfunction]
fn _cli_main(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> u8 {
    py.detach(|| shm_cli::run(argv))
}

/// The module relies on the GIL (bytearrays and lent slots are read under it, with no other
/// thread changing them meanwhile): a free-threaded interpreter re-enables it on import.
#[pymodule(gil_used = true)]
fn _shm_pub_sub(m: &Bound<'_, PyModule>) -> PyResult<()> {
    check_registry()?;
    let py = m.py();
    m.add_class::<publisher::Publisher>()?;
    m.add_class::<subscriber::Subscriber>()?;
    m.add_class::<subscriber::PySample>()?;
    m.add_class::<subscriber::Borrow>()?;
    m.add_class::<publisher::Loan>()?;
    m.add_class::<waitset::WaitSet>()?;
    m.add_class::<waitset::WaitEvent>()?;
    m.add_class::<waitset::WaitSetWaker>()?;
    m.add_class::<message::Message>()?;
    m.add_class::<message::MessageType>()?;
    m.add_class::<message::Field>()?;
    m.add_function(wrap_pyfunction!(message::_declare, m)?)?;
    m.add_function(wrap_pyfunction!(message::_bind, m)?)?;
    m.add_function(wrap_pyfunction!(message::_slice_of, m)?)?;
    m.add_class::<message::SliceType>()?;
    m.add_class::<message::LentSlice>()?;
    m.add_class::<service::Server>()?;
    m.add_class::<service::ServiceRequest>()?;
    m.add_class::<service::PyClientInfo>()?;
    m.add_class::<service::Client>()?;
    m.add_class::<service::PendingCall>()?;
    m.add_class::<action::ActionServer>()?;
    m.add_class::<action::ServerGoal>()?;
    m.add_class::<action::ActionClient>()?;
    m.add_class::<action::GoalHandle>()?;
    for (name, class) in [
        ("CallTimeout", py.get_type::<service::CallTimeout>()),
        ("ServerGoneError", py.get_type::<service::ServerGoneError>()),
        ("NoServerError", py.get_type::<service::NoServerError>()),
        ("ServerBusyError", py.get_type::<service::ServerBusyError>()),
        ("BadRequestError", py.get_type::<service::BadRequestError>()),
        ("NoReplyError", py.get_type::<service::NoReplyError>()),
        (
            "GoalRejectedError",
            py.get_type::<action::GoalRejectedError>(),
        ),
    ] {
        m.add(name, class)?;
    }
    m.add_function(wrap_pyfunction!(message_types, m)?)?;
    m.add_function(wrap_pyfunction!(set_node_name, m)?)?;
    m.add_function(wrap_pyfunction!(node_name, m)?)?;
    m.add_function(wrap_pyfunction!(_cli_main, m)?)?;
    m.add(
        "SchemaMismatchError",
        py.get_type::<errors::SchemaMismatchError>(),
    )?;
    m.add("TopicBusyError", py.get_type::<errors::TopicBusyError>())?;
    m.add(
        "ForeignTopicError",
        py.get_type::<errors::ForeignTopicError>(),
    )?;
    m.add(
        "TopicFormatError",
        py.get_type::<errors::TopicFormatError>(),
    )?;
    m.add(
        "ForkedProcessError",
        py.get_type::<errors::ForkedProcessError>(),
    )?;
    m.add("ContendedError", py.get_type::<errors::ContendedError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MIN_BUFFER_NUM", shm::MIN_BUFFER_NUM)?;
    m.add("MAX_BUFFER_NUM", shm::MAX_BUFFER_NUM)?;
    Ok(())
}
