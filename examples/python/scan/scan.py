"""The scan examples' message types and how they print a scan, declared once (both scripts import
them). Each type is the same topic type as the Rust struct of the same name and fields
(`examples/src/lib.rs`), which the Rust `scan_filter` reads and writes.

A bounded sequence is ``seq[element, L[n]]`` (up to n elements, a primitive or a Message class),
a bounded string ``string[L[n]]`` (up to n bytes of UTF-8); ``L`` is ``typing.Literal``. A
sequence reads as a numpy array of its current length (a list of values for messages), a string
as a ``str``; a publish and a read copy only what they hold."""

from typing import Literal as L

from shm_pub_sub import Message, f32, seq, string, u16, u64


class Echo(Message):
    """One return of a lidar beam: where, how strong, which laser ring."""

    angle: f32
    intensity: u16
    ring: u16


class Scan(Message):
    """A lidar scan: the ranges of the beams that returned (up to 4096, a different number every
    turn), the few strongest returns, and the sensor's frame."""

    stamp_ns: u64
    frame_id: string[L[32]]
    ranges: seq[f32, L[4096]]
    echoes: seq[Echo, L[64]]


def summary(scan: Scan) -> str:
    """How both scripts print a scan: ``ranges=<n> echoes=<m> max=<farthest range, m>`` (``max=-``
    when it holds no range)."""
    farthest = f"{scan.ranges.max():.2f}" if len(scan.ranges) else "-"
    return f"ranges={len(scan.ranges)} echoes={len(scan.echoes)} max={farthest}"
