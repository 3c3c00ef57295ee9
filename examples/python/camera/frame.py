"""The camera examples' message type, declared once (both scripts import it)."""

from typing import Literal as L

from shm_pub_sub import Array, Message, u8, u64


class Frame(Message):
    """A 640x480 RGB camera frame (900 KiB) with its number and capture time."""

    seq: u64
    stamp_ns: u64
    pixels: Array[u8, L[480], L[640], L[3]]
