//! What a Python publisher or subscriber carries: a scalar kind, a message type, or (a
//! subscriber with `default_value=None`) whatever type the topic carries.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};
use shm::dynamic::TopicSchema;
use shm::schema::{DescKind, Primitive};

use crate::kind::Kind;
use crate::message::{Message, MessageType, SliceType, type_of_schema};

/// The values of a publisher or subscriber.
pub(crate) enum Ty {
    /// `bool`, `int` or `float`.
    Scalar(Kind),
    /// Values of a `Message` class.
    Message(Py<MessageType>),
    /// Whatever type the topic carries, as a `Message` class made from its stored schema.
    Any,
    /// A slice topic: a bounded sequence of primitives or messages, of any room.
    Slice(Py<SliceType>),
}

impl Ty {
    /// What a `default_value` selects: `None` any type, a message its type, else a scalar
    /// kind (checked); `role` and `topic` are for error messages.
    pub(crate) fn of_default(value: &Bound<'_, PyAny>, role: &str, topic: &str) -> PyResult<Ty> {
        if value.is_none() {
            return Ok(Ty::Any);
        }
        if let Ok(m) = value.cast::<Message>() {
            return Ok(Ty::Message(m.get().ty.clone_ref(value.py())));
        }
        if let Ok(s) = value.cast::<SliceType>() {
            return Ok(Ty::Slice(s.clone().unbind()));
        }
        Kind::of_default(value, role, topic).map(Ty::Scalar)
    }

    pub(crate) fn clone_ref(&self, py: Python<'_>) -> Ty {
        match self {
            Ty::Scalar(k) => Ty::Scalar(*k),
            Ty::Message(t) => Ty::Message(t.clone_ref(py)),
            Ty::Any => Ty::Any,
            Ty::Slice(s) => Ty::Slice(s.clone_ref(py)),
        }
    }

    /// How messages name it: `int (i64)`, `Pose`, `any type`.
    pub(crate) fn label(&self) -> String {
        match self {
            Ty::Scalar(k) => k.label().to_owned(),
            Ty::Message(t) => t.get().schema.type_name(),
            Ty::Any => "any type".to_owned(),
            Ty::Slice(s) => s.get().label(),
        }
    }

    /// The name of the `shm` message type (`"i64"`, `"Pose"`); for any type, the one of
    /// `found` (the schema of the topic a subscriber found), or `None`.
    pub(crate) fn type_name(&self, found: Option<Arc<TopicSchema>>) -> Option<String> {
        match self {
            Ty::Scalar(k) => Some(k.message_name().to_owned()),
            Ty::Message(t) => Some(t.get().schema.type_name()),
            Ty::Any => found.map(|s| s.type_name()),
            Ty::Slice(s) => Some(s.get().schema.type_name()),
        }
    }

    /// The Python type of the values; for any type, the one values of `found` (the schema of
    /// the topic a subscriber found) are read as, or `None`.
    pub(crate) fn python_type(
        &self,
        py: Python<'_>,
        found: Option<Arc<TopicSchema>>,
    ) -> PyResult<Py<PyAny>> {
        let array_type = |py: Python<'_>| -> PyResult<Py<PyAny>> {
            Ok(match py.import("numpy") {
                Ok(np) => np.getattr("ndarray")?.unbind(),
                Err(_) => py.get_type::<pyo3::types::PyList>().into_any().unbind(),
            })
        };
        Ok(match self {
            Ty::Scalar(k) => k.python_type(py).into_any().unbind(),
            Ty::Message(t) => t.get().class(py)?.clone().into_any().unbind(),
            Ty::Any => match found {
                None => py.None(),
                Some(schema) => match &schema.desc().kind {
                    DescKind::Struct(_) => {
                        let ty = type_of_schema(py, schema.clone())?;
                        ty.get().class(py)?.clone().into_any().unbind()
                    }
                    DescKind::Primitive(Primitive::Bool) => {
                        py.get_type::<PyBool>().into_any().unbind()
                    }
                    DescKind::Primitive(Primitive::F32 | Primitive::F64) => {
                        py.get_type::<PyFloat>().into_any().unbind()
                    }
                    DescKind::Primitive(_) => py.get_type::<PyInt>().into_any().unbind(),
                    DescKind::String { .. } => py.get_type::<PyString>().into_any().unbind(),
                    // (Read as lists by a subscriber of any type.)
                    DescKind::Array { .. } | DescKind::Sequence { .. } => {
                        py.get_type::<pyo3::types::PyList>().into_any().unbind()
                    }
                },
            },
            Ty::Slice(_) => array_type(py)?,
        })
    }
}
