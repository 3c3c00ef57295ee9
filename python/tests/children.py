"""Running a piece of a test in a forked child as another user (tests of what one user may do
to another's topics; they need root)."""

import os
import signal
from typing import Callable, Optional


def in_child_as(uid: int, action: Callable[[], object], gid: Optional[int] = None) -> str:
    """Runs `action()` in a forked child with user id `uid` (and group id `gid`, by default the
    same number); returns what it reports: ``ok <repr of the result>``, or ``<ExceptionClass>
    <message>``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            signal.alarm(10)  # never outlive a stuck test
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
    with os.fdopen(read_end, "rb") as r:
        report = r.read().decode()
    os.waitpid(pid, 0)
    assert report, "the child reported nothing (could it switch users?)"
    return report
