"""Python processes talking to each other: real separate processes, not threads."""

import os
import signal
import struct
import time

import pytest
import shm_pub_sub
from children import in_child_as
from shm_pub_sub import Publisher, Subscriber, TopicBusyError

NOBODY = 65534  # uid and gid; no passwd entry is needed to switch to them


def test_values_cross_from_a_publisher_process(topic, py_helper):
    pub = py_helper("publish", "int", topic, stdin=True)
    assert pub.expect_line() == "ready"
    sub = Subscriber(topic, -1)
    assert sub.subscribe() == (-1, False)
    for i, value in enumerate([0, 2**62, -(2**63), 2**63 - 1, 16777217], start=1):
        pub.send(repr(value))
        assert pub.expect_line() == f"published {i}"
        data, ok = sub.subscribe()
        assert ok and type(data) is int and data == value
        assert sub.last_seq == i


def test_float_special_values_cross_exactly(topic, py_helper):
    pub = py_helper("publish", "float", topic, stdin=True)
    assert pub.expect_line() == "ready"
    sub = Subscriber(topic, 0.0)
    for value in ["-0.0", "inf", "-inf", "nan", "5e-324", "3.14"]:
        pub.send(value)
        pub.expect("published")
        data, ok = sub.subscribe()
        assert ok and struct.pack("<d", data) == struct.pack("<d", float(value))


def test_subscriber_process_started_before_the_publisher(topic, py_helper):
    sub = py_helper("subscribe", "bool", topic, 3)
    assert sub.expect_line() == "subscribed"
    pub = Publisher(topic, False)
    for i, value in enumerate([True, False, True], start=1):
        pub.publish(value)
        assert sub.expect_line() == f"{i} {value!r}"
    assert sub.wait() == 0


def test_second_publisher_process_is_busy_until_the_owner_dies(topic, py_helper):
    owner = py_helper("publish", "float", topic, stdin=True)
    assert owner.expect_line() == "ready"
    owner.send("41.5")
    owner.expect("published 1")
    with pytest.raises(TopicBusyError, match=f"pid {owner.popen.pid}"):
        Publisher(topic, 0.0)
    contender = py_helper("publish", "float", topic)
    line = contender.expect_line()
    assert line.startswith("error TopicBusyError ") and f"pid {owner.popen.pid}" in line
    assert contender.wait() == 3

    owner.kill()  # SIGKILL: no cleanup runs
    pub = Publisher(topic, 0.0)  # takes over
    sub = Subscriber(topic, 0.0)
    assert sub.subscribe() == (41.5, True)  # the dead owner's last value is kept
    assert pub.last_seq == 1
    pub.publish(42.5)
    assert sub.subscribe() == (42.5, True) and sub.last_seq == 2


def test_subscriber_follows_a_topic_recreated_with_the_same_type(topic, py_helper):
    sub = Subscriber(topic, 0)
    for round_ in range(3):
        pub = py_helper("publish", "int", topic, str(3 + round_), stdin=True)  # another buffer_num
        assert pub.expect_line() == "ready"
        pub.send(str(100 + round_))
        pub.expect("published")
        assert sub.subscribe() == (100 + round_, True)
        pub.kill()


def test_a_forked_child_cannot_publish_on_its_parents_publisher(topic):
    pub = Publisher(topic, 0)
    pub.publish(1)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report, then leave without running pytest's teardown
        code = 1
        try:
            signal.alarm(10)  # never outlive a stuck test
            os.close(read_end)
            try:
                pub.publish(2)
                message = "published"
            except shm_pub_sub.ForkedProcessError as e:
                message = str(e)
                code = 0 if isinstance(e, RuntimeError) else 1
            os.write(write_end, message.encode())
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as r:
        message = r.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, message
    assert "create the publisher in the child instead" in message
    pub.publish(3)  # the parent still publishes
    assert Subscriber(topic, 0).subscribe() == (3, True)


def test_permissions_for_another_user(topic, shm_root):
    """As root: a child switched to `nobody` is refused a 0600 topic and may read a 0644 one.
    Otherwise: the same refusals by taking permissions away from ourselves."""
    private = Publisher(topic + "/private", 0)  # 0600
    private.publish(1)
    shared = Publisher(topic + "/shared", 0, mode=0o644)
    shared.publish(2)
    owner = os.geteuid()  # the other user must trust this one to read its topic
    if os.geteuid() == 0:
        os.chmod(shm_root, 0o755)  # others may enter the directory, not create files in it

        def as_nobody(action) -> str:
            return in_child_as(NOBODY, action, gid=NOBODY)

    else:
        os.chmod(private.path, 0o000)

        def as_nobody(action) -> str:
            os.chmod(shm_root, 0o500)
            try:
                return f"ok {action()!r}"
            except Exception as e:
                return f"{type(e).__name__} {e}"
            finally:
                os.chmod(shm_root, 0o700)

    report = as_nobody(lambda: Subscriber(topic + "/private", 0))
    assert report.startswith("PermissionError ") and "permission denied" in report, report
    assert "ask its publisher to create it with a wider mode" in report

    report = as_nobody(lambda: Subscriber(topic + "/shared", 0, owner=owner).subscribe())
    assert report == "ok (2, True)"
    if os.geteuid() == 0:  # by default, another user's topic is not trusted
        report = as_nobody(lambda: Subscriber(topic + "/shared", 0))
        assert report.startswith("ForeignTopicError ") and "owner=0" in report, report

    report = as_nobody(lambda: Publisher(topic + "/new", 0))
    assert report.startswith("PermissionError "), report


def test_publish_and_subscribe_while_another_process_publishes_fast(topic, py_helper):
    """A reader racing a writer in another process only ever sees whole values, in order."""
    pub = py_helper("publish", "int", topic, stdin=True)
    assert pub.expect_line() == "ready"
    sub = Subscriber(topic, 0)
    batch = "\n".join(str(i * 1_000_003) for i in range(1, 2001))
    pub.send(batch)
    last = 0
    deadline = time.monotonic() + 20
    while last != 2000 * 1_000_003 and time.monotonic() < deadline:
        data, ok = sub.subscribe()
        if ok:
            assert data % 1_000_003 == 0 and data >= last
            assert sub.last_seq == data // 1_000_003
            last = data
    assert last == 2000 * 1_000_003
