"""`shm record`: topics of every kind recorded while published, by a separate process, into an
MCAP file that Foxglove's own readers from PyPI (`mcap`, `mcap-ros2-support`) decode: every
value equal to the one published, with its sequence number and publish time; Ctrl-C closes a
valid file, and a recorder killed with SIGKILL leaves its completed chunks readable."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

from conftest import REPO
from mcap.reader import make_reader
from mcap.stream_reader import StreamReader
from mcap_ros2.decoder import DecoderFactory
from shm_pub_sub import Publisher
from test_bounded import Echo, Scan

sys.path.insert(0, str(REPO / "examples" / "python" / "structs"))
from messages import BoundingBox, Detection, Pose

SHM = Path(sys.executable).with_name("shm")
SUMMARY = r"recorded (\d+) message\(s\) of (\d+) topic\(s\) into .* \((\d+) missed\)"


def pose(i: int) -> Pose:
    return Pose(position=[i, -i, 0.5 * i], orientation=[0, 0, 0, 1], map_id=i, tracking=i % 2 == 1)


def detection(i: int) -> Detection:
    return Detection(
        boxes=[BoundingBox(min=[i, 2], max=[3, 4]), BoundingBox(min=[5, 6], max=[7, i])],
        scores=[[0.5, i], [1, 2], [3, 4]],
        label=i,
        valid=i % 3 == 0,
    )


def scan(i: int) -> Scan:
    return Scan(
        stamp_ns=i,
        frame_id=f"lidar-ü-{i}",
        ranges=[0.25 * k for k in range(i % 7)],
        echoes=[Echo(angle=0.5 * k, intensity=k, ring=i) for k in range(i % 3)],
    )


def start_recording(spawn, output: Path, pattern: str, topics: list[str]):
    rec = spawn([SHM, "record", "-o", output, pattern])
    assert rec.expect_line(timeout=30) == f"recording {pattern} into {output}"
    started = {rec.expect_line(timeout=30) for _ in topics}
    assert started == {f"recording '{t}'" for t in topics}
    return rec


def test_every_kind_of_topic_recorded_reads_back_in_foxglove_readers(topic, spawn, tmp_path):
    output = tmp_path / "run.mcap"
    names = [f"{topic}/pose", f"{topic}/detection", f"{topic}/scan", f"{topic}/count"]
    pubs = [Publisher(names[0], Pose()), Publisher(names[1], Detection()), Publisher(names[2], Scan())]
    pubs.append(Publisher(names[3], 0))
    rec = start_recording(spawn, output, f"{topic}/**", names)
    n = 60
    before = time.time_ns()
    make = [pose, detection, scan, lambda i: i * 1000 - 7]
    published: dict[str, dict[int, object]] = {name: {} for name in names}
    for i in range(1, n + 1):
        for name, pub, value in zip(names, pubs, make):
            pub.publish(value(i))
            published[name][i] = value(i)  # its sequence number: the topic's i-th value
        time.sleep(0.002)
    after = time.time_ns()
    time.sleep(0.3)
    rec.popen.send_signal(signal.SIGINT)
    summary = rec.expect_line(timeout=30)
    assert rec.wait(timeout=30) == 130
    count, topics, missed = map(int, re.fullmatch(SUMMARY, summary).groups())  # type: ignore[union-attr]
    assert topics == 4

    seen = {name: 0 for name in names}
    with open(output, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        assert reader.get_header().profile == "ros2"
        for schema, channel, message, decoded in reader.iter_decoded_messages():
            name = channel.metadata["shm.topic"]
            assert channel.topic == "/" + name and schema.encoding == "ros2msg"
            sent = published[name][message.sequence]
            seen[name] += 1
            if name.endswith("/count"):
                assert schema.name == "std_msgs/msg/Int64" and decoded.data == sent
            elif name.endswith("/pose"):
                assert schema.name == "shm_msgs/msg/Pose"
                assert list(decoded.position) == sent.position.tolist()
                assert (decoded.map_id, decoded.tracking) == (sent.map_id, sent.tracking)
            elif name.endswith("/detection"):
                assert [list(b.min) + list(b.max) for b in decoded.boxes] == [
                    b.min.tolist() + b.max.tolist() for b in sent.boxes
                ]
                assert list(decoded.scores) == sent.scores.flatten().tolist()  # 2-D: row-major
                assert (decoded.label, decoded.valid) == (sent.label, sent.valid)
            else:
                assert (decoded.stamp_ns, decoded.frame_id) == (sent.stamp_ns, sent.frame_id)
                assert list(decoded.ranges) == sent.ranges.tolist()
                assert [(e.angle, e.intensity, e.ring) for e in decoded.echoes] == [
                    (e.angle, e.intensity, e.ring) for e in sent.echoes
                ]
            # Publish times are Unix times (the monotonic clock mapped when recording began).
            assert before - 50_000_000 <= message.publish_time <= after + 50_000_000
            assert message.log_time >= message.publish_time - 50_000_000
    # Nothing lost unaccounted: every value was recorded or counted as missed.
    assert sum(seen.values()) == count
    assert count + missed == 4 * n, (seen, missed)


def test_a_recorder_killed_leaves_its_completed_chunks_readable(topic, spawn, tmp_path):
    output = tmp_path / "killed.mcap"
    # A ring of 64 values: the recorder keeps up even on a loaded machine.
    pub = Publisher(f"{topic}/count", 0, buffer_num=64)
    rec = start_recording(spawn, output, f"{topic}/*", [f"{topic}/count"])
    for i in range(200):
        pub.publish(i)
        time.sleep(0.005)
    time.sleep(2.5)  # past the recorder's flush interval (1 s): that chunk is written out
    # Killed while values still come: the chunk it was filling is lost, none before it.
    for i in range(200, 400):
        pub.publish(i)
        if i == 300:
            rec.popen.send_signal(signal.SIGKILL)
    rec.popen.wait(timeout=30)
    values = []
    with open(output, "rb") as f:
        try:
            for record in StreamReader(f).records:
                if type(record).__name__ == "Message":
                    values.append(int.from_bytes(record.data[4:], "little", signed=True))
        except Exception:
            pass
    # Every value of the completed chunks, in order, none missing.
    assert values[:200] == list(range(200)), values
    assert values == list(range(len(values)))


def test_an_existing_file_is_not_overwritten(topic, tmp_path):
    output = tmp_path / "exists.mcap"
    output.write_bytes(b"keep me")
    import subprocess

    done = subprocess.run([SHM, "record", "-o", output, f"{topic}/*"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "exists already" in done.stderr
    assert output.read_bytes() == b"keep me"
    assert os.path.getsize(output) == 7
