"""Checked by mypy with the ``shm_pub_sub.mypy`` plugin (make lint-python), never run: the short
``f64[3]`` spelling of array fields, which only the plugin makes a type (pyright skips this file;
``fields.py`` is the spelling every checker understands)."""

from typing import Any

import shm_pub_sub
from shm_pub_sub import f32, f64, u8, u32
from typing_extensions import assert_type


class Pose(shm_pub_sub.Message):
    position: f64[3]
    heading: f64
    map_id: u32
    tracking: bool
    scale: f32
    _reserved: u8[3]


pose = Pose(heading=0.5)
assert_type(pose.heading, float)
assert_type(pose.map_id, int)
assert_type(pose.tracking, bool)
position = pose.position
x: float = float(position[0])
pub = shm_pub_sub.Publisher("robot/pose", pose)
assert_type(pub, shm_pub_sub.Publisher[Pose])
value, ok = shm_pub_sub.Subscriber("robot/pose", Pose()).subscribe()
assert_type(value, Pose)
anything: Any = shm_pub_sub.Subscriber("robot/pose", None).subscribe()[0]


class Scan(shm_pub_sub.Message):
    frame_id: shm_pub_sub.string[32]
    ranges: shm_pub_sub.seq[f32, 4096]
    poses: shm_pub_sub.seq[Pose, 8]


scan = Scan(frame_id="lidar")
assert_type(scan.frame_id, str)
ranges = scan.ranges
y: float = float(ranges[0])
assert_type(scan.poses, list[Pose])
