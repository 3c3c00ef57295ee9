"""Message types declared in Python, with the meaning of a Rust ``#[derive(ShmMessage)]``
``#[repr(C)]`` struct: the same fields give the same topic type in both languages::

    from typing import Literal as L
    from shm_pub_sub import Array, Message, f64, u8

    class Pose(Message):
        position: Array[f64, L[3]]
        heading: f64
        tracking: bool
        _reserved: Array[u8, L[7]]

Type checkers (pyright, mypy) see ``f64`` as ``float``, ``u8`` as ``int`` and ``Array[...]`` as a
numpy array, so declarations and field accesses type-check with no plugin. (The shorter
``f64[3]`` works at run time too, and under mypy with the ``shm_pub_sub.mypy`` plugin.)

The class statement lays the fields out (each at the next multiple of its alignment, as the
compiler does), refuses padding as the derive does, and registers the type. Only the names and
annotations come from Python; layout, checks and conversions are the runtime's.
"""

from __future__ import annotations

import inspect
import sys
import typing
from typing import TYPE_CHECKING, Any

from ._shm_pub_sub import Message as _MessageBase
from ._shm_pub_sub import MessageType, SliceType, _bind, _declare, _slice_of


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
            raise TypeError(
                "array dimensions must be positive ints, as in Array[f64, L[3]] or "
                f"Array[u8, L[480], L[640], L[3]], not {dims!r}"
            )
        self.elem = elem
        self.dims = dims

    def __repr__(self) -> str:
        elem = self.elem.__name__ if isinstance(self.elem, type) else repr(self.elem)
        return f"{elem}[{', '.join(map(str, self.dims))}]"


class _Sequence:
    """A bounded sequence field type: up to ``cap`` elements (a primitive or a Message class),
    stored inline with their count; the Rust ``shm::BoundedVec<T, cap>``."""

    __slots__ = ("cap", "elem")

    def __init__(self, elem: Any, cap: Any) -> None:
        if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            raise TypeError(f"a sequence's capacity is a positive int, as in seq[f32, L[4096]], not {cap!r}")
        self.elem = elem
        self.cap = cap

    def __repr__(self) -> str:
        elem = self.elem.__name__ if isinstance(self.elem, type) else repr(self.elem)
        return f"seq[{elem}, {self.cap}]"

    def __call__(self) -> SliceType:
        """An empty slice of this type: the ``default_value`` of a slice topic's publisher and
        subscribers (``Publisher("lidar/points", seq[Point, L[100_000]]())``)."""
        return _slice_of(_spec("seq", "element", self.elem), self.cap)


class _String:
    """A bounded string field type: up to ``cap`` bytes of UTF-8, stored inline with their
    length; the Rust ``shm::BoundedString<cap>``."""

    __slots__ = ("cap",)

    def __init__(self, cap: Any) -> None:
        if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            raise TypeError(f"a string's capacity is a positive int (bytes), as in string[L[32]], not {cap!r}")
        self.cap = cap

    def __repr__(self) -> str:
        return f"string[{self.cap}]"


def _dim(owner: Any, dim: Any) -> int:
    """One dimension of ``Array[elem, L[3], ...]``: ``Literal[3]`` (or a plain ``3``)."""
    if typing.get_origin(dim) is typing.Literal:
        args = typing.get_args(dim)
        if len(args) != 1:
            raise TypeError(f"{owner}: one Literal per dimension, as in Array[u8, L[480], L[640], L[3]], not {dim!r}")
        dim = args[0]
    return dim  # type: ignore[no-any-return]


if TYPE_CHECKING:
    # What a type checker sees (no plugin needed): primitives are the Python types of their
    # values, and an array field is a numpy array (a list of values, at run time, for arrays of
    # messages).
    from collections.abc import Sequence
    from typing import Generic, TypeVar, overload

    import numpy
    from numpy.typing import ArrayLike
    from typing_extensions import Self, TypeAlias, TypeVarTuple, Unpack

    _E = TypeVar("_E")
    _M = TypeVar("_M", bound="Message")
    _Dims = TypeVarTuple("_Dims")

    class Array(Generic[_E, Unpack[_Dims]]):
        """A fixed-size array field: ``Array[f64, L[3]]``, ``Array[u8, L[480], L[640], L[3]]``.
        Reads as a numpy array (a tuple of values for an array of messages); takes anything
        numpy takes as an array of that shape."""

        @overload
        def __get__(self, obj: None, owner: Any) -> Self: ...
        @overload
        def __get__(self: Array[_M, Any], obj: object, owner: Any) -> tuple[_M, ...]: ...
        @overload
        def __get__(self, obj: object, owner: Any) -> numpy.ndarray[Any, numpy.dtype[Any]]: ...
        def __set__(self, obj: object, value: ArrayLike) -> None: ...

    _N = TypeVar("_N")

    class seq(Generic[_E, _N]):
        """A bounded sequence field: ``seq[f32, L[4096]]``, ``seq[Detection, L[64]]``. Reads as a
        numpy array of its current length (a list of values for messages); takes any sequence of
        at most that many elements."""

        @overload
        def __get__(self, obj: None, owner: Any) -> Self: ...
        @overload
        def __get__(self: seq[_M, Any], obj: object, owner: Any) -> list[_M]: ...
        @overload
        def __get__(self, obj: object, owner: Any) -> numpy.ndarray[Any, numpy.dtype[Any]]: ...
        def __set__(self, obj: object, value: ArrayLike | Sequence[Any]) -> None: ...

    class string(Generic[_N]):
        """A bounded string field: ``string[L[32]]``, up to 32 bytes of UTF-8. Reads as a
        ``str``."""

        @overload
        def __get__(self, obj: None, owner: Any) -> Self: ...
        @overload
        def __get__(self, obj: object, owner: Any) -> str: ...
        def __set__(self, obj: object, value: str) -> None: ...

    # The names of Rust's primitives, as type aliases (lowercase on purpose).
    bool_: TypeAlias = bool  # noqa: PYI042
    i8: TypeAlias = int  # noqa: PYI042
    i16: TypeAlias = int  # noqa: PYI042
    i32: TypeAlias = int  # noqa: PYI042
    i64: TypeAlias = int  # noqa: PYI042
    u8: TypeAlias = int  # noqa: PYI042
    u16: TypeAlias = int  # noqa: PYI042
    u32: TypeAlias = int  # noqa: PYI042
    u64: TypeAlias = int  # noqa: PYI042
    f32: TypeAlias = float  # noqa: PYI042
    f64: TypeAlias = float  # noqa: PYI042
else:

    class Array:
        """A fixed-size array field type: ``Array[f64, L[3]]`` (``L`` is ``typing.Literal``), of
        one or more dimensions, outermost first: ``Array[u8, L[480], L[640], L[3]]``. The element
        is a primitive (``f64``, ``u8``, ``bool`` ...) or a Message class. Values' array fields
        are numpy arrays over the value's bytes (lists of values for arrays of messages)."""

        __slots__ = ()

        def __class_getitem__(cls, params: Any) -> _Array:
            params = params if isinstance(params, tuple) else (params,)
            if len(params) < 2:
                raise TypeError(
                    f"Array takes an element type and its dimensions, as in Array[f64, L[3]], not Array[{params!r}]"
                )
            elem, *dims = params
            return _Array(elem, tuple(_dim(f"Array[{elem!r}, ...]", d) for d in dims))

    class seq:
        """A bounded sequence field type: ``seq[f32, L[4096]]`` (or ``seq[f32, 4096]``) holds up to
        4096 ``f32``; the element is a primitive or a Message class. Stored inline with its length
        (the Rust ``shm::BoundedVec<f32, 4096>``, same schema); a publish and a read copy only the
        elements it holds. Values' sequence fields are numpy arrays of their current length over
        the value's bytes (lists of values for messages)."""

        __slots__ = ()

        def __class_getitem__(cls, params: Any) -> _Sequence:
            if not isinstance(params, tuple) or len(params) != 2:
                raise TypeError(
                    f"seq takes an element type and a capacity, as in seq[f32, L[4096]], not seq[{params!r}]"
                )
            elem, cap = params
            return _Sequence(elem, _dim(f"seq[{elem!r}, ...]", cap))

    class string:
        """A bounded string field type: ``string[L[32]]`` (or ``string[32]``) holds up to 32 bytes
        of UTF-8, stored inline with its length (the Rust ``shm::BoundedString<32>``). Values'
        string fields are ``str``."""

        __slots__ = ()

        def __class_getitem__(cls, cap: Any) -> _String:
            return _String(_dim("string[...]", cap))

    i8, i16, i32, i64 = (_Primitive(n) for n in ("i8", "i16", "i32", "i64"))
    u8, u16, u32, u64 = (_Primitive(n) for n in ("u8", "u16", "u32", "u64"))
    f32, f64 = _Primitive("f32"), _Primitive("f64")
    bool_ = _Primitive("bool")  # `bool` itself is a field type; `bool_[8]` is an array of them

# Members of every value: a field of one of these names would hide it.
_RESERVED = {"copy", "to_dict", "from_buffer", "to_numpy", "read_only"}

_SIZED = (
    "bool, shm_pub_sub.i8/i16/i32/i64/u8/u16/u32/u64/f32/f64, arrays of them (Array[f64, L[3]]), "
    "bounded sequences (seq[f32, L[4096]]) and strings (string[L[32]]), or Message classes"
)


def _spec(owner: str, field: str, ann: Any) -> tuple[Any, ...]:
    """A field's annotation as the runtime's spec: ("p", name), ("a", spec, dims), ("s", cls)."""
    if ann is bool:
        return ("p", "bool")
    if isinstance(ann, _Primitive):
        return ("p", ann.name)
    if isinstance(ann, _Array):
        return ("a", _spec(owner, field, ann.elem), ann.dims)
    if isinstance(ann, _Sequence):
        return ("q", _spec(owner, field, ann.elem), ann.cap)
    if isinstance(ann, _String):
        return ("t", ann.cap)
    if isinstance(ann, MessageMeta) and hasattr(ann, "__shm_type__"):
        return ("s", ann)
    if ann is int:
        hint = "use shm_pub_sub.i64 (or i8, i16, i32, u8 ... u64)"
    elif ann is float:
        hint = "use shm_pub_sub.f64 (or f32)"
    elif ann is str:
        hint = "use shm_pub_sub.string[L[32]] (up to 32 bytes of UTF-8)"
    elif ann is list or typing.get_origin(ann) is list:
        hint = "use shm_pub_sub.seq[f32, L[4096]] (up to 4096 elements)"
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
    ``u8[480, 640, 3]``, bounded sequences ``seq[f32, 4096]`` and strings ``string[32]``, and
    other Message classes); ``class Pose(Message, name="Pose")`` sets
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
