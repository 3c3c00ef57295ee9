//! `shm_pub_sub.Subscriber`: the class and its methods. The sample it keeps of the last value
//! and the `Sample` class are in `got.rs`, argument checks in `args.rs`, and the steps of a
//! blocking wait in `wait.rs`.

pub(crate) mod args;
mod borrow;
mod got;
mod wait;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyTuple};
use shm::wait::Wait;

use crate::common::{Common, pymethods_with_common};
use crate::errors::{closed_error, subscribe_error};
use crate::kind::{SubscriberCore, with_subscriber};
use crate::message::MessageSubscriber;
use crate::ty::Ty;
use crate::value::py_repr;
pub(crate) use args::owner_arg;
use args::{Options, max_age_arg, max_borrowed_arg, timeout_of};
pub(crate) use borrow::Borrow;
use got::Got;
pub(crate) use got::{PySample, ToPython};

/// What a non-blocking read found.
enum Read {
    /// The value returned last time, again.
    Same,
    New(PyResult<Got>),
    Nothing,
}

/// Reads the values of one topic, published by another process (or this one).
///
/// `default_value` selects the type this subscriber reads (a bool, int, float, or a value of a
/// `Message` class; `None` reads whatever type the topic carries, as values of a class made
/// from its stored schema) and is what `subscribe()` returns while there is no data. The subscriber may be created before the
/// topic's publisher; it sees the publisher's values once they arrive.
///
/// `max_age` (seconds): values published longer ago count as no data, so a publisher that
/// stopped publishing reads as `(default_value, False)` after that time.
///
/// `max_borrowed` (an int from 1 to 7, default 1): on a lending topic, how many borrowed values this
/// subscriber may hold at once (a value is held while arrays taken from it in a `borrow()`
/// block are alive); each costs the topic a slot, and a topic without enough slots for it
/// refuses the subscriber (`RuntimeError` naming the `buffer_num` it needs).
///
/// `owner`: whose topic files to read. By default (`None`) only this user's: anyone can create
/// a file in the shared topic directory first, and a file of another user raises
/// `ForeignTopicError`. A uid trusts that user (a topic it publishes with `mode=0o644`);
/// `"any"` trusts every user (for tools).
///
/// A topic of another type raises `SchemaMismatchError` (a `TypeError`), here or, if the
/// topic is created later, from `subscribe()`. A value published before a `subscribe()` began
/// (in any process) is seen by it, even if the topic did not exist when the subscriber was
/// created; while the topic does not exist, `subscribe()` makes no syscall.
///
/// `default_value` is returned as given (an `IntEnum` member stays one); values read are
/// always plain `bool`, `int` or `float`.
#[pyclass(module = "shm_pub_sub", name = "Subscriber")]
pub(crate) struct Subscriber {
    core: Option<SubscriberCore>,
    common: Common,
    max_age: Option<f64>,
    max_borrowed: u32,
    /// `(default_value, False)`, what a read without data returns.
    no_data: Py<PyTuple>,
    /// The last value returned, with its sequence number, publish time and freshness.
    last: Option<Got>,
    /// Borrows whose blocks ended, to lend again.
    spares: crate::message::Spares<Borrow>,
}

impl Subscriber {
    /// `close()`: unmaps the topic.
    fn retire_core(&mut self) {
        self.spares.clear();
        self.core = None;
    }

    /// The type it reads (for error messages).
    pub(crate) fn ty(&self) -> &Ty {
        &self.common.ty
    }

    /// The open core (a closed subscriber raises), for a wait set to watch.
    pub(crate) fn open_core(&self) -> PyResult<&SubscriberCore> {
        self.core
            .as_ref()
            .ok_or_else(|| closed_error("Subscriber", &self.common.name))
    }

    fn core(&mut self) -> PyResult<&mut SubscriberCore> {
        match self.core.as_mut() {
            Some(core) => Ok(core),
            None => Err(closed_error("Subscriber", &self.common.name)),
        }
    }

    /// The schema of the topic a subscriber of any type found (`None` before, and for the
    /// others, whose type is their own).
    fn found_schema(&self) -> Option<std::sync::Arc<shm::dynamic::TopicSchema>> {
        match (&self.common.ty, &self.core) {
            (Ty::Any, Some(SubscriberCore::Message(s))) => s.found_schema(),
            _ => None,
        }
    }

    /// Keeps `got` as the last value returned, and returns its `(value, True)`.
    fn keep(&mut self, py: Python<'_>, got: Got) -> Py<PyAny> {
        let result = got.result.clone_ref(py).into_any();
        self.last = Some(got);
        result
    }

    /// `(last value returned or default_value, False)`: what a wait that ends without data
    /// returns.
    fn last_or_default(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = match &self.last {
            Some(got) if got.has_value => got.value.clone_ref(py),
            _ => self.common.default_value.clone_ref(py),
        };
        Ok((value, false).into_pyobject(py)?.into_any().unbind())
    }
}

pymethods_with_common!(Subscriber {
    #[new]
    #[pyo3(signature = (name, default_value, *, max_age=None, owner=None, max_borrowed=1))]
    fn new(
        py: Python<'_>,
        name: &str,
        default_value: &Bound<'_, PyAny>,
        max_age: Option<f64>,
        owner: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = max_borrowed_arg)] max_borrowed: u32,
    ) -> PyResult<Subscriber> {
        let ty = Ty::of_default(default_value, "Subscriber", name)?;
        let owner = owner_arg(owner)?;
        let age = max_age_arg(max_age)?;
        let options = Options {
            name,
            age,
            owner,
            max_borrowed,
        };
        let core = match &ty {
            Ty::Scalar(kind) => SubscriberCore::open(*kind, options),
            Ty::Message(t) => {
                MessageSubscriber::open(py, Some(t.bind(py)), options).map(SubscriberCore::Message)
            }
            Ty::Any => MessageSubscriber::open(py, None, options).map(SubscriberCore::Message),
            Ty::Slice(s) => MessageSubscriber::open_slice(py, s.bind(py), options)
                .map(SubscriberCore::Message),
        }
        .map_err(|e| subscribe_error(py, e, &ty))?;
        let path = with_subscriber!(&core, s => s.path()).display().to_string();
        Ok(Subscriber {
            core: Some(core),
            common: Common {
                name: name.to_owned(),
                ty,
                default_value: default_value.clone().unbind(),
                path,
            },
            no_data: PyTuple::new(
                py,
                [
                    default_value.clone(),
                    PyBool::new(py, false).to_owned().into_any(),
                ],
            )?
            .unbind(),
            max_age,
            max_borrowed,
            last: None,
            spares: crate::message::Spares::default(),
        })
    }

    /// Returns `(data, is_success)`.
    ///
    /// Without a timeout (the default), never blocks: the newest value published on the topic
    /// and `True`, or `(default_value, False)` while nothing (or nothing younger than
    /// `max_age`) has been published. Reading an existing topic makes no syscall.
    ///
    /// With `timeout` (seconds), waits for a value newer than the last one this subscriber
    /// returned: `(value, True)` as soon as one is published (at once if there already is
    /// one), or `(last value returned or default_value, False)` when the timeout passes, or
    /// earlier if the topic's publisher exits or is killed during the wait (then
    /// `publisher_alive` is `False`). The wait sleeps in the kernel (no polling) with the GIL
    /// released, and Ctrl-C interrupts it. `timeout=math.inf` waits without a deadline.
    ///
    /// Never returns a torn value. Raises `SchemaMismatchError` if the topic was (re)created
    /// with another type.
    #[pyo3(signature = (timeout=None))]
    fn subscribe(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let Some(seconds) = timeout else {
            let mut me = slf.try_borrow_mut()?;
            let ty = me.common.ty.clone_ref(py);
            let has_last = me.last.as_ref().is_some_and(|g| g.has_value);
            let read = match me.core()? {
                // Not copied out at all when it is the value returned last time.
                SubscriberCore::Message(s) => {
                    s.latest_unless_seen(has_last).map(|o| match o {
                        None => Read::Nothing,
                        Some((_, None)) => Read::Same,
                        Some((sample, Some(v))) => Read::New(Got::new(py, sample.map(|()| v))),
                    })
                }
                core => with_subscriber!(core, s => s.latest().map(|o| match o {
                    None => Read::Nothing,
                    // Not new: the very value returned last time (same file, same number).
                    Some(x) if !x.is_new && has_last => Read::Same,
                    Some(x) => Read::New(Got::new(py, x)),
                })),
            };
            return match read {
                Ok(Read::Same) => match &mut me.last {
                    Some(got) => {
                        got.sample.is_new = false;
                        got.sample.missed = 0;
                        Ok(got.result.clone_ref(py).into_any())
                    }
                    None => unreachable!("a value not new was returned before"),
                },
                Ok(Read::New(got)) => Ok(me.keep(py, got?)),
                Ok(Read::Nothing) => Ok(me.no_data.clone_ref(py).into_any()),
                Err(e) => Err(subscribe_error(py, e, &ty)),
            };
        };
        let wait = Wait::for_next(timeout_of(Some(seconds))?);
        match Subscriber::wait_loop(slf, wait, None)? {
            Ok(Some(got)) => Ok(slf.try_borrow_mut()?.keep(py, got)),
            Ok(None) | Err(_) => slf.try_borrow()?.last_or_default(py),
        }
    }

    /// Lends a value of a lending topic (`Publisher(..., lending=True)`) in place, for a
    /// `with` block: `with sub.borrow(timeout=1.0) as frame:` gives the value read-only over
    /// the topic's shared memory (array fields are read-only numpy arrays over it: no copy at
    /// any size), unchanged until the block ends, whatever the publisher does meanwhile.
    ///
    /// With `timeout` (seconds), waits like `subscribe(timeout)` for a value newer than the last
    /// one this subscriber returned (at once if there is one) and raises `TimeoutError` if none
    /// comes in time (or its publisher exits); the GIL is released while it waits. Without,
    /// lends the newest value at once (`LookupError` if there is none yet).
    ///
    /// After the block the value's fields raise `ValueError`; arrays taken from it keep the slot
    /// (unchanged) until they are released. A subscriber holds `max_borrowed` borrowed values
    /// at a time (1 by default).
    #[pyo3(signature = (timeout=None))]
    fn borrow(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Py<Borrow>> {
        Subscriber::borrow_value(slf, timeout)
    }

    /// Waits until a value newer than the last one this subscriber returned is available, and
    /// returns `True` (the next `subscribe()` returns it), or `False` when `timeout` seconds
    /// pass (`None`: no deadline) or the topic's publisher exits or is killed during the wait.
    /// Reads nothing; like `subscribe(timeout)`, it sleeps with the GIL released and Ctrl-C
    /// interrupts it.
    #[pyo3(signature = (timeout=None))]
    fn wait(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<bool> {
        let wait = Wait::for_available(timeout_of(timeout)?);
        Ok(Subscriber::wait_loop(slf, wait, None)?.is_ok())
    }

    /// Every value newer than the last one this subscriber returned that the topic's ring still
    /// holds (at most `buffer_num`), oldest first, as a list of `Sample`s (value, seq,
    /// publish_time_ns, missed); empty if there is none. For a reader slower than its publisher
    /// that must see every value it can: values overwritten before it read them are counted
    /// in the next sample's `missed`, never returned torn or out of order. The first call
    /// returns whatever the ring holds.
    ///
    /// With `timeout` (seconds; `math.inf`: no deadline), waits like `subscribe(timeout)` for a
    /// first new value (sleeping in the kernel, GIL released), then returns all of them; an
    /// empty list when the timeout passes or the publisher exits. Afterwards `last_seq` and
    /// `last_publish_time_ns` are those of the last sample, `missed` the batch's total.
    #[pyo3(signature = (timeout=None))]
    fn subscribe_all(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Vec<PySample>> {
        let py = slf.py();
        if let Some(seconds) = timeout {
            let wait = Wait::for_available(timeout_of(Some(seconds))?);
            if Subscriber::wait_loop(slf, wait, None)?.is_err() {
                return Ok(Vec::new());
            }
        }
        let mut me = slf.try_borrow_mut()?;
        let ty = me.common.ty.clone_ref(py);
        let batch = with_subscriber!(me.core()?, s => s.try_recv_all().map(|all| {
            all.into_iter()
                .map(|x| {
                    let (value, sample) = x.into_parts();
                    Ok((value.into_python(py)?, sample))
                })
                .collect::<PyResult<Vec<_>>>()
        }))
        .map_err(|e| subscribe_error(py, e, &ty))??;
        if let Some((value, sample)) = batch.last() {
            // The batch as one read: the last value, with every value missed before it.
            let mut last = *sample;
            last.missed = batch.iter().map(|(_, s)| s.missed).sum();
            me.last = Some(Got::of(py, value.clone_ref(py), true, last)?);
        }
        Ok(batch
            .into_iter()
            .map(|(value, s)| PySample {
                value,
                seq: s.seq,
                publish_time_ns: s.published.as_nanos(),
                missed: s.missed,
            })
            .collect())
    }

    /// Copies the newest value of a message topic into `buffer`, a writable buffer of one
    /// value's size (a numpy array of the class's `dtype` or of its bytes, a `bytearray`, a
    /// `memoryview`): no allocation, and the GIL is released while a large value is copied.
    /// Returns `True` if a value was copied, `False` if there is none (nothing published, or
    /// older than `max_age`). With `timeout` (seconds; `math.inf`: no deadline), first waits like
    /// `subscribe(timeout)` for a value newer than the last one returned; `False` if none came.
    /// Never copies a torn value.
    #[pyo3(signature = (buffer, timeout=None))]
    fn subscribe_into(
        slf: &Bound<'_, Self>,
        buffer: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<bool> {
        let py = slf.py();
        if let Some(seconds) = timeout {
            let wait = Wait::for_available(timeout_of(Some(seconds))?);
            if Subscriber::wait_loop(slf, wait, None)?.is_err() {
                return Ok(false);
            }
        }
        let mut me = slf.try_borrow_mut()?;
        let ty = me.common.ty.clone_ref(py);
        let SubscriberCore::Message(s) = me.core()? else {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "subscribe_into copies message values into a buffer; this subscriber reads {} \
                 values: use subscribe()",
                ty.label()
            )));
        };
        match s.latest_into(buffer)? {
            Ok(Some(sample)) => {
                me.last = Some(Got::of(py, buffer.clone().unbind(), false, sample)?);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(subscribe_error(py, e, &ty)),
        }
    }

    /// `wait()` for `recv()`: also ends when `stop()` returns true (asked at least every 50 ms),
    /// and says why it ended: `"ready"`, `"timeout"`, `"publisher_gone"` or `"stopped"`.
    #[pyo3(signature = (timeout, stop))]
    fn _wait(
        slf: &Bound<'_, Self>,
        timeout: Option<f64>,
        stop: &Bound<'_, PyAny>,
    ) -> PyResult<&'static str> {
        let wait = Wait::for_available(timeout_of(timeout)?);
        Ok(match Subscriber::wait_loop(slf, wait, Some(stop))? {
            Ok(_) => "ready",
            Err(end) => end.name(),
        })
    }

    /// For `recv()`: the value newer than the last one returned (marking it returned), or
    /// `None`; never blocks.
    fn _take(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let mut me = slf.try_borrow_mut()?;
        let ty = me.common.ty.clone_ref(py);
        let read =
            with_subscriber!(me.core()?, s => s.try_recv().map(|o| o.map(|x| Got::new(py, x))));
        match read {
            Ok(Some(got)) => {
                let got = got?;
                let value = got.value.clone_ref(py);
                me.keep(py, got);
                Ok(Some(value))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(subscribe_error(py, e, &ty)),
        }
    }

    /// `await sub.recv()`: the next value newer than the last one this subscriber returned.
    /// Every subscriber awaited in an event loop shares one waiting thread (a `WaitSet`
    /// sleeping in the kernel, not polling), so the event loop keeps running; cancelling the
    /// task ends the wait and loses nothing. Raises `TimeoutError` after `timeout` seconds
    /// (`None`: no deadline). A publisher that exits does not end it: it waits for the next
    /// publisher's values.
    #[pyo3(signature = (timeout=None))]
    fn recv<'py>(slf: &Bound<'py, Self>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        timeout_of(timeout)?;
        let aio = slf.py().import("shm_pub_sub._aio")?;
        aio.getattr("recv")?.call1((slf, timeout))
    }

    /// `async for value in subscriber:` each new value, as `await subscriber.recv()` returns
    /// them (values published while the loop body runs are skipped, counted in `missed`).
    fn __aiter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let aio = slf.py().import("shm_pub_sub._aio")?;
        aio.getattr("Values")?.call1((slf,))
    }

    /// Sequence number of the last value `subscribe()` returned (1 for a topic's first value,
    /// +1 per publish), or `None` before the first successful read. A jump of more than 1
    /// between two reads means values were published in between.
    #[getter]
    fn last_seq(&self) -> Option<u64> {
        self.last.as_ref().map(|g| g.sample.seq)
    }

    /// When the last value `subscribe()` returned was published, in nanoseconds on the clock
    /// of `time.monotonic_ns()` (shared by all processes of the machine), or `None`.
    #[getter]
    fn last_publish_time_ns(&self) -> Option<u64> {
        self.last.as_ref().map(|g| g.sample.published.as_nanos())
    }

    /// Whether the last successful read returned a value this subscriber had not returned
    /// before (`False` when `subscribe()` returned the same value again), or `None` before the
    /// first successful read.
    #[getter]
    fn is_new(&self) -> Option<bool> {
        self.last.as_ref().map(|g| g.sample.is_new)
    }

    /// How many values were published, and never seen by this subscriber, between the previous
    /// new value it returned and the last one (0 if it saw every value, or `None` before the
    /// first successful read). The topic keeps only the latest value: a slow reader skips.
    #[getter]
    fn missed(&self) -> Option<u64> {
        self.last.as_ref().map(|g| g.sample.missed)
    }

    /// Whether a live process publishes the topic right now (asks the kernel: one syscall).
    /// `False` while no publisher has created the topic, and once it exits or is killed.
    #[getter]
    fn publisher_alive(&mut self, py: Python<'_>) -> PyResult<bool> {
        let ty = self.common.ty.clone_ref(py);
        with_subscriber!(self.core()?, s => s.publisher_alive())
            .map_err(|e| subscribe_error(py, e, &ty))
    }

    /// The `max_age` given at creation, in seconds, or `None`.
    #[getter]
    fn max_age(&self) -> Option<f64> {
        self.max_age
    }

    /// The `max_borrowed` given at creation.
    #[getter]
    fn max_borrowed(&self) -> u32 {
        self.max_borrowed
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let name = py_repr(py, &self.common.name);
        let state = match (&self.core, &self.last) {
            (None, _) => "closed".to_owned(),
            (Some(_), None) => "last_seq=None".to_owned(),
            (Some(_), Some(got)) => format!("last_seq={}", got.sample.seq),
        };
        format!(
            "<shm_pub_sub.Subscriber {name} {} {state}>",
            self.common.ty.label()
        )
    }
});
