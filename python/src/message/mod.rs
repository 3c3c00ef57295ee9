//! Message types declared in Python (`class Pose(shm_pub_sub.Message)`) or taken from a topic's
//! stored schema: their schema (laid out and checked as `#[derive(ShmMessage)]` does, so the
//! same fields give the same type as in Rust), their fields, and their class.
//!
//! A value is a `Message` instance: the value's bytes in a `bytearray` (shared with the nested
//! messages and numpy arrays its fields return, so `pose.position[0] = 1.0` changes the pose),
//! read and written through the one schema walker of `shm::dynamic`.

mod convert;
mod instance;
mod lend;
mod lend_slice;
mod pubsub;
mod slice;
mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};
use shm::dynamic::TopicSchema;
use shm::schema::{DescKind, Primitive, SchemaDesc};

pub(crate) use convert::{PySource, value_exception, write_value};
pub(crate) use instance::{Field, Message};
pub(crate) use lend::{Keep, Lent, SlotBuffer, Spares};
pub(crate) use lend_slice::LentSlice;
pub(crate) use pubsub::{MessagePublisher, MessageSubscriber, MessageValue, PubArgs};
pub(crate) use slice::{_slice_of, SliceType};

/// A message type: its schema, its fields, and the Python class of its values.
#[pyclass(module = "shm_pub_sub", name = "MessageType", frozen)]
pub(crate) struct MessageType {
    pub(crate) schema: Arc<TopicSchema>,
    pub(crate) fields: Vec<FieldInfo>,
    class: PyOnceLock<Py<PyType>>,
}

/// One field of a message type.
pub(crate) struct FieldInfo {
    /// Its name in the schema (and in `to_dict()`, dtypes, the walker).
    pub(crate) name: String,
    /// Its attribute on values: the name, unless a class made from a stored schema would lose
    /// something to it (see [`attribute_names`]).
    pub(crate) attr: String,
    pub(crate) offset: usize,
    /// The field's type.
    pub(crate) schema: Arc<TopicSchema>,
    pub(crate) shape: Shape,
}

/// What a field's value is in Python.
pub(crate) enum Shape {
    /// A `bool`, `int` or `float`: a primitive of this kind.
    Scalar(Primitive),
    /// An array of a primitive, of any number of dimensions: a numpy array (a `memoryview`
    /// without numpy) over the message's bytes.
    Tensor { prim: Primitive, dims: Vec<usize> },
    /// A nested message, over the message's bytes.
    Struct(Py<MessageType>),
    /// An array of nested messages: (nested) lists of them, over the message's bytes.
    Structs {
        elem: Py<MessageType>,
        dims: Vec<usize>,
    },
    /// A bounded sequence of a primitive: a numpy array of its current length (a `memoryview`
    /// without numpy) over the message's bytes.
    Sequence(Primitive),
    /// A bounded sequence of messages: a list of its current elements, over the message's
    /// bytes.
    Messages(Py<MessageType>),
    /// Anything else (a string, an array of strings or sequences): plain Python values,
    /// converted by the walker.
    Plain,
}

/// Message types by schema hash: declared classes, and those made for topics of types no
/// class declared.
static TYPES: PyOnceLock<Mutex<HashMap<u64, Py<MessageType>>>> = PyOnceLock::new();

fn types(py: Python<'_>) -> &Mutex<HashMap<u64, Py<MessageType>>> {
    TYPES.get_or_init(py, || Mutex::new(HashMap::new()))
}

fn cached(py: Python<'_>, hash: u64) -> Option<Py<MessageType>> {
    let map = types(py).lock().unwrap_or_else(|e| e.into_inner());
    map.get(&hash).map(|t| t.clone_ref(py))
}

/// Nested message types a declaration names, by schema hash: its fields use these classes,
/// whatever other class of the same schema exists.
type Known = HashMap<u64, Py<MessageType>>;

/// Python's keywords: not usable as attribute names in code.
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// The attribute names of the fields `names` of a class made from a stored schema (a topic of
/// a type no class declared, written by anyone): a name is kept unless it is a member every
/// value has (`reserved`: `copy`, `to_dict`, ...), a dunder (`__del__`, `__init__`: special to
/// Python), or a keyword; those get `_` appended (until no other field has the name), so that
/// a hostile schema can neither break values nor hide their methods. Declared classes refuse
/// such names instead (`MessageMeta`).
pub(crate) fn attribute_names(names: &[&str], reserved: &[String]) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> =
        names.iter().map(|n| (*n).to_owned()).collect();
    names
        .iter()
        .map(|&name| {
            let special = reserved.iter().any(|r| r == name)
                || (name.starts_with("__") && name.ends_with("__"))
                || KEYWORDS.contains(&name);
            if !special {
                return name.to_owned();
            }
            let mut attr = format!("{name}_");
            while taken.contains(&attr) || reserved.contains(&attr) {
                attr.push('_');
            }
            taken.insert(attr.clone());
            attr
        })
        .collect()
}

/// `shm_pub_sub._message._RESERVED`: the members every value has.
fn reserved_names(py: Python<'_>) -> PyResult<Vec<String>> {
    py.import("shm_pub_sub._message")?
        .getattr("_RESERVED")?
        .try_iter()?
        .map(|n| n?.extract())
        .collect()
}

impl MessageType {
    /// The type of `schema` (a struct), with the nested types its fields need (`known` first).
    /// A `declared` type's attributes are its field names (the class statement checked them);
    /// a type made from a stored schema gets [`attribute_names`].
    fn new(
        py: Python<'_>,
        schema: Arc<TopicSchema>,
        known: &Known,
        declared: bool,
    ) -> PyResult<MessageType> {
        let DescKind::Struct(fields) = &schema.desc().kind else {
            return Err(PyTypeError::new_err(format!(
                "`{}` is not a struct; only structs are message classes",
                schema.type_name()
            )));
        };
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        let attrs = if declared {
            names.iter().map(|n| (*n).to_owned()).collect()
        } else {
            attribute_names(&names, &reserved_names(py)?)
        };
        let mut infos = Vec::with_capacity(fields.len());
        for (f, attr) in fields.iter().zip(attrs) {
            let mut dims = Vec::new();
            let mut inner = &f.ty;
            while let DescKind::Array { elem, len } = &inner.kind {
                dims.push(*len as usize);
                inner = elem;
            }
            let nested = |desc: &SchemaDesc| -> PyResult<Py<MessageType>> {
                match known.get(&desc.hash()) {
                    Some(t) => Ok(t.clone_ref(py)),
                    None => type_for(py, desc),
                }
            };
            let shape = match (&inner.kind, dims.is_empty()) {
                (DescKind::Primitive(p), true) => Shape::Scalar(*p),
                (DescKind::Primitive(p), false) => Shape::Tensor { prim: *p, dims },
                (DescKind::Sequence { elem, .. }, true) => match &elem.kind {
                    DescKind::Primitive(p) => Shape::Sequence(*p),
                    DescKind::Struct(_) => Shape::Messages(nested(elem)?),
                    _ => Shape::Plain,
                },
                (DescKind::Sequence { .. } | DescKind::String { .. }, _) => Shape::Plain,
                (_, true) => Shape::Struct(nested(inner)?),
                (_, false) => Shape::Structs {
                    elem: nested(inner)?,
                    dims,
                },
            };
            infos.push(FieldInfo {
                name: f.name.clone(),
                attr,
                offset: f.offset as usize,
                schema: Arc::new(schema_of(&f.ty)?),
                shape,
            });
        }
        Ok(MessageType {
            schema,
            fields: infos,
            class: PyOnceLock::new(),
        })
    }

    /// The Python class of the values.
    pub(crate) fn class<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyType>> {
        match self.class.get(py) {
            Some(c) => Ok(c.bind(py)),
            None => Err(PyTypeError::new_err(format!(
                "message type `{}` has no class yet",
                self.schema.type_name()
            ))),
        }
    }

    /// The index of the field whose schema name is `name`.
    pub(crate) fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The index of the field called `name` by a caller: its attribute name, or its schema
    /// name (the keys of `to_dict()`).
    pub(crate) fn field_by_any_name(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.attr == name)
            .or_else(|| self.field_index(name))
    }

    /// `a, b, c`: the fields' attribute names, for error messages.
    pub(crate) fn field_names(&self) -> String {
        let names: Vec<&str> = self.fields.iter().map(|f| f.attr.as_str()).collect();
        names.join(", ")
    }
}

fn schema_of(desc: &SchemaDesc) -> PyResult<TopicSchema> {
    TopicSchema::new(desc)
        .map_err(|e| PyTypeError::new_err(format!("invalid message type: {}", e.reason)))
}

/// The message type of a struct description: a declared class's if one has this schema, else
/// a new one with a class made for it (`shm_pub_sub._message._class_for`).
pub(crate) fn type_for(py: Python<'_>, desc: &SchemaDesc) -> PyResult<Py<MessageType>> {
    let schema = Arc::new(schema_of(desc)?);
    type_of_schema(py, schema)
}

/// As [`type_for`], from a checked schema.
pub(crate) fn type_of_schema(
    py: Python<'_>,
    schema: Arc<TopicSchema>,
) -> PyResult<Py<MessageType>> {
    if let Some(t) = cached(py, schema.hash()) {
        return Ok(t);
    }
    let ty = Py::new(
        py,
        MessageType::new(py, schema.clone(), &Known::new(), false)?,
    )?;
    // The class's creation binds it (`_bind`), which caches the type.
    py.import("shm_pub_sub._message")?
        .getattr("_class_for")?
        .call1((ty.clone_ref(py),))?;
    shm::registry::register(schema);
    Ok(ty)
}

/// `_declare(cls, name, specs)`: the message type of a class declared in Python, from its
/// annotations converted to specs (`("p", "f64")`, `("a", spec, (480, 640, 3))`,
/// `("s", NestedClass)`, `("q", spec, 4096)` for a bounded sequence, `("t", 32)` for a string), laid out as `#[repr(C)]` and refused with padding as the derive
/// refuses it. Registers the type and binds the class.
#[pyfunction]
pub(crate) fn _declare(
    cls: &Bound<'_, PyType>,
    name: &str,
    specs: Vec<(String, Bound<'_, PyTuple>)>,
) -> PyResult<Py<MessageType>> {
    let py = cls.py();
    let mut fields = Vec::with_capacity(specs.len());
    let mut known = Known::new();
    for (field, spec) in specs {
        let desc = desc_of_spec(&spec, &mut known)
            .map_err(|e| PyTypeError::new_err(format!("{name}.{field}: {}", e.value(py))))?;
        fields.push((field, desc));
    }
    let desc = SchemaDesc::c_struct(name, fields).map_err(|e| {
        if e.problem.contains("padding") {
            PyTypeError::new_err(format!("{e} (in Python: `_reserved: Array[u8, L[N]]`)"))
        } else {
            PyTypeError::new_err(e.to_string())
        }
    })?;
    let schema = Arc::new(schema_of(&desc)?);
    let ty = Py::new(py, MessageType::new(py, schema.clone(), &known, true)?)?;
    _bind(cls, ty.bind(py), true)?;
    shm::registry::register(schema);
    Ok(ty)
}

/// A field's type from its spec; the message classes it names go into `known`.
fn desc_of_spec(spec: &Bound<'_, PyTuple>, known: &mut Known) -> PyResult<SchemaDesc> {
    let tag: String = spec.get_item(0)?.extract()?;
    match tag.as_str() {
        "p" => {
            let name: String = spec.get_item(1)?.extract()?;
            Primitive::from_name(&name)
                .map(SchemaDesc::primitive)
                .ok_or_else(|| PyTypeError::new_err(format!("unknown primitive `{name}`")))
        }
        "q" | "t" => {
            let cap: u64 = spec.get_item(if tag == "q" { 2 } else { 1 })?.extract()?;
            let made = if tag == "q" {
                let elem = desc_of_spec(spec.get_item(1)?.cast()?, known)?;
                SchemaDesc::sequence(elem, cap)
            } else {
                SchemaDesc::string(cap)
            };
            made.map_err(|e| PyTypeError::new_err(e.to_string()))
        }
        "a" => {
            let elem = desc_of_spec(spec.get_item(1)?.cast()?, known)?;
            let dims: Vec<u64> = spec.get_item(2)?.extract()?;
            if dims.is_empty() || dims.contains(&0) {
                return Err(PyValueError::new_err(format!(
                    "array dimensions must be positive, not {dims:?}"
                )));
            }
            Ok(dims
                .iter()
                .rev()
                .fold(elem, |inner, &len| SchemaDesc::array(inner, len)))
        }
        "s" => {
            let ty = spec.get_item(1)?.getattr("__shm_type__")?;
            let ty = ty.cast::<MessageType>()?;
            known.insert(ty.get().schema.hash(), ty.clone().unbind());
            Ok(ty.get().schema.desc().clone())
        }
        other => Err(PyTypeError::new_err(format!(
            "unknown field spec `{other}`"
        ))),
    }
}

/// `_bind(cls, type, declared)`: makes `cls` the class of `type`'s values: a field descriptor
/// per field, `cls.__shm_type__`, and the type kept for topics of its schema (the latest
/// declared class of a schema wins over earlier ones and over classes made for topics).
#[pyfunction]
#[pyo3(signature = (cls, ty, declared = true))]
pub(crate) fn _bind(
    cls: &Bound<'_, PyType>,
    ty: &Bound<'_, MessageType>,
    declared: bool,
) -> PyResult<()> {
    let py = cls.py();
    let me = ty.get();
    if me.class.set(py, cls.clone().unbind()).is_err() {
        return Err(PyTypeError::new_err(format!(
            "message type `{}` already has a class",
            me.schema.type_name()
        )));
    }
    for (index, f) in me.fields.iter().enumerate() {
        let field = Field {
            ty: ty.clone().unbind(),
            index,
        };
        cls.setattr(f.attr.as_str(), Py::new(py, field)?)?;
    }
    cls.setattr("__shm_type__", ty)?;
    let mut map = types(py).lock().unwrap_or_else(|e| e.into_inner());
    if declared {
        map.insert(me.schema.hash(), ty.clone().unbind());
    } else {
        map.entry(me.schema.hash())
            .or_insert_with(|| ty.clone().unbind());
    }
    Ok(())
}

#[pymethods]
impl MessageType {
    /// The schema name (`"Pose"`).
    #[getter]
    fn name(&self) -> String {
        self.schema.type_name()
    }

    /// The schema hash, the same as the Rust derive's for the same struct.
    #[getter]
    fn schema_hash(&self) -> u64 {
        self.schema.hash()
    }

    /// Size of a value in bytes.
    #[getter]
    fn size(&self) -> usize {
        self.schema.size()
    }

    /// Alignment of a value in bytes.
    #[getter]
    fn align(&self) -> usize {
        self.schema.align()
    }

    /// `(name, offset, type name)` of every field (the attribute name on values, which is the
    /// schema's name unless that is a keyword, a dunder or a member of every value: then `_`
    /// is appended).
    #[getter]
    fn fields(&self) -> Vec<(String, usize, String)> {
        self.fields
            .iter()
            .map(|f| (f.attr.clone(), f.offset, f.schema.type_name()))
            .collect()
    }

    /// The class of the values.
    #[getter(__class_of_values__)]
    fn class_of_values(&self, py: Python<'_>) -> PyResult<Py<PyType>> {
        Ok(self.class(py)?.clone().unbind())
    }

    /// The numpy structured dtype of a value (same layout: offsets, sizes, nesting).
    fn dtype(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        view::dtype(py, self.schema.desc())
    }

    fn __repr__(&self) -> String {
        format!(
            "<shm_pub_sub.MessageType {} ({} bytes, hash {:#018x})>",
            self.schema.type_name(),
            self.schema.size(),
            self.schema.hash()
        )
    }
}
