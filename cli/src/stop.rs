//! Ctrl-C (SIGINT) and SIGTERM end a running command cleanly: a flag the loops look at between
//! waits (each wait blocks at most 50 ms), instead of dying mid-line. The previous handlers come
//! back when the command ends (the Python package runs commands inside the interpreter).

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

extern "C" fn on_signal(_: libc::c_int) {
    // Async-signal-safe: one atomic store.
    STOP.store(true, Ordering::Relaxed);
}

/// The handlers, installed until this is dropped.
pub(crate) struct Handlers {
    previous: [libc::sigaction; 2],
}

/// Installs the handlers until the returned value is dropped.
pub(crate) fn install() -> Handlers {
    STOP.store(false, Ordering::Relaxed);
    // SAFETY: `sigaction` is plain old data; all-zero is a valid (default) value.
    let mut previous: [libc::sigaction; 2] = unsafe { std::mem::zeroed() };
    for (signal, old) in SIGNALS.into_iter().zip(previous.iter_mut()) {
        // SAFETY: a zeroed `sigaction` whose handler is an `extern "C"` function that lives for
        // the whole program and does only an atomic store (async-signal-safe); no SA_RESTART,
        // so a blocking wait returns on the signal. The old action goes to `old`, a valid place.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, old);
        }
    }
    Handlers { previous }
}

impl Drop for Handlers {
    fn drop(&mut self) {
        for (signal, old) in SIGNALS.into_iter().zip(self.previous.iter()) {
            // SAFETY: restores the action `install` saved, as the kernel gave it.
            unsafe {
                libc::sigaction(signal, old, std::ptr::null_mut());
            }
        }
    }
}

/// Whether the user asked the command to stop.
pub(crate) fn requested() -> bool {
    STOP.load(Ordering::Relaxed)
}
