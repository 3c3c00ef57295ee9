"""Causality, lineage and ownership: what the runtime guarantees beyond a single read."""

import os
import threading
import time

import pytest
from children import in_child_as
from shm_pub_sub import ForeignTopicError, Publisher, Subscriber

NOBODY = 65534


def test_a_value_published_before_a_read_is_seen_by_it(topic):
    # The sequence of the report: subscriber first, one empty read, publisher, publish, read.
    sub = Subscriber(topic, 7)
    assert sub.subscribe() == (7, False)
    pub = Publisher(topic, 0)
    pub.publish(9)
    assert sub.subscribe() == (9, True)


def test_a_value_published_by_another_process_before_a_read_is_seen_1000_times(topic, py_helper):
    """Process A creates a topic and publishes, then writes to a pipe; this process, whose
    subscriber was created before the topic, reads the pipe, then the topic: never a miss."""
    creator = py_helper("creator", "int", stdin=True)
    assert creator.expect_line() == "ready"
    for round_ in range(1000):
        name = f"{topic}/{round_}"
        sub = Subscriber(name, 0)
        assert sub.subscribe() == (0, False)
        creator.send(name)
        assert creator.expect_line() == f"published {name}"
        assert sub.subscribe() == (1, True), f"round {round_}"
        sub.close()


def test_a_value_carried_into_a_topic_made_anew_is_returned_not_the_removed_ones(topic):
    """The subscriber's last value came from a file that was removed (by hand); the topic was
    made anew and then replaced (another buffer_num), carrying its last value: subscribe()
    returns that value, never the removed file's."""
    pub = Publisher(topic, 0)
    for i in range(1, 101):
        pub.publish(i)
    sub = Subscriber(topic, 0)
    assert sub.subscribe() == (100, True) and sub.last_seq == 100
    pub.close()
    os.unlink(sub.path)
    pub = Publisher(topic, 0)
    for i in range(1, 4):
        pub.publish(1000 + i)
    pub.close()
    replacement = Publisher(topic, 0, 5)
    assert sub.subscribe() == (1003, True)
    assert sub.last_seq == 3 and sub.is_new and sub.missed == 2
    replacement.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
def test_a_topic_planted_by_another_user_is_refused(topic, shm_root):
    """Another user creates the topic's file first and makes it writable by everyone: the real
    publisher refuses to adopt it, and subscribers refuse to read it unless they trust that
    user (and never while others may write it)."""
    os.chmod(shm_root, 0o1777)  # like /dev/shm

    def plant() -> str:
        planted = Publisher(topic, 0)
        planted.publish(666)
        path = planted.path
        planted.close()
        return path

    report = in_child_as(NOBODY, plant)
    assert report.startswith("ok "), report
    path = report[4:-1]
    with open(path, "rb") as f:
        before = f.read()
    for mode in (0o600, 0o666):
        os.chmod(path, mode)
        with pytest.raises(ForeignTopicError) as e:
            Publisher(topic, 0)
        assert e.value.owner_uid == NOBODY and e.value.mode == mode
        assert isinstance(e.value, PermissionError) and "left untouched" in str(e.value)
        with pytest.raises(ForeignTopicError):
            Subscriber(topic, 0)
    os.chmod(path, 0o644)
    assert Subscriber(topic, 0, owner=NOBODY).subscribe() == (666, True)
    with pytest.raises(ForeignTopicError):
        Subscriber(topic, 0, owner=0)
    with open(path, "rb") as f:
        assert f.read() == before, "left untouched"


def test_owner_argument_is_checked(topic):
    with pytest.raises(ValueError, match="owner must be"):
        Subscriber(topic, 0, owner="me")
    with pytest.raises(TypeError, match="owner must be"):
        Subscriber(topic, 0, owner=1.5)
    with pytest.raises(ValueError, match="not a uid"):
        Subscriber(topic, 0, owner=-1)
    assert Subscriber(topic, 0, owner="any").subscribe() == (0, False)
    assert Subscriber(topic, 0, owner=os.geteuid()).subscribe() == (0, False)


def test_subscribe_all_returns_every_value_still_in_the_ring(topic, py_helper):
    """Bursts published at full speed by another process into 256 slots: every value, in order,
    none missed while the reader keeps up; a burst longer than the ring loses exactly its oldest
    values, counted in `missed`."""
    pub = py_helper("burst", "int", topic, "256", stdin=True)
    assert pub.expect_line() == "ready"
    sub = Subscriber(topic, 0)
    assert sub.subscribe_all() == []
    expected = 1
    for k in (1, 10, 256, 3):
        pub.send(str(k))
        last = int(pub.expect("published").split()[1])
        batch = sub.subscribe_all()
        assert [s.seq for s in batch] == list(range(expected, last + 1))
        assert [s.value for s in batch] == list(range(expected, last + 1))
        assert all(s.missed == 0 for s in batch)
        value, seq, published = batch[-1]
        assert (value, seq) == (last, last) and published <= time.monotonic_ns()
        expected = last + 1
    pub.send("300")
    last = int(pub.expect("published").split()[1])
    batch = sub.subscribe_all()
    assert len(batch) == 256 and batch[0].seq == last - 255
    assert batch[0].missed == 44 and sub.missed == 44
    assert sub.last_seq == last and sub.subscribe() == (last, True)
    assert sub.subscribe_all(timeout=0.01) == []


def test_subscribe_all_waits_for_a_first_value(topic):
    pub = Publisher(topic, 0.0, 8)
    sub = Subscriber(topic, 0.0)
    threading.Timer(0.05, lambda: [pub.publish(x) for x in (1.0, 2.0)]).start()
    batch = sub.subscribe_all(timeout=5)
    assert [s.value for s in batch] in ([1.0, 2.0], [1.0])
    assert repr(batch[0]).startswith("Sample(value=1.0, seq=1, publish_time_ns=")
