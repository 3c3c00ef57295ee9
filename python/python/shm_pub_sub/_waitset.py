"""The kinds of events a ``WaitSet`` reports."""

import enum


class EventKind(str, enum.Enum):
    """What a ``WaitEvent`` is about; a ``str``, so ``event.kind == "value"`` works."""

    VALUE = "value"
    """The subscriber's topic has a value newer than the last one it returned (read it)."""
    DEADLINE = "deadline"
    """No new value for the attachment's deadline (again every deadline while it lasts)."""
    INTERVAL = "interval"
    """An interval's tick."""
    PUBLISHER_GONE = "publisher_gone"
    """The topic's publisher exited or was killed."""
    REQUEST = "request"
    """An attached ``Server`` or ``ActionServer`` has requests: ``receive(0)`` until ``None``."""
    REPLY = "reply"
    """An attached ``PendingCall`` has ended: take its outcome with ``try_wait()``."""

    def __str__(self) -> str:
        return self.value
