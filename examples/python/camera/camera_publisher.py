"""Publishes synthetic 640x480 RGB camera frames (900 KiB each) at 30 Hz: a white bar that
sweeps across a black image (frame n has it at column n mod 640), stamped with its number and
capture time. Each publish is one copy into shared memory, made with the GIL released.

    python examples/python/camera/camera_publisher.py [--count 0] [--rate 30]   # terminal 1
    python examples/python/camera/camera_subscriber.py                          # terminal 2

The Rust `frame_subscriber` reads these frames too, and the Rust `frame_publisher` draws the
same picture: `Frame` is the same type in both languages.
"""

import argparse
import time

import numpy as np
import shm_pub_sub
from frame import Frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/camera")
    parser.add_argument("--count", type=int, default=0, help="frames to publish (0: until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=30.0, help="frames per second")
    args = parser.parse_args()

    frame: np.ndarray = np.zeros(1, dtype=Frame.dtype)  # one black Frame, a numpy record to draw in
    pixels = frame["pixels"][0]  # a (480, 640, 3) uint8 view of it
    width = pixels.shape[1]
    with shm_pub_sub.Publisher(args.topic, Frame(), buffer_num=4) as pub:
        print(f"publishing {Frame.size // 1024} KiB frames on {pub.name!r} at {args.rate:g} Hz", flush=True)
        period = 1 / args.rate
        next_time = time.monotonic()
        n = 0
        try:
            while args.count == 0 or n < args.count:
                pixels[:, (n - 1) % width] = 0  # the last frame's bar black again
                pixels[:, n % width] = 255  # this frame's bar white
                frame["seq"] = n
                frame["stamp_ns"] = time.monotonic_ns()
                pub.publish(frame)
                n += 1
                if n % int(args.rate) == 0:
                    print(f"frame #{n}", flush=True)
                next_time += period
                time.sleep(max(0.0, next_time - time.monotonic()))
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
