//! A process-wide stop token that Ctrl-C (SIGINT) and SIGTERM set, for programs that should end
//! cleanly (withdraw a publisher, finish a line) rather than die mid-way: the `shm` tool, the
//! bridge, and any loop of yours.
//!
//! ```no_run
//! let _signals = shm::stop::install();
//! let mut subscriber = shm::Subscriber::<u64>::new("ticks")?;
//! while !shm::stop::requested() {
//!     // A wait that blocks at most 100 ms sees a Ctrl-C within 100 ms.
//!     if let Ok(sample) = subscriber.recv_timeout(std::time::Duration::from_millis(100)) {
//!         println!("{}", sample.value);
//!     }
//! }
//! # Ok::<(), shm::SubscribeError>(())
//! ```
//!
//! The handler only sets the token (one atomic store) and resets itself (`SA_RESETHAND`), so a
//! second signal ends a program stuck in, say, a write to a full pipe the usual way. A signal
//! ignored when [`install`] runs (`nohup`) stays ignored. The previous handlers come back when the
//! last [`SignalGuard`] is dropped (several users in one process, e.g. commands the Python package
//! runs from several threads, share one installation).

use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked the program to stop (0: none).
static STOP: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

/// Commands running, and the actions to restore when the last one ends.
static INSTALLED: Mutex<(usize, Vec<(libc::c_int, libc::sigaction)>)> = Mutex::new((0, Vec::new()));

extern "C" fn on_signal(signal: libc::c_int) {
    // Async-signal-safe: one atomic store.
    STOP.store(signal, Ordering::Relaxed);
}

/// The handlers, installed while this lives; see [`install`].
#[must_use = "the handlers are removed when this is dropped"]
#[derive(Debug)]
pub struct SignalGuard(());

/// Installs the SIGINT and SIGTERM handlers that set the token (once for all guards alive at the
/// same time; the token is cleared when the first one installs them), until the returned guard is
/// dropped.
pub fn install() -> SignalGuard {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if installed.0 == 0 {
        STOP.store(0, Ordering::Relaxed);
        for signal in SIGNALS {
            if let Some(old) = replace(signal) {
                installed.1.push((signal, old));
            }
        }
    }
    installed.0 += 1;
    SignalGuard(())
}

/// Installs `on_signal` for `signal` unless it is ignored; returns the action it replaced.
fn replace(signal: libc::c_int) -> Option<libc::sigaction> {
    // SAFETY: `sigaction` is plain old data; all-zero is a valid value. Passing a null new action
    // only reads the current one into `old`, a valid place.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) } != 0
        || old.sa_sigaction == libc::SIG_IGN
    {
        return None;
    }
    // SAFETY: a zeroed `sigaction` whose handler is an `extern "C"` function that lives for the
    // whole program and only does an atomic store (async-signal-safe). No SA_RESTART, so a
    // blocking wait returns on the signal; SA_RESETHAND, so the next one has the default effect.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&mut action.sa_mask);
        (libc::sigaction(signal, &action, std::ptr::null_mut()) == 0).then_some(old)
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        installed.0 -= 1;
        if installed.0 == 0 {
            for (signal, old) in installed.1.drain(..) {
                // SAFETY: restores an action the kernel gave `replace` for this signal.
                unsafe {
                    libc::sigaction(signal, &old, std::ptr::null_mut());
                }
            }
        }
    }
}

/// Whether a signal asked the program to stop since [`install`].
pub fn requested() -> bool {
    STOP.load(Ordering::Relaxed) != 0
}

/// The exit status of a program a signal stopped: 128 + the signal (130 for Ctrl-C), as a shell
/// reports a command a signal ended; `None` if none did.
pub fn status() -> Option<u8> {
    match STOP.load(Ordering::Relaxed) {
        0 => None,
        signal => Some(128u8.saturating_add(signal as u8)),
    }
}
