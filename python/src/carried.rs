//! The value types Python carries, one `impl Carried` each with both directions of its
//! conversion (as pyo3's `conversions/std/num.rs` keeps both directions of one type together),
//! and the list [`carried_types!`](crate::carried_types) that makes them known to both classes.
//! Adding a carried type is one impl here and one line in that list.

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyType};
use shm::ShmMessage;

use shm::dynamic::{TopicSchema, encode_with};

use crate::message::{PySource, value_exception};
use crate::value::describe;

/// A Python value type and the `shm` message it travels as.
pub(crate) trait Carried: ShmMessage + Copy {
    /// The name of the `shm` message type in the registry (`"i64"`).
    const MESSAGE_NAME: &'static str;
    /// The Python type's name (`"int"`).
    const PYTHON_NAME: &'static str;
    /// How error messages name the type (`"int (i64)"`).
    const LABEL: &'static str;
    /// With its article (`"an int"`).
    const WITH_ARTICLE: &'static str;

    /// The Python type object.
    fn python_type(py: Python<'_>) -> Bound<'_, PyType>;
    /// Whether a `default_value` selects this type (checked in the list's order, so `bool`
    /// comes before `int`, which it subclasses).
    fn selected_by(value: &Bound<'_, PyAny>) -> bool;
    /// A Python value as a message value, exactly, or the error that says why not.
    fn extract(value: &Bound<'_, PyAny>, topic: &str) -> PyResult<Self>;
    /// A message value as a Python object.
    fn to_object(self, py: Python<'_>) -> Py<PyAny>;
}

fn wrong_type<T: Carried>(value: &Bound<'_, PyAny>, topic: &str, hint: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "topic '{topic}' carries {} values, got {}; {hint}",
        T::LABEL,
        describe(value)
    ))
}

/// Python `bool` ↔ `bool`: only `True` and `False`.
impl Carried for bool {
    const MESSAGE_NAME: &'static str = "bool";
    const PYTHON_NAME: &'static str = "bool";
    const LABEL: &'static str = "bool";
    const WITH_ARTICLE: &'static str = "a bool";

    fn python_type(py: Python<'_>) -> Bound<'_, PyType> {
        py.get_type::<PyBool>()
    }

    fn selected_by(value: &Bound<'_, PyAny>) -> bool {
        value.is_instance_of::<PyBool>() || numpy_scalar(value) == Some("bool")
    }

    #[inline]
    fn extract(value: &Bound<'_, PyAny>, topic: &str) -> PyResult<bool> {
        match value.cast::<PyBool>() {
            Ok(b) => Ok(b.is_true()),
            // `numpy.bool` (`numpy.bool_`): exactly a bool.
            Err(_) if numpy_scalar(value) == Some("bool") => value.is_truthy(),
            Err(_) => Err(wrong_type::<bool>(
                value,
                topic,
                "publish True or False (convert explicitly with bool(x) if that is what you mean)",
            )),
        }
    }

    #[inline]
    fn to_object(self, py: Python<'_>) -> Py<PyAny> {
        PyBool::new(py, self).to_owned().into_any().unbind()
    }
}

/// Python `int` ↔ `i64`: an `int` (or an object with `__index__`, such as a NumPy integer) in
/// range; never a `bool` or a `float`.
impl Carried for i64 {
    const MESSAGE_NAME: &'static str = "i64";
    const PYTHON_NAME: &'static str = "int";
    const LABEL: &'static str = "int (i64)";
    const WITH_ARTICLE: &'static str = "an int";

    fn python_type(py: Python<'_>) -> Bound<'_, PyType> {
        py.get_type::<PyInt>()
    }

    fn selected_by(value: &Bound<'_, PyAny>) -> bool {
        value.is_instance_of::<PyInt>() || numpy_scalar(value) == Some("int64")
    }

    #[inline]
    fn extract(value: &Bound<'_, PyAny>, topic: &str) -> PyResult<i64> {
        if value.is_instance_of::<PyBool>() || numpy_scalar(value) == Some("bool") {
            return Err(wrong_type::<i64>(
                value,
                topic,
                "publish an int (int(flag) if you mean 0/1), or use a bool topic",
            ));
        }
        if value.is_instance_of::<PyFloat>() {
            return Err(wrong_type::<i64>(
                value,
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
                Err(wrong_type::<i64>(value, topic, "publish an int"))
            }
            // Raised by the object's own `__index__` (or KeyboardInterrupt): not ours to reword.
            Err(e) => Err(e),
        }
    }

    #[inline]
    fn to_object(self, py: Python<'_>) -> Py<PyAny> {
        PyInt::new(py, self).into_any().unbind()
    }
}

/// Python `float` ↔ `f64`: a `float`, or an integer (an `int`, or an object with `__index__`
/// such as a NumPy integer), converted like `float(int(x))`: exactly when it can be, else to
/// the nearest float. Never a `bool`, and never through a custom `__float__`.
impl Carried for f64 {
    const MESSAGE_NAME: &'static str = "f64";
    const PYTHON_NAME: &'static str = "float";
    const LABEL: &'static str = "float (f64)";
    const WITH_ARTICLE: &'static str = "a float";

    fn python_type(py: Python<'_>) -> Bound<'_, PyType> {
        py.get_type::<PyFloat>()
    }

    fn selected_by(value: &Bound<'_, PyAny>) -> bool {
        value.is_instance_of::<PyFloat>()
    }

    #[inline]
    fn extract(value: &Bound<'_, PyAny>, topic: &str) -> PyResult<f64> {
        if let Ok(f) = value.cast::<PyFloat>() {
            return Ok(f.value());
        }
        // `numpy.float32` / `float16` (`float64` is a `float`): exactly a 64-bit float.
        if matches!(numpy_scalar(value), Some("float32" | "float16")) {
            return value.extract::<f64>();
        }
        if value.is_instance_of::<PyBool>() || numpy_scalar(value) == Some("bool") {
            return Err(wrong_type::<f64>(
                value,
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
            let integer = match index.call1((value,)) {
                Ok(i) => i,
                Err(e) if e.is_instance_of::<PyTypeError>(py) => {
                    return Err(wrong_type::<f64>(
                        value,
                        topic,
                        "publish a float or an int (convert other numbers explicitly with float(x))",
                    ));
                }
                Err(e) => return Err(e),
            };
            // Before Python 3.10, `operator.index` returns an int subclass as it is (its
            // `__float__` would still be used): `int.__index__` gives the exact int.
            if integer.is_exact_instance_of::<PyInt>() {
                integer
            } else {
                py.get_type::<PyInt>()
                    .getattr("__index__")?
                    .call1((integer,))?
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

    #[inline]
    fn to_object(self, py: Python<'_>) -> Py<PyAny> {
        PyFloat::new(py, self).into_any().unbind()
    }
}

/// The name of a numpy scalar's type (`"float32"`, `"uint8"`, `"bool"`), if `value` is one.
/// numpy is never imported for this: a numpy scalar's type says it is one.
pub(crate) fn numpy_scalar(value: &Bound<'_, PyAny>) -> Option<&'static str> {
    const NAMES: [&str; 12] = [
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64",
    ];
    let ty = value.get_type();
    if ty.module().ok()?.to_str().ok()? != "numpy" {
        return None;
    }
    let name = ty.name().ok()?;
    let name = name.to_str().ok()?;
    // (`bool_` before numpy 2.)
    let name = if name == "bool_" { "bool" } else { name };
    NAMES.iter().copied().find(|n| *n == name)
}

/// The numpy scalar type `name` (`numpy.float32`), or `None` without numpy.
fn numpy_type<'py>(py: Python<'py>, name: &str) -> Option<Bound<'py, PyType>> {
    py.import("numpy")
        .ok()?
        .getattr(name)
        .ok()?
        .cast_into::<PyType>()
        .ok()
}

/// Numpy scalar types ↔ the primitives Python's own `bool`, `int` and `float` do not carry
/// (`numpy.float32` ↔ `f32`, `numpy.uint32` ↔ `u32`, ...): a `default_value` of that numpy
/// type selects it, and a read returns one. A value is converted by the schema walker, as a
/// message field of that type is (`shm::dynamic`): any integer in range, numpy's or Python's;
/// for `f32`, any float (rounded to the nearest `f32`, as numpy does) or an integer it holds
/// exactly; never a `bool` into a number.
macro_rules! numpy_carried {
    ($($ty:ty => $np:literal, $name:literal, $python:ident;)*) => {$(
        impl Carried for $ty {
            const MESSAGE_NAME: &'static str = $name;
            const PYTHON_NAME: &'static str = concat!("numpy.", $np);
            const LABEL: &'static str = concat!("numpy.", $np, " (", $name, ")");
            const WITH_ARTICLE: &'static str = concat!("a numpy.", $np);

            fn python_type(py: Python<'_>) -> Bound<'_, PyType> {
                numpy_type(py, $np).unwrap_or_else(|| py.get_type::<$python>())
            }

            fn selected_by(value: &Bound<'_, PyAny>) -> bool {
                numpy_scalar(value) == Some($np)
            }

            fn extract(value: &Bound<'_, PyAny>, topic: &str) -> PyResult<$ty> {
                static SCHEMA: std::sync::OnceLock<TopicSchema> = std::sync::OnceLock::new();
                let schema = SCHEMA.get_or_init(|| TopicSchema::of(<$ty as ShmMessage>::SCHEMA));
                let bytes = encode_with(schema, &PySource(value.clone())).map_err(|e| {
                    value_exception(
                        e.kind,
                        format!("topic '{topic}' carries {} values: {}", Self::LABEL, e.problem),
                    )
                })?;
                let mut raw = [0u8; size_of::<$ty>()];
                raw.copy_from_slice(&bytes[..size_of::<$ty>()]);
                Ok(<$ty>::from_ne_bytes(raw))
            }

            fn to_object(self, py: Python<'_>) -> Py<PyAny> {
                let plain = self.into_pyobject(py).map(|o| o.into_any());
                let plain = match plain {
                    Ok(o) => o,
                    Err(never) => match never {},
                };
                numpy_type(py, $np)
                    .and_then(|t| t.call1((&plain,)).ok())
                    .unwrap_or(plain)
                    .unbind()
            }
        }
    )*};
}

numpy_carried! {
    f32 => "float32", "f32", PyFloat;
    i8 => "int8", "i8", PyInt;
    i16 => "int16", "i16", PyInt;
    i32 => "int32", "i32", PyInt;
    u8 => "uint8", "u8", PyInt;
    u16 => "uint16", "u16", PyInt;
    u32 => "uint32", "u32", PyInt;
    u64 => "uint64", "u64", PyInt;
}

/// The carried types, in the order a `default_value` is matched against them (`bool` before
/// `int`): calls `$apply!` with `Variant => type` pairs. [`kinds!`](crate::kinds) makes the
/// kind enum, both core enums and their dispatch from it.
#[macro_export]
#[doc(hidden)]
macro_rules! carried_types {
    ($apply:ident) => {
        $apply! {
            Bool => bool,
            Int => i64,
            Float => f64,
            F32 => f32,
            I8 => i8,
            I16 => i16,
            I32 => i32,
            U8 => u8,
            U16 => u16,
            U32 => u32,
            U64 => u64,
        }
    };
}
