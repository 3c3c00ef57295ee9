//! Publishing and subscribing message values: the untyped cores of `shm::dynamic`, with the
//! conversions of this module, behind the same Python classes as the scalars.

use std::path::Path;
use std::sync::Arc;

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use shm::dynamic::{
    AnyPublisher, AnySubscriber, BorrowedBytes, BytesLoan, RawValue, TopicSchema, decode_with,
};
use shm::schema::DescKind;
use shm::wait::{Wait, WaitStep};
use shm::{PublishClock, PublishError, RecvError, Sample, SubscribeError};

use super::convert::{PyDecoder, format_primitive, write_value};
use super::instance::Message;
use super::view;
use super::{MessageType, SliceType, type_of_schema};
use crate::subscriber::args::Options;

/// Values at least this large are copied with the GIL released (another thread runs meanwhile).
const DETACH_BYTES: usize = 64 * 1024;

/// A value read from a message topic, converted to Python on demand.
pub(crate) struct MessageValue {
    bytes: Vec<u8>,
    /// Its type: the subscriber's, or (any type) the one it was read with.
    ty: ValueType,
}

enum ValueType {
    Known(Arc<Py<MessageType>>),
    Schema(Arc<TopicSchema>),
    /// A slice topic's value, of the schema it was read with (its room may change).
    Slice(Arc<Py<SliceType>>, Arc<TopicSchema>),
}

impl MessageValue {
    /// A value of `schema`, of the message class `class` when it has one (else a class made
    /// for the schema, or a plain value for a scalar).
    pub(crate) fn new(
        bytes: Vec<u8>,
        class: Option<&Py<MessageType>>,
        schema: &Arc<TopicSchema>,
        py: Python<'_>,
    ) -> MessageValue {
        MessageValue {
            bytes,
            ty: match class {
                Some(t) => ValueType::Known(Arc::new(t.clone_ref(py))),
                None => ValueType::Schema(Arc::clone(schema)),
            },
        }
    }

    /// The value as a `Message` of its class (a declared class, or one made for the topic's
    /// type).
    pub(crate) fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let ty = match self.ty {
            ValueType::Slice(slice, schema) => {
                // Read-only: a read may return this very array again.
                return slice.get().to_python(py, &schema, &self.bytes, true);
            }
            ValueType::Known(ty) => ty.clone_ref(py),
            // Not a struct (a subscriber of any type on a scalar or array topic): plain values.
            ValueType::Schema(schema) if !matches!(schema.desc().kind, DescKind::Struct(_)) => {
                let mut decoder = PyDecoder::new(py);
                return Ok(decode_with(&schema, &self.bytes, &mut decoder)?.unbind());
            }
            ValueType::Schema(schema) => type_of_schema(py, schema)?,
        };
        // Read-only: a read may return this very object again.
        Ok(Message::from_bytes(py, &ty, &self.bytes, true)?.unbind())
    }
}

/// A publisher of a message type, or of a slice topic.
pub(crate) struct MessagePublisher {
    inner: AnyPublisher,
    /// The message type (`None` for a slice topic).
    ty: Option<Py<MessageType>>,
    /// The slice type, for a slice topic.
    slice: Option<Py<SliceType>>,
    /// Whether a slice publisher grows its topic for a longer value.
    grow: bool,
}

/// The untyped publisher behind a Python one.
fn any_publisher(
    name: &str,
    schema: Arc<TopicSchema>,
    options: &PubArgs,
) -> Result<AnyPublisher, shm::CreateError> {
    let (buffer_num, mode, timestamps) = (options.buffer_num, options.mode, options.timestamps);
    let mut builder = AnyPublisher::builder(name, schema)
        .buffer_num(buffer_num)
        .lending(options.lending)
        .clock(timestamps);
    if let Some(mode) = mode {
        builder = builder.mode(mode);
    }
    builder.create()
}

/// A raw pointer a copy may use with the GIL released.
struct SendPtr(*const u8);
// SAFETY: the pointer is only read by the one copy it was made for, while the buffer export
// that keeps its memory alive is held by the thread waiting for that copy.
unsafe impl Send for SendPtr {}

/// As [`SendPtr`], for writing.
struct SendMutPtr(*mut u8);
// SAFETY: as for `SendPtr`.
unsafe impl Send for SendMutPtr {}

/// Publishes the first `size` bytes of `buffer` with `publish` (a value's, or a slice's
/// elements), large ones with the GIL released, then releases the buffer. With `private` (a
/// type with `bool`s) they are checked and published from a private copy, so that what was
/// checked is what is published even if another thread writes the buffer meanwhile; other
/// types have no invalid values and are copied straight into the topic.
fn publish_buffer(
    py: Python<'_>,
    inner: &mut AnyPublisher,
    buffer: PyUntypedBuffer,
    size: usize,
    private: bool,
    publish: fn(&mut AnyPublisher, &[u8]) -> Result<u64, PublishError>,
) -> Result<u64, PublishError> {
    debug_assert!(size <= buffer.len_bytes());
    let ptr = SendPtr(buffer.buf_ptr().cast::<u8>().cast_const());
    let copy = move || {
        let ptr = ptr;
        // SAFETY: `ptr` points at `size` contiguous bytes exported by the buffer, which the
        // calling thread holds until this returns. (A thread that writes them meanwhile races
        // with this copy as with any reader of a Python buffer; the documentation says not to.)
        let bytes = unsafe { std::slice::from_raw_parts(ptr.0, size) };
        if private {
            let copy = bytes.to_vec();
            publish(inner, &copy)
        } else {
            publish(inner, bytes)
        }
    };
    let result = if size >= DETACH_BYTES {
        py.detach(copy)
    } else {
        copy()
    };
    buffer.release(py);
    result
}

/// The options of a message publisher.
pub(crate) struct PubArgs {
    pub(crate) buffer_num: usize,
    pub(crate) mode: Option<u32>,
    pub(crate) timestamps: PublishClock,
    pub(crate) lending: bool,
}

impl MessagePublisher {
    pub(crate) fn create(
        ty: &Bound<'_, MessageType>,
        name: &str,
        options: &PubArgs,
    ) -> Result<MessagePublisher, shm::CreateError> {
        Ok(MessagePublisher {
            inner: any_publisher(name, ty.get().schema.clone(), options)?,
            ty: Some(ty.clone().unbind()),
            slice: None,
            grow: false,
        })
    }

    /// A publisher of the slice topic `slice`: a longer value grows the topic (`grow`) or is
    /// refused.
    pub(crate) fn create_slice(
        slice: &Bound<'_, SliceType>,
        name: &str,
        options: &PubArgs,
        grow: bool,
    ) -> Result<MessagePublisher, shm::CreateError> {
        let schema = slice.get().schema.clone();
        Ok(MessagePublisher {
            inner: any_publisher(name, schema, options)?,
            ty: None,
            slice: Some(slice.clone().unbind()),
            grow,
        })
    }

    /// Publishes a slice value: a contiguous array of the elements (a numpy array of their
    /// dtype), copied once straight into the topic, or any sequence of elements, each checked.
    fn publish_slice(&mut self, data: &Bound<'_, PyAny>) -> PyResult<Result<u64, PublishError>> {
        let py = data.py();
        let slice_ref = self
            .slice
            .as_ref()
            .expect("a slice publisher")
            .clone_ref(py);
        let slice = slice_ref.get();
        let label = slice.label();
        // A growing publisher makes room first (for anything with a length longer than it).
        if self.grow
            && let Some(n) = data.len().ok().filter(|n| *n > self.room())
            && let Err(e) = self.inner.grow(n)
        {
            return Ok(Err(e));
        }
        if let Some(published) = self.publish_array(data, slice, &label)? {
            return Ok(published);
        }
        let schema = self.inner.schema().clone();
        let bytes = write_value(&schema, data, &label)?;
        Ok(self.inner.publish(&bytes))
    }

    /// The most elements a value of the slice topic holds now.
    pub(crate) fn room(&self) -> usize {
        self.inner
            .schema()
            .sequence_cap()
            .map_or(0, |cap| usize::try_from(cap).unwrap_or(usize::MAX))
    }

    /// Publishes `data` if it is a C-contiguous 1-D array of the elements' type (a numpy
    /// array of their dtype), its elements copied straight into the topic, large ones with the
    /// GIL released; `None` for anything else.
    fn publish_array(
        &mut self,
        data: &Bound<'_, PyAny>,
        slice: &SliceType,
        label: &str,
    ) -> PyResult<Option<Result<u64, PublishError>>> {
        let py = data.py();
        let Ok(buffer) = PyUntypedBuffer::get(data) else {
            return Ok(None);
        };
        let elem_size = slice.elem.size();
        let matches = buffer.dimensions() == 1
            && buffer.is_c_contiguous()
            && buffer.item_size() == elem_size
            && match slice.primitive() {
                Some(p) => format_primitive(buffer.format(), buffer.item_size()) == Some(p),
                // A structured array: its dtype must be the element class's (same fields,
                // offsets and types).
                None => data
                    .getattr("dtype")
                    .and_then(|d| d.eq(slice.elem_dtype(py)?))
                    .unwrap_or(false),
            };
        let (n, room) = (buffer.item_count(), self.room());
        if !matches || n > room {
            buffer.release(py);
            if matches {
                return Err(PyValueError::new_err(format!(
                    "{label}: has {n} elements, more than its capacity {room}"
                )));
            }
            return Ok(None);
        }
        // Elements with `bool`s are checked on a private copy (see `publish_buffer`).
        let private = slice.elem.needs_validation();
        Ok(Some(publish_buffer(
            py,
            &mut self.inner,
            buffer,
            n * elem_size,
            private,
            AnyPublisher::publish_sequence,
        )))
    }

    /// Publishes `data`: a value of the type (or a dict of its fields), or a buffer of one
    /// value's bytes (a numpy array or record, `bytes`, a `memoryview`), large ones copied with
    /// the GIL released.
    pub(crate) fn publish_py(
        &mut self,
        data: &Bound<'_, PyAny>,
        _topic: &str,
    ) -> PyResult<Result<u64, PublishError>> {
        let py = data.py();
        if self.slice.is_some() {
            return self.publish_slice(data);
        }
        let ty_ref = self.ty.as_ref().expect("a message publisher").clone_ref(py);
        let ty = ty_ref.get();
        if let Ok(m) = data.cast::<Message>() {
            let m = m.get();
            if Arc::ptr_eq(&m.ty.get().schema, &ty.schema)
                || m.ty.get().schema.hash() == ty.schema.hash()
            {
                return self.publish_message(py, m);
            }
            return Err(PyTypeError::new_err(format!(
                "topic '{}' carries `{}` values, not `{}`",
                self.inner.topic(),
                ty.schema.type_name(),
                m.ty.get().schema.type_name()
            )));
        }
        if data.cast::<Message>().is_err()
            && !data.is_instance_of::<pyo3::types::PyDict>()
            && let Ok(buffer) = PyUntypedBuffer::get(data)
        {
            view::check_buffer(data, &buffer, ty)?;
            let size = buffer.len_bytes();
            let private = ty.schema.needs_validation();
            return Ok(publish_buffer(
                py,
                &mut self.inner,
                buffer,
                size,
                private,
                AnyPublisher::publish,
            ));
        }
        if let Ok(fields) = data.cast::<pyo3::types::PyDict>() {
            // As `Class(**fields)`: omitted fields are zeros.
            let value = ty.class(py)?.call((), Some(fields))?;
            return self.publish_message(py, value.cast::<Message>()?.get());
        }
        let label = ty.schema.type_name();
        let bytes = write_value(&ty.schema, data, &label)?;
        Ok(self.inner.publish(&bytes))
    }

    /// Publishes a value of the type (small: the GIL is held; one with `bool`s is checked and
    /// published from a private copy, as another thread may write its bytes through a numpy
    /// view without the GIL).
    fn publish_message(
        &mut self,
        py: Python<'_>,
        m: &Message,
    ) -> PyResult<Result<u64, PublishError>> {
        if m.ty.get().schema.needs_validation() {
            let bytes = m.bytes(py)?;
            return Ok(self.inner.publish(&bytes));
        }
        m.with_bytes(py, |bytes| self.inner.publish(bytes))
    }

    pub(crate) fn path(&self) -> &Path {
        self.inner.path()
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.inner.next_seq()
    }

    /// The message type of a message topic's publisher (`None` for a slice topic).
    pub(crate) fn message_type(&self) -> Option<&Py<MessageType>> {
        self.ty.as_ref()
    }

    /// Lends the slot the next value goes into (a lending topic).
    pub(crate) fn loan(&mut self) -> Result<BytesLoan, PublishError> {
        self.inner.loan_bytes()
    }

    /// The slice type of a slice topic's publisher.
    pub(crate) fn slice_type(&self) -> Option<&Py<SliceType>> {
        self.slice.as_ref()
    }

    /// Lends the slot of a slice topic's next value, of `len` elements: refused if they do not
    /// fit its room, unless the publisher grows the topic first.
    pub(crate) fn loan_slice(&mut self, len: usize) -> Result<BytesLoan, PublishError> {
        if !self.inner.is_lending() {
            // (Before growing: a copying topic is not replaced for a loan it refuses.)
            return self.inner.loan_bytes();
        }
        let room = self.room();
        if len > room {
            if !self.grow {
                return Err(PublishError::TooLong {
                    topic: self.inner.topic().to_owned(),
                    len,
                    max_len: room,
                });
            }
            self.inner.grow(len)?;
        }
        self.inner.loan_bytes()
    }

    /// Publishes the value written into `loan`'s slot (checked).
    pub(crate) fn publish_loan(&mut self, loan: &BytesLoan) -> Result<u64, PublishError> {
        self.inner.publish_loan(loan)
    }

    /// Slots no publish or loan may take: loans whose arrays outlived their block.
    pub(crate) fn avoid_slots(&mut self, slots: Vec<u32>) {
        self.inner.avoid_slots(slots);
    }
}

/// The newest value's sample data, and the value unless it is the one returned before.
pub(crate) type Fresh = (Sample<()>, Option<MessageValue>);

/// A subscriber of a message type, of a slice topic, or of whatever type the topic carries.
pub(crate) struct MessageSubscriber {
    inner: AnySubscriber,
    ty: Option<Arc<Py<MessageType>>>,
    /// The slice type, for a slice topic (then `ty` is `None`: values of any room are read).
    slice: Option<Arc<Py<SliceType>>>,
    /// Where a read of a known type copies the value (one value's size).
    scratch: Vec<u8>,
}

impl MessageSubscriber {
    /// The untyped subscriber underneath (for wait sets).
    pub(crate) fn any(&self) -> &AnySubscriber {
        &self.inner
    }

    pub(crate) fn open(
        py: Python<'_>,
        ty: Option<&Bound<'_, MessageType>>,
        options: Options<'_>,
    ) -> Result<MessageSubscriber, SubscribeError> {
        let mut builder = options.apply(AnySubscriber::builder(options.name));
        if let Some(ty) = ty {
            builder = builder.expect(ty.get().schema.clone());
        }
        let inner = py.detach(|| builder.open())?;
        Ok(MessageSubscriber {
            inner,
            scratch: vec![0; ty.map_or(0, |t| t.get().schema.size())],
            ty: ty.map(|t| Arc::new(t.clone().unbind())),
            slice: None,
        })
    }

    /// A subscriber of the slice topic `slice`, of any room.
    pub(crate) fn open_slice(
        py: Python<'_>,
        slice: &Bound<'_, SliceType>,
        options: Options<'_>,
    ) -> Result<MessageSubscriber, SubscribeError> {
        let builder = options
            .apply(AnySubscriber::builder(options.name))
            .sequence_of(slice.get().elem.clone());
        let inner = py.detach(|| builder.open())?;
        Ok(MessageSubscriber {
            inner,
            scratch: Vec::new(),
            ty: None,
            slice: Some(Arc::new(slice.clone().unbind())),
        })
    }

    fn value(&self, raw: RawValue) -> MessageValue {
        MessageValue {
            ty: match (&self.ty, &self.slice) {
                (Some(t), _) => ValueType::Known(t.clone()),
                (None, Some(s)) => ValueType::Slice(s.clone(), raw.schema),
                (None, None) => ValueType::Schema(raw.schema),
            },
            bytes: raw.bytes,
        }
    }

    fn sample(&self, raw: Sample<RawValue>) -> Sample<MessageValue> {
        raw.map(|r| self.value(r))
    }

    pub(crate) fn latest(&mut self) -> Result<Option<Sample<MessageValue>>, SubscribeError> {
        self.latest_unless_seen(false)
            .map(|o| o.map(|(s, v)| s.map(|()| v.expect("a value when asked"))))
    }

    /// The newest value, like [`latest`](Self::latest), but without copying it out when it is
    /// the one returned before and `seen_before` says the caller still has it (a polling
    /// reader's common case): then the sample comes with no value.
    pub(crate) fn latest_unless_seen(
        &mut self,
        seen_before: bool,
    ) -> Result<Option<Fresh>, SubscribeError> {
        let Some(ty) = &self.ty else {
            // Any type: the value's size may change with the topic.
            let raw = self.inner.latest()?;
            return Ok(raw.map(|r| {
                let (value, sample) = r.into_parts();
                (sample, Some(self.value(value)))
            }));
        };
        let Some(sample) = self.inner.latest_into(&mut self.scratch)? else {
            return Ok(None);
        };
        if !sample.is_new && seen_before {
            return Ok(Some((sample, None)));
        }
        let value = MessageValue {
            bytes: self.scratch.clone(),
            ty: ValueType::Known(ty.clone()),
        };
        Ok(Some((sample, Some(value))))
    }

    pub(crate) fn try_recv(&mut self) -> Result<Option<Sample<MessageValue>>, SubscribeError> {
        let raw = self.inner.try_recv()?;
        Ok(raw.map(|r| self.sample(r)))
    }

    pub(crate) fn try_recv_all(&mut self) -> Result<Vec<Sample<MessageValue>>, SubscribeError> {
        let all = self.inner.try_recv_all()?;
        Ok(all.into_iter().map(|r| self.sample(r)).collect())
    }

    pub(crate) fn wait_step(
        &mut self,
        wait: &mut Wait,
    ) -> Result<WaitStep<MessageValue>, RecvError> {
        Ok(match self.inner.wait_step(wait)? {
            WaitStep::Ready(s) => WaitStep::Ready(s.map(|raw| self.value(raw))),
            WaitStep::Block(sleeper) => WaitStep::Block(sleeper),
        })
    }

    pub(crate) fn publisher_alive(&mut self) -> Result<bool, SubscribeError> {
        self.inner.publisher_alive()
    }

    /// The schema of the topic this subscriber found (`None` until it found it).
    pub(crate) fn found_schema(&self) -> Option<Arc<TopicSchema>> {
        self.inner.schema().cloned()
    }

    /// The message type this subscriber reads (`None`: any type, or a slice topic).
    pub(crate) fn message_type(&self) -> Option<&Arc<Py<MessageType>>> {
        self.ty.as_ref()
    }

    /// The slice type of a slice topic's subscriber.
    pub(crate) fn slice_type(&self) -> Option<&Arc<Py<SliceType>>> {
        self.slice.as_ref()
    }

    /// The newest value of a lending topic, in place.
    pub(crate) fn borrow(&mut self) -> Result<Option<BorrowedBytes>, SubscribeError> {
        self.inner.borrow()
    }

    /// One step of a wait that ends with a value of a lending topic, in place.
    pub(crate) fn wait_step_borrow(
        &mut self,
        wait: &mut Wait,
    ) -> Result<WaitStep<BorrowedBytes>, RecvError> {
        self.inner.wait_step_borrow(wait)
    }

    pub(crate) fn path(&self) -> &Path {
        self.inner.path()
    }

    /// The newest value copied into `out` (a writable buffer of one value's size), large ones
    /// with the GIL released: its sample data, or `None` if there is none.
    pub(crate) fn latest_into(
        &mut self,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<Result<Option<Sample<()>>, SubscribeError>> {
        let py = out.py();
        let buffer = PyUntypedBuffer::get(out).map_err(|_| {
            PyTypeError::new_err(format!(
                "subscribe_into needs a writable buffer (a numpy array, bytearray, memoryview), got {}",
                crate::value::describe(out)
            ))
        })?;
        if buffer.readonly() || !buffer.is_c_contiguous() {
            return Err(PyValueError::new_err(
                "subscribe_into needs a writable, contiguous buffer",
            ));
        }
        if let Some(ty) = &self.ty {
            view::check_buffer(out, &buffer, ty.get())?;
        }
        let size = buffer.len_bytes();
        let ptr = SendMutPtr(buffer.buf_ptr().cast::<u8>());
        let inner = &mut self.inner;
        let read = move || {
            let ptr = ptr;
            // SAFETY: `ptr` points at `size` contiguous writable bytes exported by the buffer,
            // which the calling thread holds until this returns.
            let out = unsafe { std::slice::from_raw_parts_mut(ptr.0, size) };
            inner.latest_into(out)
        };
        let result = if size >= DETACH_BYTES {
            py.detach(read)
        } else {
            read()
        };
        buffer.release(py);
        Ok(result)
    }
}
