//! What `Publisher` and `Subscriber` share: their common state and the Python members written
//! once for both (pyo3 classes share methods only through a Python base class, which would add
//! a class to the public API for no user's benefit).

use pyo3::prelude::*;

use crate::ty::Ty;

/// The state both classes have.
pub(crate) struct Common {
    pub(crate) name: String,
    pub(crate) ty: Ty,
    pub(crate) default_value: Py<PyAny>,
    pub(crate) path: String,
}

/// `#[pymethods] impl $class { <the shared members> $rest }`. The class has a `common: Common`
/// field, a `core: Option<...>` field (`None` once closed) and a `retire_core` method that
/// closes it.
macro_rules! pymethods_with_common {
    ($class:ident { $($rest:tt)* }) => {
        #[pyo3::pymethods]
        impl $class {
            /// Releases the topic (a publisher lets another process publish it; subscribers keep
            /// the last value) and unmaps it. Idempotent; using the object afterwards raises
            /// `ValueError`.
            fn close(&mut self) {
                self.retire_core();
            }

            /// `Publisher[int]` and the like, for type annotations (the stub declares the class
            /// generic).
            #[classmethod]
            fn __class_getitem__(
                cls: &pyo3::Bound<'_, pyo3::types::PyType>,
                item: &pyo3::Bound<'_, pyo3::PyAny>,
            ) -> pyo3::PyResult<pyo3::Py<pyo3::PyAny>> {
                $crate::value::generic_alias(cls, item)
            }

            fn __enter__(slf: pyo3::Py<Self>) -> pyo3::Py<Self> {
                slf
            }

            #[pyo3(signature = (_exc_type, _exc_value, _traceback))]
            fn __exit__(
                &mut self,
                _exc_type: &pyo3::Bound<'_, pyo3::PyAny>,
                _exc_value: &pyo3::Bound<'_, pyo3::PyAny>,
                _traceback: &pyo3::Bound<'_, pyo3::PyAny>,
            ) -> bool {
                self.close();
                false
            }

            /// The topic name.
            #[getter]
            fn name(&self) -> &str {
                &self.common.name
            }

            /// The Python type of the topic's values: `bool`, `int`, `float` or a `Message`
            /// class (for a subscriber of any type, the type of the topic it found: `None`
            /// until then).
            #[getter]
            fn r#type(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<pyo3::Py<pyo3::PyAny>> {
                self.common.ty.python_type(py, self.found_schema())
            }

            /// The name of the `shm` message type the values travel as: `"bool"`, `"i64"`,
            /// `"f64"` or the message's (for a subscriber of any type, the topic's, once it
            /// found the topic: `None` until then).
            #[getter]
            fn type_name(&self) -> Option<String> {
                self.common.ty.type_name(self.found_schema())
            }

            /// The `default_value` given at creation.
            #[getter]
            fn default_value(&self, py: pyo3::Python<'_>) -> pyo3::Py<pyo3::PyAny> {
                self.common.default_value.clone_ref(py)
            }

            /// The topic's file (under `$SHM_ROOT`, default `/dev/shm`).
            #[getter]
            fn path(&self) -> &str {
                &self.common.path
            }

            /// Whether `close()` was called.
            #[getter]
            fn closed(&self) -> bool {
                self.core.is_none()
            }

            $($rest)*
        }
    };
}

pub(crate) use pymethods_with_common;

/// Attaches what `held` holds (a server, a pending call) to `set`; `gone()` is the error when
/// it holds nothing any more or `closed` is set.
pub(crate) fn attach_held<A: shm::Attachable>(
    held: &std::sync::Mutex<Option<A>>,
    closed: Option<&std::sync::atomic::AtomicBool>,
    set: &mut shm::WaitSet,
    gone: impl FnOnce() -> PyErr,
) -> PyResult<shm::AttachmentId> {
    let guard = held
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let open = closed.is_none_or(|c| !c.load(std::sync::atomic::Ordering::Acquire));
    let what = guard.as_ref().filter(|_| open).ok_or_else(gone)?;
    set.attach(what)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}
