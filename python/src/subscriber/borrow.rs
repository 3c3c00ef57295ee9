//! `Subscriber.borrow()`: a value of a lending topic read in place, for a `with` block.

use pyo3::exceptions::{PyLookupError, PyRuntimeError, PyTimeoutError, PyTypeError};
use pyo3::prelude::*;
use shm::RecvError;
use shm::dynamic::BorrowedBytes;
use shm::wait::{Wait, WaitStep};

use super::Subscriber;
use super::args::timeout_of;
use crate::errors::subscribe_error;
use crate::kind::SubscriberCore;
use crate::message::{Message, SlotBuffer};

/// A value of a lending topic lent to a subscriber for a `with` block (see
/// `Subscriber.borrow()`): entering it gives the value, read-only over the topic's shared
/// memory; leaving it lets the slot go (once arrays taken from the value are gone too).
#[pyclass(module = "shm_pub_sub", name = "Borrow")]
pub(crate) struct Borrow {
    buffer: Py<SlotBuffer>,
    value: Py<PyAny>,
    seq: u64,
    publish_time_ns: u64,
    missed: u64,
}

#[pymethods]
impl Borrow {
    fn __enter__(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }

    /// Ends the borrow: the value stops reading the slot (its fields raise), and the slot is
    /// let go now, or when the last array taken from the value is released.
    #[pyo3(signature = (_exc_type = None, _exc = None, _tb = None))]
    fn __exit__(
        &self,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        self.buffer.get().end();
        false
    }

    /// The value's sequence number.
    #[getter]
    fn seq(&self) -> u64 {
        self.seq
    }

    /// When it was published (`time.monotonic_ns()`'s clock).
    #[getter]
    fn publish_time_ns(&self) -> u64 {
        self.publish_time_ns
    }

    /// Values published before it that this subscriber never returned.
    #[getter]
    fn missed(&self) -> u64 {
        self.missed
    }
}

fn not_message(name: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "topic '{name}': borrow() lends a value of a Message class (a subscriber created with \
         one as default_value); read other values with subscribe()"
    ))
}

impl Subscriber {
    /// See the `borrow` method.
    pub(super) fn borrow_value(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Borrow> {
        let py = slf.py();
        let (ty, name) = {
            let me = slf.try_borrow()?;
            (me.common.ty.clone_ref(py), me.common.name.clone())
        };
        let message_type = {
            let mut me = slf.try_borrow_mut()?;
            match me.core()? {
                SubscriberCore::Message(s) => s.message_type().map(|t| t.clone_ref(py)),
                _ => None,
            }
        };
        let Some(message_type) = message_type else {
            return Err(not_message(&name));
        };
        let borrowed: BorrowedBytes = match timeout {
            None => {
                let mut me = slf.try_borrow_mut()?;
                let SubscriberCore::Message(s) = me.core()? else {
                    return Err(not_message(&name));
                };
                match s.borrow() {
                    Ok(Some(b)) => b,
                    Ok(None) => {
                        return Err(PyLookupError::new_err(format!(
                            "topic '{name}' has no value yet (borrow(timeout=...) waits for one)"
                        )));
                    }
                    Err(e) => return Err(subscribe_error(py, e, &ty)),
                }
            }
            Some(seconds) => {
                let mut wait = Wait::for_next(timeout_of(Some(seconds))?);
                loop {
                    let step = {
                        let mut me = slf.try_borrow_mut()?;
                        let SubscriberCore::Message(s) = me.core()? else {
                            return Err(not_message(&name));
                        };
                        s.wait_step_borrow(&mut wait)
                    };
                    match step {
                        Ok(WaitStep::Ready(sample)) => break sample.value,
                        Ok(WaitStep::Block(sleeper)) => {
                            py.detach(move || sleeper.block());
                            py.check_signals()?;
                        }
                        Err(RecvError::Timeout { .. }) => {
                            return Err(PyTimeoutError::new_err(format!(
                                "no new value on topic '{name}' within {seconds} s"
                            )));
                        }
                        Err(RecvError::PublisherGone { owner, .. }) => {
                            return Err(PyTimeoutError::new_err(format!(
                                "no new value on topic '{name}': its publisher ({owner}) exited \
                                 during the wait"
                            )));
                        }
                        Err(RecvError::Subscribe(e)) => return Err(subscribe_error(py, e, &ty)),
                        Err(e) => return Err(PyRuntimeError::new_err(e.to_string())),
                    }
                }
            }
        };
        let sample = borrowed.sample();
        let buffer = Py::new(py, SlotBuffer::of_borrow(borrowed))?;
        let value = Message::instance(py, &message_type, buffer.clone_ref(py).into_any(), 0, true)?;
        Ok(Borrow {
            buffer,
            value: value.unbind(),
            seq: sample.seq,
            publish_time_ns: sample.published.as_nanos(),
            missed: sample.missed,
        })
    }
}
