"""Message types declared in Python: the same schema as the Rust derive, values with fields,
numpy, large values, and topics of any type, within one process and across Rust and Python
processes."""

import copy
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import shm_pub_sub
from conftest import REPO
from shm_pub_sub import (
    Message,
    Publisher,
    SchemaMismatchError,
    Subscriber,
    f32,
    f64,
    i8,
    i16,
    u8,
    u16,
    u32,
    u64,
)

# The examples' declarations (examples/python/structs/messages.py, camera/frame.py).
sys.path.insert(0, str(REPO / "examples" / "python" / "structs"))
sys.path.insert(0, str(REPO / "examples" / "python" / "camera"))
from frame import Frame
from messages import BoundingBox, Detection, Pose


class Flags(Message):
    armed: bool
    moving: bool
    count: u16


def test_fields_are_laid_out_as_the_rust_derive_lays_them_out():
    assert Pose.size == 64 and Pose.type_name == "Pose"
    assert Pose.__shm_type__.fields == [
        ("position", 0, "[f64; 3]"),
        ("orientation", 24, "[f64; 4]"),
        ("map_id", 56, "u32"),
        ("tracking", 60, "bool"),
        ("_reserved", 61, "[u8; 3]"),
    ]
    assert Detection.__shm_type__.fields[1] == ("scores", 32, "[[f32; 2]; 3]")
    assert Detection.size == 60 and Frame.size == 16 + 480 * 640 * 3
    assert {"Pose", "Detection", "BoundingBox", "Frame"} <= set(shm_pub_sub.message_types())


def test_padding_and_unsized_fields_are_refused_as_the_derive_refuses_them():
    with pytest.raises(TypeError, match=r"`Reading` has 7 byte\(s\) of padding after field `valid`"):

        class Reading(Message):
            valid: bool
            value: f64

    with pytest.raises(TypeError, match=r"`Tail` has 3 byte\(s\) of padding at its end"):

        class Tail(Message):
            x: u32
            flag: bool

    with pytest.raises(TypeError, match=r"Bad.x: <class 'float'> has no fixed layout.*use shm_pub_sub.f64"):

        class Bad(Message):
            x: float

    with pytest.raises(TypeError, match="array dimensions must be positive"):
        f64[0]


def test_values_take_fields_by_keyword_and_zeros_elsewhere():
    pose = Pose(map_id=7)
    assert pose.map_id == 7 and pose.tracking is False
    assert pose.position.tolist() == [0.0, 0.0, 0.0]
    assert Pose() == Pose() and Pose() != pose
    with pytest.raises(TypeError, match=re.escape("Pose has no field 'heading' (its fields: position, orientation")):
        Pose(heading=1.0)
    with pytest.raises(TypeError, match="takes its fields by keyword"):
        Pose([1, 2, 3])
    with pytest.raises(AttributeError):
        pose.mapid = 3  # a typo is an error, not a new attribute


def test_fields_are_checked_and_name_the_part_that_is_wrong():
    pose = Pose()
    with pytest.raises(OverflowError, match=re.escape("Pose.map_id: -1 is out of range for u32")):
        pose.map_id = -1
    with pytest.raises(TypeError, match=re.escape("Pose.tracking: expects a bool, got the integer 1")):
        pose.tracking = 1
    with pytest.raises(TypeError, match=re.escape("Pose.map_id: expects u32, got the float 1.5")):
        pose.map_id = 1.5
    with pytest.raises(ValueError, match=re.escape("Pose.position: expects 3 elements, got 2")):
        pose.position = [1.0, 2.0]
    with pytest.raises(TypeError, match=r"Pose.position\[1\]: expects f64, got 'x' \(str\)"):
        pose.position = [1.0, "x", 3.0]
    assert pose == Pose(), "a refused value changes nothing"


def test_array_fields_are_numpy_arrays_over_the_value():
    pose = Pose()
    pose.position[1] = 2.5
    pose.orientation = np.array([0.0, 0.0, 0.0, 1.0])
    assert pose.to_dict()["position"] == [0.0, 2.5, 0.0]
    reshaped = pose.position
    reshaped.shape = (3, 1)  # what one access returned is the caller's to change
    assert pose.position.shape == (3,)
    detection = Detection(scores=np.arange(6, dtype=np.float32).reshape(3, 2))
    assert detection.scores.shape == (3, 2) and detection.scores[2, 1] == 5.0
    frame = Frame()
    frame.pixels[:, :, 2] = 200
    assert frame.pixels.shape == (480, 640, 3) and frame.pixels.dtype == np.uint8
    assert bytes(frame)[16 + 2] == 200 and bytes(frame)[16 + 1] == 0


def test_nested_messages_are_views_and_take_messages_or_dicts():
    detection = Detection(boxes=[BoundingBox(min=[1, 2], max=[3, 4]), {"min": [5, 6], "max": [7, 8]}])
    assert isinstance(detection.boxes[0], BoundingBox)
    assert detection.boxes[1].max.tolist() == [7.0, 8.0]
    detection.boxes[0].min[0] = 9  # through the nested view, into the detection
    assert detection.to_dict()["boxes"][0] == {"min": [9.0, 2.0], "max": [3.0, 4.0]}
    # A field a dict leaves out is zeros, as the constructor leaves it (and `shm pub`).
    partial = Detection(boxes=[{"min": [1, 1], "max": [2, 2]}, {"min": [3, 3]}])
    assert partial.boxes[1].max.tolist() == [0.0, 0.0]
    with pytest.raises(TypeError, match="`BoundingBox` has no field `mid`"):
        Detection(boxes=[{"min": [0, 0], "max": [0, 0], "mid": 1}, {"min": [0, 0], "max": [0, 0]}])


def test_values_copy_compare_and_convert():
    pose = Pose(position=[1, 2, 3], map_id=4, tracking=True)
    twin = copy.deepcopy(pose)
    assert twin == pose and twin is not pose
    twin.map_id = 5
    assert pose.map_id == 4
    assert Pose(**pose.to_dict()) == pose
    assert Pose.from_buffer(bytes(pose)) == pose
    assert repr(pose).startswith("Pose(position=array([1., 2., 3.]), orientation=")
    bad = bytearray(bytes(pose))
    bad[60] = 2  # the `tracking` byte
    with pytest.raises(ValueError, match="a bool field holds a byte other than 0 or 1"):
        Pose.from_buffer(bad)
    with pytest.raises(
        ValueError, match=re.escape("expects a contiguous buffer of one `Pose` value (64 bytes), got 63")
    ):
        Pose.from_buffer(bytes(63))


def test_numpy_dtype_and_records_share_the_layout():
    dtype = Pose.dtype
    assert dtype.itemsize == 64 and dtype.fields["tracking"][1] == 60
    assert Detection.dtype.fields["boxes"][0].subdtype[0] == BoundingBox.dtype
    pose = Pose(map_id=3)
    record = pose.to_numpy()
    record["map_id"] = 9  # the record is a view of the value
    assert pose.map_id == 9
    array = np.zeros(1, dtype=Pose.dtype)
    array["position"][0] = [1, 2, 3]
    assert Pose.from_buffer(array).position.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(TypeError, match="is not `Pose`'s"):
        Pose.from_buffer(np.zeros(1, dtype=[("x", "<f8")] * 1 + [("pad", "V56")]))


def test_publish_and_subscribe_values_with_the_seed_api(topic):
    pub = Publisher(topic, Pose())
    sub = Subscriber(topic, Pose(map_id=99))
    assert sub.subscribe() == (Pose(map_id=99), False)
    pub.publish(Pose(position=[1, 2, 3], tracking=True))
    value, ok = sub.subscribe()
    assert ok and isinstance(value, Pose) and value.tracking is True
    assert value.position.tolist() == [1.0, 2.0, 3.0]
    pub.publish({"map_id": 5})  # a dict of fields; the others zeros
    assert sub.subscribe(timeout=1.0)[0].map_id == 5
    record = np.zeros(1, dtype=Pose.dtype)
    record["map_id"] = 6
    pub.publish(record)  # a numpy record of the class's dtype
    assert [s.value.map_id for s in sub.subscribe_all()] == [6]
    assert (pub.type, sub.type, pub.type_name) == (Pose, Pose, "Pose")
    with pytest.raises(TypeError, match=re.escape(f"topic '{topic}' carries `Pose` values, not `Detection`")):
        pub.publish(Detection())
    with pytest.raises(ValueError, match=re.escape("expects a contiguous buffer of one `Pose` value (64 bytes)")):
        pub.publish(np.zeros(3, dtype=np.uint8))
    with pytest.raises(TypeError, match="a buffer of 'd' items is not a `Pose` value"):
        pub.publish(np.zeros(8))
    bad = bytearray(64)
    bad[60] = 7
    with pytest.raises(ValueError, match="the bool at byte 60 is 7, not 0 or 1"):
        pub.publish(bad)
    assert pub.last_seq == 3, "refused values publish nothing"


def test_a_subscriber_of_another_message_type_gets_the_differences(topic):
    Publisher(topic, Pose()).publish(Pose())

    class Other(Message, name="Pose"):
        position: f64[3]
        heading: f64
        tracking: bool
        _reserved: u8[7]

    with pytest.raises(SchemaMismatchError) as info:
        Subscriber(topic, Other())
    message = str(info.value)
    assert "field `heading`: f64 at offset 24 exists only here" in message
    assert "field `map_id`: u32 at offset 56 exists only in the topic" in message
    with pytest.raises(
        SchemaMismatchError, match="carries `Pose` messages, but this subscriber's default_value is an int"
    ):
        Subscriber(topic, 0)


def test_unknown_types_come_from_the_topic_file(topic):
    sub = Subscriber(topic, None)
    assert sub.subscribe() == (None, False) and sub.type is None

    # A type no class of this process declared: a class is made from the stored schema.
    script = f"""
import shm_pub_sub
from shm_pub_sub import f32, u8
class Sample(shm_pub_sub.Message):
    grid: f32[2, 2]
    ok: bool
    _reserved: u8[3]
shm_pub_sub.Publisher({topic!r}, Sample()).publish(Sample(grid=[[1, 2], [3, 4]], ok=True))
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    value, ok = sub.subscribe()
    assert ok and type(value).__name__ == "Sample" and type(value).__module__ == "shm_pub_sub.types"
    assert value.to_dict() == {"grid": [[1.0, 2.0], [3.0, 4.0]], "ok": True, "_reserved": [0, 0, 0]}
    assert value.grid.shape == (2, 2)
    assert type(Subscriber(topic, None).subscribe()[0]) is type(value), "one class per type"


def test_unknown_types_use_a_declared_class_of_the_same_schema(topic):
    Publisher(topic, Flags()).publish(Flags(armed=True, count=3))
    value, ok = Subscriber(topic, None).subscribe()
    assert ok and type(value) is Flags and value == Flags(armed=True, count=3)


def test_without_numpy_array_fields_are_memoryviews():
    script = """
import sys
sys.modules["numpy"] = None  # numpy is not installed
import shm_pub_sub
from shm_pub_sub import f64, u8
class P(shm_pub_sub.Message):
    xy: f64[2]
    img: u8[2, 4]
p = P(xy=[1.5, 2.5])
p.img[1, 2] = 7
assert isinstance(p.xy, memoryview) and p.xy.tolist() == [1.5, 2.5]
assert p.img.tolist() == [[0, 0, 0, 0], [0, 0, 7, 0]]
try:
    P.dtype
except ImportError as e:
    assert "numpy is not installed" in str(e)
else:
    raise AssertionError("dtype without numpy")
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_the_rust_pose_publisher_is_read_by_a_python_class(topic, spawn, rust_example):
    rust = spawn([rust_example("pose_publisher"), "--topic", topic, "--rate", 200])
    rust.expect("publishing Pose")
    sub = Subscriber(topic, Pose())
    for _ in range(3):
        pose, ok = sub.subscribe(timeout=10)
        assert ok and pose.map_id == 7 and pose.tracking is True
        assert abs(np.hypot(*pose.position[:2]) - 2.0) < 1e-9  # on the circle of radius 2
    value, ok = Subscriber(topic, None).subscribe(timeout=10)
    assert ok and type(value) is Pose, "a declared class with the Rust schema is the topic's type"


def test_python_detections_round_trip_through_a_rust_process(topic, spawn, rust_example):
    relay = spawn([rust_example("detection_relay"), "--in", f"{topic}/in", "--out", f"{topic}/out", "--count", 2])
    relay.expect("relaying")
    pub = Publisher(f"{topic}/in", Detection())
    sub = Subscriber(f"{topic}/out", Detection())
    sent = Detection(
        boxes=[BoundingBox(min=[1, 2], max=[3, 4]), BoundingBox(min=[5, 6], max=[7, 8])],
        scores=[[0.5, 0.25], [1, 2], [3, 4]],
        label=41,
        valid=True,
    )
    pub.publish(sent)
    got, ok = sub.subscribe(timeout=20)
    assert ok and relay.expect("relayed") == "relayed #1 label=42 valid=false"
    assert got.label == 42 and got.valid is False
    assert got.boxes[0] == sent.boxes[1] and got.boxes[1] == sent.boxes[0]
    assert got.scores.tolist() == [[1.0, 0.5], [2.0, 4.0], [6.0, 8.0]]
    sent.valid = False
    pub.publish(sent)
    assert sub.subscribe(timeout=20)[0].valid is True
    assert relay.wait() == 0


FRAME_WRITER = """
import sys, time
import numpy as np
import shm_pub_sub
from shm_pub_sub import u8, u64

class Big(shm_pub_sub.Message):
    seq: u64
    pixels: u8[{size}]

frame = np.zeros(1, dtype=Big.dtype)
pub = shm_pub_sub.Publisher({topic!r}, Big(), buffer_num=2)
print("ready", flush=True)
n, end = 0, time.monotonic() + {seconds}
while time.monotonic() < end:
    n += 1
    frame["seq"] = n
    frame["pixels"][0][:] = n % 251
    pub.publish(frame)
print("published", n, flush=True)
"""


@pytest.mark.parametrize("size", [1 << 20, 6 << 20], ids=["1MiB", "6MiB"])
def test_large_frames_are_never_torn_under_a_writer_at_full_speed(topic, spawn, size):
    class Big(Message):
        seq: u64
        pixels: u8[size]

    writer = spawn([sys.executable, "-c", FRAME_WRITER.format(size=size, topic=topic, seconds=2.5)])
    assert writer.expect_line(timeout=30) == "ready"
    sub = Subscriber(topic, Big())
    frame = np.zeros(1, dtype=Big.dtype)
    checked, seqs = 0, set()
    while writer.popen.poll() is None and checked < 400:
        if sub.subscribe_into(frame, timeout=5):
            pixels = frame["pixels"][0]
            seq = int(frame["seq"][0])
            # The whole frame is the one `seq` says: a torn copy mixes two frames.
            assert pixels.min() == pixels.max() == seq % 251, f"torn frame #{seq}"
            checked += 1
            seqs.add(seq)
    assert checked >= 20 and len(seqs) >= 10, (checked, len(seqs))
    assert writer.expect("published", timeout=30)


def copies_while_another_thread_counts(topic: str, size: int) -> int:
    """How often another thread ran during 10 publishes and 10 reads of a `size`-byte value."""

    class Blob(Message):
        data: u8[size]

    pub = Publisher(topic, Blob())
    sub = Subscriber(topic, Blob())
    buffer = np.zeros(size, dtype=np.uint8)
    pub.publish(buffer)
    ran = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            ran[0] += 1
            time.sleep(0)  # gives the GIL back at once to a thread that waits for it

    old = sys.getswitchinterval()
    # A thread holding the GIL keeps it for 10 s now unless it blocks or releases it: the
    # counter runs during the copies only if they release it.
    sys.setswitchinterval(10.0)
    thread = threading.Thread(target=count)
    try:
        thread.start()
        time.sleep(0.05)
        before = ran[0]
        for _ in range(10):
            pub.publish(buffer)
            assert sub.subscribe_into(buffer)
        return ran[0] - before
    finally:
        stop.set()
        sys.setswitchinterval(old)
        thread.join()


def test_large_copies_release_the_gil(topic):
    # A 6 MiB value is copied with the GIL released, both ways: the other thread runs meanwhile.
    assert copies_while_another_thread_counts(f"{topic}/large", 6 << 20) >= 10
    # The control: a 16 KiB value keeps the GIL (releasing it would cost more than the copy),
    # and the other thread does not run at all.
    assert copies_while_another_thread_counts(f"{topic}/small", 16 << 10) <= 2


def test_small_values_keep_the_gil_and_other_kinds_are_refused(topic):
    sub = Subscriber(topic, 0.0)
    with pytest.raises(TypeError, match="subscribe_into copies message values into a buffer"):
        sub.subscribe_into(bytearray(8))
    psub = Subscriber(topic + "/p", Pose())
    with pytest.raises(ValueError, match="needs a writable, contiguous buffer"):
        psub.subscribe_into(b"x" * 64)
    with pytest.raises(TypeError, match="needs a writable buffer"):
        psub.subscribe_into([0] * 64)
    assert psub.subscribe_into(bytearray(64)) is False  # nothing published yet


def test_every_primitive_round_trips(topic):
    class All(Message):
        a: u64
        b: f64
        c: f32
        d: u32
        e: i16
        f: u16
        g: i8
        h: u8
        i: bool
        _reserved: u8[1]

    value = All(a=2**64 - 1, b=-0.0, c=1.5, d=2**32 - 1, e=-(2**15), f=2**16 - 1, g=-128, h=255, i=True)
    pub = Publisher(topic, All())
    pub.publish(value)
    got = Subscriber(topic, All()).subscribe()[0]
    assert got == value and got.to_dict() == value.to_dict()
    assert str(got.b) == "-0.0" and got.a == 2**64 - 1
    with pytest.raises(OverflowError, match=re.escape("All.g: 128 is out of range for i8")):
        All(g=128)
    with pytest.raises(OverflowError, match="beyond 64 bits"):
        All(a=2**64)
    np_value = All(e=np.int16(-3), c=np.float32(0.25), i=np.bool_(True))
    assert (np_value.e, np_value.c, np_value.i) == (-3, 0.25, True)


def test_values_are_plain_python_objects_of_their_class():
    pose = Pose()
    assert isinstance(pose, Pose) and isinstance(pose, Message)
    assert not hasattr(pose, "__dict__")
    assert Pose.position.__class__.__name__ == "Field" and "Pose.position: [f64; 3] at offset 0" in repr(Pose.position)
    with pytest.raises(TypeError, match="base of message types"):
        Message()
    with pytest.raises(TypeError, match=re.escape("subclass shm_pub_sub.Message directly")):

        class MorePose(Pose):
            extra: u8[8]


def test_values_read_from_a_topic_are_read_only(topic):
    pub = Publisher(topic, Pose())
    sub = Subscriber(topic, Pose())
    pub.publish(Pose(map_id=1))
    value, _ = sub.subscribe()
    assert value.read_only and not Pose().read_only
    with pytest.raises(AttributeError, match=re.escape("read-only (a read may return the same value again)")):
        value.map_id = 2
    with pytest.raises(ValueError, match="read-only"):
        value.position[0] = 1.0
    assert sub.subscribe()[0] is value, "the same value again, unchanged"
    mine = value.copy()
    mine.map_id = 2
    assert not mine.read_only and mine.map_id == 2 and value.map_id == 1


def test_subscribe_after_subscribe_into_makes_a_value(topic):
    pub = Publisher(topic, Pose())
    sub = Subscriber(topic, Pose())
    pub.publish(Pose(map_id=3))
    buffer = bytearray(Pose.size)
    assert sub.subscribe_into(buffer) and sub.last_seq == 1
    value, ok = sub.subscribe()
    assert ok and type(value) is Pose and value.map_id == 3
    assert Pose.from_buffer(buffer) == value


def test_buffers_must_be_bytes_or_the_classes_records():
    pub_topic = Pose()
    with pytest.raises(TypeError, match="a buffer of 'd' items is not a `Pose` value"):
        Pose.from_buffer(np.zeros(8))
    frame = Frame()
    with pytest.raises(ValueError, match=re.escape("expects an array of shape [480, 640, 3] (or flat)")):
        frame.pixels = np.zeros((640, 480, 3), dtype=np.uint8)
    frame.pixels = np.full(480 * 640 * 3, 9, dtype=np.uint8)  # flat is fine
    assert frame.pixels[479, 639, 2] == 9
    assert pub_topic == Pose()


def test_class_declarations_are_checked():
    class Mixin:
        def __new__(cls, *args, **kwargs):
            return super().__new__(cls)

    with pytest.raises(TypeError, match="may not define __new__ \\(Mixin does\\)"):

        class Mixed(Mixin, Message):
            x: f64

    with pytest.raises(TypeError, match="fields have no defaults"):

        class Defaulted(Message):
            x: f64 = 3.0

    with pytest.raises(TypeError, match="this name is taken by every message value"):

        class Shadow(Message):
            copy: f64

    class Bits(Message):
        flags: shm_pub_sub.bool_[8]

    bits = Bits(flags=[True] * 8)
    assert bits.flags.dtype == np.bool_ and bits.flags.all()


def test_fields_belong_to_their_class():
    class V(Message):
        a: f64

    class W(Message):
        b: f64
        c: f64

    with pytest.raises(TypeError, match="field 'c' belongs to `W` values"):
        W.c.__get__(V())
    with pytest.raises(TypeError, match="field 'b' belongs to `W` values"):
        W.b.__set__(V(), 1.0)


def test_values_pickle_and_integers_are_never_rounded():
    import pickle

    pose = Pose(map_id=5, position=[1, 2, 3])
    assert pickle.loads(pickle.dumps(pose)) == pose
    with pytest.raises(ValueError, match="the integer 9007199254740993 is not exactly a f64"):
        Pose(position=[2**53 + 1, 0, 0])


def test_any_type_subscribers_read_scalar_and_array_topics(topic):
    Publisher(topic, 2.5).publish(3.5)
    assert Subscriber(topic, None).subscribe() == (3.5, True)


def test_the_latest_declaration_of_a_schema_is_the_class_of_unknown_types(topic):
    def declare():
        class Flags(Message):
            armed: bool
            moving: bool
            count: u16

        return Flags

    first, second = declare(), declare()
    Publisher(topic, first()).publish(first(count=1))
    value, _ = Subscriber(topic, None).subscribe()
    assert type(value) is second and value.count == 1


def test_classes_made_from_a_stored_schema_rename_fields_that_would_break_values(topic):
    # Another program's struct may have fields named like the members every value has, like
    # dunders or like keywords: the class made for it appends `_` to those (declared classes
    # refuse them), so values keep their methods and nothing special to Python is replaced.
    script = f"""
import shm_pub_sub
from shm_pub_sub._message import Message, MessageMeta
from shm_pub_sub._shm_pub_sub import _declare
# Declared below the class statement's checks, as a program in another language could.
Evil = type.__new__(MessageMeta, "Evil", (Message,), {{"__slots__": (), "__module__": "x"}})
names = ["copy", "copy_", "read_only", "__del__", "__init__", "from", "to_dict", "ok"]
_declare(Evil, "Evil", [(n, ("p", "u8")) for n in names])
value = Evil.__new__(Evil)  # (its `__init__` is a field here)
for i, n in enumerate(names):
    Evil.__dict__[n].__set__(value, i + 1)
shm_pub_sub.Publisher({topic!r}, value).publish(value)
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, capture_output=True)
    value, ok = Subscriber(topic, None).subscribe()
    assert ok and type(value).__name__ == "Evil"
    fields = [name for name, _, _ in type(value).__shm_type__.fields]
    assert fields == ["copy__", "copy_", "read_only_", "__del___", "__init___", "from_", "to_dict_", "ok"]
    assert (value.copy__, value.copy_, value.read_only_, value.from_, value.to_dict_, value.ok) == (1, 2, 3, 6, 7, 8)
    assert value.__del___ == 4 and value.__init___ == 5
    # The members every value has still work.
    assert value.read_only is True
    mine = value.copy()
    assert mine == value and not mine.read_only
    assert value.to_dict() == {
        "copy": 1,
        "copy_": 2,
        "read_only": 3,
        "__del__": 4,
        "__init__": 5,
        "from": 6,
        "to_dict": 7,
        "ok": 8,
    }, "to_dict keeps the schema's names"
    assert type(value)(**value.to_dict()) == value, "and takes them back"
    assert type(value)(copy__=1).copy__ == 1
    assert "from_=6" in repr(value)
    del value, mine  # no `__del__` of a field runs (it would raise while collected)


def test_arrays_of_values_read_from_a_topic_cannot_be_made_writable(topic):
    pub = Publisher(topic, Pose())
    pub.publish(Pose(position=[1.0, 2.0, 3.0]))
    value, _ = Subscriber(topic, Pose()).subscribe()
    with pytest.raises(ValueError, match=r"WRITEABLE|writeable"):
        value.position.setflags(write=True)
    with pytest.raises(ValueError):
        value.position[0] = 9.0
    record = value.to_numpy()
    with pytest.raises(ValueError):
        record["position"][0] = 9.0
    assert list(value.position) == [1.0, 2.0, 3.0]
    mine = value.copy()
    mine.position[0] = 9.0  # a copy's arrays write through
    assert mine.position[0] == 9.0 and value.position[0] == 1.0


def test_a_buffer_of_the_wrong_size_reads_nothing(topic):
    # A subscriber of any type checks the buffer against the topic's value size before it
    # reads: the value stays unread for subscribe_all (it used to be read and lost).
    Publisher(topic, Pose()).publish(Pose(map_id=5))
    sub = Subscriber(topic, None)
    with pytest.raises(ValueError, match=f"a value is {Pose.size} bytes, the buffer given has 3"):
        sub.subscribe_into(bytearray(3))
    samples = sub.subscribe_all()
    assert [s.value.map_id for s in samples] == [5]


def test_the_exception_of_a_bad_field_value_depends_on_the_problem_not_its_words():
    class Liar:
        def __repr__(self) -> str:
            return "out of range, not exactly a shape"

    class Scalars(Message):
        x: f64
        n: u32
        _reserved: u8[4]

    with pytest.raises(TypeError):
        Scalars(x=Liar())
    with pytest.raises(OverflowError):
        Scalars(n=-1)
    with pytest.raises(OverflowError):
        Scalars(n=2**70)
    with pytest.raises(ValueError, match="expects 3 elements"):
        Pose(position=[1.0, 2.0])
    with pytest.raises(ValueError, match="not exactly"):
        Scalars(x=2**53 + 1)
    with pytest.raises(TypeError):
        Scalars(x=True)
    with pytest.raises(TypeError):
        Pose(position=Liar())
