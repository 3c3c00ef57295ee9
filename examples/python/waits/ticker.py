"""Publishes a counter (1.0, 2.0, 3.0, ...: a float topic) at 10 Hz into a ring of 8 slots
until Ctrl-C: the other process of waiter.py, which shows the ways to wait for its values.

    python examples/python/waits/waiter.py    # terminal 1
    python examples/python/waits/ticker.py    # terminal 2; Ctrl-C when waiter.py asks
"""

import argparse
import time

import shm_pub_sub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/ticks")
    parser.add_argument("--rate", type=float, default=10.0, help="values per second")
    parser.add_argument("--count", type=int, default=0, help="values to publish (0: until Ctrl-C)")
    args = parser.parse_args()

    # 8 slots: a subscriber busy for up to 0.8 s still finds every value (subscribe_all).
    with shm_pub_sub.Publisher(args.topic, 0.0, buffer_num=8) as pub:
        print(f"publishing 1.0, 2.0, 3.0, ... on {pub.name!r} at {args.rate:g} Hz; Ctrl-C stops", flush=True)
        n = 0
        try:
            while args.count == 0 or n < args.count:
                n += 1
                pub.publish(float(n))
                time.sleep(1 / args.rate)
        except KeyboardInterrupt:
            pass
        print(f"stopped after #{pub.last_seq}", flush=True)


if __name__ == "__main__":
    main()
