"""Prints the poses of the Python `pose_talker.py` or of the Rust `pose_publisher`: a Python
class with the Rust struct's fields is the same type.

    python examples/python/structs/pose_talker.py                # terminal 1
    python examples/python/structs/pose_listener.py [--count 0]  # terminal 2

    cargo run -p shm-examples --example pose_publisher           # or terminal 1 in Rust
"""

import argparse
import time

import shm_pub_sub
from messages import Pose


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/robot/pose")
    parser.add_argument("--count", type=int, default=0, help="poses to print (0: until Ctrl-C)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each pose")
    args = parser.parse_args()

    with shm_pub_sub.Subscriber(args.topic, Pose()) as sub:
        print(f"subscribed to {args.topic!r} (Pose, schema hash {Pose.schema_hash:#018x})", flush=True)
        n = 0
        try:
            while args.count == 0 or n < args.count:
                pose, ok = sub.subscribe(timeout=args.timeout)
                if not ok:
                    print("no pose within the timeout", flush=True)
                    raise SystemExit(1)
                n += 1
                latency_us = (time.monotonic_ns() - (sub.last_publish_time_ns or 0)) / 1000
                x, y, _ = pose.position
                print(
                    f"#{sub.last_seq}: x={x:+.3f} y={y:+.3f} map={pose.map_id} tracking={pose.tracking} "
                    f"({latency_us:.0f} µs)",
                    flush=True,
                )
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
