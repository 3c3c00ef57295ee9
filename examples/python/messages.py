"""The message types of the Python examples, declared once. Each is the same topic type as the
Rust struct of the same name and fields (`examples/src/lib.rs`): the schema hashes agree."""

import shm_pub_sub
from shm_pub_sub import f32, f64, u8, u16, u32, u64


class Pose(shm_pub_sub.Message):
    """A robot's pose, as the Rust `pose_publisher` publishes it."""

    position: f64[3]
    orientation: f64[4]
    map_id: u32
    tracking: bool
    _reserved: u8[3]


class BoundingBox(shm_pub_sub.Message):
    """An axis-aligned box in an image, in pixels."""

    min: f32[2]
    max: f32[2]


class Detection(shm_pub_sub.Message):
    """What a detector found: nested boxes, scores[class][box], a label and a flag."""

    boxes: BoundingBox[2]
    scores: f32[3, 2]
    label: u16
    valid: bool
    _reserved: u8[1]


class Frame(shm_pub_sub.Message):
    """A 640x480 RGB camera frame (900 KiB) with its number and capture time."""

    seq: u64
    stamp_ns: u64
    pixels: u8[480, 640, 3]
