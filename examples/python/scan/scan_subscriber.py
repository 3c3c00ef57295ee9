"""Prints the lidar scans of a topic, one line each: its frame, how many ranges and echoes it
holds, its farthest range and the time since its capture. By default it reads what the Rust
`scan_filter` publishes, the scans of `scan_publisher.py` with the far ranges taken out; a topic
holds its latest value, so a reader slower than the publisher skips some (counted as missed).

    python examples/python/scan/scan_publisher.py                          # terminal 1
    cargo run -p shm-examples --example scan_filter -- --max-range 5       # terminal 2
    python examples/python/scan/scan_subscriber.py [--count 0]             # terminal 3

or the publisher's scans directly, without the filter:
    python examples/python/scan/scan_subscriber.py --topic demo/scan
"""

import argparse
import signal
import time

import shm_pub_sub
from scan import Scan, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/scan_filtered")
    parser.add_argument("--count", type=int, default=0, help="scans to print (0: until Ctrl-C)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each scan")
    args = parser.parse_args()
    # SIGTERM stops it as Ctrl-C does: through the `except` below, closing the subscriber.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    with shm_pub_sub.Subscriber(args.topic, Scan()) as sub:
        print(f"subscribed to {args.topic!r}", flush=True)
        n = 0
        try:
            while args.count == 0 or n < args.count:
                scan, ok = sub.subscribe(timeout=args.timeout)
                if not ok:
                    print("no scan within the timeout", flush=True)
                    raise SystemExit(1)
                n += 1
                age_us = (time.monotonic_ns() - scan.stamp_ns) / 1000
                missed = f", {sub.missed} missed" if sub.missed else ""
                print(
                    f"scan #{sub.last_seq} frame_id={scan.frame_id!r} {summary(scan)} "
                    f"({age_us:.0f} µs after capture{missed})",
                    flush=True,
                )
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
