"""Publishes synthetic lidar scans at 10 Hz: a lidar of 4096 beams in the middle of a 12 m x 8 m
room, with dust blowing past it that hides more, then fewer of its beams. Each scan holds the
ranges of the beams that returned, so their number changes every turn: all 4096 every 20th turn
(no dust), none ten turns later (blinded), anything between otherwise; and up to 8 echoes, the
strongest returns. A publish copies only the ranges and echoes the scan holds.

    python examples/python/scan/scan_publisher.py [--count 0] [--rate 10]    # terminal 1
    cargo run -p shm-examples --example scan_filter -- --max-range 5          # terminal 2
    python examples/python/scan/scan_subscriber.py                            # terminal 3

`scan_subscriber.py --topic demo/scan` reads these scans directly, without the Rust filter.
"""

import argparse
import math
import signal
import time

import numpy as np
import shm_pub_sub
from scan import Echo, Scan, summary

BEAMS = 4096  # beams per turn, as many as a Scan holds ranges
ANGLES = np.arange(BEAMS) * (2 * np.pi / BEAMS)
# How far each beam goes from the middle of the room (6 m to the side walls, 4 m to the others).
with np.errstate(divide="ignore"):
    WALLS = np.minimum(6.0 / np.abs(np.cos(ANGLES)), 4.0 / np.abs(np.sin(ANGLES)))


def sweep(turn: int, rng: np.random.Generator, frame_id: str) -> Scan:
    """Turn number `turn` of the lidar, as a Scan captured now."""
    # The fraction of beams the dust hides rises from 0 to 1 and falls back every 20 turns.
    hidden = (1 - math.cos(math.pi * (turn % 20) / 10)) / 2
    returned = np.flatnonzero(rng.random(BEAMS) >= hidden)  # the beams that came back
    ranges = (WALLS[returned] + rng.normal(0.0, 0.01, len(returned))).astype(np.float32)
    # A return is the stronger the nearer its wall; the strongest few are the echoes.
    intensity = 10000 / ranges.astype(np.float64) ** 2
    strongest = np.argsort(intensity)[::-1][: turn % 8 + 1]
    echoes = [
        Echo(angle=float(ANGLES[returned[i]]), intensity=int(intensity[i]), ring=int(returned[i] % 16))
        for i in strongest
    ]
    # Sequences of any length up to their capacity: the scan holds that many.
    return Scan(stamp_ns=time.monotonic_ns(), frame_id=frame_id, ranges=ranges, echoes=echoes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/scan")
    parser.add_argument("--frame-id", default="lidar", help="the scans' frame_id (up to 32 bytes of UTF-8)")
    parser.add_argument("--count", type=int, default=0, help="scans to publish (0: until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=10.0, help="scans per second")
    args = parser.parse_args()
    try:
        Scan(frame_id=args.frame_id)  # checks it before anything starts
    except ValueError as e:  # more than 32 bytes of UTF-8: the error names the field and its limit
        parser.error(str(e))
    # SIGTERM stops it as Ctrl-C does: through the `except` below, closing the publisher.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    rng = np.random.default_rng(0)
    with shm_pub_sub.Publisher(args.topic, Scan()) as pub:
        print(f"publishing Scan on {pub.name!r} (frame_id {args.frame_id!r}) at {args.rate:g} Hz", flush=True)
        period = 1 / args.rate
        next_time = time.monotonic()
        turn = 0
        try:
            while args.count == 0 or turn < args.count:
                scan = sweep(turn, rng, args.frame_id)
                pub.publish(scan)
                turn += 1
                print(f"published #{pub.last_seq} {summary(scan)}", flush=True)
                next_time += period
                time.sleep(max(0.0, next_time - time.monotonic()))
        except KeyboardInterrupt:
            pass
        print(f"stopped after #{pub.last_seq}", flush=True)


if __name__ == "__main__":
    main()
