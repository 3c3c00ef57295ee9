"""Fixtures: a private topic directory per test, unique topic names, and child processes."""

from __future__ import annotations

import os
import platform
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Tests send SIGINT to child processes, which must not inherit it ignored (as pytest does when
# started from a shell's background job or a CI runner): a handled signal is reset to its
# default in a child at exec, an ignored one stays ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
HELPER = Path(__file__).with_name("helper.py")


@pytest.fixture(autouse=True)
def shm_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own topic directory (SHM_ROOT), removed afterwards, so tests never
    see each other's topics and parallel runs never collide. Child processes inherit it."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    root = Path(tempfile.mkdtemp(prefix="shm-pytest-", dir=base))
    monkeypatch.setenv("SHM_ROOT", str(root))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    """A topic name unique to the test."""
    return "test/" + re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)


# A child whose waits never wake up on their own (a 10-minute self-check period instead of
# 50 ms): every wake-up it reports came from a publisher, so a lost wake-up fails the test.
WOKEN_ONLY_BY_PUBLISHER = {"SHM_WAIT_CHECK_MS": "600000"}


def until_asleep(path: str, timeout: float = 10.0) -> None:
    """Returns once some subscriber has asked the topic's publisher for a wake-up: the header's
    `sleeping` word (offset 260, docs/FORMAT.md) is set only right before a futex sleep."""
    deadline = time.monotonic() + timeout
    while True:
        with open(path, "rb") as f:
            f.seek(260)
            if int.from_bytes(f.read(4), sys.byteorder) != 0:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"no subscriber went to sleep on {path} within {timeout} s")
        time.sleep(0.001)


# The futex calls a wait sleeps in (`futex`, `futex_waitv`), by machine: `/proc/<pid>/syscall`
# names the call a blocked thread is in by number.
FUTEX_SYSCALLS = {"x86_64": {202, 449}, "aarch64": {98, 449}}


def until_blocked_in_futex(pid: int, timeout: float = 10.0) -> None:
    """Returns once the main thread of `pid` is blocked in a futex call (at once on a machine
    whose numbers this does not know)."""
    calls = FUTEX_SYSCALLS.get(platform.machine())
    if calls is None:
        return
    deadline = time.monotonic() + timeout
    while True:
        with open(f"/proc/{pid}/syscall") as f:
            first = f.read().split(maxsplit=1)[:1]
        if first and first[0].isdigit() and int(first[0]) in calls:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"process {pid} did not block in a futex call within {timeout} s: {first}")
        time.sleep(0.001)


def sigint_after_waiting(py_helper, topic: str, *command: str) -> float:
    """Starts the helper `command` (one that prints "subscribed", then "waiting" before it
    waits on `topic`, and "interrupted" on Ctrl-C), sends it SIGINT once it sleeps; returns how
    long it took to stop. Its waits never wake up on their own: the signal itself must end
    the sleep."""
    import shm_pub_sub

    pub = shm_pub_sub.Publisher(topic, 0)
    child = py_helper(*command, env=WOKEN_ONLY_BY_PUBLISHER)
    assert child.expect_line() == "subscribed"
    assert child.expect_line() == "waiting"
    until_asleep(pub.path)
    # The flag is set before a `membarrier` call: a signal that lands then runs Python's handler
    # on that call's return, and the futex sleep that follows would not see it.
    until_blocked_in_futex(child.popen.pid)
    start = time.monotonic()
    os.kill(child.popen.pid, signal.SIGINT)
    assert child.expect_line() == "interrupted"
    took = time.monotonic() - start
    assert child.wait() == 0
    return took


class Proc:
    """A child process whose output is read line by line, with timeouts."""

    def __init__(self, args: list[str], stdin: bool = False, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.popen = subprocess.Popen(
            args,
            env=None if env is None else {**os.environ, **env},
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect_line(self, timeout: float = 10.0) -> str:
        """The next line of output; fails the test on timeout or end of output."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            pytest.fail(f"{self.args[:3]}: no output within {timeout} s; seen {self.seen}")
        if line is None:
            self.lines.put(None)
            code = self.popen.wait(timeout=10)
            pytest.fail(f"{self.args[:3]} exited ({code}) early; seen {self.seen}; stderr: {self.stderr()}")
        self.seen.append(line)
        return line

    def expect(self, prefix: str, timeout: float = 10.0) -> str:
        """Reads lines until one starts with `prefix`."""
        while True:
            line = self.expect_line(timeout)
            if line.startswith(prefix):
                return line

    def try_expect(self, prefix: str, timeout: float = 10.0) -> str | None:
        """The first line starting with `prefix` within `timeout`; None if the output ended
        (the process exited) or the time ran out first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                self.lines.put(None)
                return None
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def send(self, line: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            self.popen.stdin.close()

    def wait(self, timeout: float = 10.0) -> int:
        self.close_stdin()
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.args[:3]} did not exit within {timeout} s")

    def stderr(self) -> str:
        assert self.popen.stderr is not None
        if self.popen.poll() is None:
            return "<still running>"
        return self.popen.stderr.read()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def cleanup(self) -> None:
        self.close_stdin()
        self.kill()
        self.reader.join(timeout=10)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def spawn() -> Iterator:
    """spawn(args, stdin=False, env=None) -> Proc (env: extra variables); every process is
    killed and reaped after the test."""
    procs: list[Proc] = []

    def start(args: list[str], stdin: bool = False, env: dict[str, str] | None = None) -> Proc:
        proc = Proc([str(a) for a in args], stdin=stdin, env=env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.cleanup()


@pytest.fixture
def py_helper(spawn):
    """py_helper(command, *args, stdin=False, env=None): tests/helper.py in a new Python
    process."""

    def start(*args: object, stdin: bool = False, env: dict[str, str] | None = None) -> Proc:
        return spawn([sys.executable, str(HELPER), *map(str, args)], stdin=stdin, env=env)

    return start


def _examples_dir() -> Path:
    configured = os.environ.get("SHM_EXAMPLES_DIR")
    if configured:
        return Path(configured)
    return REPO / "target" / "debug" / "examples"


@pytest.fixture(scope="session")
def rust_example():
    """rust_example(name) -> path of a Rust example binary (built by `make python-test`; set
    SHM_EXAMPLES_DIR to use others)."""
    directory = _examples_dir()

    def find(name: str) -> Path:
        path = directory / name
        if not path.is_file():
            pytest.fail(
                f"Rust example {path} is missing: run `cargo build -p shm-examples --examples` "
                "(make test does) or set SHM_EXAMPLES_DIR"
            )
        return path

    return find
