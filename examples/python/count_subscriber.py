"""Prints each new value of an int topic; can be started before its publisher.

    python examples/python/count_subscriber.py [--topic demo/count] [--count 0] [--timeout 0]

Pair it with the Rust publisher, which publishes the numbers it reads:
    seq 1 5 | cargo run -p shm-examples --example scalar_publisher -- --type i64 --topic demo/count
"""

import argparse
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
    start = time.monotonic()
    seen, last_seq = 0, None
    try:
        while args.count == 0 or seen < args.count:
            data, is_success = sub.subscribe()
            if is_success and sub.last_seq != last_seq:
                age_us = (time.monotonic_ns() - sub.last_publish_time_ns) / 1000
                print(f"#{sub.last_seq}: {data} ({age_us:.0f} µs after publish)", flush=True)
                last_seq = sub.last_seq
                seen += 1
            elif args.timeout and time.monotonic() - start > args.timeout:
                sys.exit(f"no new value within {args.timeout} s")
            else:
                time.sleep(0.001)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
