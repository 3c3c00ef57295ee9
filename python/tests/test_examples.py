"""The Python examples (examples/python/<topic>/) run as their READMEs say, each as real separate
processes: Python with Python, and Python with the Rust examples of the same topic. Every test
has its own topic directory (conftest.py), waits for what the other process prints (never for a
fixed time), and checks the values that crossed."""

import ast
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, Proc

EXAMPLES = REPO / "examples" / "python"
TOPICS = ["pubsub", "structs", "camera", "scan", "services", "actions", "waits", "tool", "bridge"]
SHM = Path(sys.executable).with_name("shm")  # the console script of the installed package
BRIDGE = Path(os.environ.get("SHM_BRIDGE") or REPO / "target" / "debug" / "shm-bridge")


def example(path: str, *args: object) -> list:
    """The command line of a Python example, run by this interpreter."""
    return [sys.executable, EXAMPLES / path, *args]


def groups(pattern: str, line: str) -> tuple:
    """The groups of `pattern` matched at the start of `line` (a failure shows the line)."""
    match = re.match(pattern, line)
    assert match, f"{line!r} does not match {pattern!r}"
    return match.groups()


def printed(proc: Proc, pattern: str, seq: int, found: dict) -> str:
    """What `proc` printed for `seq`, in lines matching `pattern` (groups: seq, then the rest),
    reading its output as far as needed; the lines read are kept in `found`."""
    while seq not in found:
        match = re.match(pattern, proc.expect_line(timeout=30))
        if match:
            found[int(match[1])] = match[2]
    return found[seq]


def rest_of_output(proc: Proc, timeout: float = 60.0) -> list:
    """Every line `proc` prints from now until it exits, which it must do within `timeout`, with
    status 0. One that does not is stopped with SIGTERM, so that it stops what it started."""
    try:
        code = proc.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.popen.terminate()
        proc.wait(timeout=30)
        pytest.fail(f"{proc.args[:3]} did not exit within {timeout} s; seen {proc.seen}")
    start = len(proc.seen)
    proc.try_expect("\0 never printed", timeout=10)  # reads to the end of the output
    assert code == 0, f"{proc.seen}\n{proc.stderr()}"
    return proc.seen[start:]


# The READMEs: one per topic, listed in the index, naming files that exist.


def test_every_example_directory_is_a_topic_of_the_index():
    directories = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    assert directories == sorted(TOPICS)
    index = (EXAMPLES / "README.md").read_text()
    for topic in TOPICS:
        assert f"]({topic}/)" in index, topic


@pytest.mark.parametrize("name", TOPICS)
def test_each_readme_names_its_files_and_only_paths_that_exist(name):
    directory = EXAMPLES / name
    readme = (directory / "README.md").read_text()
    for file in directory.iterdir():
        if file.suffix in (".py", ".sh"):
            assert file.name in readme, f"{name}/README.md does not mention {file.name}"
    for path in re.findall(r"examples/python/[\w./-]+\.(?:py|sh)", readme):
        assert (REPO / path).is_file(), f"{name}/README.md: {path} does not exist"
    for target in re.findall(r"\]\(([^)#\s]+)\)", readme):
        assert "://" in target or (directory / target).exists(), target


# pubsub/


def test_pubsub_python_publisher_and_python_subscriber(topic, spawn):
    sub = spawn(
        example("pubsub/count_subscriber.py", "--type", "float", "--topic", topic, "--count", 3, "--timeout", 30)
    )
    assert sub.expect_line(timeout=30) == f"subscribed to '{topic}'"
    pub = spawn(example("pubsub/temperature_publisher.py", "--topic", topic, "--count", 500, "--rate", 50))
    assert pub.expect_line(timeout=30).startswith(f"publishing float on '{topic}'")
    published: dict = {}
    for _ in range(3):
        seq, value = groups(r"#(\d+): (\S+) \(\d+ µs after publish(?:, \d+ missed)?\)$", sub.expect_line(timeout=30))
        # The publisher prints its value with 3 decimals, the subscriber the float it received.
        assert f"{float(value):.3f}" == printed(pub, r"#(\d+): (\S+)$", int(seq), published)
    assert sub.wait() == 0


def test_pubsub_python_publisher_with_the_rust_subscriber(topic, spawn, rust_example):
    rust = spawn([rust_example("scalar_subscriber"), "--type", "f64", "--topic", topic, "--count", 3, "--timeout", 30])
    rust.expect("subscribed", timeout=30)
    py = spawn(example("pubsub/temperature_publisher.py", "--topic", topic, "--count", 500, "--rate", 50))
    assert py.expect_line(timeout=30).startswith(f"publishing float on '{topic}'")
    published: dict = {}
    for _ in range(3):
        seq, shown, _bits = rust.expect_line(timeout=30).split()
        assert f"{float(shown):.3f}" == printed(py, r"#(\d+): (\S+)$", int(seq), published)
    assert rust.wait() == 0


def test_pubsub_rust_publisher_with_the_python_subscriber(topic, spawn, rust_example):
    py = spawn(example("pubsub/count_subscriber.py", "--topic", topic, "--count", 3, "--timeout", 30))
    assert py.expect_line(timeout=30) == f"subscribed to '{topic}'"
    rust = spawn([rust_example("scalar_publisher"), "--type", "i64", "--topic", topic], stdin=True)
    rust.expect("publishing", timeout=30)
    for i in (1, 2, 3):
        rust.send(str(i * 10))
        rust.expect(f"published {i}", timeout=30)
        assert py.expect_line(timeout=30).startswith(f"#{i}: {i * 10} (")
    assert py.wait() == 0


# structs/

POSE_PRINTED = r"(?:pub |sub )?#(\d+): (x=\S+ y=\S+)"


def assert_three_poses_crossed(next_line, publisher: Proc, marker: str) -> None:
    """The next three poses a reader prints (`next_line()` gives each of its lines) carry
    `marker` and the position `publisher` printed for the same sequence number."""
    published: dict = {}
    for _ in range(3):
        line = next_line()
        seq, position = groups(POSE_PRINTED, line)
        assert marker in line
        assert position == printed(publisher, POSE_PRINTED, int(seq), published)


def test_structs_talker_and_listener(topic, spawn):
    listener = spawn(example("structs/pose_listener.py", "--topic", topic, "--count", 3, "--timeout", 30))
    assert listener.expect_line(timeout=30).startswith(f"subscribed to '{topic}' (Pose, schema hash 0x")
    talker = spawn(example("structs/pose_talker.py", "--topic", topic, "--count", 500, "--rate", 50))
    assert talker.expect_line(timeout=30).startswith(f"publishing Pose on '{topic}'")
    assert_three_poses_crossed(lambda: listener.expect_line(timeout=30), talker, " map=7 tracking=True (")
    assert listener.wait(timeout=30) == 0


def test_structs_talker_with_the_rust_subscriber(topic, spawn, rust_example):
    rust = spawn([rust_example("pose_subscriber"), "--topic", topic, "--count", 3, "--timeout", 30])
    rust.expect("subscribed", timeout=30)
    talker = spawn(example("structs/pose_talker.py", "--topic", topic, "--count", 500, "--rate", 50))
    assert_three_poses_crossed(lambda: rust.expect("sub #", timeout=30), talker, " tracking=true (")
    assert rust.wait(timeout=30) == 0


def test_structs_rust_publisher_with_the_listener(topic, spawn, rust_example):
    rust = spawn([rust_example("pose_publisher"), "--topic", topic, "--rate", 100, "--count", 3000])
    rust.expect("publishing Pose", timeout=30)
    listener = spawn(example("structs/pose_listener.py", "--topic", topic, "--count", 3))
    assert listener.expect_line(timeout=30).startswith(f"subscribed to '{topic}' (Pose, schema hash 0x")
    assert_three_poses_crossed(lambda: listener.expect_line(timeout=30), rust, " map=7 tracking=True (")
    assert listener.wait(timeout=30) == 0


# camera/

CAMERA_REPORT = r"[\d.]+ frames/s, latency p50 \d+ µs, last #(\d+) \(bar at x=(\d+)\), missed \d+$"


def test_camera_publisher_and_subscriber(topic, spawn):
    camera = spawn(example("camera/camera_publisher.py", "--topic", topic, "--count", 3000))
    assert camera.expect_line(timeout=30).startswith(f"publishing 900 KiB frames on '{topic}' at 30 Hz")
    viewer = spawn(example("camera/camera_subscriber.py", "--topic", topic, "--seconds", 1.5))
    assert viewer.expect_line(timeout=30) == f"subscribed to '{topic}'"
    # The viewer checks every frame (the bar of frame n whole at column n mod 640), and exits 0.
    last, bar = groups(CAMERA_REPORT, viewer.expect_line(timeout=30))
    assert int(bar) == int(last) % 640
    assert viewer.wait(timeout=30) == 0, viewer.stderr()


def test_camera_python_publisher_with_the_rust_subscriber(topic, spawn, rust_example):
    rust = spawn([rust_example("frame_subscriber"), "--topic", topic, "--count", 5, "--timeout", 30])
    rust.expect("subscribed", timeout=30)
    camera = spawn(example("camera/camera_publisher.py", "--topic", topic, "--count", 3000))
    assert camera.expect_line(timeout=30).startswith("publishing 900 KiB frames")
    for _ in range(5):
        frame, seq, bar = groups(r"frame (\d+) \(#(\d+)\) bar at x=(\d+) ", rust.expect_line(timeout=30))
        # Frame n (numbered from 0) is the topic's value #n+1, its bar at column n.
        assert int(seq) == int(frame) + 1 and int(bar) == int(frame) % 640
    assert rust.wait(timeout=30) == 0


def test_camera_rust_publisher_with_the_python_subscriber(topic, spawn, rust_example):
    rust = spawn([rust_example("frame_publisher"), "--topic", topic, "--count", 3000])
    rust.expect("publishing 640x480 frames", timeout=30)
    viewer = spawn(example("camera/camera_subscriber.py", "--topic", topic, "--seconds", 1.5))
    assert viewer.expect_line(timeout=30) == f"subscribed to '{topic}'"
    last, bar = groups(CAMERA_REPORT, viewer.expect_line(timeout=30))
    assert int(bar) == int(last) % 640
    assert viewer.wait(timeout=30) == 0, viewer.stderr()


# scan/

SCAN_PUBLISHED = r"published #(\d+) (ranges=\d+ echoes=\d+ max=\S+)$"
# seq, frame_id, then the summary (ranges=... echoes=... max=...) and its three numbers.
SCAN_RECEIVED = (
    r"scan #(\d+) frame_id='([^']*)' (ranges=(\d+) echoes=(\d+) max=(\S+)) \(\d+ µs after capture(?:, \d+ missed)?\)$"
)
SCAN_FILTERED = r'filtered #(\d+) frame_id="([^"]*)" ranges=(\d+)->(\d+) echoes=(\d+)->(\d+)$'


def stopped_cleanly(proc: Proc, signum: int) -> int:
    """Sends `signum` to a scan example publishing in its loop: it stops as on Ctrl-C, closing its
    publisher, prints the last number it published and exits 0. Returns that number."""
    proc.popen.send_signal(signum)
    out = rest_of_output(proc)
    (last,) = groups(r".*stopped after #(\d+)$", out[-1])
    return int(last)


def test_scan_publisher_and_subscriber(topic, spawn):
    sub = spawn(example("scan/scan_subscriber.py", "--topic", topic, "--count", 5, "--timeout", 30))
    assert sub.expect_line(timeout=30) == f"subscribed to '{topic}'"
    pub = spawn(example("scan/scan_publisher.py", "--topic", topic, "--count", 3000, "--rate", 50))
    assert pub.expect_line(timeout=30) == f"publishing Scan on '{topic}' (frame_id 'lidar') at 50 Hz"
    published: dict = {}
    seqs = []
    for _ in range(5):
        seq, frame_id, summary, *_ = groups(SCAN_RECEIVED, sub.expect_line(timeout=30))
        # The scan the publisher printed under that number: as many ranges and echoes, and the
        # same farthest range.
        assert frame_id == "lidar"
        assert summary == printed(pub, SCAN_PUBLISHED, int(seq), published)
        seqs.append(int(seq))
    assert seqs == sorted(set(seqs))
    assert sub.wait(timeout=30) == 0
    assert stopped_cleanly(pub, signal.SIGINT) >= seqs[-1]


def test_scan_publisher_through_the_rust_filter_to_the_subscriber(topic, spawn, rust_example):
    """Three processes: scan_publisher.py -> the Rust scan_filter (keeps the ranges up to 5 m) ->
    scan_subscriber.py. The filter numbers its output itself: its k-th line is how it made the
    filtered topic's value #k, from the publisher's value of the number it prints."""
    scans, filtered = f"{topic}/scan", f"{topic}/filtered"
    sub = spawn(example("scan/scan_subscriber.py", "--topic", filtered, "--count", 5, "--timeout", 30))
    assert sub.expect_line(timeout=30) == f"subscribed to '{filtered}'"
    rust = spawn([rust_example("scan_filter"), "--in", scans, "--out", filtered, "--max-range", 5])
    assert rust.expect_line(timeout=30) == f"filtering '{scans}' to '{filtered}'"
    frame = "front lidar ü"  # 14 bytes of UTF-8
    pub = spawn(example("scan/scan_publisher.py", "--topic", scans, "--frame-id", frame, "--count", 3000, "--rate", 50))
    assert pub.expect_line(timeout=30) == f"publishing Scan on '{scans}' (frame_id {frame!r}) at 50 Hz"
    published: dict = {}
    made: list = []  # the filter's lines, in order
    received = []
    for _ in range(5):
        line = sub.expect_line(timeout=30)
        k, frame_id, _, ranges, echoes, farthest = groups(SCAN_RECEIVED, line)
        received.append(int(k))
        while len(made) < int(k):
            made.append(tuple(groups(SCAN_FILTERED, rust.expect_line(timeout=30))))
        seq, filter_frame, ranges_in, ranges_out, echoes_in, echoes_out = made[int(k) - 1]
        # What the filter published is what the subscriber read ...
        assert frame_id == filter_frame == frame, line
        assert (ranges, echoes) == (ranges_out, echoes_out), (line, made[int(k) - 1])
        # ... and what it read is what the publisher published under that number.
        n_ranges, n_echoes, pub_farthest = groups(
            r"ranges=(\d+) echoes=(\d+) max=(\S+)$", printed(pub, SCAN_PUBLISHED, int(seq), published)
        )
        assert (ranges_in, echoes_in) == (n_ranges, n_echoes), (made[int(k) - 1], published[int(seq)])
        # It kept every echo (no --min-intensity), and the ranges up to 5 m, only those.
        assert echoes_out == echoes_in
        assert int(ranges_out) <= int(ranges_in)
        if int(ranges_out) == 0:
            assert farthest == "-", line
        else:
            assert float(farthest) <= 5.0, line  # printed to 0.01: a range up to 5 m shows as at most 5.00
        if pub_farthest == "-" or float(pub_farthest) < 4.99:  # all within 5 m: all kept, the same farthest
            assert (ranges_out, farthest) == (ranges_in, pub_farthest), (line, published[int(seq)])
    assert received == sorted(set(received))
    read = [int(m[0]) for m in made]
    assert read == sorted(set(read)), "the filter reads ever newer scans"
    assert sub.wait(timeout=30) == 0
    assert stopped_cleanly(pub, signal.SIGTERM) >= read[-1]


# waits/


def shown(line: str, prefix: str):
    """The Python value printed after `prefix` (a tuple, a list ...)."""
    assert line.startswith(prefix), (line, prefix)
    return ast.literal_eval(line[len(prefix) :])


def test_services_python_planner_and_python_client(topic, spawn):
    planner = spawn(example("services/path_planner.py", topic, 4))
    assert planner.expect_line(timeout=30) == f"serving '{topic}'"
    client = spawn(example("services/plan_client.py", topic, 3, 4))
    lines = rest_of_output(client)
    assert lines == [
        "plan to [3.0, 4.0]: 5.00 m in 10 steps",
        "async plan: 1.00 m in 2 steps",
        "async plan: 2.00 m in 4 steps",
        "async plan: 10.00 m in 20 steps",
    ]
    served = rest_of_output(planner)
    assert served[0] == f"#1 from pid {client.popen.pid}: 5.00 m, 10 steps", served
    assert served[-1] == "served 4 request(s)"


def test_services_python_client_with_the_rust_planner(topic, spawn, rust_example):
    planner = spawn([rust_example("path_planner"), "--service", topic, "--count", 4])
    assert planner.expect_line(timeout=30) == f"serving '{topic}'"
    client = spawn(example("services/plan_client.py", topic, 6, 8))
    assert rest_of_output(client)[0] == "plan to [6.0, 8.0]: 10.00 m in 20 steps"
    served = rest_of_output(planner)
    assert served[0] == f"#1 from pid {client.popen.pid} (python): [0.0, 0.0] -> [6.0, 8.0]: 10.00 m, 20 steps"


def test_services_rust_client_with_the_python_planner(topic, spawn, rust_example):
    planner = spawn(example("services/path_planner.py", topic, 1))
    assert planner.expect_line(timeout=30) == f"serving '{topic}'"
    client = spawn([rust_example("plan_client"), "--service", topic, "--x", 300, "--y", 400])
    assert rest_of_output(client) == ["plan to [300.0, 400.0]: 500.00 m in 1000 steps (out of reach)"]
    assert rest_of_output(planner) == [f"#1 from pid {client.popen.pid}: 500.00 m, 1000 steps", "served 1 request(s)"]


def test_actions_python_navigator_and_python_client(topic, spawn):
    navigator = spawn(example("actions/navigator.py", topic, 2))
    assert navigator.expect_line(timeout=30) == f"serving action '{topic}'"
    lines = rest_of_output(spawn(example("actions/navigate_client.py", topic, 3, 4)))
    assert lines[0].startswith("goal ") and lines[0].endswith(" accepted"), lines
    assert lines[1] == "at [0.30, 0.40], 4.50 m to go"
    assert lines[-1] == "succeeded at [3.00, 4.00] after 10 steps"
    lines = rest_of_output(spawn(example("actions/navigate_client.py", topic, 30, 0, 3)))
    assert lines[4] == "cancel asked: canceling", lines
    assert lines[-1].startswith("canceled at ["), lines
    assert rest_of_output(navigator)[-1] == "served 2 goal(s)"


def test_actions_python_client_with_the_rust_navigator(topic, spawn, rust_example):
    navigator = spawn([rust_example("navigator"), "--action", topic, "--count", 1])
    assert navigator.expect_line(timeout=30) == f"serving action '{topic}'"
    lines = rest_of_output(spawn(example("actions/navigate_client.py", topic, 6, 8)))
    assert lines[-1] == "succeeded at [6.00, 8.00] after 20 steps", lines
    assert rest_of_output(navigator)[-1] == "served 1 goal(s)"


def test_actions_rust_client_with_the_python_navigator(topic, spawn, rust_example):
    navigator = spawn(example("actions/navigator.py", topic, 1))
    assert navigator.expect_line(timeout=30) == f"serving action '{topic}'"
    client = spawn([rust_example("navigate_client"), "--action", topic, "--x", 0, "--y", 2])
    lines = rest_of_output(client)
    assert lines[1:] == [
        "at [0.00, 0.50], 1.50 m to go",
        "at [0.00, 1.00], 1.00 m to go",
        "at [0.00, 1.50], 0.50 m to go",
        "at [0.00, 2.00], 0.00 m to go",
        "succeeded at [0.00, 2.00] after 4 steps",
    ], lines


def test_waits_waiter_and_ticker(topic, spawn):
    waiter = spawn(example("waits/waiter.py", "--topic", topic, "--timeout", 30))
    assert waiter.expect_line(timeout=30) == f"subscribed to '{topic}': start ticker.py"
    ticker = spawn(example("waits/ticker.py", "--topic", topic, "--rate", 20))
    assert ticker.expect_line(timeout=30).startswith(f"publishing 1.0, 2.0, 3.0, ... on '{topic}' at 20 Hz")

    first, ok = shown(waiter.expect_line(timeout=30), "subscribe(timeout=...) -> ")
    assert ok and first >= 1.0
    second, ok = shown(waiter.expect_line(timeout=30), "wait() -> True, then subscribe() -> ")
    assert ok and second > first
    line = waiter.expect_line(timeout=30)
    values, missed = groups(r"subscribe_all\(\) -> (\[.*\]), missed (\d+)$", line)
    values = ast.literal_eval(values)
    # Every value since `second` that the ring held, in order; the others counted as missed.
    assert values and values == [float(v) for v in range(int(values[0]), int(values[-1]) + 1)], line
    assert values[0] - second - 1 == int(missed), line
    received = [values[-1]]
    for _ in range(3):
        (value,) = groups(r"await sub\.recv\(\) -> (\S+) \(heartbeats so far: \d+\)$", waiter.expect_line(timeout=30))
        value = float(value)
        assert value > received[-1]
        received.append(value)
    fresh, ok = shown(waiter.expect_line(timeout=30), "max_age=1.0: subscribe(timeout=...) -> ")
    assert ok and fresh >= received[-1]

    assert waiter.expect_line(timeout=30).startswith("now stop ticker.py (Ctrl-C in its terminal)")
    ticker.popen.send_signal(signal.SIGINT)
    last = float(ticker.expect("stopped after #", timeout=30).removeprefix("stopped after #"))
    assert ticker.wait() == 0
    # The publisher's exit ends the wait (not --timeout 30 later): its last value, False.
    assert waiter.expect_line(timeout=15) == f"subscribe(timeout=...) -> ({last}, False), publisher_alive=False"
    assert waiter.expect_line(timeout=15) == "max_age=1.0, 1 s later: subscribe() -> (-1.0, False)"
    assert waiter.wait() == 0


def test_waits_ticker_with_the_rust_waiter(topic, spawn, rust_example):
    rust = spawn([rust_example("waiter"), "--topic", topic, "--count", 5, "--timeout-ms", 30000])
    rust.expect("waiting on", timeout=30)
    ticker = spawn(example("waits/ticker.py", "--topic", topic, "--rate", 50, "--count", 5000))
    assert ticker.expect_line(timeout=30).startswith("publishing 1.0, 2.0, 3.0")
    values = []
    while len(values) < 5:
        seq, value = groups(r"#(\d+) (\S+) \(", rust.expect("#", timeout=30))
        assert float(value) == int(seq), "the ticker publishes n as its n-th value"
        values.append(int(seq))
    assert values == sorted(values)
    assert rust.wait(timeout=30) == 0


# tool/


def test_tool_look_sh_shows_a_python_publisher_s_topic(spawn):
    look = spawn(["bash", EXAMPLES / "tool" / "look.sh"], env={"PYTHON": sys.executable, "SHM": str(SHM)})
    out = rest_of_output(look)
    text = "\n".join(out)
    echo = out.index("$ shm echo demo/robot/pose -n 2 --timeout 30")
    for line in out[echo + 1 : echo + 3]:
        assert re.match(r"#\d+ Pose { position: \[.*\], orientation: \[.*\], map_id: 7, tracking: true, ", line), line
    listed = out[out.index("$ shm list") + 2]
    assert re.match(r"demo/robot/pose +Pose +64 B +3 +pid \d+ \(python\) +#\d+ ", listed), listed
    assert "struct Pose {" in text and "    position: [f64; 3]," in text and "    _reserved: [u8; 3]," in text
    assert re.search(r"^rate [\d.]+ Hz", text, flags=re.M), text
    # Its private topic directory is gone.
    (root,) = groups(r"file +(/\S+)/shm\.demo%2Frobot%2Fpose$", next(line for line in out if line.startswith("file ")))
    assert "shm-look." in root and not os.path.exists(root)


# bridge/


def test_bridge_loopback_carries_a_python_topic_between_two_roots(spawn):
    if not BRIDGE.is_file():
        pytest.skip(f"{BRIDGE} is missing: build it with `cargo build -p shm-bridge` (or set SHM_BRIDGE)")
    demo = spawn(example("bridge/loopback.py", "--bridge", BRIDGE, "--count", 3, "--timeout", 30))
    out = rest_of_output(demo, timeout=90)
    talker = {m[1] for line in out if (m := re.match(r"\[robot: pose_talker\] #\d+: (x=\S+ y=\S+)$", line))}
    received = [line for line in out if line.startswith("[laptop: pose_listener] #")]
    assert len(received) == 3, out
    for i, line in enumerate(received):
        x, y = groups(r"\[laptop: pose_listener\] #\d+: x=(\S+) y=(\S+) map=7 tracking=True \(", line)
        assert abs(float(x) ** 2 + float(y) ** 2 - 4) < 0.02, line  # on the talker's circle
        # Each pose read in the laptop's directory is one the talker published in the robot's
        # (and printed, but the last, which the talker may not have printed when it was stopped).
        assert i == len(received) - 1 or f"x={x} y={y}" in talker, (line, talker)
    crossed = next(line for line in out if line.startswith("3 poses crossed from "))
    robot, laptop = crossed.removeprefix("3 poses crossed from ").split(" to ")
    assert not os.path.exists(robot) and not os.path.exists(laptop), "the script removes its directories"
