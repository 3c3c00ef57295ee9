"""Publishes a temperature (a float) at 10 Hz; any Python or Rust subscriber can read it.

    python examples/python/pubsub/temperature_publisher.py [--topic demo/temperature] [--count 0]
    python examples/python/pubsub/count_subscriber.py --type float --topic demo/temperature

Or pair it with the Rust subscriber:
    cargo run -p shm-examples --example scalar_subscriber -- --type f64 --topic demo/temperature
"""

import argparse
import math
import time

import shm_pub_sub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/temperature")
    parser.add_argument("--count", type=int, default=0, help="values to publish (0: until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=10.0, help="values per second")
    args = parser.parse_args()

    # The default value's type is the topic's type: a float topic (f64 to Rust), 3 slots.
    with shm_pub_sub.Publisher(args.topic, 0.0, buffer_num=3) as pub:
        print(f"publishing {pub.type.__name__} on {pub.name!r} ({pub.path})", flush=True)
        n = 0
        try:
            while args.count == 0 or n < args.count:
                n += 1
                temperature = 21.0 + 0.5 * math.sin(n / 10)
                pub.publish(temperature)
                print(f"#{pub.last_seq}: {temperature:.3f}", flush=True)
                time.sleep(1 / args.rate)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
