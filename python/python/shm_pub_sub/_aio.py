"""``await Subscriber.recv()`` and ``async for value in subscriber``: one waiting thread per
event loop, whatever the number of subscribers awaited.

Each event loop that awaits a subscriber gets one daemon thread, which waits on a ``WaitSet``
(one sleep in the kernel for every awaited topic, the GIL released) and wakes the awaiting
tasks through ``loop.call_soon_threadsafe``. A task that awaits registers a future with that
thread (and wakes it, so that it attaches the subscriber); cancelling the task takes the future
back. The thread only reports that a value may be there; the task reads it itself, so a
cancelled ``recv()`` loses no value: the next one returns it, and a value handed to tasks that
were all cancelled before they read it wakes the next task at once. A subscriber nobody awaited
for a second is detached; a closed one wakes its tasks (whose read then raises); the thread ends
when its loop is closed or gone.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Coroutine
from typing import Any

from ._shm_pub_sub import CallTimeout, WaitSet

# How long a subscriber stays attached after its last awaiting task (seconds): a loop that
# awaits it again meanwhile pays no new attach.
_IDLE_DETACH = 1.0
# How often the thread looks for closed subscribers, a closed loop and idle attachments.
_SWEEP = 0.1


def _settle(future: asyncio.Future, result: str) -> None:
    if not future.done():  # cancelled meanwhile
        future.set_result(result)


def _fail(future: asyncio.Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class _Entry:
    """An awaited subscriber: its attachment and the futures of the tasks awaiting it."""

    __slots__ = ("attachment", "futures", "idle_since", "pending", "subscriber")

    def __init__(self, subscriber: Any, attachment: int) -> None:
        self.subscriber = subscriber
        self.attachment = attachment
        self.futures: set[asyncio.Future] = set()
        # A value event came while no task awaited (or only cancelled ones): the next task to
        # register reads at once. (If a task read it meanwhile, that costs one empty read.)
        self.pending = False
        self.idle_since = time.monotonic()


class _LoopWaiter:
    """The waiting thread of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weakly: a loop that is dropped without being closed ends the thread too.
        self._loop = weakref.ref(loop)
        self._set = WaitSet()
        self._waker = self._set.waker()
        self._lock = threading.Lock()
        # ("add" | "remove", subscriber, future), or ("unread", subscriber, None): a value was
        # handed to futures whose tasks were all cancelled before they read it.
        self._requests: list[tuple[str, Any, asyncio.Future | None]] = []
        self._entries: dict[int, _Entry] = {}
        self._by_attachment: dict[int, _Entry] = {}
        self.thread = threading.Thread(target=self._run, name="shm_pub_sub asyncio waiter", daemon=True)
        self.thread.start()

    def register(self, subscriber: Any) -> asyncio.Future:
        """A future that resolves (to ``"ready"``) once `subscriber` may have a new value."""
        loop = self._loop()
        assert loop is not None, "the running loop is alive"
        future = loop.create_future()
        self._request("add", subscriber, future)
        return future

    def unregister(self, subscriber: Any, future: asyncio.Future) -> None:
        """Takes back a future whose task stopped awaiting it."""
        self._request("remove", subscriber, future)

    def unread(self, subscriber: Any) -> None:
        """A task woken for a value stopped before it read it: wake the next one at once."""
        self._request("unread", subscriber, None)

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
            self.unread(subscriber)

    def _call(self, function: Any, *args: Any) -> None:
        loop = self._loop()
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(function, *args)
        except RuntimeError:  # the loop was closed meanwhile: nobody awaits this any more
            pass

    def _apply(self) -> None:
        with self._lock:
            requests, self._requests = self._requests, []
        retry = []
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
                        entry.idle_since = time.monotonic()
                continue
            if entry is None:
                try:
                    attachment = self._set.attach(subscriber)
                except RuntimeError as e:
                    if "borrow" in str(e):  # the loop's thread is reading it right now: again
                        retry.append((op, subscriber, future))
                    else:
                        self._call(_fail, future, e)
                    continue
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
        if retry:
            with self._lock:
                self._requests[:0] = retry

    def _hand_over(self, entry: _Entry) -> None:
        """A value may be there: wake the tasks awaiting it, or keep it for the next one."""
        if entry.futures:
            futures, entry.futures = list(entry.futures), set()
            entry.idle_since = time.monotonic()
            self._call(self._deliver, entry.subscriber, futures)
        else:
            entry.pending = True

    def _sweep(self) -> None:
        """Detaches subscribers nobody awaited for a while, and closed ones (waking their
        tasks, whose read raises)."""
        now = time.monotonic()
        for key, entry in list(self._entries.items()):
            closed = entry.subscriber.closed
            if closed and entry.futures:
                self._hand_over(entry)
            if closed or (not entry.futures and now - entry.idle_since > _IDLE_DETACH):
                self._set.detach(entry.attachment)
                del self._entries[key]
                del self._by_attachment[entry.attachment]

    def _alive(self) -> bool:
        loop = self._loop()
        return loop is not None and not loop.is_closed()

    def _run(self) -> None:
        try:
            swept = time.monotonic()
            while self._alive():
                self._apply()
                if time.monotonic() - swept >= _SWEEP:
                    self._sweep()
                    swept = time.monotonic()
                for event in self._set.wait(timeout=_SWEEP):
                    if event.kind != "value":
                        continue  # a publisher that went away: keep waiting for the next one
                    entry = self._by_attachment.get(event.attachment)
                    if entry is not None:
                        self._hand_over(entry)
        except BaseException as e:  # a bug: fail every waiting task rather than leave it hanging
            with self._lock:
                requests, self._requests = self._requests, []
            futures = [f for entry in self._entries.values() for f in entry.futures]
            futures += [f for op, _, f in requests if op == "add" and f is not None]
            for future in futures:
                self._call(_fail, future, RuntimeError(f"the asyncio waiting thread failed: {e!r}"))
        finally:
            loop = self._loop()
            with _waiters_lock:
                if loop is not None and _waiters.get(loop) is self:
                    del _waiters[loop]


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
        except BaseException:
            # Woken for a value, then cancelled before reading it: the next task reads it.
            if future.done() and not future.cancelled() and future.exception() is None:
                if future.result() == "ready":
                    waiter.unread(sub)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            if not future.done() or future.cancelled() or (future.exception() is None and future.result() == "timeout"):
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


def _wait_pending(pending: Any, timeout: float | None) -> Coroutine[Any, Any, Any]:
    """``await Client.call_async(value, timeout)``: the call was sent; its deadline counts from
    now. The wait runs in the loop's default executor in steps of at most 50 ms (the GIL
    released), so a task cancelled (or a loop shutting down) gives its call up within a step."""
    deadline = None if timeout is None else time.monotonic() + timeout
    return _wait_until(pending, deadline, timeout)


async def _wait_until(pending: Any, deadline: float | None, timeout: float | None) -> Any:
    loop = asyncio.get_running_loop()
    try:
        while True:
            step = 0.05 if deadline is None else max(0.0, min(0.05, deadline - time.monotonic()))
            done, reply = await loop.run_in_executor(None, pending._poll, step)
            if done:
                return reply
            if deadline is not None and time.monotonic() >= deadline:
                raise CallTimeout(
                    f"no reply from service '{pending.service}' within {timeout} s; the call was given up "
                    "(a late reply is dropped): is its server overloaded or stuck?"
                )
    finally:
        pending.cancel()
