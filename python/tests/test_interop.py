"""Python and Rust processes on the same topics, using the Rust example binaries."""

import math
import struct

import pytest
from shm_pub_sub import Publisher, SchemaMismatchError, Subscriber, TopicBusyError


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


CASES = {
    "bool": (False, [True, False, True]),
    "i64": (0, [0, 1, -1, 2**62, -(2**63), 2**63 - 1, 16777217]),
    "f64": (0.0, [3.14, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308, 16777217.0]),
}


def rust_text(value) -> str:
    """How the Rust examples write a value (and read it back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return f"{f64_bits(value):#018x}"


def parse_rust(kind: str, text: str):
    if kind == "bool":
        return {"true": True, "false": False}[text]
    if kind == "i64":
        return int(text)
    shown, bits = text.split()  # "-0.0 0x8000000000000000"
    value = struct.unpack("<d", struct.pack("<Q", int(bits, 16)))[0]
    assert shown.lower().lstrip("-") in ("inf", "nan") or float(shown) == value
    return value


def same(a, b) -> bool:
    if isinstance(a, float):
        return type(b) is float and f64_bits(a) == f64_bits(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("kind", CASES)
def test_python_publisher_to_rust_subscriber(kind, topic, spawn, rust_example):
    default, values = CASES[kind]
    pub = Publisher(topic, default)
    rust = spawn(
        [rust_example("scalar_subscriber"), "--type", kind, "--topic", topic, "--count", len(values), "--timeout", 20]
    )
    assert rust.expect_line() == f"subscribed to '{topic}'"
    for value in values:
        pub.publish(value)
        seq, text = rust.expect_line().split(" ", 1)
        assert int(seq) == pub.last_seq
        assert same(value, parse_rust(kind, text)), (value, text)
    assert rust.wait() == 0


@pytest.mark.parametrize("kind", CASES)
def test_rust_publisher_to_python_subscriber(kind, topic, spawn, rust_example):
    default, values = CASES[kind]
    sub = Subscriber(topic, default)  # before the publisher exists
    rust = spawn([rust_example("scalar_publisher"), "--type", kind, "--topic", topic], stdin=True)
    assert rust.expect_line() == f"publishing '{topic}'"
    assert sub.subscribe() == (default, False)
    for value in values:
        rust.send(rust_text(value))
        seq = int(rust.expect("published ").split()[1])
        data, ok = sub.subscribe()  # the first read after the publish finds the new file
        assert ok and same(value, data), (value, data)
        assert sub.last_seq == seq
    assert rust.wait() == 0


def test_rust_topic_is_busy_for_python_while_its_publisher_lives(topic, spawn, rust_example):
    rust = spawn([rust_example("scalar_publisher"), "--type", "i64", "--topic", topic], stdin=True)
    rust.expect("publishing")
    rust.send("7")
    rust.expect("published 1")
    with pytest.raises(TopicBusyError, match=f"pid {rust.popen.pid} \\(scalar_publishe"):
        Publisher(topic, 0)
    assert rust.wait() == 0  # end of input: it exits and releases the topic
    pub = Publisher(topic, 0)
    assert Subscriber(topic, 0).subscribe() == (7, True)
    pub.publish(8)
    assert pub.last_seq == 2


def test_a_scalar_subscriber_of_a_rust_struct_topic_is_refused(topic, spawn, rust_example):
    rust = spawn([rust_example("pose_publisher"), "--topic", topic, "--rate", 1000])
    rust.expect("publishing Pose")
    with pytest.raises(SchemaMismatchError) as info:
        Subscriber(topic, 0.0)
    message = str(info.value)
    assert "carries `Pose` messages, but this subscriber's default_value is a float" in message
    assert "default_value=None to read whatever the topic carries" in message
    assert (info.value.topic_type, info.value.expected_type) == ("Pose", "f64")


def test_rust_subscriber_of_another_type_is_refused(topic, spawn, rust_example):
    pub = Publisher(topic, 0)
    pub.publish(1)
    rust = spawn([rust_example("scalar_subscriber"), "--type", "f64", "--topic", topic, "--timeout", 10])
    assert rust.wait() == 4
    assert "carries `i64` but this side expects `f64`" in rust.stderr()


NUMPY_CASES = {
    # kind: (numpy type name, values, how Rust prints each)
    "f32": (
        "float32",
        [9.81, -0.0, 3.4028234663852886e38],
        ["9.81 0x411cf5c3", "-0.0 0x80000000", "3.4028235e38 0x7f7fffff"],
    ),
    "u32": ("uint32", [0, 7, 2**32 - 1], ["0", "7", "4294967295"]),
    "i8": ("int8", [-128, 127], ["-128", "127"]),
    "u64": ("uint64", [2**64 - 1], ["18446744073709551615"]),
}


@pytest.mark.parametrize("kind", NUMPY_CASES)
def test_numpy_scalars_reach_rust_topics_of_every_width(kind, topic, spawn, rust_example):
    """A Rust `Publisher<f32>` (`u32`, ...) topic is read and written from Python with a numpy
    scalar of that type as default_value, and values come back as that numpy type."""
    np = pytest.importorskip("numpy")
    dtype, values, shown = NUMPY_CASES[kind]
    default = getattr(np, dtype)(0)
    pub = Publisher(topic, default)
    assert pub.type_name == kind and pub.type is getattr(np, dtype)
    rust = spawn(
        [rust_example("scalar_subscriber"), "--type", kind, "--topic", topic, "--count", len(values), "--timeout", 20]
    )
    assert rust.expect_line() == f"subscribed to '{topic}'"
    assert len(values) == len(shown)
    for value, text in zip(values, shown):
        pub.publish(value)
        assert rust.expect_line() == f"{pub.last_seq} {text}"
    assert rust.wait() == 0
    pub.close()
    sub = Subscriber(topic, default)
    rust = spawn([rust_example("scalar_publisher"), "--type", kind, "--topic", topic], stdin=True)
    rust.expect("publishing")
    for text in shown:
        rust.send(text.split()[-1] if kind == "f32" else text)
        rust.expect("published ")
        data, ok = sub.subscribe()
        assert ok and type(data) is getattr(np, dtype)
        assert data == getattr(np, dtype)(values[shown.index(text)])
    assert rust.wait() == 0
