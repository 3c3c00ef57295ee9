#!/usr/bin/env python3
"""Benchmark of the shm_pub_sub Python module (not a test): per-call cost of `publish` and
`subscribe` (scalars and a 64-byte struct message) next to a bare C-function call measured in
the same loop, large values (1 MiB, 6 MiB) next to a numpy copy of the same size, a
cross-process ping-pong round trip between two Python processes, the wake-up latency of a
blocking `subscribe(timeout=...)` in another process (with what a sleeping subscriber costs
`publish`), and a service call between two Python processes (`Client.call`, blocking).

    python benches/python/bench_pubsub.py [--quick] [--json results.json]

Each figure is the median over several repeats of a timed loop (per-call cost), or over all
round trips (latency, with p99). Run it on an otherwise idle machine; compare ratios, which
hold better than absolute figures on a noisy one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import shm_pub_sub
from shm_pub_sub import f32, seq, u8

# The 64-byte pose of the Rust examples, as the Python examples declare it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "python" / "structs"))
from messages import Pose

ECHO = "--echo"
LEND_ECHO = "--lend-echo"
WAITER = "--waiter"
REPLIER = "--replier"
ASYNC_WAITER = "--async-waiter"
SERVER = "--server"
# Subscribers the asyncio waiter awaits at once (the value comes on the last one).
AWAITED = 100


def per_call_ns(loops: dict[str, Callable[[int], None]], calls: int, repeats: int) -> dict[str, float]:
    """For each loop, the median over `repeats` of the time per iteration of `loop(calls)`, in
    ns. The loops take turns within each repeat, so that a machine whose speed drifts (a
    noisy VM, frequency scaling) affects them alike and their ratios hold."""
    samples: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(repeats):
        for name, loop in loops.items():
            t0 = time.perf_counter_ns()
            loop(calls)
            samples[name].append((time.perf_counter_ns() - t0) / calls)
    return {name: statistics.median(xs) for name, xs in samples.items()}


def bare_call(n: int, f=id, x=12345) -> None:
    """The reference loop: one call of a C function with one argument per iteration."""
    for _ in range(n):
        f(x)


def call_costs(calls: int, repeats: int) -> dict[str, float]:
    pub_i = shm_pub_sub.Publisher("bench/int", 0)
    sub_i = shm_pub_sub.Subscriber("bench/int", 0)
    pub_f = shm_pub_sub.Publisher("bench/float", 0.0)
    sub_f = shm_pub_sub.Subscriber("bench/float", 0.0)
    pub_b = shm_pub_sub.Publisher("bench/bool", False)
    sub_b = shm_pub_sub.Subscriber("bench/bool", False)
    pub_p = shm_pub_sub.Publisher("bench/pose", Pose())
    sub_p = shm_pub_sub.Subscriber("bench/pose", Pose())
    pose = Pose(position=[1.0, 2.0, 0.0], orientation=[0.0, 0.0, 0.0, 1.0], map_id=7, tracking=True)
    pub_i.publish(123456789)
    pub_f.publish(2.5)
    pub_b.publish(True)
    pub_p.publish(pose)

    # Each loop has the same shape: one call with (or without) one argument per iteration.
    def empty(n: int) -> None:
        for _ in range(n):
            pass

    def bare_call_noarg(n: int, f=time.monotonic_ns) -> None:
        for _ in range(n):
            f()

    def publish(pub, value) -> Callable[[int], None]:
        def loop(n: int, p=pub.publish, x=value) -> None:
            for _ in range(n):
                p(x)

        return loop

    def subscribe(sub) -> Callable[[int], None]:
        def loop(n: int, s=sub.subscribe) -> None:
            for _ in range(n):
                s()

        return loop

    def subscribe_unpack(sub) -> Callable[[int], None]:
        def loop(n: int, s=sub.subscribe) -> None:
            for _ in range(n):
                _data, _ok = s()

        return loop

    def publish_then_read(pub, sub, value) -> Callable[[int], None]:
        def loop(n: int, p=pub.publish, s=sub.subscribe, x=value) -> None:
            for _ in range(n):
                p(x)
                s()

        return loop

    loops = {
        "empty loop": empty,
        "bare call id(x)": bare_call,
        "bare call time.monotonic_ns()": bare_call_noarg,
        "publish int": publish(pub_i, 123456789),
        "publish float": publish(pub_f, 2.5),
        "publish bool": publish(pub_b, True),
        "subscribe int": subscribe(sub_i),
        "subscribe float": subscribe(sub_f),
        "subscribe bool": subscribe(sub_b),
        "data, ok = subscribe() float": subscribe_unpack(sub_f),
        "publish Pose (64 B struct)": publish(pub_p, pose),
        "subscribe Pose (same value)": subscribe(sub_p),
        "publish + subscribe float (new)": publish_then_read(pub_f, sub_f, 2.5),
        "publish + subscribe Pose (new)": publish_then_read(pub_p, sub_p, pose),
    }
    return per_call_ns(loops, calls, repeats)


def large_values(repeats: int) -> dict[str, float]:
    """Per-call ns of publishing a large value from a numpy array and reading it into one
    (`subscribe_into`), next to `np.copyto` of the same size (the reference: one copy)."""
    results: dict[str, float] = {}
    for label, size in (("1 MiB", 1 << 20), ("6 MiB", 6 << 20)):

        class Blob(shm_pub_sub.Message):
            data: u8[size]

        pub = shm_pub_sub.Publisher(f"bench/blob{size}", Blob())
        sub = shm_pub_sub.Subscriber(f"bench/blob{size}", Blob())
        src = np.full(size, 7, dtype=np.uint8)
        dst = np.zeros(size, dtype=np.uint8)
        pub.publish(src)
        calls = max(20, (256 << 20) // size)

        def copy(n: int, src=src, dst=dst) -> None:
            for _ in range(n):
                np.copyto(dst, src)

        def publish(n: int, p=pub.publish, src=src) -> None:
            for _ in range(n):
                p(src)

        def read(n: int, s=sub.subscribe_into, dst=dst) -> None:
            for _ in range(n):
                s(dst)

        loops = {"copy": copy, "publish": publish, "read": read}
        if size == 1 << 20:
            # The same megabyte as a slice of 262,144 f32 (its elements copied once, straight
            # into the topic).
            slices = shm_pub_sub.Publisher(f"bench/slice{size}", seq[f32, size // 4]())
            floats = src.view(np.float32)

            def publish_slice(n: int, p=slices.publish, src=floats) -> None:
                for _ in range(n):
                    p(src)

            loops["slice publish"] = publish_slice
        costs = per_call_ns(loops, calls, repeats)
        for name, ns in costs.items():
            results[f"{label} {name}"] = ns
    return results


def echo() -> None:
    """The other end of the ping-pong: returns every new ping on the pong topic."""
    ping = shm_pub_sub.Subscriber("bench/ping", 0)
    pong = shm_pub_sub.Publisher("bench/pong", 0)
    print("ready", flush=True)
    last = 0
    while True:
        value, ok = ping.subscribe()
        if ok and value != last:
            last = value
            pong.publish(value)
            if value < 0:
                return


class Frame6M(shm_pub_sub.Message):
    """A 6 MiB camera frame: its number, then the pixels (never copied by the lending round trip)."""

    seq: shm_pub_sub.u64
    pixels: shm_pub_sub.Array[shm_pub_sub.u8, Literal[6 << 20]]


def lend_echo() -> None:
    """The other end of the lending ping-pong: borrows every new ping, answers with a loan."""
    ping = shm_pub_sub.Subscriber("bench/lend-ping", Frame6M())
    pong = shm_pub_sub.Publisher("bench/lend-pong", Frame6M(), lending=True)
    print("ready", flush=True)
    last = None
    while True:
        try:
            with ping.borrow() as frame:
                n = frame.seq
        except LookupError:  # nothing published yet
            continue
        if n == last:
            continue
        last = n
        with pong.loan() as out:
            out.seq = n
        if n == 0:
            return


def lend_ping_pong(round_trips: int, warmup: int) -> dict[str, float]:
    """A 6 MiB frame there and back, written with `loan()` and read with `borrow()` on both
    sides (each busy-polls the newest frame, reads its number and answers with it), as the
    8-byte ping-pong busy-polls `subscribe()`."""
    ping = shm_pub_sub.Publisher("bench/lend-ping", Frame6M(), lending=True)
    pong = shm_pub_sub.Subscriber("bench/lend-pong", Frame6M())
    peer = subprocess.Popen([sys.executable, __file__, LEND_ECHO], stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
        samples: list[int] = []
        now = time.perf_counter_ns
        deadline = time.monotonic() + 120
        for i in range(1, warmup + round_trips + 1):
            t0 = now()
            with ping.loan() as frame:
                frame.seq = i
            while True:
                try:
                    with pong.borrow() as got:
                        if got.seq == i:
                            break
                except LookupError:  # no answer yet
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("the echo process stopped answering")
            if i > warmup:
                samples.append(now() - t0)
        with ping.loan() as frame:
            frame.seq = 0
        peer.wait(timeout=10)
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()
    samples.sort()
    return {
        "round trip p50 ns": samples[len(samples) // 2],
        "round trip p99 ns": samples[int(len(samples) * 0.99)],
        "round trips": len(samples),
    }


def ping_pong(round_trips: int, warmup: int) -> dict[str, float]:
    ping = shm_pub_sub.Publisher("bench/ping", 0)
    pong = shm_pub_sub.Subscriber("bench/pong", 0)
    peer = subprocess.Popen([sys.executable, __file__, ECHO], stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
        samples: list[int] = []
        now = time.perf_counter_ns
        deadline = time.monotonic() + 120
        for i in range(1, warmup + round_trips + 1):
            t0 = now()
            ping.publish(i)
            while True:
                value, _ok = pong.subscribe()
                if value == i:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError("the echo process stopped answering")
            if i > warmup:
                samples.append(now() - t0)
        ping.publish(-1)
        peer.wait(timeout=10)
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()
    samples.sort()
    return {
        "round trip p50 ns": samples[len(samples) // 2],
        "round trip p99 ns": samples[int(len(samples) * 0.99)],
        "round trips": len(samples),
    }


def waiter() -> None:
    """Waits with subscribe(timeout) for each value; prints the wake-up latencies (ns)."""
    sub = shm_pub_sub.Subscriber("bench/wake", 0)
    sub.subscribe()  # the value already there is not one to wait for
    print("ready", flush=True)
    latencies = []
    while True:
        value, ok = sub.subscribe(timeout=10)
        now = time.monotonic_ns()
        if not ok:
            raise TimeoutError("no value within 10 s")
        if value < 0:
            break
        latencies.append(now - sub.last_publish_time_ns)
    print(" ".join(map(str, latencies)), flush=True)


def async_waiter() -> None:
    """Awaits `recv()` on AWAITED subscribers in one event loop (all but the last wait for
    nothing); prints the wake-up latencies (ns) of the last one's values."""
    subs = [shm_pub_sub.Subscriber(f"bench/wake-async/{i}", 0) for i in range(AWAITED)]
    for sub in subs:
        sub.subscribe()
    latencies: list[int] = []

    async def main() -> None:
        idle = [asyncio.create_task(sub.recv()) for sub in subs[:-1]]
        await asyncio.sleep(0.1)
        print("ready", flush=True)
        last = subs[-1]
        while True:
            value = await last.recv(timeout=10)
            now = time.monotonic_ns()
            if value < 0:
                break
            latencies.append(now - last.last_publish_time_ns)
        for task in idle:
            task.cancel()
        await asyncio.gather(*idle, return_exceptions=True)

    asyncio.run(main())
    print(" ".join(map(str, latencies)), flush=True)


def wake_up(samples: int, topic: str = "bench/wake", waiter: str = WAITER) -> dict[str, float]:
    """Publishes `samples` values 1 ms apart, first to nobody, then to a process sleeping in
    subscribe(timeout) (or `waiter`); times each publish call, and collects the waiter's wake-up
    latencies."""
    pub = shm_pub_sub.Publisher(topic, 0)
    now = time.perf_counter_ns

    def publish_all() -> list[int]:
        costs = []
        for i in range(1, samples + 1):
            t0 = now()
            pub.publish(i)
            costs.append(now() - t0)
            time.sleep(0.001)
        return sorted(costs)

    alone = publish_all()
    peer = subprocess.Popen([sys.executable, __file__, waiter], stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
        time.sleep(0.05)
        woken = publish_all()
        pub.publish(-1)
        latencies = sorted(int(x) for x in peer.stdout.readline().split())
        peer.wait(timeout=10)
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()
    pick = lambda xs, q: xs[min(len(xs) - 1, int(len(xs) * q))]  # noqa: E731
    return {
        "wake-up p50 ns": pick(latencies, 0.5),
        "wake-up p99 ns": pick(latencies, 0.99),
        "publish, no subscriber, p50 ns": pick(alone, 0.5),
        "publish, 1 sleeping subscriber, p50 ns": pick(woken, 0.5),
        "samples": len(latencies),
    }


def replier() -> None:
    """The other end of the exchange: waits for each request, replies at once; prints its
    wake-up latencies (ns)."""
    requests = shm_pub_sub.Subscriber("bench/request", 0)
    replies = shm_pub_sub.Publisher("bench/reply", 0)
    print("ready", flush=True)
    latencies = []
    while True:
        value, ok = requests.subscribe(timeout=10)
        now = time.monotonic_ns()
        if not ok:
            raise TimeoutError("no request within 10 s")
        replies.publish(value)
        if value < 0:
            break
        latencies.append(now - requests.last_publish_time_ns)
    print(" ".join(map(str, latencies)), flush=True)


def exchange(samples: int) -> dict[str, float]:
    """A request every 1 ms, after which this process waits for the reply itself (both sides
    sleep in subscribe(timeout)): the replier's and the requester's wake-up latencies."""
    requests = shm_pub_sub.Publisher("bench/request", 0)
    replies = shm_pub_sub.Subscriber("bench/reply", 0)
    peer = subprocess.Popen([sys.executable, __file__, REPLIER], stdout=subprocess.PIPE, text=True)
    mine = []
    try:
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
        time.sleep(0.05)
        next_tick = time.monotonic()
        for i in range(1, samples + 1):
            next_tick += 0.001
            time.sleep(max(0.0, next_tick - time.monotonic()))
            requests.publish(i)
            value, ok = replies.subscribe(timeout=10)
            now = time.monotonic_ns()
            if not ok or value != i:
                raise TimeoutError(f"no reply to request {i}")
            mine.append(now - replies.last_publish_time_ns)
        requests.publish(-1)
        theirs = sorted(int(x) for x in peer.stdout.readline().split())
        peer.wait(timeout=10)
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()
    requests.close()
    os.unlink(requests.path)
    replies.close()
    mine.sort()
    pick = lambda xs, q: xs[min(len(xs) - 1, int(len(xs) * q))]  # noqa: E731
    return {
        "replier wake-up p50 ns": pick(theirs, 0.5),
        "replier wake-up p99 ns": pick(theirs, 0.99),
        "requester wake-up p50 ns": pick(mine, 0.5),
        "requester wake-up p99 ns": pick(mine, 0.99),
        "samples": len(mine),
    }


def server() -> None:
    """The other end of the service calls: answers each request with its value."""
    srv = shm_pub_sub.Server("bench/svc", 0, 0)
    print("ready", flush=True)
    try:
        srv.serve(lambda x: x)
    except KeyboardInterrupt:
        pass


def service_calls(calls: int) -> dict[str, float]:
    """`Client.call(x)` round trips to a server in another Python process, back to back (both
    sides block: each wait spins 20 µs before it sleeps)."""
    peer = subprocess.Popen([sys.executable, __file__, SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
        client = shm_pub_sub.Client("bench/svc", 0, 0)
        times = []
        for i in range(calls // 10 + calls):
            start = time.perf_counter_ns()
            if client.call(i, timeout=10.0) != i:
                raise ValueError(f"wrong reply to {i}")
            if i >= calls // 10:
                times.append(time.perf_counter_ns() - start)
    finally:
        peer.send_signal(signal.SIGINT)
        try:
            peer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            peer.kill()
            peer.wait()
    times.sort()
    pick = lambda xs, q: xs[min(len(xs) - 1, int(len(xs) * q))]  # noqa: E731
    return {"call p50 ns": pick(times, 0.5), "call p99 ns": pick(times, 0.99), "calls": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    calls, repeats, trips = (20_000, 5, 2_000) if args.quick else (1_000_000, 15, 50_000)

    with tempfile.TemporaryDirectory(prefix="shm-bench-", dir="/dev/shm") as root:
        os.environ["SHM_ROOT"] = root
        costs = call_costs(calls, repeats)
        large = large_values(repeats)
        latency = ping_pong(trips, warmup=trips // 10)
        lent = lend_ping_pong(trips // 10, warmup=trips // 100)
        wake = wake_up(200 if args.quick else 2000)
        # Topics that exist but stay silent while the waiter awaits them.
        silent = [shm_pub_sub.Publisher(f"bench/wake-async/{i}", 0) for i in range(AWAITED - 1)]
        awaited = wake_up(200 if args.quick else 2000, f"bench/wake-async/{AWAITED - 1}", ASYNC_WAITER)
        del silent
        swap = exchange(200 if args.quick else 2000)
        service = service_calls(500 if args.quick else 20_000)

    bare = costs["bare call id(x)"]
    print(
        f"shm_pub_sub {shm_pub_sub.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; medians of {repeats} x {calls} calls"
    )
    print(f"{'per call':<32}{'ns':>9}{'x bare call':>13}")
    for name, ns in costs.items():
        print(f"{name:<32}{ns:>9.1f}{ns / bare:>13.2f}")
    print("\nlarge values: publish(numpy array) and subscribe_into(numpy array), next to np.copyto")
    for label in ("1 MiB", "6 MiB"):
        copy = large[f"{label} copy"]
        for name in ("copy", "publish", "read", "slice publish"):
            if f"{label} {name}" not in large:
                continue
            ns = large[f"{label} {name}"]
            print(f"{label + ' ' + name:<32}{ns / 1000:>9.1f} µs{ns / copy:>9.2f}x copy")
    print(f"\ncross-process ping-pong (two Python processes, busy-polling, {latency['round trips']} round trips)")
    print(f"{'round trip p50':<32}{latency['round trip p50 ns'] / 1000:>9.2f} µs")
    print(f"{'round trip p99':<32}{latency['round trip p99 ns'] / 1000:>9.2f} µs")
    ratio = lent["round trip p50 ns"] / latency["round trip p50 ns"]
    print(
        f"\n6 MiB frames, lending topic: loan() there, borrow() back ({lent['round trips']} round trips, "
        f"busy-polling borrow())"
    )
    print(f"{'round trip p50':<32}{lent['round trip p50 ns'] / 1000:>9.2f} µs{ratio:>9.2f}x the 8-byte one")
    print(f"{'round trip p99':<32}{lent['round trip p99 ns'] / 1000:>9.2f} µs")
    print(f"\nblocking wait: subscribe(timeout) in another Python process, {wake['samples']} values 1 ms apart")
    print(f"{'wake-up p50':<40}{wake['wake-up p50 ns'] / 1000:>9.2f} µs")
    print(f"{'wake-up p99':<40}{wake['wake-up p99 ns'] / 1000:>9.2f} µs")
    print(f"{'publish, no subscriber (p50)':<40}{wake['publish, no subscriber, p50 ns']:>9.0f} ns")
    print(f"{'publish, 1 sleeping subscriber (p50)':<40}{wake['publish, 1 sleeping subscriber, p50 ns']:>9.0f} ns")
    print(f"\nasyncio: await recv() on {AWAITED} subscribers in one event loop (one waiting thread)")
    for q in ("p50", "p99"):
        ns = awaited[f"wake-up {q} ns"]
        print(f"{'wake-up ' + q:<40}{ns / 1000:>9.2f} µs{ns / wake[f'wake-up {q} ns']:>9.2f}x subscribe(timeout)")
    one_way = wake["wake-up p50 ns"]
    print(
        f"\nrequest/reply exchange, both processes waiting in subscribe(timeout), {swap['samples']} requests 1 ms apart"
    )
    for who in ("replier", "requester"):
        p50, p99 = swap[f"{who} wake-up p50 ns"], swap[f"{who} wake-up p99 ns"]
        label = f"{who} wake-up p50 / p99"
        print(f"{label:<40}{p50 / 1000:>9.2f} / {p99 / 1000:.2f} µs  ({p50 / one_way:.2f}x one-way)")
    print(f"\nservice calls: Client.call(int) to a Server in another Python process, {service['calls']} calls")
    print(f"{'call p50 / p99':<40}{service['call p50 ns'] / 1000:>9.2f} / {service['call p99 ns'] / 1000:.2f} µs")
    if args.json:
        with open(args.json, "w") as f:
            results = {
                "per_call_ns": costs,
                "large_values_ns": large,
                "ping_pong": latency,
                "lend_ping_pong_6MiB": lent,
                "wake_up": wake,
                "asyncio_wake_up_of_100": awaited,
                "exchange": swap,
                "service_calls": service,
                "python": platform.python_version(),
            }
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    if sys.argv[1:] == [ECHO]:
        echo()
    elif sys.argv[1:] == [LEND_ECHO]:
        lend_echo()
    elif sys.argv[1:] == [WAITER]:
        waiter()
    elif sys.argv[1:] == [REPLIER]:
        replier()
    elif sys.argv[1:] == [ASYNC_WAITER]:
        async_waiter()
    elif sys.argv[1:] == [SERVER]:
        server()
    else:
        main()
