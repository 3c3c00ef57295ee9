//! Small helpers of the Python layer: `Class[item]` for annotations, reprs, and how error
//! messages describe a value.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};

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
