"""The ways to wait for values, against ticker.py in another process: subscribe(timeout=...),
wait(), subscribe_all(), max_age=, and await recv() in asyncio. Each wait sleeps in the kernel
until the publisher wakes it (no polling, no CPU), and ends at once if the publisher dies.

    python examples/python/waits/waiter.py    # terminal 1 (it may start first)
    python examples/python/waits/ticker.py    # terminal 2; Ctrl-C when waiter.py asks
"""

import argparse
import asyncio
import sys
import time

import shm_pub_sub

MAX_AGE = 1.0  # seconds


async def receive(sub: shm_pub_sub.Subscriber[float], count: int, timeout: float) -> None:
    """`await sub.recv()`: the next new value; the event loop runs other tasks meanwhile."""
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            beats += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(heartbeat())
    for _ in range(count):
        value = await sub.recv(timeout=timeout)  # TimeoutError if nothing new within timeout
        print(f"await sub.recv() -> {value} (heartbeats so far: {beats})", flush=True)
    task.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="demo/ticks")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds each wait may take")
    args = parser.parse_args()

    sub = shm_pub_sub.Subscriber(args.topic, 0.0)
    # Another subscriber of the topic, for which a value older than MAX_AGE is no value.
    fresh = shm_pub_sub.Subscriber(args.topic, -1.0, max_age=MAX_AGE)
    print(f"subscribed to {sub.name!r}: start ticker.py", flush=True)

    # subscribe(timeout=...) sleeps until a value newer than the last one returned comes:
    # (value, True); (last value or default, False) on timeout or if the publisher dies.
    value, ok = sub.subscribe(timeout=args.timeout)
    print(f"subscribe(timeout=...) -> ({value}, {ok})", flush=True)
    if not ok:
        sys.exit("no value: is ticker.py running?")

    # wait() sleeps until there is a newer value, without reading it.
    if sub.wait(timeout=args.timeout):
        print(f"wait() -> True, then subscribe() -> {sub.subscribe()}", flush=True)

    # subscribe_all(): every value not read yet that the ring still holds, oldest first, each
    # with the number of values overwritten unread just before it (missed).
    time.sleep(0.5)  # busy elsewhere meanwhile: the ticker publishes about 5 values
    samples = sub.subscribe_all(timeout=args.timeout)
    print(f"subscribe_all() -> {[s.value for s in samples]}, missed {sum(s.missed for s in samples)}", flush=True)

    asyncio.run(receive(sub, 3, args.timeout))

    # max_age=: subscribe() calls a value older than that no value: (default, False).
    print(f"max_age={MAX_AGE}: subscribe(timeout=...) -> {fresh.subscribe(timeout=args.timeout)}", flush=True)

    print("now stop ticker.py (Ctrl-C in its terminal): the wait ends when it does", flush=True)
    while True:
        # A wait that sees the publisher exit ends at once; one that starts after the exit
        # waits for a new publisher, until its timeout: hence short waits, in a loop.
        value, ok = sub.subscribe(timeout=1.0)
        if not ok and not sub.publisher_alive:
            break
    print(f"subscribe(timeout=...) -> ({value}, {ok}), publisher_alive={sub.publisher_alive}", flush=True)
    time.sleep(MAX_AGE)  # no publisher: the last value only gets older
    print(f"max_age={MAX_AGE}, {MAX_AGE:g} s later: subscribe() -> {fresh.subscribe()}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
