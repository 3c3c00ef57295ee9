//! Child processes for multi-process tests: the helper binary, line-based handshakes, and a
//! timeout on every wait so that a broken test fails instead of hanging.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// A running child with its stdout delivered line by line.
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    name: String,
}

impl Proc {
    /// Starts `exe args...` with `SHM_ROOT=root`.
    pub fn spawn(exe: &Path, root: &Path, args: &[&str]) -> Proc {
        Proc::spawn_as(exe, root, args, None)
    }

    /// Like [`spawn`](Proc::spawn), as another user (`uid`, same gid) when given.
    pub fn spawn_as(exe: &Path, root: &Path, args: &[&str], uid: Option<u32>) -> Proc {
        Proc::spawn_with(exe, root, args, uid, &[])
    }

    /// Like [`spawn`](Proc::spawn), as another user ([`NOBODY`]) that trusts topics of uid 0
    /// (`SHM_TEST_OWNER`: the tests' own user, as they run as root to start it).
    pub fn spawn_other_user(exe: &Path, root: &Path, args: &[&str]) -> Proc {
        Proc::spawn_with(exe, root, args, Some(NOBODY), &[("SHM_TEST_OWNER", "0")])
    }

    /// Like [`spawn_as`](Proc::spawn_as), with extra environment variables.
    pub fn spawn_with(
        exe: &Path,
        root: &Path,
        args: &[&str],
        uid: Option<u32>,
        env: &[(&str, &str)],
    ) -> Proc {
        Proc::spawn_full(exe, root, args, uid, env, None)
    }

    /// Like [`spawn_with`](Proc::spawn_with) (as this user), with at most `bytes` of address
    /// space (`RLIMIT_AS`): a child that tries to allocate more fails its allocation (a Rust
    /// program aborts), which a test sees as a death by signal.
    pub fn spawn_limited(
        exe: &Path,
        root: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        bytes: u64,
    ) -> Proc {
        Proc::spawn_full(exe, root, args, None, env, Some(bytes))
    }

    fn spawn_full(
        exe: &Path,
        root: &Path,
        args: &[&str],
        uid: Option<u32>,
        env: &[(&str, &str)],
        memory: Option<u64>,
    ) -> Proc {
        let mut cmd = Command::new(exe);
        if let Some(uid) = uid {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(uid);
        }
        cmd.args(args)
            .envs(env.iter().copied())
            .env(shm::ROOT_ENV, root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: runs in the child between fork and exec, and only calls `signal` and
            // `setrlimit`, which are async-signal-safe, on values prepared before the fork.
            // Tests send SIGINT and SIGTERM to children: they must not inherit them ignored (as
            // from a shell's background job or a CI runner).
            unsafe {
                cmd.pre_exec(move || {
                    libc::signal(libc::SIGINT, libc::SIG_DFL);
                    libc::signal(libc::SIGTERM, libc::SIG_DFL);
                    if let Some(bytes) = memory {
                        let limit = libc::rlimit {
                            rlim_cur: bytes,
                            rlim_max: bytes,
                        };
                        if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        // A just-written executable can be "busy" for a moment: a process forked by another
        // thread holds the writer's descriptor until it execs. Try again shortly.
        let mut attempts = 0;
        let mut child = loop {
            match cmd.spawn() {
                Ok(child) => break child,
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempts < 50 => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("spawn {}: {e}", exe.display()),
            }
        };
        let (tx, rx) = channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx2.send(format!("stderr: {line}")).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Proc {
            child,
            stdin,
            lines: rx,
            name: format!("{} {}", exe.display(), args.join(" ")),
        }
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line of output, or a panic after `timeout`.
    pub fn line(&mut self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => {
                panic!("`{}` printed nothing for {timeout:?}", self.name)
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("`{}` ended without the expected output", self.name)
            }
        }
    }

    /// The lines it printed so far that were not read yet, without waiting.
    pub fn available(&mut self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// The next line starting with `prefix` within `timeout`, or `None` (then the lines it saw
    /// go to standard error, which a failing test shows).
    pub fn try_expect_line(&mut self, prefix: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return Some(l),
                Ok(l) => seen.push(l),
                Err(_) => {
                    eprintln!("`{}` printed no {prefix:?} line: {seen:#?}", self.name);
                    return None;
                }
            }
        }
    }

    /// Reads lines until one starts with `prefix` (returning it); panics after `timeout`.
    pub fn expect_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return l,
                Ok(l) => seen.push(l),
                Err(_) => panic!(
                    "`{}` did not print a line starting with {prefix:?} within {timeout:?}; it printed: {seen:#?}",
                    self.name
                ),
            }
        }
    }

    /// All remaining output lines, once the child has exited (within `timeout`).
    pub fn rest(&mut self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => out.push(l),
                Err(RecvTimeoutError::Disconnected) => return out,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("`{}` still running after {timeout:?}: {out:#?}", self.name)
                }
            }
        }
    }

    /// Closes the child's stdin (the helper's "hold" command exits on that).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Writes a line to the child's stdin.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to child");
        stdin.flush().expect("flush");
    }

    /// Waits for the child to exit, killing it and panicking after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("`{}` did not exit within {timeout:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL, then reap.
    pub fn kill9(&mut self) {
        // SAFETY: kill(2) with our own child's pid and a valid signal; no memory involved.
        let r = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGKILL) };
        assert_eq!(r, 0, "kill -9 {}", self.child.id());
        let _ = self.wait(Duration::from_secs(10));
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU time (user + system, in clock ticks) process `pid` has used.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read its stat");
    let after_name = &stat[stat.rfind(')').expect("a name") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // Fields 14 and 15 of stat(5), counted from the state field (3).
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// A copy of an executable that any user can run, in a fresh directory of the system's
/// temporary directory, removed on drop. Tests start processes as another user with it: the
/// build's own copy may sit in a checkout no other user can enter (a `0700` home or `mktemp -d`).
pub struct Reachable {
    dir: PathBuf,
    exe: PathBuf,
}

impl Reachable {
    /// Copies `exe`; `Err` says why that was impossible (the caller skips its test with it).
    pub fn copy(exe: &Path) -> Result<Reachable, String> {
        use std::os::unix::fs::PermissionsExt;
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        // One directory per copy: tests of one binary run in parallel, and one must not
        // overwrite (or remove) the copy another is running.
        let dir = std::env::temp_dir().join(format!(
            "shm-test-exe.{}.{}.{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            exe.file_name().and_then(|n| n.to_str()).unwrap_or("exe")
        ));
        let copy = || -> std::io::Result<PathBuf> {
            std::fs::create_dir_all(&dir)?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
            let target = dir.join(exe.file_name().unwrap_or_default());
            std::fs::copy(exe, &target)?;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))?;
            Ok(target)
        };
        match copy() {
            Ok(exe) => Ok(Reachable { dir, exe }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(format!(
                    "cannot copy {} to {} for another user: {e}",
                    exe.display(),
                    dir.display()
                ))
            }
        }
    }

    /// The copy.
    pub fn path(&self) -> &Path {
        &self.exe
    }
}

impl Drop for Reachable {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How long tests wait for another process's output before they fail.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The helper binary (`shm-test-helper`), built next to the test binaries.
pub fn helper_exe() -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    // target/<profile>/deps/<test> or target/<profile>/<bin>
    let dir = me.parent().expect("a directory");
    let dir = if dir.ends_with("deps") {
        dir.parent().expect("the profile directory")
    } else {
        dir
    };
    dir.join("shm-test-helper")
}

/// For tests that start processes as another user: a copy of the helper that user can run,
/// or `None` (with the reason printed) when this process is not root or the copy is impossible;
/// the test then returns early.
pub fn helper_for_other_users() -> Option<Reachable> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: not running as root, cannot start a process as another user");
        return None;
    }
    // The build's helper may sit in a checkout the other user cannot enter (a 0700 directory).
    match Reachable::copy(&helper_exe()) {
        Ok(exe) => Some(exe),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// The uid tests run other users' processes as.
pub const NOBODY: u32 = 65534;

/// Polls `f` until it returns `Some`, or panics with `what` after `timeout`.
pub fn poll<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}
