"""The seed's API on one process: exact types and values, no-data defaults, refusals."""

import enum
import math
import os
import re
import struct
import time

import pytest
import shm_pub_sub
from shm_pub_sub import Publisher, SchemaMismatchError, Subscriber, TopicBusyError


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


@pytest.mark.parametrize(
    "default, values",
    [
        (False, [True, False, True]),
        (0, [0, 1, -1, 42, 2**62, -(2**63), 2**63 - 1, 16777217]),
        (
            0.0,
            [3.14, -0.0, 0.0, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308, 16777217.0],
        ),
    ],
    ids=["bool", "int", "float"],
)
def test_values_come_back_with_their_exact_type_and_value(topic, default, values):
    pub = Publisher(topic, default, 3)
    sub = Subscriber(topic, default)
    for value in values:
        pub.publish(value)
        data, ok = sub.subscribe()
        assert ok is True
        assert type(data) is type(default)
        if isinstance(value, float):
            assert bits(data) == bits(value), (data, value)  # -0.0 and nan included
        else:
            assert data == value


def test_buffer_num_is_optional_and_defaults_to_3(topic):
    pub = Publisher(topic, 0)
    assert pub.buffer_num == 3
    assert Publisher(topic + "/5", 0, 5).buffer_num == 5
    assert Publisher(topic + "/kw", 0, buffer_num=4).buffer_num == 4
    assert Publisher(topic + "/none", 0, None).buffer_num == 3


def test_no_publisher_gives_the_default_and_false_at_once(topic):
    default = 12345678901
    sub = Subscriber(topic, default)
    for _ in range(1000):
        data, ok = sub.subscribe()
        assert data is default and ok is False
    assert sub.last_seq is None


def test_publisher_that_has_not_published_gives_the_default(topic):
    pub = Publisher(topic, 7.5)
    sub = Subscriber(topic, -1.0)
    assert sub.subscribe() == (-1.0, False)
    pub.publish(2.0)
    assert sub.subscribe() == (2.0, True)


def test_subscriber_created_before_its_publisher_sees_its_data(topic):
    sub = Subscriber(topic, False)
    assert sub.subscribe() == (False, False)
    pub = Publisher(topic, False)
    assert sub.subscribe() == (False, False)
    pub.publish(True)
    assert sub.subscribe() == (True, True)  # the first read after the publish sees it
    assert sub.subscribe() == (True, True) and sub.last_seq == 1


def test_subscribe_returns_the_newest_value_even_if_seen(topic):
    pub = Publisher(topic, 0)
    sub = Subscriber(topic, 0)
    for i in range(10):
        pub.publish(i)
    assert sub.subscribe() == (9, True)
    assert sub.subscribe() == (9, True)
    assert sub.last_seq == 10


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**100])
def test_int_outside_i64_is_an_overflow_error(topic, value):
    pub = Publisher(topic, 0)
    with pytest.raises(OverflowError, match=r"does not fit topic .* 64-bit ints"):
        pub.publish(value)
    with pytest.raises(OverflowError):
        Publisher(topic + "/d", value)
    with pytest.raises(OverflowError):
        Subscriber(topic + "/s", value)


def test_wrong_value_types_are_refused_without_conversion(topic):
    ints = Publisher(topic + "/i", 0)
    floats = Publisher(topic + "/f", 0.0)
    bools = Publisher(topic + "/b", False)
    sub_i = Subscriber(topic + "/i", 0)
    ints.publish(5)
    refused = [
        (ints, 1.0, "a float is never rounded into an int topic"),
        (ints, 1.5, "convert it explicitly"),
        (ints, True, "use a bool topic"),
        (ints, "1", "publish an int"),
        (ints, None, "publish an int"),
        (floats, True, "use a bool topic"),
        (floats, "1.0", "float"),
        (bools, 1, "publish True or False"),
        (bools, 0.0, "publish True or False"),
        (bools, None, "publish True or False"),
    ]
    for pub, value, hint in refused:
        with pytest.raises(TypeError, match=hint) as info:
            pub.publish(value)
        assert repr(value) in str(info.value) and pub.name in str(info.value)
    # Nothing was published by the refused calls.
    assert sub_i.subscribe() == (5, True)
    assert sub_i.last_seq == 1


def test_int_into_a_float_topic_is_fine(topic):
    pub = Publisher(topic, 0.0)
    sub = Subscriber(topic, 0.0)
    pub.publish(3)
    data, ok = sub.subscribe()
    assert ok and type(data) is float and data == 3.0
    pub.publish(2**53 + 1)  # rounds like float(x)
    assert sub.subscribe() == (float(2**53 + 1), True)
    with pytest.raises(OverflowError, match="too large"):
        pub.publish(10**400)


class Number:
    """Integer-like (as NumPy integers are): has `__index__`, is not an int."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


class Broken:
    def __index__(self) -> int:
        raise KeyError("from __index__")


def test_index_objects_are_accepted_by_int_and_float_topics(topic):
    ints = Publisher(topic + "/i", 0)
    ints.publish(Number(77))
    assert Subscriber(topic + "/i", 0).subscribe() == (77, True)
    with pytest.raises(OverflowError):
        ints.publish(Number(2**63))
    floats = Publisher(topic + "/f", 0.0)
    floats.publish(Number(-5))
    assert Subscriber(topic + "/f", 0.0).subscribe() == (-5.0, True)


def test_errors_raised_by_a_value_are_not_reworded(topic):
    for default in (0, 0.0):
        with pytest.raises(KeyError, match="from __index__"):
            Publisher(f"{topic}/{type(default).__name__}", default).publish(Broken())


def test_int_subclasses_publish_their_integer_value(topic):
    class Lying(int):
        def __float__(self) -> float:
            return 0.5

    class Color(enum.IntEnum):
        RED = 3

    floats = Publisher(topic + "/f", 0.0)
    floats.publish(Lying(3))  # its integer value, not what its __float__ claims
    assert Subscriber(topic + "/f", 0.0).subscribe() == (3.0, True)
    ints = Publisher(topic + "/i", 0)
    ints.publish(Color.RED)
    data, ok = Subscriber(topic + "/i", 0).subscribe()
    assert ok and type(data) is int and data == 3


def test_default_value_is_returned_as_given(topic):
    class Color(enum.IntEnum):
        RED = 3

    sub = Subscriber(topic, Color.RED)
    assert sub.subscribe()[0] is Color.RED
    Publisher(topic, 0).publish(4)
    data, ok = sub.subscribe()
    assert ok and type(data) is int and data == 4


def test_classes_are_generic_for_annotations():
    assert Publisher[int].__origin__ is Publisher
    assert Subscriber[float].__args__ == (float,)


@pytest.mark.parametrize(
    "topic_default, sub_default, topic_label, sub_label",
    [
        (0, 0.0, "int (i64)", "float (f64)"),
        (True, 0, "bool", "int (i64)"),
        (1.5, True, "float (f64)", "bool"),
        (0.0, 0, "float (f64)", "int (i64)"),
    ],
)
def test_subscriber_of_another_type_is_refused(topic, topic_default, sub_default, topic_label, sub_label):
    Publisher(topic, topic_default)
    with pytest.raises(SchemaMismatchError) as info:
        Subscriber(topic, sub_default)
    err = info.value
    assert isinstance(err, TypeError)
    message = str(err)
    assert f"carries {topic_label} values" in message
    assert f"reads {sub_label} values" in message
    assert f"default_value of type {type(topic_default).__name__}" in message
    assert err.topic == topic
    assert (err.topic_type, err.expected_type) == (
        {bool: "bool", int: "i64", float: "f64"}[type(topic_default)],
        {bool: "bool", int: "i64", float: "f64"}[type(sub_default)],
    )


def test_mismatch_found_when_the_topic_appears_after_the_subscriber(topic):
    sub = Subscriber(topic, 0.0)
    assert sub.subscribe() == (0.0, False)
    pub = Publisher(topic, 0)
    pub.publish(1)
    deadline = time.monotonic() + 5
    with pytest.raises(SchemaMismatchError, match="carries int"):
        while time.monotonic() < deadline:  # found within about a millisecond
            sub.subscribe()


def test_second_live_publisher_is_busy_and_close_releases_the_topic(topic):
    first = Publisher(topic, 0)
    first.publish(10)
    with pytest.raises(TopicBusyError) as info:
        Publisher(topic, 0)
    assert isinstance(info.value, FileExistsError)
    assert f"pid {os.getpid()}" in str(info.value)
    assert "this process" in str(info.value) and "publish through the publisher it has open" in str(info.value)
    first.close()
    second = Publisher(topic, 0)
    sub = Subscriber(topic, 0)
    assert sub.subscribe() == (10, True)  # the last value survives the takeover
    assert second.last_seq == 1
    second.publish(11)
    assert sub.subscribe() == (11, True)
    assert sub.last_seq == 2  # sequence numbers continue


@pytest.mark.parametrize("name", ["", "a\x00b", "line\nbreak", " padded", "x" * 5000])
def test_invalid_names_are_value_errors(name):
    with pytest.raises(ValueError, match="topic name"):
        Publisher(name, 0)
    with pytest.raises(ValueError, match="topic name"):
        Subscriber(name, 0)


@pytest.mark.parametrize("buffer_num", [0, 1, -1, -(2**70), 4097, 2**64, 10**30])
def test_invalid_buffer_num_is_a_value_error(topic, buffer_num):
    with pytest.raises(ValueError, match=r"buffer_num .* out of range; use 2 to 4096"):
        Publisher(topic, 0, buffer_num)
    assert not os.listdir(os.environ["SHM_ROOT"])  # nothing was created


@pytest.mark.parametrize("buffer_num", [2.0, "3", True, [3]])
def test_non_int_buffer_num_is_a_type_error(topic, buffer_num):
    with pytest.raises(TypeError, match="buffer_num must be an int"):
        Publisher(topic, 0, buffer_num)


@pytest.mark.parametrize("default", ["x", [1], b"1", 1j, (1,), {"x": 1.0}])
def test_unsupported_default_types_are_type_errors(topic, default):
    expected = re.escape("default_value must be a bool, int or float, a numpy scalar of another width")
    with pytest.raises(TypeError, match=expected):
        Publisher(topic, default)
    with pytest.raises(TypeError, match=expected):
        Subscriber(topic, default)


def test_none_subscribes_to_any_type_but_cannot_publish(topic):
    with pytest.raises(TypeError, match="a publisher needs a default_value of the topic's type"):
        Publisher(topic, None)
    assert Subscriber(topic, None).subscribe() == (None, False)


def test_mode_option(topic, shm_root):
    assert os.stat(Publisher(topic, 0).path).st_mode & 0o777 == 0o600
    assert os.stat(Publisher(topic + "/g", 0, mode=0o640).path).st_mode & 0o777 == 0o640
    for bad in (0o666, 0o400, 0o777, -1, 2**40):
        with pytest.raises(ValueError, match="permission mode"):
            Publisher(topic + "/bad", 0, mode=bad)
    with pytest.raises(TypeError, match="mode must be an int"):
        Publisher(topic + "/bad", 0, mode="0640")


def test_missing_root_directory_is_file_not_found(topic, monkeypatch, shm_root):
    monkeypatch.setenv("SHM_ROOT", str(shm_root / "missing"))
    with pytest.raises(FileNotFoundError, match="point SHM_ROOT at an existing one"):
        Subscriber(topic, 0)
    with pytest.raises(FileNotFoundError, match="point SHM_ROOT at an existing one"):
        Publisher(topic, 0)


def test_foreign_file_at_the_topic_path_is_a_format_error(topic):
    pub = Publisher(topic, 0)
    path = pub.path
    pub.close()
    with open(path, "r+b") as f:
        f.write(b"not a topic")
    with pytest.raises(shm_pub_sub.TopicFormatError) as info:
        Subscriber(topic, 0)
    assert isinstance(info.value, OSError)
    with pytest.raises(shm_pub_sub.TopicFormatError):
        Publisher(topic, 0)


def test_close_and_context_managers(topic):
    with Publisher(topic, 1.0) as pub, Subscriber(topic, 0.0) as sub:
        assert not pub.closed and not sub.closed
        pub.publish(2.5)
        assert sub.subscribe() == (2.5, True)
    assert pub.closed and sub.closed
    with pytest.raises(ValueError, match="closed"):
        pub.publish(1.0)
    with pytest.raises(ValueError, match="closed"):
        sub.subscribe()
    pub.close()  # idempotent
    sub.close()
    # The topic is free again, and keeps its last value.
    with Publisher(topic, 0.0):
        assert Subscriber(topic, 0.0).subscribe() == (2.5, True)


def test_exceptions_propagate_out_of_with_blocks(topic):
    with pytest.raises(KeyError):
        with Publisher(topic, 0) as pub:
            raise KeyError("x")
    assert pub.closed


def test_properties_and_repr(topic, shm_root):
    pub = Publisher(topic, 5, 4)
    sub = Subscriber(topic, -1)
    assert (pub.name, pub.type, pub.type_name, pub.default_value, pub.buffer_num) == (topic, int, "i64", 5, 4)
    assert (sub.name, sub.type, sub.type_name, sub.default_value) == (topic, int, "i64", -1)
    assert pub.path == sub.path and pub.path.startswith(str(shm_root) + "/")
    assert repr(pub) == f"<shm_pub_sub.Publisher {topic!r} int (i64) buffer_num=4 last_seq=None>"
    assert repr(sub) == f"<shm_pub_sub.Subscriber {topic!r} int (i64) last_seq=None>"
    pub.publish(1)
    sub.subscribe()
    assert repr(pub).endswith("last_seq=1>") and repr(sub).endswith("last_seq=1>")
    pub.close()
    assert repr(pub) == f"<shm_pub_sub.Publisher {topic!r} int (i64) closed>"
    assert Publisher(topic + "/b", True).type is bool
    assert Subscriber(topic + "/f", 0.0).type_name == "f64"


def test_sequence_number_and_publish_time_of_the_last_value_read(topic):
    pub = Publisher(topic, 0)
    sub = Subscriber(topic, 0)
    assert sub.last_seq is None and sub.last_publish_time_ns is None
    before = time.monotonic_ns()
    pub.publish(1)
    after = time.monotonic_ns()
    assert sub.subscribe() == (1, True)
    assert sub.last_seq == 1 == pub.last_seq
    assert before <= sub.last_publish_time_ns <= after
    pub.publish(2)
    pub.publish(3)
    assert sub.subscribe() == (3, True)
    assert sub.last_seq == 3  # two updates since the last read


def test_builtin_messages_come_from_the_registry():
    types = shm_pub_sub.message_types()
    assert {"bool", "i64", "f64"} <= set(types)
    assert types == sorted(types)
