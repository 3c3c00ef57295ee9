"""A mypy plugin that gives message fields their Python types::

    [mypy]
    plugins = shm_pub_sub.mypy

``heading: shm_pub_sub.f64`` is a ``float`` field, ``map_id: shm_pub_sub.u32`` an ``int``,
``position: shm_pub_sub.f64[3]`` and ``ranges: shm_pub_sub.seq[f32, 4096]`` a
``numpy.ndarray`` (``Any`` where numpy is not installed), ``frame_id: shm_pub_sub.string[32]``
a ``str``, ``boxes: shm_pub_sub.seq[Box, 64]`` a ``list[Box]``, so ``pose.heading + 1.0``
type-checks and ``pose.heading.upper()`` does not.
Without the plugin mypy rejects ``f64[3]`` as a type.
"""

from __future__ import annotations

from typing import Callable

from mypy.nodes import TypeInfo
from mypy.plugin import AnalyzeTypeContext, Plugin
from mypy.types import AnyType, Instance, RawExpressionType, Type, TypeOfAny

_INTS = {"i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"}
_FLOATS = {"f32", "f64"}
_MODULES = ("shm_pub_sub", "shm_pub_sub._message")
_NAMES = {f"{module}.{name}" for module in _MODULES for name in _INTS | _FLOATS}
_SEQ = {f"{module}.seq" for module in _MODULES}
_STRING = {f"{module}.string" for module in _MODULES}


def _field_type(ctx: AnalyzeTypeContext) -> Type:
    name = ctx.type.name.rsplit(".", 1)[-1]
    if ctx.type.args:
        any_type = AnyType(TypeOfAny.special_form)
        try:
            return ctx.api.named_type("numpy.ndarray", [any_type, any_type])
        except Exception:  # numpy is not part of the program: any array
            return any_type
    return ctx.api.named_type("builtins.int" if name in _INTS else "builtins.float", [])


_MESSAGE = "shm_pub_sub._shm_pub_sub.Message"


def _message_array(info: TypeInfo) -> Callable[[AnalyzeTypeContext], Type]:
    def analyze(ctx: AnalyzeTypeContext) -> Type:
        item: Type = Instance(info, [])
        # ``Point[2, 3]``: nested lists of ``Point`` values, one per dimension.
        for _ in ctx.type.args:
            item = ctx.api.named_type("builtins.list", [item])
        return item

    return analyze


def _legacy(ctx: AnalyzeTypeContext) -> bool:
    """Whether a capacity is a bare int (``seq[f32, 4096]``), not ``Literal[4096]``."""
    return any(isinstance(arg, RawExpressionType) for arg in ctx.type.args)


def _declared(fullname: str, ctx: AnalyzeTypeContext) -> Type:
    """``seq[f32, L[4096]]`` as declared: the field descriptor, whose ``__get__`` gives the type."""
    return ctx.api.named_type(fullname, [ctx.api.analyze_type(arg) for arg in ctx.type.args])


def _sequence(fullname: str) -> Callable[[AnalyzeTypeContext], Type]:
    def analyze(ctx: AnalyzeTypeContext) -> Type:
        """``seq[Point, 64]``: a list of ``Point`` values; ``seq[f32, 4096]``: a numpy array."""
        if not _legacy(ctx):
            return _declared(fullname, ctx)
        elem = ctx.api.analyze_type(ctx.type.args[0])
        if isinstance(elem, Instance) and elem.type.has_base(_MESSAGE):
            return ctx.api.named_type("builtins.list", [elem])
        any_type = AnyType(TypeOfAny.special_form)
        try:
            return ctx.api.named_type("numpy.ndarray", [any_type, any_type])
        except Exception:  # numpy is not part of the program: any array
            return any_type

    return analyze


def _string(fullname: str) -> Callable[[AnalyzeTypeContext], Type]:
    def analyze(ctx: AnalyzeTypeContext) -> Type:
        """``string[32]``: a ``str``."""
        if not _legacy(ctx):
            return _declared(fullname, ctx)
        return ctx.api.named_type("builtins.str", [])

    return analyze


class ShmPlugin(Plugin):
    """Resolves ``shm_pub_sub.<primitive>``, ``<primitive>[dims]`` and ``<Message class>[dims]``
    in annotations."""

    def get_type_analyze_hook(self, fullname: str) -> Callable[[AnalyzeTypeContext], Type] | None:
        if fullname in _NAMES:
            return _field_type
        if fullname in _SEQ:
            return _sequence(fullname)
        if fullname in _STRING:
            return _string(fullname)
        symbol = self.lookup_fully_qualified(fullname)
        node = symbol.node if symbol is not None else None
        if isinstance(node, TypeInfo) and node.has_base(_MESSAGE) and node.fullname != _MESSAGE:
            return _message_array(node)
        return None


def plugin(version: str) -> type[Plugin]:
    """The entry point mypy calls."""
    return ShmPlugin
