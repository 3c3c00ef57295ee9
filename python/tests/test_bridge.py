"""shm-bridge between two topic directories of this machine (two "machines", over loopback
TCP), with Python and Rust processes on both sides."""

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import shm_pub_sub
from conftest import REPO

sys.path.insert(0, str(REPO / "examples" / "python" / "structs"))
from messages import Pose

BRIDGE = Path(os.environ.get("SHM_BRIDGE") or REPO / "target" / "debug" / "shm-bridge")


@pytest.fixture
def other_root():
    """A second topic directory: the other machine."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    root = Path(tempfile.mkdtemp(prefix="shm-pytest-other-", dir=base))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def bridges(spawn, shm_root, other_root, tmp_path, request):
    """bridges(a_args, b_args): a bridge on `other_root` (A, listening) and one on `shm_root`
    (B, this test's own directory, connecting), each ready."""
    if not BRIDGE.is_file():
        pytest.fail(f"{BRIDGE} is missing: build it with `cargo build -p shm-bridge` (make test does)")
    config = tmp_path / "zenoh.json5"
    config.write_text("{ scouting: { multicast: { enabled: false } } }\n")
    prefix = f"py{os.getpid()}-{request.node.name[:40]}".replace("[", "-").replace("]", "")

    def start(a_args, b_args):
        common = ["--config", config, "--prefix", prefix]
        # A port free a moment ago: another process may take it first (then A exits at
        # once, and another port is tried).
        for _ in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                endpoint = f"tcp/127.0.0.1:{s.getsockname()[1]}"
            a = spawn([BRIDGE, "--root", other_root, "--listen", endpoint, *common, *a_args])
            if a.try_expect("shm-bridge: ready", timeout=30):
                break
        else:
            pytest.fail("no bridge could listen on a free port, 5 tries")
        b = spawn([BRIDGE, "--root", shm_root, "--connect", endpoint, *common, *b_args])
        assert b.expect("shm-bridge: ready", timeout=30)
        return a, b

    return start


def test_a_rust_struct_from_the_other_machine_is_read_by_python(bridges, spawn, other_root, topic, rust_example):
    bridges(["--export", "**"], ["--import", "**"])
    rust = spawn([rust_example("pose_publisher"), "--topic", topic, "--rate", 200], env={"SHM_ROOT": str(other_root)})
    rust.expect("publishing Pose")
    sub = shm_pub_sub.Subscriber(topic, Pose())
    poses = []
    deadline = time.monotonic() + 30
    while len(poses) < 5 and time.monotonic() < deadline:
        pose, ok = sub.subscribe(timeout=1.0)
        if ok:
            poses.append(pose)
    assert len(poses) == 5, "no poses crossed"
    for pose in poses:
        assert pose.map_id == 7 and pose.tracking is True
        assert abs((pose.position[0] ** 2 + pose.position[1] ** 2) ** 0.5 - 2.0) < 1e-9
    assert sub.publisher_alive
    value, ok = shm_pub_sub.Subscriber(topic, None).subscribe()
    assert ok and type(value) is Pose


def test_a_python_float_topic_goes_to_a_rust_subscriber_on_the_other_machine(
    bridges, spawn, other_root, topic, rust_example
):
    bridges(["--import", "**"], ["--export", "**"])
    rust = spawn(
        [rust_example("scalar_subscriber"), "--type", "f64", "--topic", topic, "--count", 3, "--timeout", 30],
        env={"SHM_ROOT": str(other_root)},
    )
    rust.expect("subscribed")
    pub = shm_pub_sub.Publisher(topic, 0.0)
    stop = threading.Event()

    def publish() -> None:
        # Until the Rust side has its values (the bridges connect while this runs).
        value = 0.0
        while not stop.is_set():
            value += 0.5
            pub.publish(value)
            time.sleep(0.02)

    thread = threading.Thread(target=publish)
    thread.start()
    try:
        seen = [float(rust.expect_line(timeout=30).split()[1]) for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    assert seen == sorted(seen) and all(v > 0 and v * 2 == int(v * 2) for v in seen), seen
    assert rust.wait(timeout=30) == 0
