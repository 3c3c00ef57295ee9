//! A blocking wait of a Python subscriber, in steps: the subscriber is borrowed only while it
//! looks at the topic, never while it blocks with the GIL released.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use shm::RecvError;
use shm::wait::{Sleeper, Wait, WaitStep};

use super::Subscriber;
use super::got::Got;
use crate::errors::subscribe_error;
use crate::kind::with_subscriber;

/// What one step of a blocking wait decided.
pub(super) enum Step {
    /// A value is there (converted if the wait reads it).
    Ready(Option<Got>),
    Block(Sleeper),
    /// The wait ended without a value: timeout or publisher gone.
    Ended(End),
}

/// Why a wait ended without a value; `_wait` returns these names.
#[derive(Clone, Copy)]
pub(super) enum End {
    Timeout,
    PublisherGone,
    Stopped,
}

impl End {
    pub(super) fn name(self) -> &'static str {
        match self {
            End::Timeout => "timeout",
            End::PublisherGone => "publisher_gone",
            End::Stopped => "stopped",
        }
    }
}

impl Subscriber {
    /// One step of a wait; a value that ends it is converted only if `read` (a wait for an
    /// available value leaves it to the read that follows).
    pub(super) fn step(&mut self, py: Python<'_>, wait: &mut Wait, read: bool) -> PyResult<Step> {
        let ty = self.common.ty.clone_ref(py);
        let step = with_subscriber!(self.core()?, s => s.wait_step(wait).map(|step| match step {
            WaitStep::Ready(sample) if read => Got::new(py, sample).map(|g| Step::Ready(Some(g))),
            WaitStep::Ready(_) => Ok(Step::Ready(None)),
            WaitStep::Block(sleeper) => Ok(Step::Block(sleeper)),
        }));
        match step {
            Ok(step) => step,
            Err(RecvError::Timeout { .. }) => Ok(Step::Ended(End::Timeout)),
            Err(RecvError::PublisherGone { .. }) => Ok(Step::Ended(End::PublisherGone)),
            Err(RecvError::Subscribe(e)) => Err(subscribe_error(py, e, &ty)),
            Err(e) => Err(PyRuntimeError::new_err(e.to_string())),
        }
    }

    /// A blocking wait, in steps: the subscriber is borrowed only while it looks at the topic,
    /// never while it blocks (with the GIL released), so other threads keep running and may use
    /// it meanwhile. Signals (Ctrl-C) are handled between blocks, which last at most 50 ms, and
    /// `stop()` (if given) is asked as often.
    pub(super) fn wait_loop(
        slf: &Bound<'_, Self>,
        mut wait: Wait,
        stop: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Result<Option<Got>, End>> {
        let py = slf.py();
        // A wait for the next value reads it; a wait for an available one does not.
        let read = wait.reads();
        loop {
            let step = slf.try_borrow_mut()?.step(py, &mut wait, read)?;
            match step {
                Step::Ready(got) => return Ok(Ok(got)),
                Step::Ended(end) => return Ok(Err(end)),
                Step::Block(sleeper) => {
                    py.detach(move || sleeper.block());
                    py.check_signals()?;
                    if let Some(stop) = stop
                        && stop.call0()?.is_truthy()?
                    {
                        return Ok(Err(End::Stopped));
                    }
                }
            }
        }
    }
}
