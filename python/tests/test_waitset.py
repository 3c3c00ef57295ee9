"""WaitSet: one thread waiting for many subscribers, deadlines and intervals, across real
processes.

No assertion depends on how fast the machine is, except bounds far above what a working wait
needs.
"""

from __future__ import annotations

import threading
import time

import pytest
import shm_pub_sub
from conftest import WOKEN_ONLY_BY_PUBLISHER, sigint_after_waiting, until_asleep


def test_values_from_publishers_in_other_processes_wake_one_wait_set(topic, py_helper):
    names = [f"{topic}/{i}" for i in range(3)]
    pubs = [py_helper("publish", "int", n, stdin=True) for n in names]
    for p in pubs:
        assert p.expect_line() == "ready"
    subs = [shm_pub_sub.Subscriber(n, 0) for n in names]
    ws = shm_pub_sub.WaitSet()
    ids = [ws.attach(s) for s in subs]
    assert len(set(ids)) == 3 and len(ws) == 3
    assert ws.wait(timeout=0.02) == []
    # 2, then 0, then 1, each published before the next: one wait returns them in that order.
    for i in (2, 0, 1):
        pubs[i].send(str(10 + i))
        pubs[i].expect("published 1")
    events = ws.wait(timeout=10)
    assert [(e.subscriber, e.kind) for e in events] == [(subs[i], "value") for i in (2, 0, 1)]
    assert all(isinstance(e.kind, shm_pub_sub.EventKind) for e in events)
    assert [e.attachment for e in events] == [ids[i] for i in (2, 0, 1)]
    times = [e.time_ns for e in events]
    assert times == sorted(times) and times[-1] <= time.monotonic_ns()
    assert [s.subscribe() for s in subs] == [(10, True), (11, True), (12, True)]
    # Reported once, and not at all once the subscriber read it.
    assert ws.wait(timeout=0.03) == []
    pubs[1].send("21")
    pubs[1].expect("published 2")
    assert subs[1].subscribe() == (21, True)
    assert ws.wait(timeout=0.03) == []


def test_a_sleeping_wait_set_in_another_process_is_woken_by_each_publish(topic, py_helper):
    names = [f"{topic}/{i}" for i in range(2)]
    pubs = [shm_pub_sub.Publisher(n, 0) for n in names]
    child = py_helper("waitset", "int", "600", *names, env=WOKEN_ONLY_BY_PUBLISHER)
    assert child.expect_line() == "subscribed"
    for n in range(1, 11):
        assert child.expect_line() == "waiting"
        i = n % 2
        until_asleep(pubs[i].path)
        pubs[i].publish(n)
        assert child.expect_line() == f"value {i} {n}"


def test_a_killed_publisher_is_reported_and_its_deadline_fires(topic, py_helper):
    pub = py_helper("publish", "int", topic, stdin=True)
    assert pub.expect_line() == "ready"
    sub = shm_pub_sub.Subscriber(topic, 0)
    ws = shm_pub_sub.WaitSet()
    ws.attach_deadline(sub, 0.3)
    pub.send("1")
    pub.expect("published 1")
    assert [e.kind for e in ws.wait(timeout=10)] == ["value"]
    assert sub.subscribe() == (1, True)
    killed = time.monotonic()
    pub.kill()
    kinds: list[tuple[str, float]] = []
    while len([k for k, _ in kinds if k == "deadline"]) < 2 and time.monotonic() - killed < 10:
        kinds += [(str(e.kind), time.monotonic() - killed) for e in ws.wait(timeout=10)]
    assert "publisher_gone" in [k for k, _ in kinds], kinds
    deadlines = [t for k, t in kinds if k == "deadline"]
    assert len(deadlines) == 2, kinds
    assert deadlines[1] - deadlines[0] >= 0.29, kinds


def test_intervals_tick_with_their_subscriber_none():
    ws = shm_pub_sub.WaitSet()
    tick = ws.attach_interval(0.01)
    start = time.monotonic()
    got = []
    while time.monotonic() - start < 0.2:
        got += ws.wait(timeout=10)
    assert 5 <= len(got) <= 21, len(got)
    assert all(e.subscriber is None and e.kind == "interval" and e.attachment == tick for e in got)
    gaps = {(b.time_ns - a.time_ns) % 10_000_000 for a, b in zip(got, got[1:])}
    assert gaps == {0}, "ticks keep their phase"
    assert ws.detach(tick) and len(ws) == 0 and not ws.detach(tick)


def test_another_thread_runs_while_a_wait_set_waits(topic):
    sub = shm_pub_sub.Subscriber(topic, 0)
    ws = shm_pub_sub.WaitSet()
    ws.attach(sub)
    counted = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counted[0] += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        assert ws.wait(timeout=0.3) == []
    finally:
        stop.set()
        t.join()
    assert counted[0] > 1000, counted


def test_ctrl_c_interrupts_a_wait_set_at_once(topic, py_helper):
    assert sigint_after_waiting(py_helper, topic, "waitset", "int", "600", topic) < 2


def test_bad_arguments_and_a_second_thread_are_refused(topic):
    ws = shm_pub_sub.WaitSet()
    with pytest.raises(TypeError, match="Subscriber objects"):
        ws.attach(shm_pub_sub.Publisher(topic, 0))
    with pytest.raises(ValueError, match="period must be a positive"):
        ws.attach_interval(0)
    with pytest.raises(ValueError, match="deadline must be a positive"):
        ws.attach_deadline(shm_pub_sub.Subscriber(topic, 0), -1.0)
    sub = shm_pub_sub.Subscriber(topic, 0)
    sub.close()
    with pytest.raises(ValueError, match="is closed"):
        ws.attach(sub)
    ws.attach_interval(5)
    errors: list[BaseException] = []
    waiting = threading.Thread(target=lambda: ws.wait(timeout=0.5))
    waiting.start()
    time.sleep(0.1)
    try:
        ws.attach_interval(1)
    except RuntimeError as e:
        errors.append(e)
    waiting.join()
    assert errors, "a WaitSet waiting in one thread refuses another thread's call"
    with pytest.raises(ValueError, match="timeout"):
        ws.wait(timeout=-1)


def test_a_closed_subscriber_is_detached(topic):
    pub = shm_pub_sub.Publisher(topic, 0)
    sub = shm_pub_sub.Subscriber(topic, 0)
    ws = shm_pub_sub.WaitSet()
    ws.attach(sub)
    sub.close()
    pub.publish(1)
    assert ws.wait(timeout=0.05) == []
    assert len(ws) == 0
    with pytest.raises(TypeError, match="not a bool"):
        ws.detach(True)


def test_callbacks_run_when_the_set_spins_and_stop_from_a_callback(topic, py_helper):
    pub = py_helper("publish", "int", topic, stdin=True)
    assert pub.expect_line() == "ready"
    sub = shm_pub_sub.Subscriber(topic, 0)
    batch_sub = shm_pub_sub.Subscriber(topic, 0)
    ws = shm_pub_sub.WaitSet()
    got: list[int] = []
    batches: list[list[int]] = []
    ticks = [0]

    def on_value(value: int) -> None:
        got.append(value)
        if value == 3:
            ws.stop()

    ws.on(sub, on_value)
    ws.on(batch_sub, lambda samples: batches.append([s.value for s in samples]), every_value=True)
    ws.every(0.01, lambda: ticks.__setitem__(0, ticks[0] + 1))
    for v in (1, 2, 3):
        pub.send(str(v))
        pub.expect(f"published {v}")
    start = time.monotonic()
    ws.spin(timeout=10)
    assert time.monotonic() - start < 5, "stop() ended the spin"
    assert got and got[-1] == 3, got  # the newest value (1 and 2 may have been skipped)
    # stop() ended the spin after its callback: the other callbacks of that wait run next time.
    ws.spin(timeout=0.1)
    assert [v for b in batches for v in b] == [1, 2, 3], batches  # every value in the ring, once
    assert ticks[0] >= 1, "the interval's callback ran while the set spun"
    # spin_once: the events without callbacks come back.
    other = shm_pub_sub.Subscriber(topic, 0)
    ws.attach(other)
    pub.send("4")
    pub.expect("published 4")
    deadline = time.monotonic() + 10
    returned = []
    while not returned and time.monotonic() < deadline:
        returned = [e for e in ws.spin_once(timeout=1) if e.subscriber is other]
    assert returned and returned[0].kind == "value"
    assert got[-1] == 4


def test_an_exception_in_a_callback_stops_spin_and_loses_no_value(topic):
    pub_a = shm_pub_sub.Publisher(f"{topic}/a", 0)
    pub_b = shm_pub_sub.Publisher(f"{topic}/b", 0)
    a = shm_pub_sub.Subscriber(f"{topic}/a", 0)
    b = shm_pub_sub.Subscriber(f"{topic}/b", 0)
    ws = shm_pub_sub.WaitSet()
    seen_b: list[int] = []

    def fail(value: int) -> None:
        raise RuntimeError(f"bad value {value}")

    ws.on(a, fail)
    ws.on(b, seen_b.append)
    pub_a.publish(1)
    pub_b.publish(2)
    with pytest.raises(RuntimeError, match="bad value 1"):
        ws.spin(timeout=10)
    # b's value came in the same wait, after a's: the next spin hands it over.
    ws.spin_once(timeout=0)
    assert seen_b == [2]


def test_many_awaited_subscribers_share_one_thread_and_cancelling_loses_nothing(topic):
    import asyncio
    import resource

    n = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Each subscriber and its watcher keep the topic file open.
    want = 4 * n + 256
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip(f"needs {want} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    names = [f"{topic}/{i}" for i in range(n)]
    pubs = [shm_pub_sub.Publisher(name, 0) for name in names]
    subs = [shm_pub_sub.Subscriber(name, 0) for name in names]

    async def main() -> None:
        before = set(threading.enumerate())
        tasks = [asyncio.create_task(s.recv(timeout=30)) for s in subs]
        await asyncio.sleep(0.2)
        new = set(threading.enumerate()) - before
        assert len(new) == 1, f"one waiting thread for the whole loop, not {new}"
        for i in (0, 500, 999):
            pubs[i].publish(i + 1)
        done, _ = await asyncio.wait([tasks[i] for i in (0, 500, 999)], timeout=20)
        assert sorted(t.result() for t in done) == [1, 501, 1000]
        # Cancelling the others loses nothing: a value published now is read by the next recv.
        rest = [t for i, t in enumerate(tasks) if i not in (0, 500, 999)]
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        pubs[1].publish(7)
        assert await asyncio.wait_for(subs[1].recv(), 20) == 7
        # async for: each new value.
        got = []

        async def consume() -> None:
            async for value in subs[2]:
                got.append(value)
                if value == 3:
                    return

        consumer = asyncio.create_task(consume())
        for v in (1, 2, 3):
            await asyncio.sleep(0.02)
            pubs[2].publish(v)
        await asyncio.wait_for(consumer, 20)
        assert got[-1] == 3 and got == sorted(got), got

    asyncio.run(main())


def test_a_value_handed_to_cancelled_tasks_wakes_the_next_one(topic):
    """Tasks awaiting one subscriber are cancelled at random moments while values arrive: a
    value is read by some task, never lost to a cancellation (each round ends with its value
    read within the timeout)."""
    import asyncio
    import random

    pub = shm_pub_sub.Publisher(topic, 0)
    sub = shm_pub_sub.Subscriber(topic, 0)
    rng = random.Random(7)

    async def main() -> None:
        for n in range(1, 101):
            tasks = [asyncio.create_task(sub.recv()) for _ in range(3)]
            await asyncio.sleep(rng.random() * 0.002)
            pub.publish(n)
            await asyncio.sleep(rng.random() * 0.002)
            tasks[0].cancel()  # perhaps after its future was woken, before it read
            tasks[1].cancel()
            await asyncio.gather(tasks[0], tasks[1], return_exceptions=True)
            early = [t.result() for t in tasks[:2] if not t.cancelled()]
            if n in early:  # read before the cancel reached it
                tasks[2].cancel()
                await asyncio.gather(tasks[2], return_exceptions=True)
                continue
            # Unread, or read by the third task: it gets it, never waits for a next value.
            assert await asyncio.wait_for(tasks[2], 10) == n, f"round {n}"

    asyncio.run(main())


def test_a_subscriber_closed_while_awaited_ends_the_await(topic):
    import asyncio

    sub = shm_pub_sub.Subscriber(topic, 0)

    async def main() -> None:
        task = asyncio.create_task(sub.recv())
        await asyncio.sleep(0.05)
        sub.close()
        with pytest.raises(ValueError, match="is closed"):
            await asyncio.wait_for(task, 10)

    asyncio.run(main())


def test_spin_ends_on_its_timeout_and_on_a_stop_from_another_thread(topic):
    ws = shm_pub_sub.WaitSet()
    ws.attach(shm_pub_sub.Subscriber(topic, 0))
    start = time.monotonic()
    ws.spin(timeout=0.1)
    assert 0.1 <= time.monotonic() - start < 5
    waker = ws.waker()
    threading.Timer(0.05, waker.stop).start()
    start = time.monotonic()
    ws.spin()
    assert time.monotonic() - start < 5
    # The stop's wake-up was consumed with it: the next wait sleeps its whole timeout.
    start = time.monotonic()
    assert ws.wait(timeout=0.05) == []
    assert time.monotonic() - start >= 0.05


def test_exceptions_in_interval_callbacks_propagate_and_other_events_are_kept(topic):
    ws = shm_pub_sub.WaitSet()

    def fail() -> None:
        raise KeyError("tick failed")

    ws.every(0.01, fail)
    with pytest.raises(KeyError, match="tick failed"):
        ws.spin(timeout=5)
    # An event without a callback that came before a failing callback is returned next time.
    pub = shm_pub_sub.Publisher(topic, 0)
    sub = shm_pub_sub.Subscriber(topic, 0)
    plain = ws.attach(sub)
    pub.publish(1)
    time.sleep(0.02)  # the tick is due too: the value (published first) comes first
    with pytest.raises(KeyError):
        ws.spin_once(timeout=5)
    assert [e.attachment for e in ws.spin_once(timeout=0)] == [plain]
