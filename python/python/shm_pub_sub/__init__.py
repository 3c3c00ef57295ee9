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
    Borrow,
    ContendedError,
    ForeignTopicError,
    ForkedProcessError,
    Loan,
    MessageType,
    Publisher,
    Sample,
    SchemaMismatchError,
    SliceType,
    Subscriber,
    TopicBusyError,
    TopicFormatError,
    __version__,
    message_types,
)

__all__ = [
    "MAX_BUFFER_NUM",
    "MIN_BUFFER_NUM",
    "Array",
    "Borrow",
    "ContendedError",
    "ForeignTopicError",
    "ForkedProcessError",
    "Loan",
    "Message",
    "MessageMeta",
    "MessageType",
    "Publisher",
    "Sample",
    "SchemaMismatchError",
    "SliceType",
    "Subscriber",
    "TopicBusyError",
    "TopicFormatError",
    "__version__",
    "bool_",
    "f32",
    "f64",
    "i8",
    "i16",
    "i32",
    "i64",
    "message_types",
    "seq",
    "string",
    "u8",
    "u16",
    "u32",
    "u64",
]
