"""The message types of the structs examples, declared once. Each is the same topic type as the
Rust struct of the same name and fields (`examples/src/lib.rs`): the schema hashes agree.

An array field is ``Array[element, L[n]]`` (``L`` is ``typing.Literal``), one ``L[...]`` per
dimension, outermost first; pyright and mypy understand it with no plugin. It reads as a numpy
array (a tuple of values for an array of messages) and takes any array-like."""

from typing import Literal as L

from shm_pub_sub import Array, Message, f32, f64, u8, u16, u32


class Pose(Message):
    """A robot's pose, as the Rust `pose_publisher` publishes it."""

    position: Array[f64, L[3]]
    orientation: Array[f64, L[4]]
    map_id: u32
    tracking: bool
    _reserved: Array[u8, L[3]]


class BoundingBox(Message):
    """An axis-aligned box in an image, in pixels."""

    min: Array[f32, L[2]]
    max: Array[f32, L[2]]


class Detection(Message):
    """What a detector found: nested boxes, scores[class][box], a label and a flag."""

    boxes: Array[BoundingBox, L[2]]
    scores: Array[f32, L[3], L[2]]
    label: u16
    valid: bool
    _reserved: Array[u8, L[1]]
