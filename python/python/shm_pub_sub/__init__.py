"""Typed publish/subscribe between processes over shared memory.

A publisher writes the latest value of a topic; any number of subscribers, in any process of the
machine (Python or Rust), read it::

    import shm_pub_sub

    pub = shm_pub_sub.Publisher("sensors/temperature", 0.0)  # buffer_num=3
    pub.publish(21.5)

    sub = shm_pub_sub.Subscriber("sensors/temperature", 0.0)
    data, is_success = sub.subscribe()  # (21.5, True); (0.0, False) before any publish

The type of ``default_value`` selects the topic's type: ``bool``, ``int`` or ``float`` travel as
the ``shm`` messages ``bool``, ``i64`` or ``f64``, and a value of a :class:`Message` class (a
struct of primitives and fixed-size arrays, declared with annotations) as that struct. A subscriber of another type than
the topic's raises :class:`SchemaMismatchError`; a second live publisher raises
:class:`TopicBusyError`. Topic files live in ``$SHM_ROOT`` (default ``/dev/shm``).
"""

from __future__ import annotations

import operator as _operator

from ._action import GoalStatus
from ._message import (
    Array,
    Message,
    MessageMeta,
    bool_,
    f32,
    f64,
    i8,
    i16,
    i32,
    i64,
    seq,
    string,
    u8,
    u16,
    u32,
    u64,
)
from ._shm_pub_sub import (
    MAX_BUFFER_NUM,
    MIN_BUFFER_NUM,
    ActionClient,
    ActionServer,
    BadRequestError,
    Borrow,
    CallTimeout,
    Client,
    ClientInfo,
    ContendedError,
    ForeignTopicError,
    ForkedProcessError,
    GoalHandle,
    GoalRejectedError,
    LentSlice,
    Loan,
    MessageType,
    NoReplyError,
    NoServerError,
    PendingCall,
    Publisher,
    Sample,
    SchemaMismatchError,
    Server,
    ServerBusyError,
    ServerGoal,
    ServerGoneError,
    ServiceRequest,
    SliceType,
    Subscriber,
    TopicBusyError,
    TopicFormatError,
    WaitEvent,
    WaitSet,
    WaitSetWaker,
    __version__,
    message_types,
    node_name,
    set_node_name,
)
from ._waitset import EventKind

try:
    # numpy is optional (array fields are memoryviews without it). Imported with the module, so
    # that the first array field a program touches does not pay for it (about 60 ms: a 1 kHz
    # consumer would lose samples at its start).
    import numpy as _numpy  # noqa: F401
except ImportError:  # pragma: no cover - exercised by the no-numpy CI job
    pass


def PublisherBool(name: str, default_value: bool, buffer_num: int = 3) -> Publisher[bool]:
    """``Publisher(name, default_value, buffer_num)`` of a ``bool`` topic, under the typed name
    of the original library's later Python binding (so code written for it runs unchanged)."""
    if not isinstance(default_value, bool):
        raise TypeError(f"PublisherBool default_value must be a bool, not {type(default_value).__name__}")
    return Publisher(name, default_value, buffer_num)


def PublisherInt(name: str, default_value: int, buffer_num: int = 3) -> Publisher[int]:
    """``Publisher(name, default_value, buffer_num)`` of an ``int`` topic (64-bit here, where
    the C++ original's int was 32-bit: ``Publisher(name, numpy.int32(0))`` is that one)."""
    if isinstance(default_value, bool):
        raise TypeError("PublisherInt default_value must be an int, not bool")
    return Publisher(name, _operator.index(default_value), buffer_num)


def PublisherFloat(name: str, default_value: float, buffer_num: int = 3) -> Publisher[float]:
    """``Publisher(name, default_value, buffer_num)`` of a ``float`` topic (64-bit here, where
    the C++ original's float was 32-bit: ``Publisher(name, numpy.float32(0))`` is that one)."""
    if isinstance(default_value, bool) or not isinstance(default_value, (int, float)):
        raise TypeError(f"PublisherFloat default_value must be a float, not {type(default_value).__name__}")
    return Publisher(name, float(default_value), buffer_num)


def SubscriberBool(name: str, default_value: bool) -> Subscriber[bool]:
    """``Subscriber(name, default_value)`` of a ``bool`` topic, under the later binding's
    typed name."""
    if not isinstance(default_value, bool):
        raise TypeError(f"SubscriberBool default_value must be a bool, not {type(default_value).__name__}")
    return Subscriber(name, default_value)


def SubscriberInt(name: str, default_value: int) -> Subscriber[int]:
    """``Subscriber(name, default_value)`` of an ``int`` (64-bit) topic, under the later
    binding's typed name."""
    if isinstance(default_value, bool):
        raise TypeError("SubscriberInt default_value must be an int, not bool")
    return Subscriber(name, _operator.index(default_value))


def SubscriberFloat(name: str, default_value: float) -> Subscriber[float]:
    """``Subscriber(name, default_value)`` of a ``float`` (64-bit) topic, under the later
    binding's typed name."""
    if isinstance(default_value, bool) or not isinstance(default_value, (int, float)):
        raise TypeError(f"SubscriberFloat default_value must be a float, not {type(default_value).__name__}")
    return Subscriber(name, float(default_value))


__all__ = [
    "MAX_BUFFER_NUM",
    "MIN_BUFFER_NUM",
    "ActionClient",
    "ActionServer",
    "Array",
    "BadRequestError",
    "Borrow",
    "CallTimeout",
    "Client",
    "ClientInfo",
    "ContendedError",
    "EventKind",
    "ForeignTopicError",
    "ForkedProcessError",
    "GoalHandle",
    "GoalRejectedError",
    "GoalStatus",
    "LentSlice",
    "Loan",
    "Message",
    "MessageMeta",
    "MessageType",
    "NoReplyError",
    "NoServerError",
    "PendingCall",
    "Publisher",
    "PublisherBool",
    "PublisherFloat",
    "PublisherInt",
    "Sample",
    "SchemaMismatchError",
    "Server",
    "ServerBusyError",
    "ServerGoal",
    "ServerGoneError",
    "ServiceRequest",
    "SliceType",
    "Subscriber",
    "SubscriberBool",
    "SubscriberFloat",
    "SubscriberInt",
    "TopicBusyError",
    "TopicFormatError",
    "WaitEvent",
    "WaitSet",
    "WaitSetWaker",
    "__version__",
    "bool_",
    "f32",
    "f64",
    "i8",
    "i16",
    "i32",
    "i64",
    "message_types",
    "node_name",
    "seq",
    "set_node_name",
    "string",
    "u8",
    "u16",
    "u32",
    "u64",
]
