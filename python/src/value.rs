//! The three value types the module carries (`bool`, `int`, `float`), their `shm` messages and
//! the exact conversions between Python objects and message values.

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyType};

/// A Python value type and the built-in `shm` message it travels as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Python `bool` ↔ `bool`.
    Bool,
    /// Python `int` ↔ `i64`.
    Int,
    /// Python `float` ↔ `f64`.
    Float,
}

impl Kind {
    pub(crate) const ALL: [Kind; 3] = [Kind::Bool, Kind::Int, Kind::Float];

    /// The kind a `default_value` selects, checked to be a valid value of it (an int in
    /// range). `bool` is checked before `int`, which it subclasses.
    pub(crate) fn of_default(value: &Bound<'_, PyAny>, role: &str, topic: &str) -> PyResult<Kind> {
        let kind = if value.is_instance_of::<PyBool>() {
            Kind::Bool
        } else if value.is_instance_of::<PyInt>() {
            Kind::Int
        } else if value.is_instance_of::<PyFloat>() {
            Kind::Float
        } else {
            return Err(PyTypeError::new_err(format!(
                "{role} default_value must be a bool, int or float, which selects the topic's type, not {}; \
                 shm_pub_sub carries bool, int (64-bit) and float (64-bit) values",
                describe(value)
            )));
        };
        match kind {
            Kind::Bool => to_bool(value, topic).map(drop)?,
            Kind::Int => to_i64(value, topic).map(drop)?,
            Kind::Float => to_f64(value, topic).map(drop)?,
        }
        Ok(kind)
    }

    /// The name of the `shm` message type in the registry.
    pub(crate) fn message_name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int => "i64",
            Kind::Float => "f64",
        }
    }

    /// The Python type's name.
    pub(crate) fn python_name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
        }
    }

    /// "a bool", "an int", "a float".
    pub(crate) fn with_article(self) -> &'static str {
        match self {
            Kind::Bool => "a bool",
            Kind::Int => "an int",
            Kind::Float => "a float",
        }
    }

    /// The kind whose message is called `name`, if any.
    pub(crate) fn from_message_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.message_name() == name)
    }

    /// The Python type object.
    pub(crate) fn python_type(self, py: Python<'_>) -> Bound<'_, PyType> {
        match self {
            Kind::Bool => py.get_type::<PyBool>(),
            Kind::Int => py.get_type::<PyInt>(),
            Kind::Float => py.get_type::<PyFloat>(),
        }
    }

    /// "int (i64)", as error messages name a kind.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int => "int (i64)",
            Kind::Float => "float (f64)",
        }
    }
}

/// `types.GenericAlias(cls, item)`: what `Publisher[int]` evaluates to in annotations.
pub(crate) fn generic_alias(
    cls: &Bound<'_, PyType>,
    item: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let alias = cls.py().import("types")?.getattr("GenericAlias")?;
    Ok(alias.call1((cls, item))?.unbind())
}

/// A string as Python's `repr` writes it (`'robot/pose'`), for `__repr__`s.
pub(crate) fn py_repr(py: Python<'_>, text: &str) -> String {
    PyString::new(py, text)
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_default()
}

/// `'1.5' (str)`-style description of a value for error messages, cut short if long.
pub(crate) fn describe(value: &Bound<'_, PyAny>) -> String {
    let type_name = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned());
    let mut repr = value
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<unprintable>".to_owned());
    if repr.chars().count() > 60 {
        repr = repr.chars().take(57).collect::<String>() + "...";
    }
    format!("{repr} ({type_name})")
}

fn wrong_type(value: &Bound<'_, PyAny>, kind: Kind, topic: &str, hint: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "topic '{topic}' carries {} values, got {}; {hint}",
        kind.label(),
        describe(value)
    ))
}

/// A Python value as a `bool` message: only `True` and `False`.
#[inline]
pub(crate) fn to_bool(value: &Bound<'_, PyAny>, topic: &str) -> PyResult<bool> {
    match value.cast::<PyBool>() {
        Ok(b) => Ok(b.is_true()),
        Err(_) => Err(wrong_type(
            value,
            Kind::Bool,
            topic,
            "publish True or False (convert explicitly with bool(x) if that is what you mean)",
        )),
    }
}

/// A Python value as an `i64` message: an `int` (or an object with `__index__`, such as a
/// NumPy integer) in range; never a `bool` or a `float`.
#[inline]
pub(crate) fn to_i64(value: &Bound<'_, PyAny>, topic: &str) -> PyResult<i64> {
    if value.is_instance_of::<PyBool>() {
        return Err(wrong_type(
            value,
            Kind::Int,
            topic,
            "publish an int (int(flag) if you mean 0/1), or use a bool topic",
        ));
    }
    if value.is_instance_of::<PyFloat>() {
        return Err(wrong_type(
            value,
            Kind::Int,
            topic,
            "a float is never rounded into an int topic: convert it explicitly (round(x) or int(x)), or use a float topic",
        ));
    }
    match value.extract::<i64>() {
        Ok(v) => Ok(v),
        Err(e) if e.is_instance_of::<PyOverflowError>(value.py()) => {
            Err(PyOverflowError::new_err(format!(
                "{} does not fit topic '{topic}', which carries 64-bit ints (-2**63 to 2**63-1); \
                 use a value in that range",
                describe(value)
            )))
        }
        Err(e) if e.is_instance_of::<PyTypeError>(value.py()) => {
            Err(wrong_type(value, Kind::Int, topic, "publish an int"))
        }
        // Raised by the object's own `__index__` (or KeyboardInterrupt): not ours to reword.
        Err(e) => Err(e),
    }
}

/// A Python value as an `f64` message: a `float`, or an integer (an `int`, or an object with
/// `__index__` such as a NumPy integer), converted like `float(int(x))`: exactly when it can
/// be, else to the nearest float. Never a `bool`, and never through a custom `__float__`.
#[inline]
pub(crate) fn to_f64(value: &Bound<'_, PyAny>, topic: &str) -> PyResult<f64> {
    if let Ok(f) = value.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if value.is_instance_of::<PyBool>() {
        return Err(wrong_type(
            value,
            Kind::Float,
            topic,
            "publish a float (float(flag) if you mean 0.0/1.0), or use a bool topic",
        ));
    }
    let py = value.py();
    let integer = if value.is_exact_instance_of::<PyInt>() {
        value.clone()
    } else {
        // An int subclass's own `__float__` could convert lossily; take its integer value
        // (`operator.index`), which is exact, as for other integer-like objects.
        let index = py.import("operator")?.getattr("index")?;
        match index.call1((value,)) {
            Ok(i) => i,
            Err(e) if e.is_instance_of::<PyTypeError>(py) => {
                return Err(wrong_type(
                    value,
                    Kind::Float,
                    topic,
                    "publish a float or an int (convert other numbers explicitly with float(x))",
                ));
            }
            Err(e) => return Err(e),
        }
    };
    integer.extract::<f64>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(py) {
            PyOverflowError::new_err(format!(
                "{} is too large for topic '{topic}', which carries 64-bit floats (up to about 1.8e308); \
                 publish a smaller value or float('inf')",
                describe(value)
            ))
        } else {
            e
        }
    })
}

/// A `bool` message as a Python `bool`.
#[inline]
pub(crate) fn from_bool(py: Python<'_>, v: bool) -> Py<PyAny> {
    PyBool::new(py, v).to_owned().into_any().unbind()
}

/// An `i64` message as a Python `int`.
#[inline]
pub(crate) fn from_i64(py: Python<'_>, v: i64) -> Py<PyAny> {
    PyInt::new(py, v).into_any().unbind()
}

/// An `f64` message as a Python `float`.
#[inline]
pub(crate) fn from_f64(py: Python<'_>, v: f64) -> Py<PyAny> {
    PyFloat::new(py, v).into_any().unbind()
}
