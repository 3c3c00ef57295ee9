"""Checked by mypy and pyright (make lint-python), never run: message declarations are valid
types with no plugin, and fields have their Python types (scalars their Python type, arrays numpy
arrays that take any array-like, arrays of messages tuples of them)."""

from typing import Any
from typing import Literal as L

import numpy
import shm_pub_sub
from shm_pub_sub import Array, Message, f32, f64, u8, u32
from typing_extensions import assert_type


class Box(Message):
    min: Array[f32, L[2]]
    max: Array[f32, L[2]]


class Pose(Message):
    position: Array[f64, L[3]]
    rotation: Array[f64, L[3], L[3]]
    boxes: Array[Box, L[2]]
    heading: f64
    map_id: u32
    scale: f32
    tracking: bool
    _reserved: Array[u8, L[7]]


pose = Pose(heading=0.5)
assert_type(pose.heading, float)
assert_type(pose.map_id, int)
assert_type(pose.tracking, bool)
assert_type(pose.position, numpy.ndarray[Any, numpy.dtype[Any]])
assert_type(pose.boxes, tuple[Box, ...])
pose.heading = 1.5
pose.position = [1.0, 2.0, 3.0]
x: float = float(pose.position[0]) + float(pose.rotation[0, 1])
pub = shm_pub_sub.Publisher("robot/pose", pose)
assert_type(pub, shm_pub_sub.Publisher[Pose])
value, ok = shm_pub_sub.Subscriber("robot/pose", Pose()).subscribe()
assert_type(value, Pose)
anything: Any = shm_pub_sub.Subscriber("robot/pose", None).subscribe()[0]


class Scan(Message):
    frame_id: shm_pub_sub.string[L[32]]
    ranges: shm_pub_sub.seq[f32, L[4096]]
    boxes: shm_pub_sub.seq[Box, L[64]]


scan = Scan(frame_id="lidar")
assert_type(scan.frame_id, str)
assert_type(scan.ranges, numpy.ndarray[Any, numpy.dtype[Any]])
assert_type(scan.boxes, list[Box])
scan.frame_id = "front"
scan.ranges = [1.0, 2.0]
scan.ranges = numpy.zeros(3, dtype=numpy.float32)
