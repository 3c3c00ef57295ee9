//! `Subscriber.borrow()`: a value of a lending topic read in place, for a `with` block.

use pyo3::exceptions::{PyLookupError, PyRuntimeError, PyTimeoutError, PyTypeError};
use pyo3::prelude::*;
use shm::RecvError;
use shm::dynamic::BorrowedBytes;
use shm::wait::{Wait, WaitStep};

use super::Subscriber;
use super::args::timeout_of;
use crate::common::Common;
use crate::errors::{closed_error, subscribe_error};
use crate::kind::SubscriberCore;
use crate::message::{Keep, Lent, LentSlice, Message, MessageSubscriber, SlotBuffer};

/// A value of a lending topic lent to a subscriber for a `with` block (see
/// `Subscriber.borrow()`): entering it gives the value, read-only over the topic's shared
/// memory; leaving it lets the slot go (once arrays taken from the value are gone too).
#[pyclass(module = "shm_pub_sub", name = "Borrow")]
pub(crate) struct Borrow {
    /// Until the block ends (then the subscriber keeps this to lend again: no cycle).
    subscriber: Option<Py<Subscriber>>,
    buffer: Py<SlotBuffer>,
    value: Py<PyAny>,
    seq: u64,
    publish_time_ns: u64,
    missed: u64,
}

impl Lent for Borrow {
    fn parts(&self) -> (&Py<PyAny>, &Py<SlotBuffer>) {
        (&self.value, &self.buffer)
    }
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
        slf: &Bound<'_, Self>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let mut me = slf.try_borrow_mut()?;
        me.buffer.get().end();
        if let Some(owner) = me.subscriber.take() {
            drop(me);
            if let Ok(mut subscriber) = owner.bind(slf.py()).try_borrow_mut() {
                subscriber.spares.put(slf.py(), slf.clone().unbind());
            }
        }
        Ok(false)
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
        "topic '{name}': borrow() lends a value of a Message class or a slice (a subscriber \
         created with one as default_value); read other values with subscribe()"
    ))
}

impl Subscriber {
    /// See the `borrow` method.
    pub(super) fn borrow_value(
        slf: &Bound<'_, Self>,
        timeout: Option<f64>,
    ) -> PyResult<Py<Borrow>> {
        let py = slf.py();
        {
            // Refused before anything is read.
            let mut guard = slf.try_borrow_mut()?;
            let (s, common) = lender(&mut guard)?;
            if s.message_type().is_none() && s.slice_type().is_none() {
                return Err(not_message(&common.name));
            }
        }
        let borrowed: BorrowedBytes = match timeout {
            None => {
                let mut guard = slf.try_borrow_mut()?;
                let (s, common) = lender(&mut guard)?;
                let name = &common.name;
                match s.borrow() {
                    Ok(Some(b)) => b,
                    Ok(None) => {
                        return Err(PyLookupError::new_err(format!(
                            "topic '{name}' has no value yet (borrow(timeout=...) waits for one)"
                        )));
                    }
                    Err(e) => return Err(subscribe_error(py, e, &common.ty)),
                }
            }
            Some(seconds) => Subscriber::borrow_wait(slf, seconds)?,
        };
        let sample = borrowed.sample();
        let (seq, publish_time_ns, missed) =
            (sample.seq, sample.published.as_nanos(), sample.missed);
        let mut guard = slf.try_borrow_mut()?;
        let me = &mut *guard;
        let (ty, slice) = match me.core.as_mut() {
            Some(SubscriberCore::Message(s)) => (
                s.message_type().map(|t| t.clone_ref(py)),
                s.slice_type().map(|t| t.clone_ref(py)),
            ),
            _ => (None, None),
        };
        // A slice's length, at most the room of the value's own type (any room is read).
        let len = borrowed
            .schema()
            .sequence_len(borrowed.bytes())
            .unwrap_or(0);
        let room = borrowed
            .schema()
            .sequence_cap()
            .map_or(0, |cap| usize::try_from(cap).unwrap_or(usize::MAX));
        let keep = Keep::Borrow(borrowed);
        let owner = Some(slf.clone().unbind());
        if let Some(ty) = &ty
            && let Some(kit) = me.spares.take(py, ty.get().class(py)?, &keep)
        {
            let mut k = kit.bind(py).try_borrow_mut()?;
            k.buffer.get().refill(keep);
            (k.subscriber, k.seq, k.publish_time_ns, k.missed) =
                (owner, seq, publish_time_ns, missed);
            drop(k);
            return Ok(kit);
        }
        let buffer = Py::new(py, SlotBuffer::new(keep))?;
        let value = match (ty, slice) {
            (Some(ty), _) => {
                Message::instance(py, &ty, buffer.clone_ref(py).into_any(), 0, true)?.unbind()
            }
            (None, Some(slice)) => Py::new(
                py,
                LentSlice::new(py, buffer.clone_ref(py), slice.get(), len, room)?,
            )?
            .into_any(),
            (None, None) => return Err(not_message(&me.common.name)),
        };
        Py::new(
            py,
            Borrow {
                subscriber: owner,
                buffer,
                value,
                seq,
                publish_time_ns,
                missed,
            },
        )
    }

    /// Waits up to `seconds` for a value newer than the last one returned, and borrows it.
    fn borrow_wait(slf: &Bound<'_, Self>, seconds: f64) -> PyResult<BorrowedBytes> {
        let py = slf.py();
        let mut wait = Wait::for_next(timeout_of(Some(seconds))?);
        loop {
            let step = {
                let mut guard = slf.try_borrow_mut()?;
                let (s, common) = lender(&mut guard)?;
                let name = &common.name;
                match s.wait_step_borrow(&mut wait) {
                    Ok(WaitStep::Ready(sample)) => return Ok(sample.value),
                    Ok(WaitStep::Block(sleeper)) => sleeper,
                    Err(e) => {
                        return Err(match e {
                            RecvError::Timeout { .. } => PyTimeoutError::new_err(format!(
                                "no new value on topic '{name}' within {seconds} s"
                            )),
                            RecvError::PublisherGone { owner, .. } => {
                                PyTimeoutError::new_err(format!(
                                    "no new value on topic '{name}': its publisher ({owner}) \
                                     exited during the wait"
                                ))
                            }
                            RecvError::Subscribe(e) => subscribe_error(py, e, &common.ty),
                            e => PyRuntimeError::new_err(e.to_string()),
                        });
                    }
                }
            };
            py.detach(move || step.block());
            py.check_signals()?;
        }
    }
}

/// The message subscriber under `me`, and what errors name (its topic, its type).
fn lender(me: &mut Subscriber) -> PyResult<(&mut MessageSubscriber, &Common)> {
    let Subscriber { core, common, .. } = me;
    match core.as_mut() {
        Some(SubscriberCore::Message(s)) => Ok((s, common)),
        Some(_) => Err(not_message(&common.name)),
        None => Err(closed_error("Subscriber", &common.name)),
    }
}
