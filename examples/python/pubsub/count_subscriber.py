"""Prints each new value of a scalar topic (int unless told otherwise); can be started before
its publisher. Between values it sleeps in ``subscribe(timeout=...)``, woken by the publisher,
so it uses no CPU while waiting.

    python examples/python/pubsub/count_subscriber.py [--topic demo/count] [--type int] [--count 0] [--timeout 0]

Pair it with the Python publisher (a float topic):
    python examples/python/pubsub/temperature_publisher.py
    python examples/python/pubsub/count_subscriber.py --type float --topic demo/temperature

or with the Rust publisher, which publishes the numbers it reads:
    seq 1 5 | cargo run -p shm-examples --example scalar_publisher -- --type i64 --topic demo/count
"""

import argparse
import math
import sys
import time

import shm_pub_sub

# The default value (returned while there is no data) selects the topic's type.
DEFAULTS = {"int": 0, "float": 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/count")
    parser.add_argument("--type", choices=DEFAULTS, default="int", help="the topic's type")
    parser.add_argument("--count", type=int, default=0, help="values to print (0: until Ctrl-C)")
    parser.add_argument("--timeout", type=float, default=0.0, help="give up after this many seconds (0: never)")
    args = parser.parse_args()

    sub = shm_pub_sub.Subscriber(args.topic, DEFAULTS[args.type])
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
