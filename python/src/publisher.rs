//! `shm_pub_sub.Publisher`.

use pyo3::exceptions::{PyBufferError, PyOSError, PyRuntimeError, PyTypeError, PyValueError};

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};
use shm::{MAX_BUFFER_NUM, MIN_BUFFER_NUM, PublishClock};

use crate::carried::Carried;
use crate::common::{Common, pymethods_with_common};
use crate::errors::{
    ForkedProcessError, TopicBusyError, TopicFormatError, closed_error, create_error,
};
use crate::kind::{MakePublisher, PublisherCore, with_publisher};
use crate::message::{
    Keep, Lent, LentSlice, Message, MessagePublisher, PubArgs, SlotBuffer, Spares,
};
use crate::ty::Ty;
use crate::value::py_repr;

/// Publishes the values of one topic to every process that subscribes to it.
///
/// `default_value` selects the topic's type: a bool, int or float (`bool`, 64-bit `int` or
/// 64-bit `float`), or a value of a `Message` class (that message type, which a Rust
/// `#[derive(ShmMessage)]` struct of the same fields shares). It is not published; subscribers
/// see their own default until the first `publish`. A message topic's `publish` also takes a
/// dict of fields, or a buffer of one value's bytes (a numpy array or record of the class's
/// `dtype`, `bytes`), copied with the GIL released when large. `buffer_num` (2 to 4096; `None` means 3) is the number of slots the value
/// rotates through.
/// `mode` (default 0o600) may widen read access to the owner's group (0o640) or everyone
/// (0o644). A slice topic's publisher (`default_value=seq[Point, L[1000]]()`) with `grow=True`
/// replaces the topic with one of twice the room when a value does not fit (its subscribers
/// follow); without it, a longer value is a `ValueError`. `timestamps="coarse"` stamps values with the kernel's last timer tick (1–4 ms
/// resolution) instead of the nanosecond clock, which saves about 20 ns per `publish`.
///
/// A topic has one publisher at a time: a second live one raises `TopicBusyError`; after a
/// publisher died, a new one takes the topic over and continues its sequence numbers.
///
/// Use an object from one thread at a time (concurrent calls raise `RuntimeError`).
#[pyclass(module = "shm_pub_sub", name = "Publisher")]
pub(crate) struct Publisher {
    core: Option<PublisherCore>,
    common: Common,
    buffer_num: usize,
    /// The slot of the loan whose `with` block is under way (its `Loan`, if dropped without
    /// ending, marks it abandoned: then the next write ends it).
    open_loan: Option<Py<SlotBuffer>>,
    /// Loans whose arrays outlived their block: their slots stay out of use until those arrays
    /// are gone.
    quarantine: Vec<Py<SlotBuffer>>,
    /// Loans whose blocks ended, to lend again.
    spares: Spares<Loan>,
}

/// The options of a new publisher, for the carried type chosen by the `default_value`.
struct Options<'a> {
    name: &'a str,
    buffer_num: usize,
    mode: Option<u32>,
    timestamps: PublishClock,
    lending: bool,
}

impl MakePublisher for Options<'_> {
    type Error = PyErr;
    fn make<T: Carried>(self) -> PyResult<shm::Publisher<T>> {
        let mut builder = shm::Publisher::<T>::builder(self.name)
            .buffer_num(self.buffer_num)
            .lending(self.lending)
            .clock(self.timestamps);
        if let Some(mode) = self.mode {
            builder = builder.mode(mode);
        }
        builder.create().map_err(create_error)
    }
}

/// `buffer_num` as a count, with a `ValueError` for any int out of range (including negative
/// and huge ones, which do not fit `usize`).
fn buffer_num_arg(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "buffer_num must be an int from {MIN_BUFFER_NUM} to {MAX_BUFFER_NUM}, not {}",
            crate::value::describe(value)
        )));
    }
    match value.extract::<usize>() {
        Ok(n) if (MIN_BUFFER_NUM..=MAX_BUFFER_NUM).contains(&n) => Ok(n),
        _ => Err(PyValueError::new_err(format!(
            "buffer_num {} is out of range; use {MIN_BUFFER_NUM} to {MAX_BUFFER_NUM} (3 to 5 is typical): \
             the publisher always writes a slot readers are not reading",
            value.str().map(|s| s.to_string()).unwrap_or_default()
        ))),
    }
}

fn mode_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u32>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "mode must be an int such as 0o600, 0o640 or 0o644, not {}",
            crate::value::describe(value)
        )));
    }
    value.extract::<u32>().map(Some).map_err(|_| {
        PyValueError::new_err(format!(
            "permission mode {} is not allowed: use 0o600, 0o640 or 0o644",
            value.str().map(|s| s.to_string()).unwrap_or_default()
        ))
    })
}

/// `timestamps` as the runtime's option: `"precise"` (default) or `"coarse"`.
fn timestamps_arg(value: Option<&str>) -> PyResult<PublishClock> {
    match value {
        None | Some("precise") => Ok(PublishClock::Precise),
        Some("coarse") => Ok(PublishClock::Coarse),
        Some(other) => Err(PyValueError::new_err(format!(
            "timestamps must be \"precise\" (nanoseconds, the default) or \"coarse\" (the kernel's last timer tick, a few ns cheaper to take), not {other:?}"
        ))),
    }
}

pymethods_with_common!(Publisher {
    #[new]
    #[pyo3(
        signature = (name, default_value, buffer_num = None, *, mode = None, timestamps = None, grow = false, lending = false),
        text_signature = "(name, default_value, buffer_num=3, *, mode=None, timestamps='precise', grow=False, lending=False)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &str,
        default_value: &Bound<'_, PyAny>,
        buffer_num: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
        timestamps: Option<&str>,
        grow: bool,
        lending: bool,
    ) -> PyResult<Publisher> {
        let ty = Ty::of_default(default_value, "Publisher", name)?;
        if grow && !matches!(ty, Ty::Slice(_)) {
            return Err(PyTypeError::new_err(format!(
                "grow=True is for slice topics (a default_value such as seq[Point, L[1000]]()), \
                 not {} topics, whose values have one size",
                ty.label()
            )));
        }
        let buffer_num = match buffer_num {
            None if lending => shm::DEFAULT_LENDING_BUFFER_NUM,
            None => shm::DEFAULT_BUFFER_NUM,
            Some(v) => buffer_num_arg(v)?,
        };
        let options = Options {
            name,
            buffer_num,
            mode: mode_arg(mode)?,
            timestamps: timestamps_arg(timestamps)?,
            lending,
        };
        let args = PubArgs {
            buffer_num,
            mode: options.mode,
            timestamps: options.timestamps,
            lending,
        };
        let core = match &ty {
            Ty::Scalar(kind) => PublisherCore::create(*kind, options)?,
            Ty::Message(t) => PublisherCore::Message(
                MessagePublisher::create(t.bind(default_value.py()), name, &args)
                    .map_err(create_error)?,
            ),
            Ty::Slice(s) => PublisherCore::Message(
                MessagePublisher::create_slice(s.bind(default_value.py()), name, &args, grow)
                    .map_err(create_error)?,
            ),
            Ty::Any => {
                return Err(PyTypeError::new_err(format!(
                    "Publisher('{name}', None): a publisher needs a default_value of the topic's \
                     type (a bool, int, float or Message value)"
                )));
            }
        };
        let path = with_publisher!(&core, p => p.path()).display().to_string();
        Ok(Publisher {
            core: Some(core),
            common: Common {
                name: name.to_owned(),
                ty,
                default_value: default_value.clone().unbind(),
                path,
            },
            buffer_num,
            open_loan: None,
            quarantine: Vec::new(),
            spares: Spares::default(),
        })
    }

    /// Publishes `data`: subscribers' next `subscribe()` returns it. Wait-free, no syscall (but
    /// one look at the topic's file every 100 ms: a file removed by hand is made again).
    ///
    /// Raises `TypeError` for a value of another type (a float is never rounded into an int
    /// topic; an int is accepted by a float topic), `OverflowError` for an int outside 64 bits,
    /// `TopicBusyError` once the topic's file was removed by hand and another publisher made
    /// the topic since (this one then publishes nothing more).
    fn publish(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.prepare_write(py)?;
        let Some(core) = self.core.as_mut() else {
            return Err(closed_error("Publisher", &self.common.name));
        };
        let topic = &self.common.name;
        let published = with_publisher!(core, p => p.publish_py(data, topic)?);
        published.map(drop).map_err(|e| publish_error(&self.common.name, e))
    }

    /// Lends the slot the next value goes into, as a value of the topic's message class over
    /// the topic's shared memory, for a `with` block: `with pub.loan() as frame:` ... fill
    /// `frame` (its array fields are numpy arrays over the slot) ... and the value is published
    /// when the block ends without an exception (with one, nothing is published). No copy at
    /// any size. The value holds an earlier value's bytes (or zeros): write what you publish,
    /// or pass `zeroed=True`. Arrays taken from it must not outlive the block (the block then
    /// raises `BufferError` and publishes nothing). Needs a lending topic
    /// (`Publisher(..., lending=True)`).
    ///
    /// On a slice topic, `loan(n)` lends a value of `n` elements (at most the room, or more
    /// with `grow=True`): a `LentSlice` (`points["x"] = xs`, `points[:] = array`).
    #[pyo3(signature = (len = None, *, zeroed = false))]
    fn loan(slf: &Bound<'_, Self>, len: Option<usize>, zeroed: bool) -> PyResult<Py<Loan>> {
        let py = slf.py();
        let mut guard = slf.try_borrow_mut()?;
        guard.prepare_write(py)?;
        let me = &mut *guard;
        let name = &me.common.name;
        let publisher = match me.core.as_mut() {
            Some(PublisherCore::Message(p)) => p,
            None => return Err(closed_error("Publisher", name)),
            Some(_) => {
                return Err(PyTypeError::new_err(format!(
                    "topic '{name}': loan() lends a message value or a slice (a Message \
                     class's or a seq[...] topic); publish bool, int and float values with \
                     publish()"
                )));
            }
        };
        let ty = publisher.message_type().map(|t| t.clone_ref(py));
        let slice = publisher.slice_type().map(|t| t.clone_ref(py));
        let loan = match (&ty, &slice, len) {
            (Some(_), _, None) => publisher.loan(),
            (None, Some(_), Some(n)) => publisher.loan_slice(n),
            (Some(ty), _, Some(_)) => {
                return Err(PyTypeError::new_err(format!(
                    "topic '{name}' carries `{}` values: loan() takes no len (it is for slice \
                     topics)",
                    ty.get().schema.type_name()
                )));
            }
            _ => {
                let room = publisher.room();
                let label = slice
                    .as_ref()
                    .map_or_else(String::new, |s| s.get().label_with(room));
                return Err(PyTypeError::new_err(format!(
                    "topic '{name}' is a slice topic ({label}): loan(n) lends a value of n \
                     elements"
                )));
            }
        }
        .map_err(|e| publish_error(name, e))?;
        let (seq, room) = (loan.seq(), publisher.room());
        let keep = Keep::Loan(loan);
        let owner = Some(slf.clone().unbind());
        let spare = match &ty {
            Some(ty) => me.spares.take(py, ty.get().class(py)?, &keep),
            None => None,
        };
        let kit = match spare {
            Some(kit) => {
                let mut k = kit.bind(py).try_borrow_mut()?;
                k.buffer.get().refill(keep);
                (k.publisher, k.seq, k.done) = (owner, seq, false);
                drop(k);
                kit
            }
            None => {
                let buffer = Py::new(py, SlotBuffer::new(keep))?;
                let value = match (&ty, &slice, len) {
                    (Some(ty), _, _) => {
                        Message::instance(py, ty, buffer.clone_ref(py).into_any(), 0, false)?
                            .unbind()
                    }
                    (None, Some(slice), Some(n)) => {
                        Py::new(py, LentSlice::new(py, buffer.clone_ref(py), slice.get(), n, room)?)?
                            .into_any()
                    }
                    _ => unreachable!("checked above"),
                };
                let loan = Loan {
                    publisher: owner,
                    buffer,
                    value,
                    seq,
                    done: false,
                };
                Py::new(py, loan)?
            }
        };
        let buffer = kit.bind(py).try_borrow()?.buffer.clone_ref(py);
        if zeroed || len.is_some() {
            buffer.get().with_bytes_mut(py, |b| {
                if zeroed {
                    b.fill(0);
                }
                if let Some(n) = len {
                    // The slice's length, ahead of its elements (at most the room: loan_slice).
                    b[..8].copy_from_slice(&(n as u64).to_ne_bytes());
                }
            })?;
        }
        me.open_loan = Some(buffer);
        Ok(kit)
    }

    /// Number of slots in the topic's ring.
    #[getter]
    fn buffer_num(&self) -> usize {
        self.buffer_num
    }

    /// Sequence number of the last value published on the topic (by this publisher or, after a
    /// takeover, its predecessor), or `None` if nothing was published yet.
    #[getter]
    fn last_seq(&self) -> Option<u64> {
        let next = with_publisher!(self.core.as_ref()?, p => p.next_seq());
        (next > 1).then(|| next - 1)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let name = py_repr(py, &self.common.name);
        let label = self.common.ty.label();
        if self.core.is_none() {
            return format!("<shm_pub_sub.Publisher {name} {label} closed>");
        }
        let last = match self.last_seq() {
            Some(s) => s.to_string(),
            None => "None".to_owned(),
        };
        format!(
            "<shm_pub_sub.Publisher {name} {label} buffer_num={} last_seq={last}>",
            self.buffer_num
        )
    }
});

/// The Python exception of a failed publish.
fn publish_error(topic: &str, e: shm::PublishError) -> PyErr {
    let message = format!("topic '{topic}': {e}");
    match e {
        shm::PublishError::ForkedProcess => ForkedProcessError::new_err(message),
        shm::PublishError::WrongSize { .. } | shm::PublishError::InvalidValue(_) => {
            PyValueError::new_err(message)
        }
        shm::PublishError::GrowFailed { .. } => PyOSError::new_err(message),
        // The topic's file was removed by hand and another publisher made it since.
        shm::PublishError::Displaced { .. } => TopicBusyError::new_err(message),
        shm::PublishError::FileLost { .. } => PyOSError::new_err(message),
        shm::PublishError::NotLending { .. } => PyTypeError::new_err(format!(
            "topic '{topic}' is a copying topic, whose readers may read any slot at any time: \
             loan() needs a lending topic, Publisher(name, value, lending=True)"
        )),
        shm::PublishError::AllPinned { slots, .. } => PyRuntimeError::new_err(format!(
            "topic '{topic}': every slot but the newest value's is held by its subscribers \
             ({slots} slots): nothing was published, and no borrowed value was overwritten; have \
             subscribers let borrowed values go sooner, or create the Publisher with a larger \
             buffer_num"
        )),
        shm::PublishError::LoanGivenUp { .. } => PyRuntimeError::new_err(message),
        shm::PublishError::TooLong { len, max_len, .. } => PyValueError::new_err(format!(
            "topic '{topic}': a value of {len} elements does not fit, the topic holds at most \
             {max_len}; create the Publisher with a larger room (seq[..., L[{len}]]()) or with \
             grow=True to let it replace the topic with a larger one"
        )),
        _ => TopicFormatError::new_err(message),
    }
}

impl Publisher {
    /// A publisher's type is always its own.
    fn found_schema(&self) -> Option<std::sync::Arc<shm::dynamic::TopicSchema>> {
        None
    }

    /// Before a publish or a loan: none while a loan's block is under way, and the slots of
    /// loans whose arrays are still alive kept out of use (those whose arrays are gone freed).
    fn prepare_write(&mut self, py: Python<'_>) -> PyResult<()> {
        if let Some(buffer) = &self.open_loan {
            if !buffer.get().abandoned() {
                return Err(PyRuntimeError::new_err(format!(
                    "topic '{}': a loan of this publisher is under way; publish it (end its \
                     with block) before publishing or loaning again",
                    self.common.name
                )));
            }
            // Its `Loan` was dropped without a `with` block's end: given up.
            let buffer = buffer.clone_ref(py);
            self.open_loan = None;
            if !buffer.get().end() {
                self.quarantine.push(buffer);
            }
        }
        if self.quarantine.is_empty() {
            return Ok(());
        }
        self.quarantine.retain(|b| b.get().exported());
        if self.quarantine.len() + 2 >= self.buffer_num {
            return Err(PyBufferError::new_err(format!(
                "topic '{}': arrays of {} loaned values are still alive after their with blocks, \
                 and their slots stay out of use while they live; the topic has no slot left to \
                 write. Release them (del), or use arrays of a loan inside its block only",
                self.common.name,
                self.quarantine.len()
            )));
        }
        let slots = self.quarantine.iter().map(|b| b.get().slot()).collect();
        if let Some(PublisherCore::Message(p)) = self.core.as_mut() {
            p.avoid_slots(slots);
        }
        Ok(())
    }

    /// `close()` (and dropping the publisher): releases the topic, unless arrays of a loan
    /// outlived their block: then it keeps the topic (its lock and mapping) until the process
    /// exits, so that no publisher ever writes a slot those arrays may still write.
    fn retire_core(&mut self) {
        self.spares.clear();
        // A loan under way ends here: nothing more can be taken from its value.
        if let Some(buffer) = &self.open_loan {
            buffer.get().end();
        }
        let stale = self
            .open_loan
            .iter()
            .chain(&self.quarantine)
            .any(|b| b.get().exported());
        if let Some(core) = self.core.take()
            && stale
        {
            std::mem::forget(core);
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.retire_core();
    }
}

/// A value of a lending topic lent to its publisher for a `with` block (see
/// `Publisher.loan()`): entering it gives the value; leaving it without an exception publishes
/// the value.
#[pyclass(module = "shm_pub_sub", name = "Loan")]
pub(crate) struct Loan {
    /// Until the block ends (then the publisher keeps this to lend again: no cycle).
    publisher: Option<Py<Publisher>>,
    buffer: Py<SlotBuffer>,
    value: Py<PyAny>,
    seq: u64,
    done: bool,
}

impl Drop for Loan {
    fn drop(&mut self) {
        if !self.done {
            self.buffer.get().abandon();
        }
    }
}

impl Lent for Loan {
    fn parts(&self) -> (&Py<PyAny>, &Py<SlotBuffer>) {
        (&self.value, &self.buffer)
    }
}

#[pymethods]
impl Loan {
    fn __enter__(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }

    /// Publishes the value (no exception in the block), or gives the loan up. Raises
    /// `BufferError` (nothing published) if arrays taken from the value are still alive.
    #[pyo3(signature = (exc_type, _exc = None, _tb = None))]
    fn __exit__(
        slf: &Bound<'_, Self>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let py = slf.py();
        let mut me = slf.try_borrow_mut()?;
        let Some(owner) = me.publisher.as_ref().map(|p| p.clone_ref(py)) else {
            return Ok(false); // ended before
        };
        let mut publisher = owner.bind(py).try_borrow_mut()?;
        me.done = true;
        me.publisher = None;
        publisher.open_loan = None;
        let failed = exc_type.is_some_and(|t| !t.is_none());
        let ended = me.end(py, &mut publisher, failed);
        drop(me);
        publisher.spares.put(py, slf.clone().unbind());
        ended
    }

    /// The sequence number the value gets when published.
    #[getter]
    fn seq(&self) -> u64 {
        self.seq
    }
}

impl Loan {
    /// Ends the block: publishes the value unless `failed` (an exception in the block) or
    /// arrays taken from it are still alive (`BufferError`).
    fn end(&self, py: Python<'_>, publisher: &mut Publisher, failed: bool) -> PyResult<bool> {
        let buffer = self.buffer.get();
        let name = &publisher.common.name;
        if !buffer.end() {
            publisher.quarantine.push(self.buffer.clone_ref(py));
            if failed {
                return Ok(false);
            }
            return Err(PyBufferError::new_err(format!(
                "topic '{name}': arrays taken from the loaned value are still alive after its \
                 with block, and could write a published value: nothing was published. Use \
                 them inside the block only (or copy them), e.g. frame.pixels[:] = image"
            )));
        }
        let published = match publisher.core.as_mut() {
            _ if failed => Ok(None), // nothing published; the slot is given up
            Some(PublisherCore::Message(p)) => buffer
                .with_loan(|loan| match loan {
                    Some(loan) => p.publish_loan(loan).map(Some),
                    None => Err(shm::PublishError::LoanGivenUp {
                        topic: name.clone(),
                    }),
                })
                .map_err(|e| publish_error(name, e)),
            _ => Err(closed_error("Publisher", name)),
        };
        buffer.release();
        published.map(|_| false)
    }
}

/// Publishing a Python value, whatever the publisher carries (message publishers have the
/// same method).
trait PublishPy {
    /// Converts `data` and publishes it.
    fn publish_py(
        &mut self,
        data: &Bound<'_, PyAny>,
        topic: &str,
    ) -> PyResult<Result<u64, shm::PublishError>>;
}

impl<T: Carried> PublishPy for shm::Publisher<T> {
    #[inline]
    fn publish_py(
        &mut self,
        data: &Bound<'_, PyAny>,
        topic: &str,
    ) -> PyResult<Result<u64, shm::PublishError>> {
        Ok(self.publish(&T::extract(data, topic)?))
    }
}
