"""C++ processes (<shm/shm.hpp>) on the same topics as Python and Rust ones: C++ -> Rust ->
Python and back, across real processes, for scalars, the examples' Pose and a Detection (nested
structs, a 2-D array, bools); a C++ subscriber of another type refused with the field diff; the
C++ and C examples next to the Rust and Python ones.

The C++ programs are built by CMake (`make cpp-test`, which names the build directory in
SHM_CPP_DIR): shm-c/tests/cpp/peer.cpp, examples/cpp/, examples/c/."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from conftest import REPO
from shm_pub_sub import (
    Client,
    Message,
    Publisher,
    SchemaMismatchError,
    Subscriber,
    f32,
    f64,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
)

# The examples' declarations (examples/python/structs/messages.py), as the C++ ones.
sys.path.insert(0, str(REPO / "examples" / "python" / "structs"))
from messages import BoundingBox, Detection, Pose

# The Rust examples' `Scan` (examples/python/scan/scan.py declares the same): test_bounded.py's
# class, not a second declaration, which would change the class a `Subscriber(topic, None)` of
# test_bounded.py gets.
from test_bounded import Echo, Scan

sys.path.insert(0, str(REPO / "examples" / "python" / "services"))
from plan_messages import Plan, PlanRequest


class Widths(Message):
    """Every primitive width and a 2-D array: the `Widths` of shm-c/tests/cpp/peer.cpp."""

    a_i64: i64
    a_f64: f64
    a_u64: u64
    a_i32: i32
    a_u32: u32
    a_f32: f32
    a_i16: i16
    a_u16: u16
    grid: i16[2, 2]
    a_i8: i8
    a_u8: u8
    flag: bool
    _reserved: u8[5]


CPP_DIR = os.environ.get("SHM_CPP_DIR")
pytestmark = pytest.mark.skipif(not CPP_DIR, reason="SHM_CPP_DIR is set by `make cpp-test` (the CMake build directory)")


def cpp(name: str) -> Path:
    assert CPP_DIR is not None
    path = Path(CPP_DIR) / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: build it with CMake (make cpp-test)")
    return path


def python_detection() -> Detection:
    return Detection(
        boxes=[BoundingBox(min=[1, 2], max=[3, 4]), BoundingBox(min=[5, 6], max=[7, 8])],
        scores=[[0.5, 0.25], [1, 2], [3, 4]],
        label=41,
        valid=True,
    )


def test_cpp_poses_are_read_by_python_exactly(topic, spawn):
    peer = spawn([cpp("shm_cpp_peer"), "pose-pub", topic, 3], stdin=True)
    assert peer.expect_line(timeout=30) == "PUBLISHED 3"
    value, ok = Subscriber(topic, Pose()).subscribe(timeout=10)
    assert ok
    assert value.position.tolist() == [3.0, -3.0, 1.5]
    assert value.orientation.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert (value.map_id, value.tracking) == (103, True)
    peer.close_stdin()
    assert peer.wait(timeout=30) == 0


def test_python_poses_are_read_by_cpp_exactly(topic, spawn):
    peer = spawn([cpp("shm_cpp_peer"), "pose-sub", topic, 2])
    assert peer.expect_line(timeout=30) == "READY"
    pub = Publisher(topic, Pose())
    pub.publish(Pose(position=[0.25, -1.5, 2.0], orientation=[0, 0, 0.5, 0.75], map_id=9, tracking=True))
    assert peer.expect_line(timeout=30) == "POSE seq=1 x=0.25 y=-1.5 z=2 q=0,0,0.5,0.75 map=9 tracking=1"
    pub.publish(Pose(map_id=10, tracking=False))
    assert peer.expect_line(timeout=30) == "POSE seq=2 x=0 y=0 z=0 q=0,0,0,0 map=10 tracking=0"
    assert peer.wait(timeout=30) == 0


def test_cpp_detection_through_rust_to_python(topic, spawn, rust_example):
    relay = spawn([rust_example("detection_relay"), "--in", f"{topic}/in", "--out", f"{topic}/out", "--count", 1])
    relay.expect("relaying", timeout=30)
    sub = Subscriber(f"{topic}/out", Detection())
    peer = spawn([cpp("shm_cpp_peer"), "detection-pub", f"{topic}/in"], stdin=True)
    assert peer.expect_line(timeout=30) == "PUBLISHED 1"
    got, ok = sub.subscribe(timeout=30)
    assert ok
    assert relay.expect("relayed", timeout=30) == "relayed #1 label=42 valid=false"
    # The relay swapped the boxes, doubled the scores, added 1 to the label, negated the flag.
    assert got.boxes[0] == BoundingBox(min=[5, 6], max=[7, 8])
    assert got.boxes[1] == BoundingBox(min=[1, 2], max=[3, 4])
    assert got.scores.tolist() == [[1.0, 3.0], [21.0, 23.0], [41.0, 43.0]]
    assert (got.label, got.valid) == (42, False)
    peer.close_stdin()
    assert peer.wait(timeout=30) == 0
    assert relay.wait(timeout=30) == 0


def test_python_detection_through_rust_to_cpp(topic, spawn, rust_example):
    relay = spawn([rust_example("detection_relay"), "--in", f"{topic}/in", "--out", f"{topic}/out", "--count", 1])
    relay.expect("relaying", timeout=30)
    peer = spawn([cpp("shm_cpp_peer"), "detection-sub", f"{topic}/out"])
    assert peer.expect_line(timeout=30) == "READY"
    Publisher(f"{topic}/in", Detection()).publish(python_detection())
    assert peer.expect_line(timeout=30) == (
        "DETECTION seq=1 label=42 valid=0 boxes=5,6,7,8;1,2,3,4; scores=1,0.5;2,4;6,8;"
    )
    assert peer.wait(timeout=30) == 0
    assert relay.wait(timeout=30) == 0


def test_every_primitive_width_and_a_2d_std_array_cross_from_cpp(topic, spawn):
    peer = spawn([cpp("shm_cpp_peer"), "widths-pub", topic], stdin=True)
    assert peer.expect_line(timeout=30) == "PUBLISHED 1"
    w, ok = Subscriber(topic, Widths()).subscribe(timeout=10)
    assert ok
    assert (w.a_i64, w.a_f64, w.a_u64) == (-(2**63), -0.125, 2**64 - 1)
    assert (w.a_i32, w.a_u32, w.a_f32) == (-5, 4_000_000_000, 1.5)
    assert (w.a_i16, w.a_u16, w.a_i8, w.a_u8, w.flag) == (-300, 60000, -100, 200, True)
    assert w.grid.tolist() == [[1, -2], [3, -4]]
    peer.close_stdin()
    assert peer.wait(timeout=30) == 0


def test_a_cpp_scan_with_bounded_strings_and_sequences_is_the_python_scan(topic, spawn):
    peer = spawn([cpp("shm_cpp_peer"), "scan-pub", topic], stdin=True)
    assert peer.expect_line(timeout=30) == "PUBLISHED 1"
    scan, ok = Subscriber(topic, Scan()).subscribe(timeout=10)
    assert ok
    assert (scan.stamp_ns, scan.frame_id) == (123456789, "lidar-ü")
    assert scan.ranges.tolist() == [0.5, 1.5, 2.5]
    assert [(e.angle, e.intensity, e.ring) for e in scan.echoes] == [(0.25, 7, 3), (-0.5, 65535, 15)]
    peer.close_stdin()
    assert peer.wait(timeout=30) == 0


def test_a_python_scan_is_read_by_cpp(topic, spawn):
    peer = spawn([cpp("shm_cpp_peer"), "scan-sub", topic])
    assert peer.expect_line(timeout=30) == "READY"
    echoes = [Echo(angle=1.25, intensity=9, ring=2)]
    Publisher(topic, Scan()).publish(Scan(stamp_ns=5, frame_id="front", ranges=[3.0, 4.5], echoes=echoes))
    assert peer.expect_line(timeout=30) == "SCAN seq=1 stamp=5 frame=front ranges=3,4.5, echoes=1.25/9/2;"
    assert peer.wait(timeout=30) == 0


@pytest.mark.parametrize(
    ("kind", "text", "default", "expected"),
    [("i64", "-42", 0, -42), ("f64", "2.5", 0.0, 2.5), ("bool", "true", False, True)],
)
def test_cpp_scalars_are_python_scalars(topic, spawn, kind, text, default, expected):
    peer = spawn([cpp("shm_cpp_peer"), "scalar-pub", topic, kind, text], stdin=True)
    assert peer.expect_line(timeout=30) == "PUBLISHED 1"
    value, ok = Subscriber(topic, default).subscribe(timeout=10)
    assert ok and type(value) is type(expected) and value == expected
    peer.close_stdin()
    assert peer.wait(timeout=30) == 0


@pytest.mark.parametrize(("kind", "value", "shown"), [("i64", 7, "7"), ("f64", -0.5, "-0.5"), ("bool", True, "true")])
def test_python_scalars_are_cpp_scalars(topic, spawn, kind, value, shown):
    peer = spawn([cpp("shm_cpp_peer"), "scalar-sub", topic, kind, 1])
    assert peer.expect_line(timeout=30) == "READY"
    Publisher(topic, value).publish(value)
    assert peer.expect_line(timeout=30) == f"VALUE {shown} seq=1"
    assert peer.wait(timeout=30) == 0


def test_a_cpp_subscriber_of_another_type_is_refused_with_the_fields_that_differ(topic, spawn):
    pub = Publisher(topic, Detection())
    pub.publish(python_detection())
    peer = spawn([cpp("shm_cpp_peer"), "pose-sub", topic, 1])
    line = peer.expect_line(timeout=30)
    assert line.startswith(f"REFUSED SchemaMismatch: topic '{topic}' carries `Detection` but this side expects `Pose`")
    assert "field `position`" in line and "field `boxes`" in line
    assert peer.wait(timeout=30) == 2


def test_a_python_subscriber_of_another_type_refuses_a_cpp_topic(topic, spawn):
    peer = spawn([cpp("shm_cpp_peer"), "detection-pub", topic], stdin=True)
    assert peer.expect_line(timeout=30) == "PUBLISHED 1"
    with pytest.raises(SchemaMismatchError, match=r"carries `Detection` but this side expects `Pose`"):
        Subscriber(topic, Pose())
    peer.close_stdin()
    assert peer.wait(timeout=30) == 0


POSE_LINE = r"(?:pub|sub) #(\d+): (x=\S+ y=\S+) tracking=true"


def test_the_cpp_pose_publisher_example_with_the_rust_subscriber(topic, spawn, rust_example):
    rust = spawn([rust_example("pose_subscriber"), "--topic", topic, "--count", 3, "--timeout", 30])
    rust.expect("subscribed", timeout=30)
    publisher = spawn([cpp("pose_publisher"), "--topic", topic, "--rate", 50, "--count", 1000])
    assert publisher.expect_line(timeout=30) == f"publishing Pose on '{topic}' at 50 Hz"
    published = {}
    for _ in range(3):
        seq, position = re.match(POSE_LINE, rust.expect("sub #", timeout=30)).groups()  # type: ignore[union-attr]
        while seq not in published:
            pub_seq, pub_position = re.match(POSE_LINE, publisher.expect_line(timeout=30)).groups()  # type: ignore[union-attr]
            published[pub_seq] = pub_position
        assert published[seq] == position
    assert rust.wait(timeout=30) == 0


def test_the_rust_pose_publisher_with_the_cpp_subscriber_example(topic, spawn, rust_example):
    rust = spawn([rust_example("pose_publisher"), "--topic", topic, "--rate", 50, "--count", 1000])
    rust.expect("publishing Pose", timeout=30)
    subscriber = spawn([cpp("pose_subscriber"), "--topic", topic, "--count", 3])
    assert subscriber.expect_line(timeout=30) == f"subscribed to '{topic}'; waiting for poses"
    for _ in range(3):
        line = subscriber.expect_line(timeout=30)
        assert re.match(POSE_LINE + r" \(\d+ µs after publish(, \d+ missed)?\)$", line), line
        x, y = (float(v) for v in re.findall(r"[xy]=(\S+)", line))
        assert abs((x * x + y * y) ** 0.5 - 2.0) < 0.01  # on the circle of radius 2
    assert subscriber.wait(timeout=30) == 0


def test_the_c_scalar_reader_example_reads_python_values(topic, spawn):
    reader = spawn([cpp("scalar_reader"), topic, "f64", 2])
    assert reader.expect_line(timeout=30) == f"reading f64 values of '{topic}'"
    pub = Publisher(topic, 0.0)
    pub.publish(21.5)
    assert reader.expect_line(timeout=30) == "#1: 21.5"
    pub.publish(-3.25)
    assert reader.expect_line(timeout=30) == "#2: -3.25"
    assert reader.wait(timeout=30) == 0


# Services: the C++ path planner and plan client next to the Rust and Python ones.


def test_the_rust_plan_client_calls_the_cpp_path_planner(topic, spawn, rust_example):
    server = spawn([cpp("path_planner"), "--service", topic, "--count", 1])
    assert server.expect_line(timeout=30) == f"serving '{topic}'"
    client = spawn([rust_example("plan_client"), "--service", topic, "--x", 3, "--y", 4, "--timeout-ms", 20000])
    assert client.expect_line(timeout=30) == "plan to [3.0, 4.0]: 5.00 m in 10 steps"
    assert client.wait(timeout=30) == 0
    assert server.expect_line(timeout=30) == "#1: [0, 0] -> [3, 4]: 5.00 m, 10 steps"
    assert server.expect_line(timeout=30) == "served 1 request(s)"
    assert server.wait(timeout=30) == 0


def test_the_cpp_plan_client_calls_the_rust_path_planner(topic, spawn, rust_example):
    server = spawn([rust_example("path_planner"), "--service", topic, "--count", 1])
    server.expect("serving", timeout=30)
    client = spawn([cpp("plan_client"), "--service", topic, "--x", 6, "--y", 8, "--timeout-ms", 20000])
    assert client.expect_line(timeout=30) == "plan to [6, 8]: 10.00 m in 20 steps"
    assert client.wait(timeout=30) == 0
    assert server.wait(timeout=30) == 0


def test_a_python_client_calls_the_cpp_path_planner(topic, spawn):
    server = spawn([cpp("path_planner"), "--service", topic, "--count", 2])
    assert server.expect_line(timeout=30) == f"serving '{topic}'"
    client = Client(topic, PlanRequest(), Plan())
    plan = client.call(PlanRequest(start=(0.0, 0.0), goal=(0.0, 2.5)), timeout=10.0)
    assert (plan.length, plan.steps, plan.reachable) == (2.5, 5, True)
    plan = client.call(PlanRequest(start=(0.0, 0.0), goal=(300.0, 400.0)), timeout=10.0)
    assert (plan.length, plan.steps, plan.reachable) == (500.0, 1000, False)
    assert server.wait(timeout=30) == 0


def test_the_cpp_plan_client_calls_the_python_path_planner(topic, spawn):
    server = spawn([sys.executable, REPO / "examples" / "python" / "services" / "path_planner.py", topic, 1])
    assert server.expect_line(timeout=30) == f"serving '{topic}'"
    client = spawn([cpp("plan_client"), "--service", topic, "--x", 0, "--y", 1.5, "--timeout-ms", 20000])
    assert client.expect_line(timeout=30) == "plan to [0, 1.5]: 1.50 m in 3 steps"
    assert client.wait(timeout=30) == 0
    assert server.wait(timeout=30) == 0


def test_the_cpp_plan_client_without_a_server_says_so(topic, spawn):
    client = spawn([cpp("plan_client"), "--service", topic])
    assert client.wait(timeout=30) == 1
    error = client.stderr()
    assert error.startswith("plan_client: ") and "no server" in error.lower(), error
