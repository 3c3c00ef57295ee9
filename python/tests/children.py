"""Running a piece of a test in a forked child as another user (tests of what one user may do
to another's topics; they need root)."""

import os
import signal
from typing import Callable, Optional


def start_child_as(
    uid: int, action: Callable[[], object], gid: Optional[int] = None, limit: int = 10
) -> Callable[[], str]:
    """Starts `action()` in a forked child with user id `uid` (and group id `gid`, by default
    the same number), which may run at most `limit` seconds; returns a function that waits for
    the child and returns what it reports: ``ok <repr of the result>``, or ``<ExceptionClass>
    <message>``. The test may talk to the child meanwhile (through pipes made before)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            signal.alarm(limit)  # never outlive a stuck test
            os.close(read_end)
            os.setgroups([])
            os.setgid(uid if gid is None else gid)
            os.setuid(uid)
            try:
                report = f"ok {action()!r}"
            except Exception as e:
                report = f"{type(e).__name__} {e}"
            os.write(write_end, report.encode())
        finally:
            os._exit(0)
    os.close(write_end)

    def finish() -> str:
        with os.fdopen(read_end, "rb") as r:
            report = r.read().decode()
        os.waitpid(pid, 0)
        assert report, "the child reported nothing (could it switch users?)"
        return report

    return finish


def in_child_as(uid: int, action: Callable[[], object], gid: Optional[int] = None) -> str:
    """Runs `action()` in a forked child as `uid` (see `start_child_as`) and returns its report."""
    return start_child_as(uid, action, gid)()
