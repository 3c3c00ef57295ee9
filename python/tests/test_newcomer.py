"""What a newcomer met first: error messages that name the right thing, and a subscriber of any
type that tells the type it found."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Literal as L

import pytest
import shm_pub_sub
from shm_pub_sub import Array, Message, f64, seq, u64


class Imu(Message):
    accel: Array[f64, L[3]]
    gyro: Array[f64, L[3]]


class ImuSample(Message):
    accel: Array[f64, L[3]]
    gyro: Array[f64, L[3]]


def test_a_value_of_the_wrong_kind_is_named_as_a_whole(topic: str) -> None:
    pub = shm_pub_sub.Publisher(topic, Imu())
    with pytest.raises(TypeError) as refused:
        pub.publish(1.0)  # type: ignore[arg-type]
    text = str(refused.value)
    assert text.startswith("Imu: expects a `Imu`") and "got 1.0" in text, text
    assert "accel" not in text, text


def test_sizes_beyond_the_limit_get_one_message() -> None:
    for spec in ("u64[2**62]", "u8[10**12]"):
        with pytest.raises(TypeError, match=r"bytes( or more)?; a topic carries at most 4294967296 bytes") as e:
            type("Huge", (Message,), {"__annotations__": {"x": eval(spec, {"u64": u64, "u8": shm_pub_sub.u8})}})
        assert "encoding" not in str(e.value), e.value


def test_a_name_mismatch_says_how_to_share_a_name(topic: str) -> None:
    shm_pub_sub.Publisher(topic, Imu()).publish(Imu())
    with pytest.raises(shm_pub_sub.SchemaMismatchError) as refused:
        shm_pub_sub.Subscriber(topic, ImuSample())
    text = str(refused.value)
    assert "only the names differ" in text, text
    assert 'class ImuSample(Message, name="Imu")' in text, text


def test_a_subscriber_of_any_type_tells_the_type_it_found(topic: str) -> None:
    sub = shm_pub_sub.Subscriber(topic, None)
    assert (sub.type, sub.type_name) == (None, None)
    pub = shm_pub_sub.Publisher(topic, Imu())
    pub.publish(Imu(accel=[1, 2, 3]))
    value, ok = sub.subscribe()
    assert ok and value.accel.tolist() == [1.0, 2.0, 3.0]
    assert (sub.type, sub.type_name) == (Imu, "Imu")
    scalar = shm_pub_sub.Subscriber(topic + "-f", None)
    shm_pub_sub.Publisher(topic + "-f", 0.5).publish(2.5)
    assert scalar.subscribe() == (2.5, True)
    assert (scalar.type, scalar.type_name) == (float, "f64")
    # A sequence topic read with default_value=None: values come as lists, as `type` says.
    np = pytest.importorskip("numpy")
    shm_pub_sub.Publisher(topic + "-v", seq[f64, L[4]]()).publish(np.array([1.0, 2.0]))
    anything = shm_pub_sub.Subscriber(topic + "-v", None)
    value, ok = anything.subscribe()
    assert ok and isinstance(value, anything.type), (value, anything.type)


def test_numpy_is_imported_with_the_module() -> None:
    """The first array field costs no numpy import (about 60 ms) in a running loop."""
    pytest.importorskip("numpy")
    code = "import sys, shm_pub_sub; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True", out.stderr


def test_numpy_scalars_are_taken_where_they_convert_exactly(topic: str) -> None:
    np = pytest.importorskip("numpy")
    # As default values: numpy's own widths select those types (int64 and float64 are int and
    # float topics).
    assert shm_pub_sub.Publisher(topic + "/i", np.int64(0)).type_name == "i64"
    assert shm_pub_sub.Publisher(topic + "/f", np.float64(0)).type_name == "f64"
    assert shm_pub_sub.Publisher(topic + "/b", np.bool_(False)).type_name == "bool"
    f32 = shm_pub_sub.Publisher(topic + "/f32", np.float32(0))
    assert (f32.type_name, f32.type) == ("f32", np.float32)
    # As values: a float32 into a float topic, an int64 into an int topic, exactly.
    floats = shm_pub_sub.Publisher(topic + "/f2", 0.0)
    floats.publish(np.float32(0.1))
    assert shm_pub_sub.Subscriber(topic + "/f2", 0.0).subscribe() == (float(np.float32(0.1)), True)
    ints = shm_pub_sub.Publisher(topic + "/i2", 0)
    ints.publish(np.int64(-5))
    ints.publish(np.uint8(200))
    assert shm_pub_sub.Subscriber(topic + "/i2", 0).subscribe() == (200, True)
    # A float into an f32 topic rounds to the nearest f32, as a numpy array does; out of range
    # and inexact integers are refused with the topic's type named.
    f32.publish(0.1)
    got, ok = shm_pub_sub.Subscriber(topic + "/f32", np.float32(0)).subscribe()
    assert ok and type(got) is np.float32 and got == np.float32(0.1)
    with pytest.raises(OverflowError, match=r"carries numpy.float32 \(f32\) values: 1e300 is out of range for f32"):
        f32.publish(1e300)
    u8 = shm_pub_sub.Publisher(topic + "/u8", np.uint8(0))
    with pytest.raises(OverflowError, match=r"carries numpy.uint8 \(u8\) values: 256 is out of range for u8"):
        u8.publish(256)
    with pytest.raises(TypeError, match=r"expects u8, got the float 1\.5"):
        u8.publish(1.5)
    # numpy's bool is a bool: never 1 or 1.0 in a number topic.
    with pytest.raises(TypeError, match="carries int"):
        ints.publish(np.bool_(True))
    with pytest.raises(TypeError, match="carries float"):
        floats.publish(np.True_)
    with pytest.raises(TypeError, match="numpy scalar of another width"):
        shm_pub_sub.Publisher(topic + "/c", 1j)


def test_the_later_bindings_typed_names_make_the_same_objects(topic: str) -> None:
    pub = shm_pub_sub.PublisherFloat(topic, 0.0, 3)
    assert isinstance(pub, shm_pub_sub.Publisher) and pub.type_name == "f64"
    sub = shm_pub_sub.SubscriberFloat(topic, 0.0)
    pub.publish(1.5)
    assert sub.subscribe() == (1.5, True)
    ints = shm_pub_sub.PublisherInt(topic + "/i", 0)
    ints.publish(3)
    assert shm_pub_sub.SubscriberInt(topic + "/i", 0).subscribe() == (3, True)
    flags = shm_pub_sub.PublisherBool(topic + "/b", False, buffer_num=4)
    flags.publish(True)
    assert shm_pub_sub.SubscriberBool(topic + "/b", False).subscribe() == (True, True)
    with pytest.raises(TypeError, match="PublisherBool default_value must be a bool"):
        shm_pub_sub.PublisherBool(topic + "/x", 0)
    with pytest.raises(TypeError, match="an int, not bool"):
        shm_pub_sub.SubscriberInt(topic + "/i", False)


def test_topic_names_follow_one_grammar(topic: str) -> None:
    for bad, why in [("a b", "' ' at byte 1"), ("robot/*", "'*' at byte 6"), ("a//b", "empty segment"), ("..", "`..`")]:
        with pytest.raises(ValueError, match=re.escape(why)):
            shm_pub_sub.Publisher(bad, 0)
    # A leading `/` is dropped: `/name` and `name` are one topic.
    pub = shm_pub_sub.Publisher("/" + topic, 0)
    pub.publish(5)
    assert shm_pub_sub.Subscriber(topic, 0).subscribe() == (5, True)


def test_a_process_names_its_node(topic: str, spawn) -> None:
    code = (
        "import sys, shm_pub_sub as s; s.set_node_name('py_node'); "
        "assert s.node_name() == 'py_node'; p = s.Publisher(sys.argv[1], 0); p.publish(1); "
        "print('ready', flush=True); sys.stdin.readline()"
    )
    child = spawn([sys.executable, "-c", code, topic], stdin=True)
    child.expect("ready")
    with pytest.raises(shm_pub_sub.TopicBusyError, match=r"already published by node py_node \(pid \d+, python"):
        shm_pub_sub.Publisher(topic, 0)
    with pytest.raises(ValueError, match=r"node name \"two words\" holds ' ' at byte 3"):
        shm_pub_sub.set_node_name("two words")
