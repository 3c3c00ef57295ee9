"""The `shm` command the package installs (`pip install ./python` puts it on the PATH), run as a
separate process against topics that separate Python and Rust processes publish."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import shm_pub_sub

# The console script next to this interpreter (the venv's bin), as a user's shell finds it.
SHM = Path(sys.executable).with_name("shm")


def shm(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SHM), *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_the_package_installs_the_shm_command() -> None:
    assert SHM.is_file(), f"no console script at {SHM}"
    run = shm("--help")
    assert run.returncode == 0, run.stderr
    for command in ("list", "info", "echo", "hz", "pub", "rm", "clean"):
        assert f"  {command}" in run.stdout
    assert shutil.which("shm", path=str(SHM.parent)) == str(SHM)


def test_list_info_and_echo_read_python_scalar_topics(py_helper, topic) -> None:
    pubs = {}
    for kind, value in (("bool", "True"), ("int", "-7"), ("float", "2.5")):
        pubs[kind] = py_helper("publish", kind, f"{topic}/{kind}", stdin=True)
        pubs[kind].expect("ready")
        pubs[kind].send(value)
        pubs[kind].expect("published 1")

    run = shm("list", "--json")
    assert run.returncode == 0, run.stderr
    listed = {t["topic"]: t for t in json.loads(run.stdout)}
    assert {name: t["type"] for name, t in listed.items()} == {
        f"{topic}/bool": "bool",
        f"{topic}/int": "i64",
        f"{topic}/float": "f64",
    }
    for kind, proc in pubs.items():
        t = listed[f"{topic}/{kind}"]
        assert (t["publisher"]["pid"], t["publisher"]["alive"]) == (proc.popen.pid, True)
        assert (t["last_seq"], t["slots"]) == (1, 3)

    info = json.loads(shm("info", f"{topic}/int", "--json").stdout)
    assert info["value"] == -7
    assert info["declaration"].startswith("i64  // 8 bytes, align 8")

    for kind, want in (("bool", True), ("int", -7), ("float", 2.5)):
        run = shm("echo", f"{topic}/{kind}", "--once", "--json")
        assert run.returncode == 0, run.stderr
        line = json.loads(run.stdout)
        assert (line["seq"], line["value"], line["missed"]) == (1, want, 0)


def test_echo_follows_a_python_publisher(py_helper, spawn, topic) -> None:
    pub = py_helper("publish", "float", topic, stdin=True)
    pub.expect("ready")
    echo = spawn([SHM, "echo", topic, "-n", "3"])
    got = []
    for value in ("0.5", "1.5", "-2.0"):
        pub.send(value)
        got.append(echo.expect("#"))
    assert got == ["#1 0.5", "#2 1.5", "#3 -2.0"]
    assert echo.wait() == 0


def test_pub_into_a_python_topic_is_read_by_python(py_helper, topic) -> None:
    # A topic a Python publisher created and left: the tool keeps its type.
    pub = py_helper("publish", "int", topic, stdin=True)
    pub.expect("ready")
    pub.send("1")
    pub.expect("published 1")
    assert pub.wait() == 0
    run = shm("pub", topic, "41")
    assert (run.returncode, run.stdout.strip()) == (0, f"published #2 on '{topic}' (i64)")
    sub = shm_pub_sub.Subscriber(topic, 0)
    assert sub.subscribe() == (41, True)

    run = shm("pub", topic, "1.5")
    assert run.returncode == 1
    assert "expects i64, got the float 1.5 (integers are never rounded)" in run.stderr
    assert sub.subscribe() == (41, True)

    # A new topic of a type Python reads.
    assert shm("pub", f"{topic}/flag", "true", "--type", "bool").returncode == 0
    assert shm_pub_sub.Subscriber(f"{topic}/flag", False).subscribe() == (True, True)


def test_hz_rm_and_clean_on_python_topics(py_helper, topic) -> None:
    live = py_helper("publish", "float", f"{topic}/live", stdin=True)
    live.expect("ready")
    live.send("1.0")
    live.expect("published 1")
    done = py_helper("publish", "float", f"{topic}/done", stdin=True)
    done.expect("ready")
    done.send("1.0")
    done.expect("published 1")
    assert done.wait() == 0

    run = shm("hz", f"{topic}/live", "-n", "1")
    assert (run.returncode, run.stdout.strip()) == (0, "no new values")

    run = shm("rm", f"{topic}/live")
    assert run.returncode == 1 and "still published by" in run.stderr
    run = shm("clean")
    assert run.stdout.splitlines() == [f"removed '{topic}/done': its publisher is gone", "removed 1 topic"]
    assert [t["topic"] for t in json.loads(shm("list", "--json").stdout)] == [f"{topic}/live"]
    assert shm_pub_sub.Subscriber(f"{topic}/live", 0.0).subscribe() == (1.0, True)


def test_errors_are_one_line_with_an_exit_status(topic) -> None:
    run = shm("info", topic)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "no topic of that name here" in run.stderr
    assert "Traceback" not in run.stderr
    run = shm("echo")
    assert run.returncode == 2
    run = shm("pub", topic, "[1, 2", "--type", "[f64; 2]")
    assert run.returncode == 1 and "is not JSON" in run.stderr
