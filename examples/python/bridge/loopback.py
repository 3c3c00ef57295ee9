"""Two machines on one: carries a Python topic from one topic directory to another through two
shm-bridge processes connected over loopback TCP, exactly as between a robot and a laptop.

    cargo build -p shm-bridge                                  # once: target/debug/shm-bridge
    python examples/python/bridge/loopback.py [--count 5] [--bridge PATH]

"robot" (topic directory A): structs/pose_talker.py publishes demo/robot/pose; a bridge
    listening on 127.0.0.1 exports demo/**.
"laptop" (topic directory B): a bridge connected to it imports demo/**; structs/pose_listener.py
    prints the poses, read from B as if published there.
Every line printed by these four processes is shown, marked with its process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
STRUCTS = HERE.parent / "structs"


def find_bridge(given: str | None) -> str:
    """--bridge, else $SHM_BRIDGE, else shm-bridge on the PATH, else the repository's build."""
    candidates = [given, os.environ.get("SHM_BRIDGE"), shutil.which("shm-bridge")]
    candidates.append(str(HERE.parents[2] / "target" / "debug" / "shm-bridge"))
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    sys.exit("no shm-bridge: build it with `cargo build -p shm-bridge`, or give --bridge PATH")


class Child:
    """A process whose output (stdout and stderr) is printed line by line, marked with `label`."""

    def __init__(self, label: str, args: list[str], root: str) -> None:
        self.popen = subprocess.Popen(
            args,
            env={**os.environ, "SHM_ROOT": root},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.ready = threading.Event()  # set when a bridge says it is ready, or at the end
        self.relay = threading.Thread(target=self._relay, args=(label,), daemon=True)
        self.relay.start()

    def _relay(self, label: str) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            print(f"[{label}] {line}", end="", flush=True)
            if line.startswith("shm-bridge: ready"):
                self.ready.set()
        self.ready.set()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()  # SIGTERM: a bridge stops cleanly, a Python example just ends
        self.popen.wait(timeout=10)
        self.relay.join(timeout=10)  # every line it printed is shown


def free_port() -> int:
    """A port free a moment ago (another process may take it first: then the bridge exits)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bridge", help="the shm-bridge program")
    parser.add_argument("--count", type=int, default=5, help="poses to receive on the laptop's side")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each step")
    args = parser.parse_args()
    bridge = find_bridge(args.bridge)
    # SIGTERM ends this script as Ctrl-C does: through the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    robot = tempfile.mkdtemp(prefix="shm-robot-", dir=base)
    laptop = tempfile.mkdtemp(prefix="shm-laptop-", dir=base)
    children: list[Child] = []

    def start(label: str, args: list[str], root: str) -> Child:
        children.append(Child(label, args, root))
        return children[-1]

    try:
        for _ in range(5):
            endpoint = f"tcp/127.0.0.1:{free_port()}"
            a = start("robot: bridge", [bridge, "--listen", endpoint, "--export", "demo/**"], robot)
            if a.ready.wait(args.timeout) and a.popen.poll() is None:
                break
        else:
            sys.exit("the robot's bridge could not listen on a free port, 5 tries")
        b = start("laptop: bridge", [bridge, "--connect", endpoint, "--import", "demo/**"], laptop)
        if not (b.ready.wait(args.timeout) and b.popen.poll() is None):
            sys.exit("the laptop's bridge did not start")

        python = sys.executable
        start("robot: pose_talker", [python, str(STRUCTS / "pose_talker.py"), "--rate", "10"], robot)
        listener = start(
            "laptop: pose_listener",
            [python, str(STRUCTS / "pose_listener.py"), "--count", str(args.count), "--timeout", str(args.timeout)],
            laptop,
        )
        code = listener.popen.wait()
        print(f"{args.count} poses crossed from {robot} to {laptop}" if code == 0 else "no poses crossed", flush=True)
        sys.exit(code)
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(robot, ignore_errors=True)
        shutil.rmtree(laptop, ignore_errors=True)


if __name__ == "__main__":
    main()
