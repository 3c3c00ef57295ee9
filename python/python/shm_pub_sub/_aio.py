"""``await Subscriber.recv()``: the blocking wait, run on a thread of its own.

The wait sleeps in the kernel on the topic's futex (with the GIL released), so the event loop
keeps running and no thread polls. Each wait gets its own daemon thread rather than one of the
loop's default executor, which a few long waits would exhaust. Cancelling the awaiting task
stops the thread's wait within 50 ms; the wait itself reads nothing, so a cancelled ``recv()``
loses no value.
"""

import asyncio
import threading
import time


def _settle(future, result, error):
    if future.done():  # cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _wait_in_thread(loop, sub, deadline, stop):
    """Starts `sub._wait` on a new thread; returns a future of its outcome."""
    future = loop.create_future()

    def work():
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            result, error = sub._wait(remaining, stop.is_set), None
        except BaseException as e:  # handed to the awaiting task
            result, error = None, e
        try:
            loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:  # the loop was closed meanwhile: nobody awaits this any more
            pass

    threading.Thread(target=work, name=f"shm_pub_sub recv {sub.name}", daemon=True).start()
    return future


async def recv(sub, timeout):
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        stop = threading.Event()
        try:
            why = await _wait_in_thread(loop, sub, deadline, stop)
        except BaseException:
            stop.set()
            raise
        if why == "ready":
            value = sub._take()
            if value is not None:
                return value
            # Taken by another reader of this subscriber, or gone stale: wait for the next one.
        elif why == "timeout":
            raise TimeoutError(f"no new value on topic {sub.name!r} within {timeout} s")
        # "publisher_gone": wait for the next publisher's values.
