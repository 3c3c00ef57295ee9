"""Lending topics from Python: ``Publisher.loan()`` writes a value in place and
``Subscriber.borrow()`` reads one in place (numpy arrays over the topic's shared memory, no
copy), across processes and with Rust; views end with their ``with`` block."""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from typing import Literal as L

import numpy as np
import pytest
import shm_pub_sub
from children import start_child_as
from shm_pub_sub import Array, Message, Publisher, Subscriber, f32, seq, u8, u64

NOBODY = 65534  # uid and gid; no passwd entry is needed to switch to them


class Frame(Message):
    """The camera frame of the examples (examples/python/camera/frame.py)."""

    seq: u64
    stamp_ns: u64
    pixels: Array[u8, L[480], L[640], L[3]]


def test_a_loan_written_in_place_is_borrowed_in_place(topic: str) -> None:
    pub = Publisher(topic, Frame(), lending=True)
    assert pub.buffer_num == 10, "a lending topic has 10 slots by default"
    sub = Subscriber(topic, Frame())
    with pub.loan(zeroed=True) as frame:
        frame.seq = 7
        frame.pixels[:, 3] = 255
    with sub.borrow(timeout=5.0) as got:
        assert got.seq == 7
        pixels = got.pixels
        assert isinstance(pixels, np.ndarray) and not pixels.flags.writeable
        assert (pixels[:, 3] == 255).all() and (pixels[:, 4] == 0).all()
        with pytest.raises(ValueError):
            pixels[0, 0, 0] = 1
        with pytest.raises(ValueError):
            pixels.setflags(write=True)
        with pytest.raises(AttributeError, match="read-only"):
            got.seq = 8
        del pixels
    # After the block the value reads nothing: its fields raise.
    with pytest.raises(ValueError, match="with` block"):
        _ = got.seq
    # Copies read the same topic.
    value, ok = sub.subscribe()
    assert ok and value.seq == 7


def test_an_exception_in_a_loan_block_publishes_nothing(topic: str) -> None:
    pub = Publisher(topic, Frame(), lending=True)
    sub = Subscriber(topic, Frame())
    with pytest.raises(RuntimeError, match="camera failed"):
        with pub.loan() as frame:
            frame.seq = 1
            raise RuntimeError("camera failed")
    with pytest.raises(LookupError, match="no value yet"):
        sub.borrow()
    with pub.loan() as frame:
        frame.seq = 2
    with sub.borrow() as got:
        assert got.seq == 2


def test_arrays_outliving_a_borrow_keep_its_slot_and_value(topic: str) -> None:
    pub = Publisher(topic, Frame(), buffer_num=4, lending=True)
    sub = Subscriber(topic, Frame())
    with pub.loan(zeroed=True) as frame:
        frame.pixels[0, 0] = (1, 2, 3)
    with sub.borrow() as got:
        kept = got.pixels
    # The slot stays pinned while `kept` lives: the publisher writes the others.
    for i in range(20):
        with pub.loan() as frame:
            frame.pixels[0, 0] = (9, 9, 9)
            frame.seq = i
    assert tuple(kept[0, 0]) == (1, 2, 3)
    # A subscriber holds one value at a time by default: the next borrow waits for `kept` to go.
    with pytest.raises(RuntimeError, match=r"holds 1 borrowed value\(s\).*larger max_borrowed"):
        sub.borrow()
    del kept
    with sub.borrow() as got:
        assert got.seq == 19


def test_max_borrowed_lets_a_subscriber_hold_several_values(topic: str) -> None:
    pub = Publisher(topic, Frame(), buffer_num=5, lending=True)
    with pytest.raises(ValueError, match="max_borrowed must be an int from 1 to 7"):
        Subscriber(topic, Frame(), max_borrowed=0)
    # The publisher's 2 slots and 4 of this one's would need 6.
    with pytest.raises(RuntimeError, match=r"buffer_num=6 or more \(or lower max_borrowed"):
        Subscriber(topic, Frame(), max_borrowed=4)
    sub = Subscriber(topic, Frame(), max_borrowed=3)
    kept = []
    for i in range(3):
        with pub.loan(zeroed=True) as frame:
            frame.seq = i
            frame.pixels[0, 0, 0] = i + 1
        with sub.borrow() as got:
            kept.append(got.pixels)
    # Three values held while the publisher goes on in the other two slots, unchanged.
    for i in range(3, 40):
        with pub.loan() as frame:
            frame.seq = i
            frame.pixels[0, 0, 0] = 99
    assert [int(k[0, 0, 0]) for k in kept] == [1, 2, 3]
    with pytest.raises(RuntimeError, match=r"holds 3 borrowed value\(s\), .*max_borrowed=3"):
        sub.borrow()
    del kept[0]
    with sub.borrow() as got:
        assert got.seq == 39
    assert [int(k[0, 0, 0]) for k in kept] == [2, 3]


def test_arrays_outliving_a_loan_refuse_to_publish(topic: str) -> None:
    pub = Publisher(topic, Frame(), lending=True)
    sub = Subscriber(topic, Frame())
    with pytest.raises(BufferError, match="nothing was published"):
        with pub.loan() as frame:
            frame.seq = 1
            stale = frame.pixels
    with pytest.raises(LookupError):
        sub.borrow()
    # The publisher goes on with other slots; the stale array's slot stays out of use: what it
    # writes is in no value anyone reads.
    for i in range(30):
        with pub.loan(zeroed=True) as frame:
            frame.seq = 100 + i
        stale[0, 0, 0] = 42
        with sub.borrow() as got:
            assert got.seq == 100 + i
            assert got.pixels[0, 0, 0] == 0, "the stale array's slot was published"
    # Nothing releases it early: numpy keeps an owner object, not a releasable buffer.
    assert not hasattr(stale.base, "release")
    del stale
    with pub.loan() as frame:
        frame.seq = 200
    with sub.borrow(timeout=1.0) as got:
        assert got.seq == 200


def test_another_thread_runs_while_a_borrower_waits(topic: str) -> None:
    Publisher(topic, Frame(), lending=True)
    sub = Subscriber(topic, Frame())
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            sub.borrow(timeout=0.3)
        assert time.monotonic() - start >= 0.3
    finally:
        stop.set()
        t.join()
    assert ticks > 20, "the GIL was held while waiting"


def test_borrow_and_loan_are_refused_where_they_do_not_apply(topic: str) -> None:
    plain = Publisher(topic, Frame())
    with pytest.raises(TypeError, match="lending=True"):
        plain.loan()
    sub = Subscriber(topic, Frame())
    plain.publish(Frame(seq=1))
    with pytest.raises(TypeError, match="copying topic"):
        sub.borrow()
    with pytest.raises(TypeError, match="lending=True"):
        sub.borrow()
    with pytest.raises(TypeError, match="Message"):
        Publisher(topic + "x", 1.5, lending=True).loan()
    pub = Publisher(topic + "y", Frame(), lending=True)
    with pub.loan() as _:
        with pytest.raises(RuntimeError, match="under way"):
            pub.publish(Frame())


CHILD = """
import sys
from typing import Literal as L
from shm_pub_sub import Array, Message, Publisher, u8, u64

class Frame(Message):
    seq: u64
    stamp_ns: u64
    pixels: Array[u8, L[480], L[640], L[3]]

pub = Publisher(sys.argv[1], Frame(), lending=True)
print("READY", flush=True)
for line in sys.stdin:
    n = int(line)
    with pub.loan() as frame:
        frame.seq = n
        frame.pixels[:, :, 0] = n % 256
    print("PUB", n, flush=True)
"""


def test_frames_cross_processes_in_place(topic: str, spawn) -> None:
    child = spawn([sys.executable, "-c", CHILD, topic], stdin=True)
    child.expect("READY", timeout=30)
    sub = Subscriber(topic, Frame())
    for n in range(1, 6):
        child.send(str(n))
        child.expect("PUB", timeout=30)
        with sub.borrow(timeout=10.0) as got:
            assert got.seq == n
            assert (got.pixels[:, :, 0] == n).all()


def test_rust_frames_are_borrowed(topic: str, spawn, rust_example) -> None:
    rust = spawn([rust_example("frame_publisher"), "--topic", topic, "--count", 3000])
    rust.expect("publishing 640x480 frames", timeout=30)
    sub = Subscriber(topic, Frame())
    for _ in range(3):
        with sub.borrow(timeout=10.0) as got:
            bar = int(got.seq) % 640
            assert (got.pixels[:, bar] == 255).all()


def test_loans_given_up_or_invalid_leave_the_publisher_usable(topic: str) -> None:
    class Flagged(Message):
        data: Array[u8, L[8]]
        ok: shm_pub_sub.bool_

    pub = Publisher(topic, Flagged(), lending=True)
    sub = Subscriber(topic, Flagged())
    # A loan never entered: dropped, it is given up at the next write.
    pub.loan()
    with pub.loan() as v:
        v.ok = True
    with sub.borrow() as got:
        assert got.ok is True
    # Bytes that are not a value (a bool byte of 2, written past the end of an array field, as
    # a buggy extension could) are refused, and the publisher goes on.
    with pytest.raises(ValueError, match="bool"):
        with pub.loan() as v:
            raw = np.lib.stride_tricks.as_strided(v.data, shape=(9,), strides=(1,))
            raw[8] = 2
            del raw
    with pub.loan() as v:
        v.ok = False
    with sub.borrow() as got:
        assert got.ok is False


def test_a_record_of_a_borrow_keeps_its_slot(topic: str) -> None:
    pub = Publisher(topic, Frame(), buffer_num=4, lending=True)
    sub = Subscriber(topic, Frame())
    with pub.loan(zeroed=True) as frame:
        frame.seq = 5
    with sub.borrow() as got:
        record = got.to_numpy()
    for i in range(10):
        with pub.loan() as frame:
            frame.seq = 6 + i
    assert record["seq"] == 5
    with pytest.raises(ValueError):
        record["seq"] = 1  # read-only
    del record
    with sub.borrow() as got:
        assert got.seq == 15


def test_values_lent_again_only_when_nothing_holds_them(topic: str) -> None:
    """A loop of loans and borrows lends the same few objects again (none made per round)
    while nothing else refers to them; a value (or a part of one) kept past its block is never
    lent again: while later blocks run it goes on raising."""

    class Inner(Message):
        a: u64

    class Outer(Message):
        inner: Inner
        pixels: Array[u8, L[64]]

    pub = Publisher(topic, Outer(), lending=True)
    sub = Subscriber(topic, Outer())
    loaned, borrowed = set(), set()
    for i in range(8):
        with pub.loan() as out:
            out.inner.a = i
        with sub.borrow() as got:
            assert got.inner.a == i
        loaned.add(id(out))
        borrowed.add(id(got))
    assert len(loaned) <= 2 and len(borrowed) <= 2, "a loop of blocks makes no new value"

    def all_ended(kept: list) -> None:
        for old in kept:
            with pytest.raises(ValueError, match="with` block"):
                _ = old.a if isinstance(old, Inner) else old.inner.a

    kept: list = []
    for i in range(8, 14):
        with pub.loan() as out:
            all_ended(kept)
            part = out.inner
            part.a = i
        kept.append(out if i % 2 else part)
        with sub.borrow() as got:
            all_ended(kept)
            assert got.inner.a == i
            part = got.inner
        kept.append(got if i % 2 else part)
    blocks = []
    for i in range(14, 18):
        loan = pub.loan()
        with loan as out:
            out.inner.a = i
        block = sub.borrow()
        with block as got:
            assert got.inner.a == i
        blocks.append((loan, block))
    for n, (loan, block) in enumerate(blocks):
        assert loan.seq == block.seq == 15 + n  # sequence numbers start at 1


def test_values_that_hold_attributes_are_never_lent_again(topic: str) -> None:
    """A message class whose values carry a `__dict__` gets a new value per block: an attribute
    set in one block is not on the next value, and a value referring to its publisher does
    not keep the publisher (and its topic) alive."""

    class Tagged(Message):
        __slots__ = ("__dict__",)
        n: u64

    pub = Publisher(topic, Tagged(), lending=True)
    sub = Subscriber(topic, Tagged())
    with pub.loan() as v:
        v.tag = "first"
        v.owner = pub
    with pub.loan() as v:
        assert not hasattr(v, "tag")
        v.n = 2
    with sub.borrow() as got:
        got.reader = sub
    with sub.borrow() as got:
        assert not hasattr(got, "reader") and got.n == 2
    del pub, sub, v, got
    gc.collect()
    again = Publisher(topic, Tagged(), lending=True)  # TopicBusyError if the old one lived on
    again.close()


def test_closing_a_publisher_ends_its_loan(topic: str) -> None:
    pub = Publisher(topic, Frame(), lending=True)
    with pytest.raises(ValueError, match="is closed"):
        with pub.loan() as frame:
            frame.seq = 1
            pub.close()
            with pytest.raises(ValueError, match="with` block"):
                _ = frame.pixels
    Publisher(topic, Frame(), lending=True).close()


def test_max_borrowed_is_an_int_from_1_to_7(topic: str) -> None:
    for bad in (0, 8, -1, True, 2.0, "2", 1 << 40):
        with pytest.raises((ValueError, TypeError), match="max_borrowed must be an int from 1 to 7"):
            Subscriber(topic, Frame(), max_borrowed=bad)
    assert Subscriber(topic, Frame(), max_borrowed=7).max_borrowed == 7
    assert Subscriber(topic, Frame()).max_borrowed == 1


class Point(Message):
    x: f32
    y: f32
    z: f32
    intensity: f32


def test_a_slice_is_loaned_and_borrowed_in_place(topic: str) -> None:
    pub = Publisher(topic, seq[Point, L[1000]](), lending=True)
    sub = Subscriber(topic, seq[Point, L[1]](), max_borrowed=2)  # any room
    copier = Subscriber(topic, seq[Point, L[1]]())
    with pub.loan(600, zeroed=True) as points:
        assert len(points) == 600 and "600 of seq[Point, 1000], loaned" in repr(points)
        points["x"] = np.arange(600, dtype=np.float32)
        points[3] = (1.0, 2.0, 3.0, 4.0)
    with sub.borrow(timeout=5.0) as got:
        assert len(got) == 600
        assert got["x"][599] == 599.0 and tuple(got[3]) == (1.0, 2.0, 3.0, 4.0)
        assert np.asarray(got).dtype == Point.dtype and not np.asarray(got).flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            got["x"] = 0
        kept = got["y"]
        mine = got.copy()
    with pytest.raises(ValueError, match="with` block"):
        _ = got[0]
    # The kept array pins its slot (unchanged) while the publisher goes on.
    for i in range(30):
        with pub.loan(i + 1) as points:
            points["y"] = 7.0
    assert kept[3] == 2.0 and mine["x"][599] == 599.0
    value, ok = copier.subscribe()
    assert ok and len(value) == 30 and (value.y == 7.0).all()
    del kept


def test_slice_loans_keep_to_their_room_unless_the_publisher_grows(topic: str) -> None:
    fixed = Publisher(topic, seq[f32, L[64]](), lending=True)
    with pytest.raises(ValueError, match=r"65 elements does not fit, the topic holds at most 64.*grow=True"):
        fixed.loan(65)
    with pytest.raises(TypeError, match=r"slice topic \(seq\[f32, 64\]\): loan\(n\)"):
        fixed.loan()
    with fixed.loan(64) as values:
        values[:] = np.arange(64)
    fixed.close()
    grows = Publisher(topic + "_g", seq[f32, L[64]](), lending=True, grow=True)
    sub = Subscriber(topic + "_g", seq[f32, L[1]]())
    with grows.loan(5000) as values:
        values[:] = np.arange(5000)
    with sub.borrow(timeout=5.0) as got:
        assert len(got) == 5000 and float(np.asarray(got).sum()) == sum(range(5000))
    message = Publisher(topic + "_m", Frame(), lending=True)
    with pytest.raises(TypeError, match="takes no len"):
        message.loan(3)


def test_slice_arrays_follow_numpys_protocol_and_live_in_their_block(topic: str) -> None:
    pub = Publisher(topic, seq[f32, L[64]](), lending=True)
    sub = Subscriber(topic, seq[f32, L[64]]())
    with pub.loan(4, zeroed=True) as values:
        np.asarray(values, dtype=np.float32)[:] = 1.0  # a view: written in place
        with pytest.raises(ValueError, match=r"cannot be given as .*without a copy"):
            np.asarray(values, dtype=np.float64, copy=False)
        widened = np.asarray(values, dtype=np.float64)  # a copy of another dtype
        widened[:] = 9.0
        copied = np.array(values, copy=True)
        copied[:] = 9.0
    value, ok = sub.subscribe()
    assert ok and value.tolist() == [1.0] * 4
    # An array of a loan kept past its block: nothing is published.
    with pytest.raises(BufferError):
        with pub.loan(4) as values:
            kept = values[:2]
            kept[:] = 5.0
    del kept
    # An exception in the block publishes nothing either.
    with pytest.raises(KeyError):
        with pub.loan(4) as values:
            values[:] = 6.0
            raise KeyError("stop")
    assert pub.last_seq == 1 and sub.subscribe()[0].tolist() == [1.0] * 4
    assert len(values) == 4 and "4 of seq[f32, 64], loaned" in repr(values)
    with pytest.raises(ValueError, match="with` block"):
        values[0]


def test_a_slice_of_flagged_elements_stays_valid_after_a_refused_loan(topic: str) -> None:
    class Flag(Message):
        on: shm_pub_sub.bool_
        level: u8
        code: shm_pub_sub.u16

    pub = Publisher(topic, seq[Flag, L[8]](), lending=True, buffer_num=3)
    sub = Subscriber(topic, seq[Flag, L[8]]())
    # A loan whose room gets bytes that are no Flag (through numpy's own view of the elements'
    # bytes, as a careless extension could) is refused when its block ends...
    with pytest.raises(ValueError, match="bool"):
        with pub.loan(8) as flags:
            np.asarray(flags).view(np.uint8)[:] = 7
    # ...and shorter values in that slot are published, then borrowed, whole.
    for n in range(3):
        with pub.loan(1) as flags:
            flags[0] = (True, n, 3)
        with sub.borrow() as got:
            assert len(got) == 1 and got[0]["level"] == n and bool(got[0]["on"])


def test_a_copying_slice_topic_refuses_loans_and_is_not_grown_for_them(topic: str) -> None:
    pub = Publisher(topic, seq[f32, L[64]](), grow=True)
    file = os.stat(pub.path)
    with pytest.raises(TypeError, match="lending"):
        pub.loan(1000)
    after = os.stat(pub.path)
    assert (after.st_ino, after.st_size) == (file.st_ino, file.st_size)
    sub = Subscriber(topic, seq[f32, L[1]]())
    pub.publish(np.arange(3, dtype=np.float32))
    assert sub.subscribe()[0].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_another_user_borrows_a_topic_shared_with_it(topic: str, shm_root) -> None:
    """A topic made readable by others (mode 0o644): a subscriber of another user, which may
    only read the file, borrows and copies (it pins with locks), and its borrowed value stays
    unchanged while the publisher writes on."""
    os.chmod(shm_root, 0o755)  # others may enter the directory, not create files in it
    pub = Publisher(topic, Frame(), lending=True, mode=0o644)
    with pub.loan(zeroed=True) as frame:
        frame.seq = 1
        frame.pixels[0, 0] = 11
    owner = os.geteuid()
    held_r, held_w = os.pipe()
    go_r, go_w = os.pipe()

    def borrow_while_published() -> tuple:
        sub = Subscriber(topic, Frame(), owner=owner)
        copier = Subscriber(topic, Frame(), owner=owner)
        with sub.borrow() as held:
            pixels = held.pixels
            first = (held.seq, int(pixels[0, 0, 0]))
            os.write(held_w, b"x")
            assert os.read(go_r, 1) == b"x"
            newer, ok = copier.subscribe(timeout=5.0)
            still = (held.seq, int(pixels[0, 0, 0]))
            del pixels
        return first, still, newer.seq, int(newer.pixels[0, 0, 0]), ok

    finish = start_child_as(NOBODY, borrow_while_published, limit=20)
    for fd in (held_w, go_r):
        os.close(fd)
    try:
        if os.read(held_r, 1) == b"x":
            for n in range(2, 30):  # 28 publishes into 10 slots: every free slot is reused
                with pub.loan() as frame:
                    frame.seq = n
                    frame.pixels[0, 0] = n
            os.write(go_w, b"x")
    finally:
        os.close(go_w)  # a child still waiting for it goes on (and fails) at once
        report = finish()  # what went wrong, if the child did not borrow
        os.close(held_r)
    assert report == "ok ((1, 11), (1, 11), 29, 29, True)", report
