"""Receives camera frames into one preallocated numpy array (no allocation per frame; the copy
runs with the GIL released) and prints, every second, the frame rate, the latency from capture
to receipt, and frames missed.

    python examples/python/camera/camera_publisher.py                   # terminal 1
    python examples/python/camera/camera_subscriber.py [--seconds 0]    # terminal 2

Terminal 1 may be the Rust `frame_publisher` instead: `Frame` is the same type in both languages.
"""

import argparse
import time

import numpy as np
import shm_pub_sub
from frame import Frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/camera")
    parser.add_argument("--seconds", type=float, default=0, help="run this long (0: until Ctrl-C)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a frame")
    args = parser.parse_args()

    frame: np.ndarray = np.zeros(1, dtype=Frame.dtype)  # one Frame, a numpy record to read into
    pixels = frame["pixels"][0]
    width = pixels.shape[1]
    with shm_pub_sub.Subscriber(args.topic, Frame()) as sub:
        print(f"subscribed to {args.topic!r}", flush=True)
        start = report = time.monotonic()
        frames, missed, latencies = 0, 0, []
        try:
            while args.seconds == 0 or time.monotonic() - start < args.seconds:
                if not sub.subscribe_into(frame, timeout=args.timeout):
                    print("no frame within the timeout", flush=True)
                    raise SystemExit(1)
                latencies.append((time.monotonic_ns() - int(frame["stamp_ns"][0])) / 1000)
                frames += 1
                missed += sub.missed or 0
                # Every pixel of a frame was written for that frame, never a mix of two: frame
                # n's bar, at column n mod 640, is whole, and the previous frame's is gone.
                bar = int(frame["seq"][0]) % width
                assert (pixels[:, bar] == 255).all() and not pixels[:, (bar - 1) % width].any()
                now = time.monotonic()
                if now - report >= 1.0:
                    print(
                        f"{frames / (now - report):.1f} frames/s, latency p50 {np.median(latencies):.0f} µs, "
                        f"last #{int(frame['seq'][0])} (bar at x={bar}), missed {missed}",
                        flush=True,
                    )
                    report, frames, missed, latencies = now, 0, 0, []
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
