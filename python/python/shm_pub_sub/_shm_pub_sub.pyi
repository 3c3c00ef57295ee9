"""Type stubs of the compiled part of ``shm_pub_sub``."""

import builtins
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import (
    Any,
    Callable,
    Generic,
    Literal,
    TypeVar,
    final,
    overload,
)

__version__: str
__all__ = [
    "MAX_BUFFER_NUM",
    "MIN_BUFFER_NUM",
    "ContendedError",
    "ForeignTopicError",
    "ForkedProcessError",
    "Publisher",
    "Sample",
    "SchemaMismatchError",
    "Subscriber",
    "TopicBusyError",
    "TopicFormatError",
    "__version__",
    "_cli_main",
    "message_types",
]
MIN_BUFFER_NUM: int
MAX_BUFFER_NUM: int

_V = TypeVar("_V", bool, int, float)

class SchemaMismatchError(TypeError):
    """The topic carries another type than this subscriber's ``default_value`` selects."""

    topic: str
    topic_type: str
    expected_type: str

class TopicBusyError(FileExistsError):
    """Another live process publishes this topic."""

class ForeignTopicError(PermissionError):
    """The topic's file belongs to another user (or others may write it): never adopted, and
    read only when its owner is trusted (``owner=``)."""

    path: str
    owner_uid: int
    mode: int

class TopicFormatError(OSError):
    """A file at the topic's path is not a valid topic."""

class ForkedProcessError(RuntimeError):
    """A publisher was used in a child process made by ``fork``."""

class ContendedError(RuntimeError):
    """The publisher overwrote the value being read on every attempt."""

@final
class Publisher(Generic[_V]):
    """Publishes the values of one topic to every process that subscribes to it."""

    @overload
    def __new__(
        cls,
        name: str,
        default_value: bool,
        buffer_num: int | None = 3,
        *,
        mode: int | None = None,
        timestamps: Literal["precise", "coarse"] = "precise",
    ) -> Publisher[bool]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: int,
        buffer_num: int | None = 3,
        *,
        mode: int | None = None,
        timestamps: Literal["precise", "coarse"] = "precise",
    ) -> Publisher[int]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: float,
        buffer_num: int | None = 3,
        *,
        mode: int | None = None,
        timestamps: Literal["precise", "coarse"] = "precise",
    ) -> Publisher[float]: ...
    def __class_getitem__(cls, item: object) -> object: ...
    def publish(self, data: _V) -> None:
        """Publishes ``data``; subscribers' next ``subscribe()`` returns it."""
    def close(self) -> None:
        """Releases the topic; idempotent."""
    def __enter__(self) -> Publisher[_V]: ...
    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> builtins.type[_V]: ...
    @property
    def type_name(self) -> Literal["bool", "i64", "f64"]: ...
    @property
    def default_value(self) -> _V: ...
    @property
    def buffer_num(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def last_seq(self) -> int | None: ...
    @property
    def closed(self) -> bool: ...

@final
class Sample(Generic[_V]):
    """One value of ``Subscriber.subscribe_all()``; unpacks as ``value, seq, publish_time_ns``."""

    @property
    def value(self) -> _V: ...
    @property
    def seq(self) -> int: ...
    @property
    def publish_time_ns(self) -> int: ...
    @property
    def missed(self) -> int: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Subscriber(Generic[_V]):
    """Reads the values of one topic."""

    @overload
    def __new__(
        cls,
        name: str,
        default_value: bool,
        *,
        max_age: float | None = None,
        owner: int | Literal["any"] | None = None,
    ) -> Subscriber[bool]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: int,
        *,
        max_age: float | None = None,
        owner: int | Literal["any"] | None = None,
    ) -> Subscriber[int]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: float,
        *,
        max_age: float | None = None,
        owner: int | Literal["any"] | None = None,
    ) -> Subscriber[float]: ...
    def __class_getitem__(cls, item: object) -> object: ...
    def subscribe(self, timeout: float | None = None) -> tuple[_V, bool]:
        """Without timeout: ``(newest value, True)``, or ``(default_value, False)`` while there is
        no data. With ``timeout`` (s): waits for a newer value; ``(last or default, False)`` if
        none arrives (or the publisher dies) in time."""
    def subscribe_all(self, timeout: float | None = None) -> list[Sample[_V]]:
        """Every value newer than the last one returned that the ring still holds, oldest first."""
    def wait(self, timeout: float | None = None) -> bool:
        """Waits until a newer value is available (without reading it); ``False`` on timeout."""
    def _wait(self, timeout: float | None, stop: Callable[[], object]) -> str: ...
    def _take(self) -> _V | None: ...
    def recv(self, timeout: float | None = None) -> Coroutine[Any, Any, _V]:
        """``await sub.recv()``: the next new value; ``TimeoutError`` after ``timeout`` s."""
    def close(self) -> None:
        """Unmaps the topic; idempotent."""
    def __enter__(self) -> Subscriber[_V]: ...
    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> builtins.type[_V]: ...
    @property
    def type_name(self) -> Literal["bool", "i64", "f64"]: ...
    @property
    def default_value(self) -> _V: ...
    @property
    def path(self) -> str: ...
    @property
    def last_seq(self) -> int | None: ...
    @property
    def last_publish_time_ns(self) -> int | None: ...
    @property
    def is_new(self) -> bool | None: ...
    @property
    def missed(self) -> int | None: ...
    @property
    def publisher_alive(self) -> bool: ...
    @property
    def max_age(self) -> float | None: ...
    @property
    def closed(self) -> bool: ...

def message_types() -> list[str]:
    """Names of all message types registered in this build of the runtime."""

def _cli_main(argv: list[str]) -> int:
    """Runs the ``shm`` command-line tool; returns its exit status."""

