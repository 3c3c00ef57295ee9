"""A mypy plugin that gives message fields their Python types::

    [mypy]
    plugins = shm_pub_sub.mypy

``heading: shm_pub_sub.f64`` is a ``float`` field, ``map_id: shm_pub_sub.u32`` an ``int``,
and ``position: shm_pub_sub.f64[3]`` a ``numpy.ndarray`` (``Any`` where numpy is not
installed), so ``pose.heading + 1.0`` type-checks and ``pose.heading.upper()`` does not.
Without the plugin mypy rejects ``f64[3]`` as a type.
"""

from __future__ import annotations

from typing import Callable

from mypy.nodes import TypeInfo
from mypy.plugin import AnalyzeTypeContext, Plugin
from mypy.types import AnyType, Instance, Type, TypeOfAny

_INTS = {"i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"}
_FLOATS = {"f32", "f64"}
_MODULES = ("shm_pub_sub", "shm_pub_sub._message")
_NAMES = {f"{module}.{name}" for module in _MODULES for name in _INTS | _FLOATS}


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


class ShmPlugin(Plugin):
    """Resolves ``shm_pub_sub.<primitive>``, ``<primitive>[dims]`` and ``<Message class>[dims]``
    in annotations."""

    def get_type_analyze_hook(self, fullname: str) -> Callable[[AnalyzeTypeContext], Type] | None:
        if fullname in _NAMES:
            return _field_type
        symbol = self.lookup_fully_qualified(fullname)
        node = symbol.node if symbol is not None else None
        if isinstance(node, TypeInfo) and node.has_base(_MESSAGE) and node.fullname != _MESSAGE:
            return _message_array(node)
        return None


def plugin(version: str) -> type[Plugin]:
    """The entry point mypy calls."""
    return ShmPlugin
