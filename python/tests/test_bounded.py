"""Bounded sequences and strings in Python messages (``seq[...]``, ``string[...]``): the Rust
``BoundedVec``/``BoundedString`` schema, numpy arrays of the current length, every bad value
refused with the field and its limit, and values of every length through a Rust process."""

from __future__ import annotations

import sys
from typing import Literal as L

import numpy as np
import pytest
import shm_pub_sub
from shm_pub_sub import Message, Publisher, Subscriber, f32, seq, string, u16, u64


class Echo(Message):
    """The `Echo` of the Rust examples (examples/src/lib.rs)."""

    angle: f32
    intensity: u16
    ring: u16


class Scan(Message):
    """The `Scan` of the Rust examples: the same fields give the same type."""

    stamp_ns: u64
    frame_id: string[L[32]]
    ranges: seq[f32, L[4096]]
    echoes: seq[Echo, L[64]]


def scan(n_ranges: int, n_echoes: int, frame_id: str, far: bool = False) -> Scan:
    ranges = np.linspace(0.0, 20.0 if far else 9.0, n_ranges, dtype=np.float32)
    echoes = [Echo(angle=i * 0.25, intensity=i, ring=i % 16) for i in range(n_echoes)]
    return Scan(stamp_ns=n_ranges * 1000 + n_echoes, frame_id=frame_id, ranges=ranges, echoes=echoes)


FULL_FRAME = "lidar-ü-" + "x" * 23  # 32 bytes of UTF-8
assert len(FULL_FRAME.encode()) == 32


def test_fields_read_as_str_and_numpy_arrays_of_their_length() -> None:
    s = scan(360, 2, "lidar")
    assert s.frame_id == "lidar" and isinstance(s.frame_id, str)
    assert isinstance(s.ranges, np.ndarray) and s.ranges.dtype == np.float32 and len(s.ranges) == 360
    assert [e.intensity for e in s.echoes] == [0, 1]
    s.ranges[0] = 5.0  # a view over the value's bytes
    assert s.ranges[0] == 5.0
    s.ranges = [1, 2, 3]
    s.echoes = []
    s.frame_id = ""
    assert s.ranges.tolist() == [1.0, 2.0, 3.0] and s.echoes == [] and s.frame_id == ""
    assert Scan.__shm_type__.fields[1:] == [
        ("frame_id", 8, "BoundedString<32>"),
        ("ranges", 48, "BoundedVec<f32, 4096>"),
        ("echoes", 16440, "BoundedVec<Echo, 64>"),
    ]
    assert Scan.size == 8 + 40 + 8 + 4 * 4096 + 8 + 8 * 64
    assert Scan().to_dict() == {"stamp_ns": 0, "frame_id": "", "ranges": [], "echoes": []}
    assert "frame_id='lidar'" in repr(scan(1, 0, "lidar"))


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("frame_id", "x" * 33, ValueError, "Scan.frame_id: is 33 bytes of UTF-8, more than its capacity 32"),
        ("frame_id", "ü" * 17, ValueError, "is 34 bytes of UTF-8, more than its capacity 32 (a BoundedString<32>)"),
        ("frame_id", b"\xff", ValueError, "Scan.frame_id: is bytes that are not UTF-8"),
        ("frame_id", "\ud800", ValueError, "not UTF-8 (it holds a lone surrogate)"),
        ("frame_id", 3, TypeError, "Scan.frame_id: expects a string of at most 32 bytes, got the integer 3"),
        ("ranges", np.zeros(4097, np.float32), ValueError, "Scan.ranges: has 4097 elements, more than its capacity"),
        ("ranges", [0.0] * 4097, ValueError, "has 4097 elements, more than its capacity 4096 (a BoundedVec<f32, 4096>"),
        ("ranges", ["a"], TypeError, "Scan.ranges[0]: expects f32"),
        ("ranges", "abc", TypeError, "Scan.ranges: expects a sequence of at most 4096 f32"),
        (
            "echoes",
            [Echo()] * 65,
            ValueError,
            "Scan.echoes: has 65 elements, more than its capacity 64 (a BoundedVec<Echo",
        ),
        ("echoes", [1.5], TypeError, "expects a `Echo` (a value of that message class, or a dict), got 1.5"),
    ],
)
def test_bad_values_name_the_field_and_its_limit_and_change_nothing(field, value, error, message) -> None:
    s = scan(10, 1, "lidar")
    before = bytes(s)
    with pytest.raises(error) as info:
        setattr(s, field, value)
    assert message in str(info.value)
    assert bytes(s) == before
    with pytest.raises(error):
        Scan(**{field: value})


def test_capacities_that_would_leave_padding_are_refused() -> None:
    with pytest.raises(TypeError, match=r"`BoundedVec<f32, 3>` would leave 4 byte\(s\) of padding .* a multiple of 2"):

        class Bad(Message):
            x: seq[f32, 3]

    with pytest.raises(TypeError, match=r"`BoundedString<20>` .* a multiple of 8"):

        class Bad2(Message):
            name: string[20]

    with pytest.raises(TypeError, match=r"use shm_pub_sub\.string"):

        class Bad3(Message):
            name: str


def test_a_subscriber_of_any_type_gets_the_declared_class(topic) -> None:
    pub = Publisher(topic, Scan())
    sent = scan(100, 3, "front")
    pub.publish(sent)
    got, ok = Subscriber(topic, None).subscribe()
    assert ok and type(got) is Scan and got == sent
    assert got.ranges.flags.writeable is False, "read from a topic: read-only"


CASES = [
    pytest.param(scan(0, 0, ""), id="empty"),
    pytest.param(scan(360, 5, "lidar", far=True), id="partly-filled"),
    pytest.param(scan(4096, 64, FULL_FRAME), id="full"),
]


def test_scans_of_every_length_round_trip_through_a_rust_process(topic, spawn, rust_example) -> None:
    """Python publishes, the Rust `scan_filter` reads (and prints what it read), keeps the ranges
    up to 10 m and publishes the result, which Python reads: both ways, at length 0, partly
    filled and full."""
    relay = spawn(
        [
            rust_example("scan_filter"),
            *("--in", f"{topic}/in", "--out", f"{topic}/out"),
            *("--max-range", "10", "--count", len(CASES)),
        ]
    )
    relay.expect("filtering")
    pub = Publisher(f"{topic}/in", Scan())
    sub = Subscriber(f"{topic}/out", Scan())
    for case in CASES:
        sent: Scan = case.values[0]
        pub.publish(sent)
        got, ok = sub.subscribe(timeout=20)
        assert ok
        kept = sent.ranges[sent.ranges <= 10]
        line = relay.expect("filtered")
        n_in, n_echoes = len(sent.ranges), len(sent.echoes)
        assert line == (
            f'filtered #{pub.last_seq} frame_id="{sent.frame_id}" '
            f"ranges={n_in}->{len(kept)} echoes={n_echoes}->{n_echoes}"
        )
        assert got.stamp_ns == sent.stamp_ns and got.frame_id == sent.frame_id
        assert np.array_equal(got.ranges, kept)
        assert [e.to_dict() for e in got.echoes] == [e.to_dict() for e in sent.echoes]
    assert relay.wait() == 0


def test_the_schema_is_the_rust_one() -> None:
    # Rust's BoundedVec<f32, 4096> and the Python field have one encoding (its hash is in
    # every topic header; a mismatch would refuse the relay above). Here: independent of field
    # names, the same capacity and element give the same field type.
    class A(Message, name="Same"):
        v: seq[f32, 8]

    class B(Message, name="Same"):
        v: seq[f32, L[8]]

    class C(Message, name="Same"):
        v: seq[f32, 16]

    assert A.schema_hash == B.schema_hash != C.schema_hash
    assert repr(seq[f32, 8]) == "seq[shm_pub_sub.f32, 8]" and repr(string[32]) == "string[32]"
    assert shm_pub_sub.seq is seq


class Point(Message):
    """The `Point` of the Rust examples."""

    x: f32
    y: f32
    z: f32
    intensity: f32


def cloud(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points = np.zeros(n, dtype=Point.dtype)
    for name in ("x", "y", "z", "intensity"):
        points[name] = rng.uniform(-50, 50, n).astype(np.float32)
    return points


def test_slice_topics_take_arrays_and_sequences_and_read_as_record_arrays(topic) -> None:
    empty = seq[Point, L[1000]]()
    assert len(empty) == 0 and list(empty) == [] and empty.max_len == 1000 and empty.element is Point
    assert repr(empty) == "seq[Point, 1000]()" and np.asarray(empty).dtype == Point.dtype
    assert seq[f32, 3]().max_len == 4, "rounded up to fill whole 8-byte words"
    pub = Publisher(topic, empty)
    sub = Subscriber(topic, seq[Point, L[8]]())  # any room
    value, ok = sub.subscribe()
    assert not ok and value is sub.default_value
    points = cloud(1000, 1)
    pub.publish(points)  # a numpy array of the dtype: one copy
    got, ok = sub.subscribe()
    assert ok and isinstance(got, np.recarray) and got.dtype == Point.dtype
    assert np.array_equal(got, points.view(np.recarray)) and got.flags.writeable is False
    assert got.x[5] == points["x"][5]
    pub.publish([Point(x=1.5), {"x": 2.5, "y": 0, "z": 0, "intensity": 1}])  # values or dicts
    got, ok = sub.subscribe()
    assert ok and got.x.tolist() == [1.5, 2.5] and got.intensity.tolist() == [0.0, 1.0]
    pub.publish([])
    assert len(sub.subscribe()[0]) == 0
    with pytest.raises(ValueError, match="has 1001 elements, more than its capacity 1000"):
        pub.publish(cloud(1001, 2))
    with pytest.raises(ValueError, match="has 1001 elements, more than its capacity 1000"):
        pub.publish([Point()] * 1001)
    with pytest.raises(TypeError, match=r"\[0\]"):
        pub.publish([1.5])
    # Another dtype is not copied as bytes: element by element, refused.
    with pytest.raises(TypeError):
        pub.publish(np.zeros(3, dtype=np.float64))
    assert pub.last_seq == 3, "nothing more was published"
    floats = Publisher(f"{topic}/f", seq[f32, L[16]]())
    floats.publish(np.arange(5, dtype=np.float32))
    got, ok = Subscriber(f"{topic}/f", seq[f32, L[1]]()).subscribe()
    assert ok and got.dtype == np.float32 and got.tolist() == [0, 1, 2, 3, 4]


def test_a_slice_subscriber_refuses_other_elements(topic) -> None:
    Publisher(topic, seq[Point, L[10]]()).publish([Point()])
    with pytest.raises(shm_pub_sub.SchemaMismatchError, match=r"\[Echo\]"):
        Subscriber(topic, seq[Echo, L[10]]()).subscribe()


def test_clouds_through_a_rust_process_that_grows_its_topic(topic, spawn, rust_example) -> None:
    """Python publishes clouds on a slice topic; the Rust `cloud_relay` reads them (whatever the
    room), and republishes them on a slice topic that starts with room for 16 points and
    grows; Python reads every one of them whole, following the growth."""
    relay = spawn(
        [
            rust_example("cloud_relay"),
            *("--in", f"{topic}/in", "--out", f"{topic}/out"),
            *("--room", 16, "--count", 4),
        ]
    )
    relay.expect("relaying")
    pub = Publisher(f"{topic}/in", seq[Point, L[100_000]]())
    sub = Subscriber(f"{topic}/out", seq[Point, L[16]]())
    rooms = []
    for i, n in enumerate([0, 1000, 100_000, 10]):
        sent = cloud(n, i)
        pub.publish(sent)
        got, ok = sub.subscribe(timeout=20)
        assert ok, f"cloud {i}"
        line = relay.expect("relayed")
        seq_no, counts, room = line.split()[1:]
        assert seq_no == f"#{pub.last_seq}" and counts == f"points={n}->{n}"
        rooms.append(int(room.removeprefix("room=")))
        assert np.array_equal(got, sent.view(np.recarray)), f"cloud {i}"
    assert rooms == [16, 1024, 131_072, 131_072], "grown by doubling"
    assert relay.wait() == 0


def test_a_python_slice_publisher_grows_its_topic_when_asked(topic, spawn) -> None:
    """`grow=True` doubles the room until a value fits; a subscriber in another process reads
    every value whole across the growth; without it, a longer value is a ValueError."""
    pub = Publisher(topic, seq[Point, L[16]](), grow=True)
    reader = spawn(
        [
            sys.executable,
            "-c",
            READER.format(topic=topic, count=4),
        ]
    )
    reader.expect("ready")
    for i, n in enumerate([10, 100, 5000, 3]):
        pub.publish(cloud(n, i))
        assert reader.expect_line(timeout=20) == f"{pub.last_seq} {n} {cloud(n, i)['x'].sum():.3f}"
    assert reader.wait() == 0
    fixed = Publisher(f"{topic}/fixed", seq[Point, L[16]]())
    with pytest.raises(ValueError, match="has 17 elements, more than its capacity 16"):
        fixed.publish(cloud(17, 0))
    with pytest.raises(TypeError, match="grow=True is for slice topics"):
        Publisher(f"{topic}/f", 1.5, grow=True)


READER = """
import numpy as np
import sys
from typing import Literal as L
import shm_pub_sub
from shm_pub_sub import f32, seq

class Point(shm_pub_sub.Message):
    x: f32
    y: f32
    z: f32
    intensity: f32

sub = shm_pub_sub.Subscriber("{topic}", seq[Point, L[1]]())
print("ready", flush=True)
for _ in range({count}):
    value, ok = sub.subscribe(timeout=20)
    assert ok
    print(sub.last_seq, len(value), f"{{value.x.sum():.3f}}", flush=True)
"""
