//! Who a process is (pid, start time, name), for topic headers and error messages.

/// Whether process `pid` runs and started at `start_ticks` (so it is not a reused pid). A
/// process that has exited but was not reaped yet (a zombie) does not run: it holds no lock
/// and publishes nothing any more.
pub(crate) fn process_is_running(pid: u32, start_ticks: u64) -> bool {
    pid != 0
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .filter(|stat| !exited(stat))
            .and_then(|stat| start_ticks_of(&stat))
            == Some(start_ticks)
}

/// Whether a `/proc/<pid>/stat` line is a process that has exited or is exiting: state `Z` or
/// `X` (field 3), or the kernel's `PF_EXITING` flag (field 9), set when exit begins, before
/// the process's files (and so its locks) are released.
fn exited(stat: &str) -> bool {
    const PF_EXITING: u64 = 0x4;
    let mut fields = stat
        .rfind(')')
        .map(|at| stat[at + 1..].split_whitespace())
        .into_iter()
        .flatten();
    let state = fields.next();
    let flags = fields
        .nth(5)
        .and_then(|f| f.parse::<u64>().ok())
        .unwrap_or(0);
    matches!(state, Some("Z" | "X" | "x")) || flags & PF_EXITING != 0
}

/// Who this process is, for the topic header and for error messages.
#[derive(Debug, Clone)]
pub(crate) struct ProcessIdentity {
    pub(crate) pid: u32,
    pub(crate) start_ticks: u64,
    pub(crate) name: [u8; 16],
}

impl ProcessIdentity {
    /// This process, read from `/proc` once per process (again in a child made by `fork`).
    /// The cache's lock is never held while reading `/proc`, and only tried: a child forked
    /// while another thread held it reads `/proc` instead of waiting forever.
    pub(crate) fn current() -> ProcessIdentity {
        static CACHE: std::sync::Mutex<Option<ProcessIdentity>> = std::sync::Mutex::new(None);
        let pid = std::process::id();
        if let Ok(cache) = CACHE.try_lock()
            && let Some(me) = cache.as_ref().filter(|me| me.pid == pid)
        {
            return me.clone();
        }
        let me = ProcessIdentity::read();
        if let Ok(mut cache) = CACHE.try_lock() {
            *cache = Some(me.clone());
        }
        me
    }

    fn read() -> ProcessIdentity {
        let mut name = [0u8; 16];
        if let Ok(comm) = std::fs::read("/proc/self/comm") {
            let comm = comm.strip_suffix(b"\n").unwrap_or(&comm);
            let n = comm.len().min(15);
            name[..n].copy_from_slice(&comm[..n]);
        }
        ProcessIdentity {
            pid: std::process::id(),
            start_ticks: process_start_ticks().unwrap_or(0),
            name,
        }
    }
}

/// Field 22 of `/proc/self/stat`: when the process started, in clock ticks after boot.
fn process_start_ticks() -> Option<u64> {
    start_ticks_of(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

fn start_ticks_of(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces and parentheses; fields after it follow
    // the last ')'. Field 3 is the first one after it, so field 22 is the 20th.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::{monotonic_ns, random_u64, realtime_ns};

    #[test]
    fn an_exited_child_not_reaped_yet_does_not_run() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let stat = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let ticks = start_ticks_of(&stat(pid)).unwrap();
        // Until it has exited (a zombie: not reaped before `wait` below).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !exited(&stat(pid)) {
            assert!(
                std::time::Instant::now() < deadline,
                "the child never exited"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!process_is_running(pid, ticks));
        child.wait().unwrap();
        let me = ProcessIdentity::current();
        assert!(process_is_running(me.pid, me.start_ticks));
        assert!(!exited("1 (a) b) S 0 1 1 0 -1 4194560 0"));
        assert!(exited("1 (a) S) Z 0"));
        assert!(exited("1 (a) R 0 1 1 0 -1 4194564 0"), "PF_EXITING");
    }

    #[test]
    fn identity_is_read() {
        let me = ProcessIdentity::current();
        assert_eq!(me.pid, std::process::id());
        assert!(me.start_ticks > 0);
        assert_ne!(me.name[0], 0);
        assert!(process_is_running(me.pid, me.start_ticks));
        assert!(
            !process_is_running(me.pid, me.start_ticks + 1),
            "a reused pid is told apart"
        );
        assert!(!process_is_running(0, 0));
    }

    #[test]
    fn clocks_advance() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(a > 0 && b >= a);
        assert!(realtime_ns() > 1_600_000_000_000_000_000);
        assert_ne!(random_u64(), random_u64());
    }
}
