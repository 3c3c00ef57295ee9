"""A C program on the same topics as Python (shm-c/tests/c/shm_c_peer.c, built by `make
c-test`, which names it in SHM_C_PEER): a C publisher read by a Python subscriber, and the other
way round, with a struct described once in C and once as a Python Message."""

import os
import subprocess

import pytest
from shm_pub_sub import Message, Publisher, Subscriber, f64, u8, u32

PEER = os.environ.get("SHM_C_PEER")
pytestmark = pytest.mark.skipif(not PEER, reason="SHM_C_PEER is set by `make python-test` (after `make c-build`)")


class Reading(Message):
    value: f64
    id: u32
    ok: bool
    _reserved: u8[3]


def start(*args: str) -> subprocess.Popen:
    assert PEER is not None
    return subprocess.Popen([PEER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_a_c_publisher_is_read_by_a_python_subscriber(topic: str) -> None:
    peer = start("pub", topic, "4")
    try:
        assert peer.stdout is not None
        assert peer.stdout.readline().strip() == "PUBLISHED 4"
        value, ok = Subscriber(topic, Reading()).subscribe()
        assert ok
        assert (value.id, value.value, value.ok) == (4, 2.0, True)
    finally:
        peer.communicate(input="\n", timeout=20)
    assert peer.returncode == 0


def test_a_python_publisher_is_read_by_a_c_subscriber(topic: str) -> None:
    peer = start("sub", topic, "2")
    try:
        assert peer.stdout is not None
        assert peer.stdout.readline().strip() == "READY"
        pub = Publisher(topic, Reading())
        pub.publish(Reading(value=1.5, id=7, ok=True))
        assert peer.stdout.readline().strip() == "GOT 7 1.5 1 seq=1"
        pub.publish(Reading(value=-3.0, id=8, ok=False))
        assert peer.stdout.readline().strip() == "GOT 8 -3.0 0 seq=2"
    finally:
        peer.communicate(timeout=20)
    assert peer.returncode == 0
