"""Prints each new value of an int topic; can be started before its publisher. Between values
it sleeps in ``subscribe(timeout=...)``, woken by the publisher, so it uses no CPU while waiting.

    python examples/python/count_subscriber.py [--topic demo/count] [--count 0] [--timeout 0]

Pair it with the Rust publisher, which publishes the numbers it reads:
    seq 1 5 | cargo run -p shm-examples --example scalar_publisher -- --type i64 --topic demo/count
"""

import argparse
import math
import sys
import time

import shm_pub_sub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/count")
    parser.add_argument("--count", type=int, default=0, help="values to print (0: until Ctrl-C)")
    parser.add_argument("--timeout", type=float, default=0.0, help="give up after this many seconds (0: never)")
    args = parser.parse_args()

    sub = shm_pub_sub.Subscriber(args.topic, 0)
    print(f"subscribed to {sub.name!r}", flush=True)
    deadline = time.monotonic() + args.timeout if args.timeout else None
    seen = 0
    try:
        while args.count == 0 or seen < args.count:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            data, is_success = sub.subscribe(timeout=math.inf if left is None else left)
            if is_success:
                age_us = (time.monotonic_ns() - (sub.last_publish_time_ns or 0)) / 1000
                missed = f", {sub.missed} missed" if sub.missed else ""
                print(f"#{sub.last_seq}: {data} ({age_us:.0f} µs after publish{missed})", flush=True)
                seen += 1
            elif deadline is not None and time.monotonic() >= deadline:
                sys.exit(f"no new value within {args.timeout} s")
            # else: the publisher went away; keep waiting for the next one
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
