"""Blocking waits: subscribe(timeout), wait(), await recv(), freshness, across real processes.

No assertion depends on how fast the machine is, except upper bounds far above what a working
wait needs.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time

import pytest
import shm_pub_sub
from conftest import WOKEN_ONLY_BY_PUBLISHER, sigint_after_waiting, until_asleep


def later(delay: float, action) -> threading.Thread:
    """Runs `action` on another thread after `delay` seconds."""
    t = threading.Thread(target=lambda: (time.sleep(delay), action()))
    t.start()
    return t


def test_subscribe_with_timeout_returns_the_next_value_published_by_another_process(topic, py_helper):
    pub = py_helper("publish", "int", topic, stdin=True)
    assert pub.expect_line() == "ready"
    sub = shm_pub_sub.Subscriber(topic, 0)
    sender = later(0.2, lambda: pub.send("41"))
    start = time.monotonic()
    assert sub.subscribe(timeout=10) == (41, True)
    sender.join()
    assert time.monotonic() - start < 5
    assert (sub.last_seq, sub.is_new, sub.missed) == (1, True, 0)
    # Waits for a value newer than the last one returned, not for any value.
    pub.send("42")
    pub.expect("published 2")
    pub.send("43")
    pub.expect("published 3")
    assert sub.subscribe(timeout=10) == (43, True)
    assert (sub.last_seq, sub.missed) == (3, 1), "value 2 was skipped"
    assert sub.publisher_alive


def test_a_timeout_returns_the_last_value_or_the_default_and_is_not_early(topic):
    pub = shm_pub_sub.Publisher(topic, 0.0)
    sub = shm_pub_sub.Subscriber(topic, -1.0)
    for timeout in (0, 0.001, 0.03, 0.12):
        start = time.monotonic()
        assert sub.subscribe(timeout=timeout) == (-1.0, False)
        took = time.monotonic() - start
        assert timeout <= took < timeout + 0.5, (timeout, took)
    pub.publish(2.5)
    assert sub.subscribe(timeout=0) == (2.5, True)
    assert sub.subscribe(timeout=0.05) == (2.5, False), "nothing newer: the last value, not successful"
    # Without a timeout, subscribe() keeps the seed's behaviour: the latest value, successful.
    assert sub.subscribe() == (2.5, True)
    assert sub.is_new is False


def test_wait_reports_a_new_value_without_reading_it(topic):
    pub = shm_pub_sub.Publisher(topic, 0)
    sub = shm_pub_sub.Subscriber(topic, 0)
    assert sub.wait(0.02) is False
    later(0.1, lambda: pub.publish(7))
    assert sub.wait(10) is True
    assert sub.last_seq is None, "wait() read nothing"
    assert sub.wait(0) is True, "still available"
    assert sub.subscribe() == (7, True)
    assert sub.is_new is True
    assert sub.wait(0.02) is False


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan])
def test_bad_timeouts_are_refused(topic, bad):
    sub = shm_pub_sub.Subscriber(topic, 0)
    with pytest.raises(ValueError, match="timeout must be a number of seconds >= 0"):
        sub.subscribe(timeout=bad)
    with pytest.raises(ValueError, match="timeout"):
        sub.wait(bad)
    with pytest.raises(TypeError):
        sub.subscribe(timeout="1")


def test_other_threads_keep_running_while_a_wait_sleeps(topic):
    shm_pub_sub.Publisher(topic, 0)
    sub = shm_pub_sub.Subscriber(topic, 0)
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.05)
    before = ticks
    assert sub.subscribe(timeout=0.3) == (0, False)
    during = ticks - before
    stop.set()
    counter.join()
    # With the GIL held for 0.3 s the counter would stand still.
    assert during > 10_000, during


def test_another_thread_may_use_the_subscriber_while_it_waits(topic):
    pub = shm_pub_sub.Publisher(topic, 0)
    sub = shm_pub_sub.Subscriber(topic, 0)
    result = []
    waiter = threading.Thread(target=lambda: result.append(sub.subscribe(timeout=10)))
    waiter.start()
    until_asleep(pub.path)
    # Not "already borrowed": the waiting thread holds the subscriber only between sleeps.
    assert sub.last_seq is None and sub.publisher_alive
    assert sub.subscribe() == (0, False)
    pub.publish(3)
    waiter.join(timeout=10)
    assert result == [(3, True)]


@pytest.mark.parametrize("timeout", ["30", "inf"])
def test_ctrl_c_interrupts_a_wait_promptly(topic, py_helper, timeout):
    took = sigint_after_waiting(py_helper, topic, "wait", "int", topic, "1", timeout)
    # The signal ends the futex sleep (EINTR) and the wait raises KeyboardInterrupt; a signal
    # delivered to another thread would be seen at the next 50 ms check. This bound only
    # guards against a hang (0.25 ms measured).
    assert took < 2, took


def test_a_publisher_killed_during_a_wait_ends_it(topic, py_helper):
    pub = py_helper("publish", "int", topic, stdin=True)
    assert pub.expect_line() == "ready"
    pub.send("5")
    pub.expect("published 1")
    sub = shm_pub_sub.Subscriber(topic, 0)
    assert sub.subscribe() == (5, True)
    killer = threading.Thread(target=lambda: (until_asleep(sub.path), pub.kill()))
    killer.start()
    start = time.monotonic()
    assert sub.subscribe(timeout=15) == (5, False)
    killer.join()
    assert time.monotonic() - start < 5, "ended when the publisher died, not at the timeout"
    assert sub.publisher_alive is False
    # A new wait waits for a publisher that takes the topic over.
    later(0.1, lambda: shm_pub_sub.Publisher(topic, 0).publish(6))
    assert sub.subscribe(timeout=10) == (6, True)
    assert sub.last_seq == 2, "numbering continues after a takeover"


def test_a_waiter_killed_while_waiting_disturbs_no_other_waiter(topic, py_helper):
    pub = shm_pub_sub.Publisher(topic, 0)
    waiters = [py_helper("wait", "int", topic, "1", "60", env=WOKEN_ONLY_BY_PUBLISHER) for _ in range(2)]
    for w in waiters:
        assert w.expect_line() == "subscribed"
        assert w.expect_line() == "waiting"
    until_asleep(pub.path)
    time.sleep(0.2)
    waiters[0].kill()
    pub.publish(11)
    assert waiters[1].expect_line() == "got 1 11 0"
    assert waiters[1].expect_line() == "done"


def test_one_publish_wakes_every_waiting_process(topic, py_helper):
    pub = shm_pub_sub.Publisher(topic, 0.0)
    waiters = [py_helper("wait", "float", topic, "1", "60", env=WOKEN_ONLY_BY_PUBLISHER) for _ in range(3)]
    for w in waiters:
        assert w.expect_line() == "subscribed"
        assert w.expect_line() == "waiting"
    until_asleep(pub.path)
    time.sleep(0.2)
    pub.publish(0.25)
    for w in waiters:
        assert w.expect_line() == "got 1 0.25 0"


def test_a_topic_removed_and_recreated_during_a_wait_is_followed(topic, py_helper):
    old = shm_pub_sub.Publisher(topic, 0)
    waiter = py_helper("wait", "int", topic, "1", "20")
    assert waiter.expect_line() == "subscribed"
    assert waiter.expect_line() == "waiting"
    until_asleep(old.path)
    os.unlink(old.path)
    new = shm_pub_sub.Publisher(topic, 0)
    new.publish(99)
    assert waiter.expect_line() == "got 1 99 0"


def test_a_python_waiter_is_woken_by_a_rust_publisher(topic, py_helper, spawn, rust_example):
    rust = spawn([rust_example("scalar_publisher"), "--type", "i64", "--topic", topic], stdin=True)
    rust.expect("publishing")
    waiter = py_helper("wait", "int", topic, "2", "60", env=WOKEN_ONLY_BY_PUBLISHER)
    assert waiter.expect_line() == "subscribed"
    assert waiter.expect_line() == "waiting"
    path = shm_pub_sub.Subscriber(topic, 0).path
    until_asleep(path)
    rust.send("-8")
    assert waiter.expect_line() == "got 1 -8 0"
    # The Rust publisher exits cleanly: its exit wakes the Python wait, publisher gone.
    assert waiter.expect_line() == "waiting"
    until_asleep(path)
    assert rust.wait() == 0
    assert waiter.expect_line() == "nothing -8 False"


def test_a_rust_waiter_is_woken_by_a_python_publisher(topic, spawn, rust_example):
    pub = shm_pub_sub.Publisher(topic, 0.0)
    rust = spawn(
        [rust_example("scalar_subscriber"), "--type", "f64", "--topic", topic, "--count", 2, "--timeout", 60],
        env=WOKEN_ONLY_BY_PUBLISHER,
    )
    rust.expect("subscribed")
    until_asleep(pub.path)
    pub.publish(1.5)
    assert rust.expect_line().startswith("1 1.5 ")
    until_asleep(pub.path)
    pub.publish(-2.0)
    assert rust.expect_line().startswith("2 -2.0 ")
    assert rust.wait() == 0


def test_max_age_makes_old_values_unsuccessful(topic):
    pub = shm_pub_sub.Publisher(topic, 0)
    sub = shm_pub_sub.Subscriber(topic, -1, max_age=0.5)
    assert sub.max_age == 0.5
    pub.publish(5)
    assert sub.subscribe() == (5, True)
    time.sleep(0.6)
    assert sub.subscribe() == (-1, False), "older than max_age"
    assert sub.subscribe(timeout=0.02) == (5, False), "a wait ignores it and times out"
    later(0.05, lambda: pub.publish(6))
    assert sub.subscribe(timeout=10) == (6, True)


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, 1e20])
def test_bad_max_ages_are_refused(topic, bad):
    with pytest.raises(ValueError, match="max_age must be a positive, finite number of seconds"):
        shm_pub_sub.Subscriber(topic, 0, max_age=bad)


def test_freshness_properties(topic):
    sub = shm_pub_sub.Subscriber(topic, 0)
    assert (sub.is_new, sub.missed, sub.publisher_alive) == (None, None, False)
    pub = shm_pub_sub.Publisher(topic, 0)
    assert sub.publisher_alive is True
    for v in range(1, 5):
        pub.publish(v)
    assert sub.subscribe() == (4, True)
    assert (sub.is_new, sub.missed) == (True, 0), "the first read misses nothing"
    assert sub.subscribe() == (4, True)
    assert (sub.is_new, sub.missed) == (False, 0)
    pub.publish(5)
    pub.publish(6)
    assert sub.subscribe() == (6, True)
    assert (sub.is_new, sub.missed) == (True, 1)
    pub.close()
    assert sub.publisher_alive is False


def test_async_recv_does_not_block_the_event_loop(topic, py_helper):
    pub = py_helper("publish", "int", topic, stdin=True)
    assert pub.expect_line() == "ready"
    sub = shm_pub_sub.Subscriber(topic, 0)

    async def main() -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        tick_task = asyncio.create_task(ticker())
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, pub.send, "77")
        assert await sub.recv(timeout=10) == 77
        assert ticks >= 10, ticks
        with pytest.raises(TimeoutError, match="no new value"):
            await sub.recv(timeout=0.05)
        # Cancelling a recv() ends its wait; nothing is lost: the next recv() gets the value.
        task = asyncio.create_task(sub.recv())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        pub.send("78")
        assert await asyncio.wait_for(sub.recv(), 10) == 78
        tick_task.cancel()

    asyncio.run(main())


def test_closing_a_subscriber_ends_its_waits_with_value_error(topic):
    _pub = shm_pub_sub.Publisher(topic, 0)
    sub = shm_pub_sub.Subscriber(topic, 0)
    errors = []

    def wait() -> None:
        try:
            sub.subscribe(timeout=10)
        except ValueError as e:
            errors.append(str(e))

    waiter = threading.Thread(target=wait)
    waiter.start()
    until_asleep(sub.path)
    sub.close()
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert errors and "closed" in errors[0]


def test_coarse_timestamps_are_on_the_same_clock(topic):
    pub = shm_pub_sub.Publisher(topic, 0, timestamps="coarse")
    sub = shm_pub_sub.Subscriber(topic, 0)
    before = time.monotonic_ns()
    time.sleep(0.02)
    pub.publish(1)
    assert sub.subscribe() == (1, True)
    # The kernel's last timer tick: never ahead of the precise clock, at most a tick behind.
    assert before < sub.last_publish_time_ns <= time.monotonic_ns()
    with pytest.raises(ValueError, match='timestamps must be "precise"'):
        shm_pub_sub.Publisher(topic + "2", 0, timestamps="tsc")


def test_a_value_read_again_is_the_same_object_and_not_new(topic):
    pub = shm_pub_sub.Publisher(topic, 0)
    sub = shm_pub_sub.Subscriber(topic, -1)
    nothing = sub.subscribe()
    assert nothing == (-1, False) and sub.subscribe() is nothing
    pub.publish(2**40)
    first = sub.subscribe()
    assert first == (2**40, True) and sub.is_new
    again = sub.subscribe()
    assert again == first and sub.is_new is False and sub.missed == 0
    pub.publish(2**40)  # the same number, a new value
    third = sub.subscribe()
    assert third == (2**40, True) and sub.is_new and sub.last_seq == 2
