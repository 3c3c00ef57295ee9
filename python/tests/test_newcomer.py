"""What a newcomer met first: error messages that name the right thing, and a subscriber of any
type that tells the type it found."""

from __future__ import annotations

from typing import Literal as L

import pytest
import shm_pub_sub
from shm_pub_sub import Array, Message, f64, u64


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
