//! What the bridge's tests and its benchmark both need to run bridges on this machine (shared
//! as a module: `mod support;` in the tests, by `#[path]` in the benchmark).

use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// A Zenoh config in `dir` (removed with it): no multicast scouting (bridges of parallel runs
/// must only meet the one they are told to connect to).
pub(crate) fn config(dir: &Path) -> PathBuf {
    let path = dir.join("zenoh.json5");
    std::fs::write(&path, "{ scouting: { multicast: { enabled: false } } }\n").unwrap();
    path
}

/// A TCP port on loopback free a moment ago (closed again: another process may take it before
/// a bridge binds it).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
