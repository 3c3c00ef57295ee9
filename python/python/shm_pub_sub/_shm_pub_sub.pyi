"""Type stubs of the compiled part of ``shm_pub_sub``."""

import builtins
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from types import TracebackType
from typing import (
    Any,
    Callable,
    ClassVar,
    Generic,
    Literal,
    Protocol,
    TypeAlias,
    TypeVar,
    final,
    overload,
)

from typing_extensions import Buffer, Self, disjoint_base

from ._action import GoalStatus
from ._waitset import EventKind

__version__: str
__all__ = [
    "MAX_BUFFER_NUM",
    "MIN_BUFFER_NUM",
    "ActionClient",
    "ActionServer",
    "BadRequestError",
    "Borrow",
    "CallTimeout",
    "Client",
    "ClientInfo",
    "ContendedError",
    "Field",
    "ForeignTopicError",
    "ForkedProcessError",
    "GoalHandle",
    "GoalRejectedError",
    "LentSlice",
    "Loan",
    "Message",
    "MessageType",
    "NoReplyError",
    "NoServerError",
    "PendingCall",
    "Publisher",
    "Sample",
    "SchemaMismatchError",
    "Server",
    "ServerBusyError",
    "ServerGoal",
    "ServerGoneError",
    "ServiceRequest",
    "SliceType",
    "Subscriber",
    "TopicBusyError",
    "TopicFormatError",
    "WaitEvent",
    "WaitSet",
    "WaitSetWaker",
    "__version__",
    "_bind",
    "_cli_main",
    "_declare",
    "_slice_of",
    "message_types",
    "node_name",
    "set_node_name",
]
MIN_BUFFER_NUM: int
MAX_BUFFER_NUM: int

_V = TypeVar("_V")
_M = TypeVar("_M", bound=Message)

class _ArrayLike(Protocol):
    """A numpy array (its stubs declare the buffer protocol only from Python 3.12)."""

    @property
    def __array_interface__(self) -> dict[str, Any]: ...

@disjoint_base
class Message:
    """The base of message types (``shm_pub_sub.Message`` subclasses it with the class
    machinery): a value's bytes and its type."""

    def __new__(cls, **fields: Any) -> Self: ...
    def __init__(self, **fields: Any) -> None: ...
    def to_dict(self) -> dict[str, Any]:
        """The value as plain Python data: nested dicts, lists for arrays."""
    @classmethod
    def from_buffer(cls, buffer: Buffer) -> Self:
        """A value from a buffer of exactly one value's bytes (``bool`` fields checked)."""
    def to_numpy(self) -> Any:
        """A numpy record of the class's ``dtype`` over this value's bytes."""
    def copy(self) -> Self:
        """A copy with its own bytes (writable)."""
    @property
    def read_only(self) -> bool:
        """Whether the value was read from a topic (read-only; ``copy()`` to change one)."""
    def __reduce__(self) -> tuple[Any, ...]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, _memo: Any) -> Self: ...
    def __bytes__(self) -> bytes: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class MessageType:
    """A message type: schema, fields and the class of its values."""

    @property
    def name(self) -> str: ...
    @property
    def schema_hash(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def align(self) -> int: ...
    @property
    def fields(self) -> list[tuple[str, int, str]]: ...
    @property
    def __class_of_values__(self) -> builtins.type[Message]: ...
    def dtype(self) -> Any:
        """The numpy structured dtype of a value."""

@final
class Field:
    """A field of a message class."""

    def __get__(self, instance: object, owner: object = None, /) -> Any: ...
    def __set__(self, instance: object, value: Any, /) -> None: ...
    def __delete__(self, instance: object, /) -> None: ...

def _declare(cls: builtins.type, name: str, specs: list[tuple[str, tuple[Any, ...]]]) -> MessageType: ...
def _slice_of(spec: tuple[Any, ...], max_len: int) -> SliceType: ...

@final
class SliceType:
    """An empty slice of a type, ``seq[Point, L[100_000]]()``: the ``default_value`` of a slice
    topic's publisher and subscribers."""

    @property
    def max_len(self) -> int: ...
    @property
    def element(self) -> Any: ...
    @property
    def schema_hash(self) -> int: ...
    def dtype(self) -> Any: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any: ...

def _bind(cls: builtins.type, ty: MessageType, declared: bool = True) -> None: ...

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

class GoalRejectedError(RuntimeError):
    """The action's server rejected the goal."""

_G = TypeVar("_G")
_F = TypeVar("_F")
_O = TypeVar("_O")

@final
class ServerGoal(Generic[_G, _F, _O]):
    """A goal an ``ActionServer`` accepted and runs."""

    @property
    def value(self) -> _G: ...
    @property
    def id(self) -> int: ...
    @property
    def client(self) -> ClientInfo | None: ...
    @property
    def is_cancel_requested(self) -> bool: ...
    def publish_feedback(self, feedback: _F | dict[str, Any]) -> None: ...
    def succeed(self, outcome: _O | dict[str, Any]) -> None: ...
    def abort(self, outcome: _O | dict[str, Any] | None = None) -> None: ...
    def cancel(self, outcome: _O | dict[str, Any] | None = None) -> None: ...

@final
class ActionServer(Generic[_G, _F, _O]):
    """The server of an action: ``ActionServer(name, goal, feedback, outcome)``."""

    def __new__(
        cls,
        name: str,
        goal: _G,
        feedback: _F,
        outcome: _O,
        *,
        accept: Callable[[_G], bool] | None = None,
        feedback_buffer: int = 64,
        admit_users: Sequence[int] = ...,
        admit_groups: Sequence[int] = ...,
    ) -> ActionServer[_G, _F, _O]: ...
    def receive(self, timeout: float | None = None) -> ServerGoal[_G, _F, _O] | None: ...
    def close(self) -> None: ...
    @property
    def name(self) -> str: ...

@final
class GoalHandle(Generic[_F, _O]):
    """A goal an ``ActionClient`` sent and its server accepted."""

    @property
    def id(self) -> int: ...
    def feedback(self, timeout: float = 1.0) -> _F | None: ...
    def result(self, timeout: float | None = None) -> tuple[GoalStatus, _O | None]: ...
    def cancel(self, timeout: float = 1.0) -> GoalStatus: ...
    @property
    def status(self) -> GoalStatus | None: ...

@final
class ActionClient(Generic[_G, _F, _O]):
    """A client of an action: ``ActionClient(name, goal, feedback, outcome).send_goal(g)``."""

    def __new__(
        cls, name: str, goal: _G, feedback: _F, outcome: _O, *, owner: int | Literal["any"] | None = None
    ) -> ActionClient[_G, _F, _O]: ...
    def send_goal(self, goal: _G | dict[str, Any], timeout: float = 1.0) -> GoalHandle[_F, _O]: ...
    def statuses(self) -> list[tuple[int, GoalStatus]]: ...
    @property
    def name(self) -> str: ...

class CallTimeout(TimeoutError):
    """No reply within the call's timeout; the call was given up."""

class ServerGoneError(ConnectionError):
    """The service's server exited or was killed before it answered."""

class NoServerError(ConnectionError):
    """No server runs for the service."""

class ServerBusyError(RuntimeError):
    """The server holds as many requests as it may, or admits no more clients."""

class BadRequestError(ValueError):
    """A request's bytes were no value of the request type."""

class NoReplyError(RuntimeError):
    """The server dropped the request without answering it."""

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")

@final
class ClientInfo:
    """Who sent a request: ``ServiceRequest.client``."""

    @property
    def pid(self) -> int: ...
    @property
    def process_name(self) -> str: ...
    @property
    def uid(self) -> int: ...
    @property
    def slot(self) -> int: ...

@final
class ServiceRequest(Generic[_Req, _Resp]):
    """A request a ``Server`` received."""

    @property
    def value(self) -> _Req: ...
    @property
    def seq(self) -> int | None: ...
    @property
    def client(self) -> ClientInfo | None: ...
    def reply(self, value: _Resp) -> None: ...

@final
class Server(Generic[_Req, _Resp]):
    """The server of a service: ``Server(name, request_default, reply_default)``."""

    def __new__(
        cls,
        name: str,
        request: _Req,
        reply: _Resp,
        *,
        max_clients: int = 64,
        per_client: int = 8,
        queue: int = 64,
        admit_users: Sequence[int] = ...,
        admit_groups: Sequence[int] = ...,
    ) -> Server[_Req, _Resp]: ...
    def receive(self, timeout: float | None = None) -> ServiceRequest[_Req, _Resp] | None: ...
    def serve(self, handler: Callable[[_Req], _Resp | dict[str, Any]], *, count: int | None = None) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Server[_Req, _Resp]: ...
    def __exit__(self, exc_type: object, exc_value: object, traceback: object, /) -> None: ...
    @property
    def name(self) -> str: ...

@final
class PendingCall(Generic[_Resp]):
    """A call sent by ``Client.send``; ``wait(timeout)`` returns the reply."""

    def wait(self, timeout: float | None = 1.0) -> _Resp: ...
    def _poll(self, step: float) -> tuple[bool, _Resp | None]: ...
    def try_wait(self) -> _Resp | None: ...
    @property
    def done(self) -> bool: ...
    def cancel(self) -> None: ...
    @property
    def service(self) -> str: ...
    @property
    def seq(self) -> int | None: ...

@final
class Client(Generic[_Req, _Resp]):
    """A client of a service: ``Client(name, request_default, reply_default).call(value)``."""

    def __new__(
        cls, name: str, request: _Req, reply: _Resp, *, owner: int | Literal["any"] | None = None
    ) -> Client[_Req, _Resp]: ...
    def call(self, value: _Req | dict[str, Any], timeout: float | None = 1.0) -> _Resp: ...
    def send(self, value: _Req | dict[str, Any]) -> PendingCall[_Resp]: ...
    def call_async(self, value: _Req | dict[str, Any], timeout: float | None = 1.0) -> Coroutine[Any, Any, _Resp]: ...
    @property
    def name(self) -> str: ...

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
        grow: bool = False,
        lending: bool = False,
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
        grow: bool = False,
        lending: bool = False,
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
        grow: bool = False,
        lending: bool = False,
    ) -> Publisher[float]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: SliceType,
        buffer_num: int | None = 3,
        *,
        mode: int | None = None,
        timestamps: Literal["precise", "coarse"] = "precise",
        grow: bool = False,
        lending: bool = False,
    ) -> Publisher[Any]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: _M,
        buffer_num: int | None = 3,
        *,
        mode: int | None = None,
        timestamps: Literal["precise", "coarse"] = "precise",
        grow: bool = False,
        lending: bool = False,
    ) -> Publisher[_M]: ...
    def __class_getitem__(cls, item: object) -> object: ...
    def publish(self, data: _V | Mapping[str, Any] | Buffer | _ArrayLike) -> None:
        """Publishes ``data``; subscribers' next ``subscribe()`` returns it."""
    def loan(self, len: int | None = None, *, zeroed: bool = False) -> Loan[_V]:
        """``with pub.loan() as frame:`` writes the next value in place (a lending topic);
        published when the block ends without an exception. A slice topic's ``loan(n)``
        lends ``n`` elements (a ``LentSlice``)."""
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
    def type_name(self) -> str | None: ...
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
class LentSlice:
    """A slice value lent for a ``with`` block: its elements through numpy arrays over the
    topic's shared memory (read-only when borrowed)."""

    def __len__(self) -> int: ...
    def __getitem__(self, key: Any, /) -> Any: ...
    def __setitem__(self, key: Any, value: Any, /) -> None: ...
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def copy(self) -> Any:
        """A copy of the elements (a numpy array) that outlives the block."""

@final
class Loan(Generic[_V]):
    """A value of a lending topic lent to its publisher for a ``with`` block."""

    def __enter__(self) -> _V: ...
    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        _exc: BaseException | None = None,
        _tb: TracebackType | None = None,
    ) -> bool: ...
    @property
    def seq(self) -> int: ...

@final
class Borrow(Generic[_V]):
    """A value of a lending topic lent to a subscriber for a ``with`` block (read-only)."""

    def __enter__(self) -> _V: ...
    def __exit__(
        self,
        _exc_type: builtins.type[BaseException] | None = None,
        _exc: BaseException | None = None,
        _tb: TracebackType | None = None,
    ) -> bool: ...
    @property
    def seq(self) -> int: ...
    @property
    def publish_time_ns(self) -> int: ...
    @property
    def missed(self) -> int: ...

_Source: TypeAlias = Subscriber[Any] | Server[Any, Any] | ActionServer[Any, Any, Any] | PendingCall[Any]

@final
class WaitEvent:
    """Something a ``WaitSet`` reports."""

    @property
    def subscriber(self) -> _Source | None: ...
    @property
    def source(self) -> _Source | None: ...
    @property
    def kind(self) -> EventKind: ...
    @property
    def attachment(self) -> int: ...
    @property
    def time_ns(self) -> int: ...

@final
class WaitSet:
    """Waits for new values of many subscribers, deadlines and intervals in one thread."""

    def __new__(cls) -> WaitSet: ...
    def attach(
        self, subscriber: Subscriber[Any] | Server[Any, Any] | ActionServer[Any, Any, Any] | PendingCall[Any]
    ) -> int: ...
    def attach_deadline(self, subscriber: Subscriber[Any], deadline: float) -> int: ...
    def attach_interval(self, period: float) -> int: ...
    def detach(
        self, what: Subscriber[Any] | Server[Any, Any] | ActionServer[Any, Any, Any] | PendingCall[Any] | int
    ) -> bool: ...
    def wait(self, timeout: float | None = None) -> list[WaitEvent]: ...
    def on(
        self,
        subscriber: Subscriber[Any] | Server[Any, Any] | ActionServer[Any, Any, Any],
        callback: Callable[[Any], object],
        *,
        every_value: bool = False,
    ) -> int: ...
    def every(self, period: float, callback: Callable[[], object]) -> int: ...
    def spin_once(self, timeout: float | None = None) -> list[WaitEvent]: ...
    def spin(self, timeout: float | None = None) -> None: ...
    def stop(self) -> None: ...
    def waker(self) -> WaitSetWaker: ...
    def __len__(self) -> int: ...

@final
class WaitSetWaker:
    """Wakes a ``WaitSet`` from another thread."""

    def wake(self) -> None: ...
    def stop(self) -> None: ...

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
        max_borrowed: int = 1,
    ) -> Subscriber[bool]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: int,
        *,
        max_age: float | None = None,
        owner: int | Literal["any"] | None = None,
        max_borrowed: int = 1,
    ) -> Subscriber[int]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: float,
        *,
        max_age: float | None = None,
        owner: int | Literal["any"] | None = None,
        max_borrowed: int = 1,
    ) -> Subscriber[float]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: SliceType,
        *,
        max_age: float | None = None,
        owner: int | Literal["any"] | None = None,
        max_borrowed: int = 1,
    ) -> Subscriber[Any]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: _M,
        *,
        max_age: float | None = None,
        owner: int | Literal["any"] | None = None,
        max_borrowed: int = 1,
    ) -> Subscriber[_M]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: None,
        *,
        max_age: float | None = None,
        owner: int | Literal["any"] | None = None,
        max_borrowed: int = 1,
    ) -> Subscriber[Message | None]: ...
    def __class_getitem__(cls, item: object) -> object: ...
    def subscribe(self, timeout: float | None = None) -> tuple[_V, bool]:
        """Without timeout: ``(newest value, True)``, or ``(default_value, False)`` while there is
        no data. With ``timeout`` (s): waits for a newer value; ``(last or default, False)`` if
        none arrives (or the publisher dies) in time."""
    def subscribe_all(self, timeout: float | None = None) -> list[Sample[_V]]:
        """Every value newer than the last one returned that the ring still holds, oldest first."""
    def subscribe_into(self, buffer: Buffer | _ArrayLike, timeout: float | None = None) -> bool:
        """Copies the newest message value into ``buffer`` (one value's size), the GIL released
        for large ones; ``False`` if there is none (or none newer within ``timeout``)."""
    def wait(self, timeout: float | None = None) -> bool:
        """Waits until a newer value is available (without reading it); ``False`` on timeout."""
    def borrow(self, timeout: float | None = None) -> Borrow[_V]:
        """``with sub.borrow(timeout=1.0) as frame:`` reads a value of a lending topic in place,
        read-only; ``TimeoutError`` if none newer comes in time."""
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
    def type(self) -> builtins.type[_V] | None: ...
    @property
    def type_name(self) -> str | None: ...
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
    def max_borrowed(self) -> int: ...
    @property
    def closed(self) -> bool: ...

def message_types() -> list[str]:
    """Names of all message types registered in this process (Rust types linked in and
    ``Message`` classes declared)."""

def set_node_name(name: str) -> None:
    """Names this process's node (shown by ``shm list`` / ``shm info`` and in errors)."""

def node_name() -> str | None:
    """This process's node name, or ``None``."""

def _cli_main(argv: list[str]) -> int:
    """Runs the ``shm`` command-line tool; returns its exit status."""
