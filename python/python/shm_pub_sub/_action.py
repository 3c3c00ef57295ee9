"""The statuses of an action's goal."""

import enum


class GoalStatus(str, enum.Enum):
    """Where a goal stands; a ``str``, so ``status == "succeeded"`` works."""

    EXECUTING = "executing"
    """Accepted, running."""
    CANCELING = "canceling"
    """Running, and a client asked to cancel it."""
    SUCCEEDED = "succeeded"
    """Ended: the server reached the goal."""
    ABORTED = "aborted"
    """Ended: the server gave up, or is gone."""
    CANCELED = "canceled"
    """Ended: canceled on request."""
    REJECTED = "rejected"
    """Refused when it was sent."""

    def __str__(self) -> str:
        return self.value
