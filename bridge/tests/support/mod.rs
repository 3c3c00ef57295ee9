//! What the bridge's tests and its benchmark both need to run bridges on this machine (shared
//! as a module: `mod support;` in the tests, by `#[path]` in the benchmark).
// (Each test binary and the benchmark use a part of it.)
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shm::Publisher;
use shm_integration::TestPose;
use shm_integration::process::{Proc, TIMEOUT as T};
use shm_integration::root::TempRoot;

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

/// The bridge under test.
pub(crate) const BRIDGE: &str = env!("CARGO_BIN_EXE_shm-bridge");

/// A running bridge.
pub(crate) struct Bridge {
    pub(crate) proc: Proc,
}

impl Bridge {
    pub(crate) fn start(root: &Path, args: &[&str]) -> Bridge {
        Bridge::try_start(root, args).expect("the bridge did not start")
    }

    /// A bridge, once ready; `None` if it exited first.
    pub(crate) fn try_start(root: &Path, args: &[&str]) -> Option<Bridge> {
        Bridge::try_start_with(root, args, None)
    }

    /// [`try_start`](Bridge::try_start), with at most `memory` bytes of address space if given.
    pub(crate) fn try_start_with(
        root: &Path,
        args: &[&str],
        memory: Option<u64>,
    ) -> Option<Bridge> {
        Bridge::try_start_config(root, &config(root), args, memory)
    }

    /// [`try_start_with`](Bridge::try_start_with), with the Zenoh config file `cfg`.
    pub(crate) fn try_start_config(
        root: &Path,
        cfg: &Path,
        args: &[&str],
        memory: Option<u64>,
    ) -> Option<Bridge> {
        let mut all = vec![
            "--root",
            root.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let mut proc = match memory {
            Some(bytes) => Proc::spawn_limited(Path::new(BRIDGE), root, &all, &[], bytes),
            None => Proc::spawn(Path::new(BRIDGE), root, &all),
        };
        proc.try_expect_line("shm-bridge: ready", T)?;
        Some(Bridge { proc })
    }

    /// Waits for a line of its log (standard error) containing `text`.
    pub(crate) fn expect_log(&mut self, text: &str) -> String {
        self.log_until(text).pop().unwrap()
    }

    /// Its lines up to the first containing `text` (the last one returned).
    pub(crate) fn log_until(&mut self, text: &str) -> Vec<String> {
        let deadline = Instant::now() + T;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.proc.line(left);
            let found = line.contains(text);
            lines.push(line);
            if found {
                return lines;
            }
        }
    }
}

/// Stops the bridge with `signal` (SIGINT, SIGTERM); it must exit cleanly. Returns the rest of
/// its log and how long it took to exit.
pub(crate) fn stop(bridge: &mut Bridge, signal: libc::c_int) -> (Vec<String>, Duration) {
    let pid = bridge.proc.pid() as libc::pid_t;
    let start = Instant::now();
    // SAFETY: kill(2) on our own live child with a valid signal; no memory involved.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0);
    let rest = bridge.proc.rest(T);
    let status = bridge.proc.wait(T);
    let took = start.elapsed();
    assert!(
        status.success(),
        "the bridge ended with {status:?}: {rest:#?}"
    );
    (rest, took)
}

/// Two connected bridges: `a` listens, `b` connects; each with its own patterns and prefix.
pub(crate) fn pair(
    a: &TempRoot,
    a_args: &[&str],
    b: &TempRoot,
    b_args: &[&str],
    prefix: &str,
) -> (Bridge, Bridge, String) {
    let (bridge_a, endpoint) = on_free_port("tcp", |endpoint| {
        let mut a_all = vec!["--listen", endpoint, "--prefix", prefix];
        a_all.extend_from_slice(a_args);
        Bridge::try_start(a.path(), &a_all)
    });
    let mut b_all = vec!["--connect", &endpoint, "--prefix", prefix];
    b_all.extend_from_slice(b_args);
    let bridge_b = Bridge::start(b.path(), &b_all);
    (bridge_a, bridge_b, endpoint)
}

/// A prefix of its own per test, so that nothing crosses between tests.
pub(crate) fn prefix(test: &str) -> String {
    format!("test{}-{test}", std::process::id())
}

/// A bridge that `start` starts listening on `endpoint`, a free loopback port of `scheme`
/// (`tcp`, `tls`), and that endpoint: five ports are tried (another process may take a free
/// port before the bridge binds it).
pub(crate) fn on_free_port(
    scheme: &str,
    mut start: impl FnMut(&str) -> Option<Bridge>,
) -> (Bridge, String) {
    (0..5)
        .find_map(|_| {
            let endpoint = format!("{scheme}/127.0.0.1:{}", free_port());
            Some((start(&endpoint)?, endpoint))
        })
        .expect("no bridge could listen on a free port, 5 tries")
}

/// Publishes `TestPose::nth(n)` for n = 1, 2, ... every 10 ms until `done` says so (the
/// bridges connect asynchronously: the first values may precede the connection).
pub(crate) fn publish_until(p: &mut Publisher<TestPose>, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    let mut n = p.next_seq();
    while !done() {
        assert!(Instant::now() < deadline, "nothing arrived within {T:?}");
        p.publish(&TestPose::nth(n)).unwrap();
        n += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
}
