"""The message types of the services examples: the same types as the Rust `PlanRequest` and
`Plan` (`examples/src/lib.rs`), so either side of the service can be Rust."""

from typing import Literal as L

from shm_pub_sub import Array, Message, f64, u8, u32


class PlanRequest(Message):
    """Where the robot is and where it should go, in metres (x, y)."""

    start: Array[f64, L[2]]
    goal: Array[f64, L[2]]


class Plan(Message):
    """A planned path: its length, its steps of at most 0.5 m, and whether the goal is in reach."""

    length: f64
    steps: u32
    reachable: bool
    _reserved: Array[u8, L[3]]
