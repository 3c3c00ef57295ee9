"""Publishes synthetic 640x480 RGB camera frames (900 KiB each) at 30 Hz: a gradient that
moves, stamped with its number and capture time. Each publish is one copy into shared memory,
made with the GIL released.

    python examples/python/camera_publisher.py [--count 0] [--rate 30]
    python examples/python/camera_subscriber.py                  # in another terminal
"""

import argparse
import time

import numpy as np
import shm_pub_sub
from messages import Frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/camera")
    parser.add_argument("--count", type=int, default=0, help="frames to publish (0: until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=30.0, help="frames per second")
    args = parser.parse_args()

    frame = np.zeros(1, dtype=Frame.dtype)  # one Frame, as a numpy record we fill in place
    pixels = frame["pixels"][0]
    columns = np.arange(640, dtype=np.uint16)
    with shm_pub_sub.Publisher(args.topic, Frame(), buffer_num=4) as pub:
        print(f"publishing {Frame.size // 1024} KiB frames on {pub.name!r} at {args.rate:g} Hz", flush=True)
        period = 1 / args.rate
        next_time = time.monotonic()
        n = 0
        try:
            while args.count == 0 or n < args.count:
                n += 1
                pixels[:, :, 0] = (columns + n * 4) % 256  # a moving red gradient
                pixels[:, :, 1] = n % 256
                frame["seq"] = n
                frame["stamp_ns"] = time.monotonic_ns()
                pub.publish(frame)
                if n % int(args.rate) == 0:
                    print(f"frame #{n}", flush=True)
                next_time += period
                time.sleep(max(0.0, next_time - time.monotonic()))
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
