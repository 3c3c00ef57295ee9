"""`shm play` and `shm bag info`: a Rust struct topic, a Python struct topic with arrays and a
scalar topic recorded while separate processes publish them, then played by a separate `shm
play` process into fresh topics, read by typed subscribers in Python and Rust: every value
equal to the recorded one, the intervals kept. A topic of another type refuses the replay
before anything is published; a damaged file is refused with a clear error."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from conftest import REPO
from mcap.reader import make_reader
from shm_pub_sub import Publisher, Subscriber
from test_record import SHM, detection, start_recording

sys.path.insert(0, str(REPO / "examples" / "python" / "structs"))
from messages import Detection, Pose

N = 50


def record_run(topic: str, spawn, rust_example, output: Path) -> None:
    """Records `{topic}/pose` (the Rust pose_publisher example), `{topic}/detection` and
    `{topic}/count` (published here, 4 ms apart) into `output`."""
    names = [f"{topic}/pose", f"{topic}/detection", f"{topic}/count"]
    detections = Publisher(names[1], Detection(), buffer_num=64)
    count = Publisher(names[2], 0, buffer_num=64)
    rust = spawn([rust_example("pose_publisher"), "--topic", names[0], "--rate", 200, "--count", 1000000])
    rust.expect("publishing", timeout=30)
    rec = start_recording(spawn, output, f"{topic}/**", names)
    start = time.monotonic()
    for i in range(1, N + 1):
        while time.monotonic() < start + 0.004 * i:
            time.sleep(0.0005)
        detections.publish(detection(i))
        count.publish(i * 1000 - 7)
    time.sleep(0.2)
    rec.popen.send_signal(signal.SIGINT)
    assert rec.wait(timeout=30) == 130
    rust.popen.send_signal(signal.SIGTERM)
    rust.wait(timeout=30)


def recorded(output: Path) -> dict[str, list[tuple[int, bytes]]]:
    """Each topic's recorded messages: (publish time, CDR), in file order."""
    out: dict[str, list[tuple[int, bytes]]] = {}
    with open(output, "rb") as f:
        for _, channel, message in make_reader(f).iter_messages():
            out.setdefault(channel.metadata["shm.topic"], []).append((message.publish_time, message.data))
    return out


def first_chunk_end(data: bytes) -> int:
    """Where the first chunk record of an MCAP file ends (records: opcode, u64 length, body)."""
    at = 8
    while True:
        length = int.from_bytes(data[at + 1 : at + 9], "little")
        if data[at] == 0x06:
            return at + 9 + length
        at += 9 + length


def read_all(sub: Subscriber, n: int, timeout: float = 30.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got.extend(sub.subscribe_all(timeout=0.5))
    return got


def test_recorded_topics_play_into_fresh_topics_equal_with_their_timing(topic, spawn, rust_example, tmp_path):
    output = tmp_path / "run.mcap"
    record_run(topic, spawn, rust_example, output)
    rec = recorded(output)
    assert len(rec[f"{topic}/detection"]) == N and len(rec[f"{topic}/count"]) == N

    info = subprocess.run([SHM, "bag", "info", output], capture_output=True, text=True, timeout=30)
    assert info.returncode == 0, info.stderr
    assert f"messages:  {sum(len(v) for v in rec.values())}" in info.stdout
    line = next(ln for ln in info.stdout.splitlines() if f"/{topic}/count " in ln)
    rate = float(re.search(r"([\d.]+) Hz", line).group(1))  # type: ignore[union-attr]
    assert f"{N} message(s)" in line and "std_msgs/msg/Int64" in line and 100 < rate < 300, line

    fresh = f"{topic}/replay"
    # The Rust typed subscriber waits for the played topic to appear.
    rust = spawn([rust_example("pose_subscriber"), "--topic", f"{fresh}/pose", "--count", 3, "--timeout", 30])
    rust.expect("subscribed", timeout=30)
    remaps = [a for k in ("pose", "detection", "count") for a in ("--remap", f"{topic}/{k}={fresh}/{k}")]
    player = spawn([SHM, "play", output, *remaps])
    player.expect("playing 3 topic(s)", timeout=30)
    # The player made its topics (nothing published yet) before it said so: subscribe now.
    subs = {k: Subscriber(f"{fresh}/{k}", v) for k, v in (("detection", Detection()), ("count", 0), ("pose", Pose()))}
    got = {k: read_all(s, N) for k, s in subs.items() if k != "pose"}
    done = player.expect("played", timeout=60)
    assert re.match(r"played \d+ message\(s\); late by", done), done
    assert player.wait(timeout=30) == 0

    # Every value equal to the one recorded, in order, none missed (the recorded rings had 64
    # slots, and the played topics have as many).
    counts = [s.value for s in got["count"]]
    assert counts == [i * 1000 - 7 for i in range(1, N + 1)]
    assert [s.missed for s in got["detection"]] == [0] * N
    for i, s in enumerate(got["detection"], start=1):
        sent = detection(i)
        assert np.array_equal(s.value.scores, sent.scores) and s.value.label == sent.label
        assert [b.min.tolist() + b.max.tolist() for b in s.value.boxes] == [
            b.min.tolist() + b.max.tolist() for b in sent.boxes
        ]
    # The intervals kept: not faster than recorded (but for the first value's lateness), and not
    # much slower.
    recorded_times = [t for t, _ in rec[f"{topic}/count"]]
    played_times = [s.publish_time_ns for s in got["count"]]
    recorded_span = recorded_times[-1] - recorded_times[0]
    played_span = played_times[-1] - played_times[0]
    assert played_span >= 0.75 * recorded_span, (played_span, recorded_span)
    assert played_span <= 3 * recorded_span + 1_000_000_000, (played_span, recorded_span)

    # The Rust pose: every value the Python subscriber holds is one recorded, at its place.
    last = subs["pose"].subscribe()
    assert last[1] is True
    pose_cdr = [cdr for _, cdr in rec[f"{topic}/pose"]]
    position = np.frombuffer(pose_cdr[-1][4:28], dtype="<f8")
    assert last[0].position.tolist() == position.tolist()
    # The Rust typed subscriber read the played poses too.
    for _ in range(3):
        assert re.match(r"sub #\d+: x=\S+ y=\S+ tracking=true", rust.expect("sub #", timeout=30))
    assert rust.wait(timeout=30) == 0


def test_a_topic_of_another_type_refuses_the_replay_and_a_damaged_file_is_refused(topic, spawn, rust_example, tmp_path):
    output = tmp_path / "run.mcap"
    record_run(topic, spawn, rust_example, output)
    # The recorded count is an i64 topic; a float one of the name exists now.
    other = Publisher(f"{topic}/count", 0.5)
    other.publish(2.5)
    del other
    done = subprocess.run([SHM, "play", output], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"'{topic}/count' carries f64 and the recording i64" in done.stderr, done.stderr
    assert "nothing was played" in done.stderr
    # Nothing written: not even the other topics'.
    assert Subscriber(f"{topic}/count", 0.0).subscribe() == (2.5, True)
    detection_sub = Subscriber(f"{topic}/detection", Detection())
    assert detection_sub.subscribe()[0].label == N

    damaged = tmp_path / "damaged.mcap"
    data = bytearray(output.read_bytes())
    data[first_chunk_end(bytes(data)) - 4] ^= 0x5A  # in its records: the chunk's CRC fails
    damaged.write_bytes(bytes(data))
    for path, says in ((damaged, "damaged"), (REPO / "README.md", "not an MCAP file")):
        done = subprocess.run([SHM, "play", path], capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and says in done.stderr, done.stderr
