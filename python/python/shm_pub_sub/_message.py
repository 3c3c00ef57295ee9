"""Message types declared in Python, with the meaning of a Rust ``#[derive(ShmMessage)]``
``#[repr(C)]`` struct: the same fields give the same topic type in both languages::

    class Pose(shm_pub_sub.Message):
        position: shm_pub_sub.f64[3]
        heading: shm_pub_sub.f64
        tracking: bool
        _reserved: shm_pub_sub.u8[7]

The class statement lays the fields out (each at the next multiple of its alignment, as the
compiler does), refuses padding as the derive does, and registers the type. Only the names and
annotations come from Python; layout, checks and conversions are the runtime's.
"""

from __future__ import annotations

import inspect
import sys
import typing
from typing import Any

from ._shm_pub_sub import Message as _MessageBase
from ._shm_pub_sub import MessageType, _bind, _declare


class _Primitive:
    """A primitive field type: ``shm_pub_sub.f64``; ``f64[3]`` and ``u8[480, 640, 3]`` are
    arrays of it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __getitem__(self, dims: int | tuple[int, ...]) -> _Array:
        return _Array(self, dims)

    def __repr__(self) -> str:
        return f"shm_pub_sub.{self.name}"


class _Array:
    """A fixed-size array field type, of one or more dimensions (outermost first)."""

    __slots__ = ("dims", "elem")

    def __init__(self, elem: Any, dims: int | tuple[int, ...]) -> None:
        dims = dims if isinstance(dims, tuple) else (dims,)
        if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in dims):
            raise TypeError(f"array dimensions must be positive ints, as in f64[3] or u8[480, 640, 3], not {dims!r}")
        self.elem = elem
        self.dims = dims

    def __repr__(self) -> str:
        elem = self.elem.__name__ if isinstance(self.elem, type) else repr(self.elem)
        return f"{elem}[{', '.join(map(str, self.dims))}]"


i8, i16, i32, i64 = (_Primitive(n) for n in ("i8", "i16", "i32", "i64"))
u8, u16, u32, u64 = (_Primitive(n) for n in ("u8", "u16", "u32", "u64"))
f32, f64 = _Primitive("f32"), _Primitive("f64")
bool_ = _Primitive("bool")  # `bool` itself is a field type; `bool_[8]` is an array of them

# Members of every value: a field of one of these names would hide it.
_RESERVED = {"copy", "to_dict", "from_buffer", "to_numpy", "read_only"}

_SIZED = "bool, shm_pub_sub.i8/i16/i32/i64/u8/u16/u32/u64/f32/f64, arrays of them (f64[3]), or Message classes"


def _spec(owner: str, field: str, ann: Any) -> tuple[Any, ...]:
    """A field's annotation as the runtime's spec: ("p", name), ("a", spec, dims), ("s", cls)."""
    if ann is bool:
        return ("p", "bool")
    if isinstance(ann, _Primitive):
        return ("p", ann.name)
    if isinstance(ann, _Array):
        return ("a", _spec(owner, field, ann.elem), ann.dims)
    if isinstance(ann, MessageMeta) and hasattr(ann, "__shm_type__"):
        return ("s", ann)
    if ann is int:
        hint = "use shm_pub_sub.i64 (or i8, i16, i32, u8 ... u64)"
    elif ann is float:
        hint = "use shm_pub_sub.f64 (or f32)"
    else:
        hint = f"fields are {_SIZED}"
    raise TypeError(f"{owner}.{field}: {ann!r} has no fixed layout in shared memory; {hint}")


def _own_annotations(cls: type, parent: dict[str, Any]) -> dict[str, Any]:
    """The class's own annotations, evaluated if they are strings (``from __future__ import
    annotations``) in its module, the scope that ran the class statement (``parent``: a
    function's locals, for a class declared in a function), and the class body."""
    module = sys.modules.get(cls.__module__)
    scope = dict(vars(module)) if module else {}
    names = {**parent, **vars(cls)}
    if sys.version_info >= (3, 10):
        anns = inspect.get_annotations(cls, globals=scope, locals=names, eval_str=True)
    else:
        anns = dict(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 (3.9: no get_annotations)
        for name, ann in anns.items():
            if isinstance(ann, str):
                anns[name] = eval(ann, scope, names)
    return {
        name: ann
        for name, ann in anns.items()
        if ann is not typing.ClassVar and typing.get_origin(ann) is not typing.ClassVar
    }


class MessageMeta(type):
    """The metaclass of message classes: declares the type when the class statement runs."""

    def __new__(
        mcs,
        cls_name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        *,
        name: str | None = None,
        _shm_type: MessageType | None = None,
        **kwargs: Any,
    ) -> MessageMeta:
        namespace.setdefault("__slots__", ())
        cls = super().__new__(mcs, cls_name, bases, namespace, **kwargs)
        # Values are made by Message.__new__ (the runtime's, which reads values from topics
        # without calling __init__): no class on the way may replace it.
        for klass in cls.__mro__:
            if "__new__" in vars(klass) and klass not in (_MessageBase, object):
                raise TypeError(f"{cls_name}: message classes may not define __new__ ({klass.__name__} does)")
        if _shm_type is not None:
            _bind(cls, _shm_type, False)
        elif any(isinstance(b, MessageMeta) for b in bases):
            if any(hasattr(b, "__shm_type__") for b in bases):
                raise TypeError(
                    f"{cls_name}: subclass shm_pub_sub.Message directly; a message class does not "
                    "extend another's fields (declare them all, or nest the other as a field)"
                )
            # The frame that runs the class statement (`__build_class__` is C, so it is the
            # caller's): annotations may name its locals.
            caller = sys._getframe(1)
            parent = caller.f_locals if caller.f_locals is not caller.f_globals else {}
            fields = _own_annotations(cls, dict(parent))
            for field in fields:
                if field in namespace:
                    raise TypeError(
                        f"{cls_name}.{field}: fields have no defaults (every field starts as zeros); "
                        f"give values when creating one: {cls_name}({field}=...)"
                    )
                if field in _RESERVED or (field.startswith("__") and field.endswith("__")):
                    raise TypeError(f"{cls_name}.{field}: this name is taken by every message value; rename the field")
            specs = [(field, _spec(cls_name, field, ann)) for field, ann in fields.items()]
            _declare(cls, name or cls_name, specs)
        return cls

    def __getitem__(cls, dims: int | tuple[int, ...]) -> _Array:
        """``Point[10]``: an array of 10 ``Point`` values, as a field type."""
        return _Array(cls, dims)

    @property
    def type_name(cls) -> str:
        """The schema name (the class name, or its ``name=`` keyword)."""
        return cls.__shm_type__.name

    @property
    def schema_hash(cls) -> int:
        """The schema hash, the same as a Rust ``#[derive(ShmMessage)]`` struct's with the same
        name and fields."""
        return cls.__shm_type__.schema_hash

    @property
    def size(cls) -> int:
        """Size of a value in bytes."""
        return cls.__shm_type__.size

    @property
    def dtype(cls) -> Any:
        """The numpy structured dtype of a value (same offsets; needs numpy)."""
        return cls.__shm_type__.dtype()


class Message(_MessageBase, metaclass=MessageMeta):
    """The base of message types. Declare one with annotated fields (``bool``,
    ``shm_pub_sub.i8`` ... ``u64``, ``f32``, ``f64``, arrays such as ``f64[3]`` or
    ``u8[480, 640, 3]``, and other Message classes); ``class Pose(Message, name="Pose")`` sets
    the schema name. Values take fields by keyword (``Pose(heading=0.5)``; the others are
    zeros); array fields are numpy arrays over the value's bytes."""

    __slots__ = ()


def _class_for(ty: MessageType) -> type:
    """A class for a message type that no class declared (a topic of a type only known from its
    file): named after the schema, with its fields."""
    return MessageMeta(
        ty.name,
        (Message,),
        {"__module__": "shm_pub_sub.types", "__qualname__": ty.name},
        _shm_type=ty,
    )
