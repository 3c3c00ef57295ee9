"""``await Subscriber.recv()`` and ``async for value in subscriber``: one waiting thread per
event loop, whatever the number of subscribers awaited.

Each event loop that awaits a subscriber gets one daemon thread, which waits on a ``WaitSet``
(one sleep in the kernel for every awaited topic, the GIL released) and wakes the awaiting
tasks through ``loop.call_soon_threadsafe``. A task that awaits registers a future with that
thread (and wakes it, so that it attaches the subscriber); cancelling the task takes the future
back. The thread only reports that a value exists; the task reads it itself, so a cancelled
``recv()`` loses no value: the next one returns it. A subscriber nobody awaited for a second is
detached; the thread ends when its loop is closed.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

from ._shm_pub_sub import WaitSet

# How long a subscriber stays attached after its last awaiting task (seconds): a loop that
# awaits it again meanwhile pays no new attach.
_IDLE_DETACH = 1.0


def _settle(future: asyncio.Future, result: str) -> None:
    if not future.done():  # cancelled meanwhile
        future.set_result(result)


class _Entry:
    """An awaited subscriber: its attachment and the futures of the tasks awaiting it."""

    __slots__ = ("attachment", "futures", "idle_since", "pending", "subscriber")

    def __init__(self, subscriber: Any, attachment: int) -> None:
        self.subscriber = subscriber
        self.attachment = attachment
        self.futures: set[asyncio.Future] = set()
        # A value event came while no task awaited: the next task to register reads at once.
        self.pending = False
        self.idle_since = 0.0


class _LoopWaiter:
    """The waiting thread of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._set = WaitSet()
        self._waker = self._set.waker()
        self._lock = threading.Lock()
        # ("add" | "remove", subscriber, future), or ("unread", subscriber, None): a value was
        # handed to futures whose tasks had all been cancelled meanwhile.
        self._requests: list[tuple[str, Any, asyncio.Future | None]] = []
        self._entries: dict[int, _Entry] = {}
        self._by_attachment: dict[int, _Entry] = {}
        self.thread = threading.Thread(target=self._run, name="shm_pub_sub asyncio waiter", daemon=True)
        self.thread.start()

    def register(self, subscriber: Any) -> asyncio.Future:
        """A future that resolves (to ``"ready"``) once `subscriber` may have a new value."""
        future = self._loop.create_future()
        self._request("add", subscriber, future)
        return future

    def unregister(self, subscriber: Any, future: asyncio.Future) -> None:
        """Takes back a future whose task stopped awaiting it."""
        self._request("remove", subscriber, future)

    def _request(self, op: str, subscriber: Any, future: asyncio.Future | None) -> None:
        with self._lock:
            self._requests.append((op, subscriber, future))
        self._waker.wake()

    def _deliver(self, subscriber: Any, futures: list[asyncio.Future]) -> None:
        """On the loop's thread: wakes the tasks awaiting a value; if every one of them was
        cancelled meanwhile, the value is still unread: the next task to await gets it."""
        woken = False
        for future in futures:
            if not future.done():
                future.set_result("ready")
                woken = True
        if not woken:
            self._request("unread", subscriber, None)

    def _apply(self, now: float) -> None:
        with self._lock:
            requests, self._requests = self._requests, []
        for op, subscriber, future in requests:
            entry = self._entries.get(id(subscriber))
            if op == "unread":
                if entry is not None:
                    self._hand_over(entry)
                continue
            assert future is not None
            if op == "remove":
                if entry is not None:
                    entry.futures.discard(future)
                    if not entry.futures:
                        entry.idle_since = now
                continue
            if entry is None:
                try:
                    attachment = self._set.attach(subscriber)
                except BaseException as e:  # handed to the awaiting task
                    self._call(_fail, future, e)
                    continue
                entry = _Entry(subscriber, attachment)
                self._entries[id(subscriber)] = entry
                self._by_attachment[attachment] = entry
            if entry.pending:
                entry.pending = False
                self._call(self._deliver, subscriber, [future])
            else:
                entry.futures.add(future)

    def _hand_over(self, entry: _Entry) -> None:
        """A value may be there: wake the tasks awaiting it, or keep it for the next one."""
        if entry.futures:
            futures, entry.futures = list(entry.futures), set()
            entry.idle_since = self._loop.time()
            self._call(self._deliver, entry.subscriber, futures)
        else:
            entry.pending = True

    def _detach_idle(self, now: float) -> None:
        for key, entry in list(self._entries.items()):
            if not entry.futures and now - entry.idle_since > _IDLE_DETACH:
                self._set.detach(entry.attachment)
                del self._entries[key]
                del self._by_attachment[entry.attachment]

    def _call(self, function: Any, *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(function, *args)
        except RuntimeError:  # the loop was closed meanwhile: nobody awaits this any more
            pass

    def _run(self) -> None:
        clock = self._loop.time
        while not self._loop.is_closed():
            now = clock()
            self._apply(now)
            self._detach_idle(now)
            for event in self._set.wait(timeout=_IDLE_DETACH):
                if event.kind != "value":
                    continue  # a publisher that went away: keep waiting for the next one
                entry = self._by_attachment.get(event.attachment)
                if entry is None:
                    continue
                self._hand_over(entry)
        with _waiters_lock:
            if _waiters.get(self._loop) is self:
                del _waiters[self._loop]


def _fail(future: asyncio.Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


_waiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopWaiter] = weakref.WeakKeyDictionary()
_waiters_lock = threading.Lock()


def _waiter(loop: asyncio.AbstractEventLoop) -> _LoopWaiter:
    with _waiters_lock:
        waiter = _waiters.get(loop)
        if waiter is None or not waiter.thread.is_alive():
            waiter = _waiters[loop] = _LoopWaiter(loop)
        return waiter


async def recv(sub: Any, timeout: float | None) -> Any:
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        value = sub._take()
        if value is not None:
            return value
        if deadline is not None and loop.time() >= deadline:
            raise TimeoutError(f"no new value on topic {sub.name!r} within {timeout} s")
        waiter = _waiter(loop)
        future = waiter.register(sub)
        timer = None if deadline is None else loop.call_at(deadline, _settle, future, "timeout")
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()
            if not future.done() or future.cancelled() or future.result() == "timeout":
                waiter.unregister(sub, future)
        # "ready": read it (another reader of this subscriber may have taken it: wait again);
        # "timeout": the loop's check above raises after one last look.


class Values:
    """``async for value in subscriber``: each new value, as ``await subscriber.recv()``."""

    __slots__ = ("_sub",)

    def __init__(self, sub: Any) -> None:
        self._sub = sub

    def __aiter__(self) -> Values:
        return self

    async def __anext__(self) -> Any:
        return await recv(self._sub, None)
