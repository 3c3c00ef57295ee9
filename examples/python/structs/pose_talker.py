"""Publishes poses on a circle from Python; `pose_listener.py` reads them, and so does the
Rust `pose_subscriber`, as its own `Pose` struct.

    python examples/python/structs/pose_talker.py [--count 0]    # terminal 1
    python examples/python/structs/pose_listener.py              # terminal 2

    cargo run -p shm-examples --example pose_subscriber          # or terminal 2 in Rust
"""

import argparse
import math
import time

import shm_pub_sub
from messages import Pose


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/robot/pose")
    parser.add_argument("--count", type=int, default=0, help="poses to publish (0: until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=10.0, help="poses per second")
    args = parser.parse_args()

    with shm_pub_sub.Publisher(args.topic, Pose()) as pub:
        print(f"publishing Pose on {pub.name!r} ({pub.path})", flush=True)
        pose = Pose(map_id=7, tracking=True)
        n = 0
        try:
            while args.count == 0 or n < args.count:
                heading = n * 0.1
                pose.position = [2 * math.cos(heading), 2 * math.sin(heading), 0.0]
                pose.orientation = [0.0, 0.0, math.sin(heading / 2), math.cos(heading / 2)]
                pub.publish(pose)
                n += 1
                print(f"#{pub.last_seq}: x={pose.position[0]:+.3f} y={pose.position[1]:+.3f}", flush=True)
                time.sleep(1 / args.rate)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
