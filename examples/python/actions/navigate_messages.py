"""The message types of the actions examples: the same types as the Rust `NavigateGoal`,
`NavigateFeedback` and `NavigateOutcome` (`examples/src/lib.rs`), so either side of the action
can be Rust."""

from typing import Literal as L

from shm_pub_sub import Array, Message, f64, u8, u32


class NavigateGoal(Message):
    """Drive to `target` (metres) at `speed` metres per 20 ms step."""

    target: Array[f64, L[2]]
    speed: f64


class NavigateFeedback(Message):
    """Where the robot is, and how far it still has to go."""

    position: Array[f64, L[2]]
    remaining: f64


class NavigateOutcome(Message):
    """Where a drive ended, after how many steps."""

    position: Array[f64, L[2]]
    steps: u32
    _reserved: Array[u8, L[4]]
