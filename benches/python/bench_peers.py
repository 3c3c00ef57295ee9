#!/usr/bin/env python3
"""shm_pub_sub next to the Python peers a user would pick instead, measured side by side in one
run (a benchmark, not a test):

- cross-process round trip: one process sends an 8-byte integer, another sends it back, the
  first waits for it; median and p99 over thousands of round trips (the two processes pinned
  to different CPUs);
- per-call cost of writing and reading a value, next to a bare C-function call (`id(x)`)
  measured in the same loop.

Peers: multiprocessing.shared_memory + struct (hand-rolled, no consistency at all),
multiprocessing.Pipe and Queue, iceoryx2, pyzmq (ipc) and faster-fifo. Peers that are not
installed are reported and skipped; `make bench` installs them into its own environment
(`.venv-bench`), never into the library's.

    python benches/python/bench_peers.py [--quick] [--json out.json] [--png out.png]
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import json
import multiprocessing as mp
import os
import platform
import statistics
import struct
import tempfile
import time
from typing import Any, Callable

import bench_pubsub  # this directory: the per-call timing shared by both scripts

STOP = -1
PACK = struct.Struct("q")


# ------------------------------------------------------------------------------------------
# The echo side of each peer: runs in a child process (multiprocessing, spawn), returns every
# value it receives until STOP. Module-level functions, so that spawn can pickle them.
# ------------------------------------------------------------------------------------------


def echo_shm(root: str, blocking: bool, timestamps: str, ready) -> None:
    os.environ["SHM_ROOT"] = root
    import shm_pub_sub

    ping = shm_pub_sub.Subscriber("bench/ping", 0)
    pong = shm_pub_sub.Publisher("bench/pong", 0, timestamps=timestamps)
    ready.set()
    last = 0
    while True:
        if blocking:
            value, ok = ping.subscribe(timeout=60)
        else:
            value, ok = ping.subscribe()
        if ok and value != last:
            last = value
            pong.publish(value)
            if value == STOP:
                return


def echo_shared_memory(name: str, ready) -> None:
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(name=name)
    buf = shm.buf
    unpack, pack = PACK.unpack_from, PACK.pack_into
    ready.set()
    last = 0
    try:
        while True:
            (value,) = unpack(buf, 0)
            if value != last:
                last = value
                pack(buf, 8, value)
                if value == STOP:
                    return
    finally:
        del buf
        shm.close()


def echo_pipe(conn, ready) -> None:
    ready.set()
    while True:
        value = conn.recv()
        conn.send(value)
        if value == STOP:
            return


def echo_queue(ping, pong, ready) -> None:
    ready.set()
    while True:
        value = ping.get()
        pong.put(value)
        if value == STOP:
            return


def echo_zmq(address: str, ready) -> None:
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.PAIR)
    sock.connect(address)
    ready.set()
    try:
        while True:
            data = sock.recv()
            sock.send(data)
            if PACK.unpack(data)[0] == STOP:
                return
    finally:
        sock.close(linger=0)
        ctx.term()


def _iox2_ports(node, iox2, receive_on: str, send_on: str):
    def service(name: str):
        return node.service_builder(iox2.ServiceName.new(name)).publish_subscribe(ctypes.c_int64).open_or_create()

    sub = service(receive_on).subscriber_builder().create()
    pub = service(send_on).publisher_builder().create()
    return pub, sub


def _iox2_send(pub, value: int) -> None:
    sample = pub.loan_uninit()
    sample = sample.write_payload(ctypes.c_int64(value))
    sample.send()


def echo_iceoryx2(prefix: str, ready) -> None:
    import iceoryx2 as iox2

    iox2.set_log_level(iox2.LogLevel.Error)
    node = iox2.NodeBuilder.new().create(iox2.ServiceType.Ipc)
    pub, sub = _iox2_ports(node, iox2, prefix + "/ping", prefix + "/pong")
    ready.set()
    while True:
        sample = sub.receive()
        if sample is None:
            continue
        value = sample.payload().contents.value
        del sample
        _iox2_send(pub, value)
        if value == STOP:
            return


# ------------------------------------------------------------------------------------------
# The measuring side.
# ------------------------------------------------------------------------------------------


def pin(cpu: int) -> None:
    """Keeps this process on one CPU, when there are two or more: the two sides of a round trip
    then never share a CPU (where a busy-polling peer would wait for the scheduler)."""
    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass


def pinned_child(target, args, ready) -> None:
    pin(1)
    target(*args, ready)


def spawn(target, *args) -> Any:
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=pinned_child, args=(target, args, ready), daemon=True)
    proc.start()
    if not ready.wait(60):
        proc.kill()
        raise RuntimeError(f"{target.__name__}: the echo process did not start")
    return proc


def round_trips(one: Callable[[int], None], count: int, warmup: int, budget_s: float) -> list[int]:
    """Times `one(i)` (send i, wait for it back) `count` times after `warmup`, within a budget."""
    now = time.perf_counter_ns
    samples: list[int] = []
    deadline = time.monotonic() + budget_s
    for i in range(1, warmup + count + 1):
        t0 = now()
        one(i)
        if i > warmup:
            samples.append(now() - t0)
            if time.monotonic() > deadline and len(samples) >= 100:
                break
    return samples


def per_call_ns(loops: dict[str, Callable[[int], None]], calls: int, repeats: int) -> dict[str, float]:
    """bench_pubsub's per-call timing (loops taking turns within each repeat), with the bare
    `id(x)` call (`"bare"`) among the loops, so that every cost has its reference alongside."""
    return bench_pubsub.per_call_ns({"bare": bench_pubsub.bare_call, **loops}, calls, repeats)


class Result:
    def __init__(self, name: str, mode: str) -> None:
        self.name = name
        self.mode = mode
        self.samples: list[int] = []
        self.per_call: dict[str, float] = {}

    def summary(self) -> dict[str, Any]:
        s = sorted(self.samples)
        return {
            "mode": self.mode,
            "round_trips": len(s),
            "round_trip_p50_ns": s[len(s) // 2],
            "round_trip_p99_ns": s[min(len(s) - 1, int(len(s) * 0.99))],
            "per_call_ns": self.per_call,
        }


def bench_shm(cfg, blocking: bool, timestamps: str = "precise") -> Result:
    import shm_pub_sub

    if blocking:
        res = Result("shm_pub_sub (subscribe(timeout))", "blocking wait")
    elif timestamps == "coarse":
        res = Result("shm_pub_sub (timestamps='coarse')", "busy-poll")
    else:
        res = Result("shm_pub_sub", "busy-poll")
    shm_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="shm-peers-", dir=shm_dir) as root:
        os.environ["SHM_ROOT"] = root
        ping = shm_pub_sub.Publisher("bench/ping", 0, timestamps=timestamps)
        pong = shm_pub_sub.Subscriber("bench/pong", 0)
        proc = spawn(echo_shm, root, blocking, timestamps)
        try:

            def one(i: int) -> None:
                ping.publish(i)
                while True:
                    if blocking:
                        value, _ = pong.subscribe(timeout=60)
                    else:
                        value, _ = pong.subscribe()
                    if value == i:
                        return

            res.samples = round_trips(one, cfg.busy_trips, cfg.busy_trips // 10, cfg.budget)
            ping.publish(STOP)
            proc.join(10)
        finally:
            if proc.is_alive():
                proc.kill()
        if not blocking:
            sub = shm_pub_sub.Subscriber("bench/ping", 0)

            def write(n: int, f=ping.publish, x=12345) -> None:
                for _ in range(n):
                    f(x)

            def read(n: int, f=sub.subscribe) -> None:
                for _ in range(n):
                    f()

            res.per_call = per_call_ns({"write": write, "read": read}, cfg.calls, cfg.repeats)
            ping.close()
            pong.close()
            sub.close()
    return res


def bench_shared_memory(cfg) -> Result:
    from multiprocessing import shared_memory

    res = Result("multiprocessing.shared_memory + struct", "busy-poll, no consistency")
    shm = shared_memory.SharedMemory(create=True, size=16)
    try:
        buf = shm.buf
        PACK.pack_into(buf, 0, 0)
        PACK.pack_into(buf, 8, 0)
        proc = spawn(echo_shared_memory, shm.name)
        try:
            unpack, pack = PACK.unpack_from, PACK.pack_into

            def one(i: int, buf=buf) -> None:
                pack(buf, 0, i)
                while unpack(buf, 8)[0] != i:
                    pass

            res.samples = round_trips(one, cfg.busy_trips, cfg.busy_trips // 10, cfg.budget)
            pack(buf, 0, STOP)
            proc.join(10)
        finally:
            if proc.is_alive():
                proc.kill()

        def write(n: int, f=PACK.pack_into, b=buf, x=12345) -> None:
            for _ in range(n):
                f(b, 0, x)

        def read(n: int, f=PACK.unpack_from, b=buf) -> None:
            for _ in range(n):
                f(b, 8)

        res.per_call = per_call_ns({"write": write, "read": read}, cfg.calls, cfg.repeats)
        del buf, write, read, one
    finally:
        shm.close()
        shm.unlink()
    return res


def bench_pipe(cfg) -> Result:
    res = Result("multiprocessing.Pipe", "blocking")
    ctx = mp.get_context("spawn")
    mine, theirs = ctx.Pipe()
    proc = spawn(echo_pipe, theirs)
    try:

        def one(i: int) -> None:
            mine.send(i)
            mine.recv()

        res.samples = round_trips(one, cfg.slow_trips, cfg.slow_trips // 10, cfg.budget)
        mine.send(STOP)
        mine.recv()
        proc.join(10)
    finally:
        if proc.is_alive():
            proc.kill()
    return res


def bench_queue(cfg, name: str, make: Callable[[], Any]) -> Result:
    res = Result(name, "blocking")
    ping, pong = make(), make()
    proc = spawn(echo_queue, ping, pong)
    try:

        def one(i: int) -> None:
            ping.put(i)
            pong.get()

        res.samples = round_trips(one, cfg.slow_trips, cfg.slow_trips // 10, cfg.budget)
        ping.put(STOP)
        pong.get()
        proc.join(10)
    finally:
        if proc.is_alive():
            proc.kill()
    return res


def bench_zmq(cfg) -> Result:
    import zmq

    res = Result("pyzmq (PAIR over ipc)", "blocking")
    with tempfile.TemporaryDirectory(prefix="shm-peers-zmq-") as d:
        address = f"ipc://{d}/sock"
        ctx = zmq.Context()
        sock = ctx.socket(zmq.PAIR)
        sock.bind(address)
        proc = spawn(echo_zmq, address)
        try:
            pack = PACK.pack

            def one(i: int) -> None:
                sock.send(pack(i))
                sock.recv()

            res.samples = round_trips(one, cfg.slow_trips, cfg.slow_trips // 10, cfg.budget)
            sock.send(pack(STOP))
            sock.recv()
            proc.join(10)
        finally:
            if proc.is_alive():
                proc.kill()
            sock.close(linger=0)
            ctx.term()
    return res


def bench_iceoryx2(cfg) -> Result:
    import iceoryx2 as iox2

    iox2.set_log_level(iox2.LogLevel.Error)
    res = Result("iceoryx2", "busy-poll")
    prefix = f"shm-peers/{os.getpid()}"
    node = iox2.NodeBuilder.new().create(iox2.ServiceType.Ipc)
    pub, sub = _iox2_ports(node, iox2, prefix + "/pong", prefix + "/ping")
    proc = spawn(echo_iceoryx2, prefix)
    try:

        def one(i: int, pub=pub, sub=sub) -> None:
            _iox2_send(pub, i)
            while True:
                sample = sub.receive()
                if sample is not None and sample.payload().contents.value == i:
                    return

        res.samples = round_trips(one, cfg.busy_trips // 4, cfg.busy_trips // 40, cfg.budget)
        _iox2_send(pub, STOP)
        proc.join(10)
    finally:
        if proc.is_alive():
            proc.kill()
    # Per call, in this process: a publisher and a subscriber of one more service. A publish
    # is timed in a loop (the subscriber's buffer overflows, as a latest-value reader lets it);
    # a receive that gets a sample is timed call by call, after an untimed publish, less the
    # cost of reading the clock twice.
    lpub, lsub = _iox2_ports(node, iox2, prefix + "/local", prefix + "/local")

    def write(n: int, f=_iox2_send, p=lpub) -> None:
        for _ in range(n):
            f(p, 12345)

    calls = max(1000, cfg.calls // 20)
    costs = per_call_ns({"write": write}, calls, cfg.repeats)
    now = time.perf_counter_ns
    receives, clock = [], []
    for _ in range(calls):
        _iox2_send(lpub, 1)
        while lsub.receive() is not None:
            pass
        _iox2_send(lpub, 2)
        t0 = now()
        sample = lsub.receive()
        t1 = now()
        t2 = now()
        receives.append(t1 - t0)
        clock.append(t2 - t1)
        del sample
    read_cost = max(0.0, statistics.median(receives) - statistics.median(clock))
    res.per_call = {"bare": costs["bare"], "write": costs["write"], "read": read_cost}
    del lpub, lsub, pub, sub, node
    return res


PEERS: list[tuple[str, tuple[str, ...], Callable[[Any], Result]]] = [
    ("shm_pub_sub", ("shm_pub_sub",), lambda cfg: bench_shm(cfg, blocking=False)),
    ("shm_pub_sub (timestamps='coarse')", ("shm_pub_sub",), lambda cfg: bench_shm(cfg, False, "coarse")),
    ("shm_pub_sub (subscribe(timeout))", ("shm_pub_sub",), lambda cfg: bench_shm(cfg, blocking=True)),
    ("multiprocessing.shared_memory + struct", (), bench_shared_memory),
    ("iceoryx2", ("iceoryx2",), bench_iceoryx2),
    ("multiprocessing.Pipe", (), bench_pipe),
    ("faster-fifo", ("faster_fifo",), lambda cfg: bench_queue(cfg, "faster-fifo", _faster_fifo_queue)),
    ("pyzmq (PAIR over ipc)", ("zmq",), bench_zmq),
    ("multiprocessing.Queue", (), lambda cfg: bench_queue(cfg, "multiprocessing.Queue", mp.get_context("spawn").Queue)),
]


def _faster_fifo_queue():
    import faster_fifo

    return faster_fifo.Queue(max_size_bytes=1 << 16)


def missing(modules: tuple[str, ...]) -> str | None:
    for m in modules:
        try:
            importlib.import_module(m)
        except Exception as e:  # reported as the reason the peer is skipped
            return f"{m} not importable ({type(e).__name__}: {e})"
    return None


def chart(results: dict[str, dict[str, Any]], bare: float, path: str, title: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        return f"matplotlib not importable ({e}); no chart"
    names = list(results)
    p50 = [results[n]["round_trip_p50_ns"] / 1000 for n in names]
    p99 = [results[n]["round_trip_p99_ns"] / 1000 for n in names]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.55 * len(names) + 2.2))
    ys = range(len(names))
    colors = ["#1f77b4" if n.startswith("shm_pub_sub") else "#999999" for n in names]
    ax1.barh(ys, p50, color=colors)
    ax1.scatter(p99, ys, color="black", marker="|", s=200, label="p99", zorder=3)
    ax1.set_yticks(list(ys), names)
    ax1.invert_yaxis()
    ax1.set_xscale("log")
    ax1.set_xlabel("cross-process round trip, µs (bar: p50, tick: p99; log scale)")
    for y, v in zip(ys, p50):
        ax1.text(v, y, f" {v:.2f}", va="center", fontsize=8)
    ax1.legend(loc="lower right")
    calls = [(n, results[n]["per_call_ns"]) for n in names if results[n]["per_call_ns"]]
    labels, writes, reads = [], [], []
    for n, pc in calls:
        labels.append(n)
        writes.append(pc["write"])
        reads.append(pc["read"])
    labels.append("bare call id(x)")
    writes.append(bare)
    reads.append(bare)
    del bare
    y2 = range(len(labels))
    ax2.barh([y - 0.2 for y in y2], writes, height=0.4, label="write (publish / pack_into / send)")
    ax2.barh([y + 0.2 for y in y2], reads, height=0.4, label="read (subscribe / unpack_from / receive)")
    ax2.set_yticks(list(y2), labels)
    ax2.invert_yaxis()
    ax2.set_xscale("log")
    ax2.set_xlabel("per call, ns (log scale)")
    ax2.legend(loc="lower right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--png", help="draw the chart to this file")
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    cfg = argparse.Namespace(
        rounds=rounds,
        busy_trips=(2_000 if args.quick else 30_000) // rounds,
        slow_trips=(300 if args.quick else 3_000) // rounds,
        calls=(20_000 if args.quick else 500_000) // rounds,
        repeats=3 if args.quick else 5,
        budget=(2.0 if args.quick else 6.0) / rounds,
    )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}"
    pin(0)
    bare = per_call_ns({}, cfg.calls, cfg.repeats)["bare"]
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    # Rounds: every peer runs once per round, in turn, and its samples are pooled, so that a
    # machine whose speed drifts during the run (a noisy VM) weighs on all peers alike.
    runs: dict[str, list[Result]] = {}
    for round_no in range(cfg.rounds):
        for name, modules, run in PEERS:
            if name in skipped:
                continue
            reason = missing(modules)
            if reason is None:
                try:
                    runs.setdefault(name, []).append(run(cfg))
                except Exception as e:  # a peer that fails is reported, the others still run
                    reason = f"failed: {type(e).__name__}: {e}"
            if reason is not None:
                skipped[name] = reason
                runs.pop(name, None)
                print(f"skipped {name}: {reason}", flush=True)
        print(f"round {round_no + 1} of {cfg.rounds} done", flush=True)
    for name, _, _ in PEERS:
        if name not in runs:
            continue
        pooled = Result(runs[name][0].name, runs[name][0].mode)
        for r in runs[name]:
            pooled.samples.extend(r.samples)
        if runs[name][0].per_call:
            pooled.per_call = {
                key: statistics.median(r.per_call[key] for r in runs[name]) for key in runs[name][0].per_call
            }
        results[name] = pooled.summary()

    print(f"\n{machine}; per call: ns, and in () multiples of a bare id(x) call timed alongside")
    print(f"{'peer':<40}{'mode':<27}{'p50 µs':>8}{'p99 µs':>8}{'write ns':>15}{'read ns':>15}{'vs shm p50':>11}")
    ours = results.get("shm_pub_sub", {}).get("round_trip_p50_ns")

    def cost(pc: dict[str, float], key: str) -> str:
        return f"{pc[key]:.0f} ({pc[key] / pc['bare']:.1f}x)" if pc else "-"

    for name, r in results.items():
        pc = r["per_call_ns"]
        ratio = f"{r['round_trip_p50_ns'] / ours:.1f}x" if ours else "-"
        print(
            f"{name:<40}{r['mode']:<27}{r['round_trip_p50_ns'] / 1000:>8.2f}{r['round_trip_p99_ns'] / 1000:>8.2f}"
            f"{cost(pc, 'write'):>15}{cost(pc, 'read'):>15}{ratio:>11}"
        )
    for name, reason in skipped.items():
        print(f"{name:<40}skipped: {reason}")

    targets = []
    if "shm_pub_sub" in results:
        ours_r = results["shm_pub_sub"]
        pc = ours_r["per_call_ns"]
        targets.append(("publish <= 3x bare call", pc["write"] / pc["bare"], pc["write"] / pc["bare"] <= 3))
        targets.append(("subscribe <= 4x bare call", pc["read"] / pc["bare"], pc["read"] / pc["bare"] <= 4))
        for peer, factor, label in [
            ("multiprocessing.shared_memory + struct", 1.0, "round trip <= shared_memory's"),
            ("iceoryx2", 10.0, "round trip >= 10x faster than iceoryx2"),
            ("multiprocessing.Pipe", 15.0, "round trip >= 15x faster than Pipe"),
        ]:
            if peer in results:
                x = results[peer]["round_trip_p50_ns"] / ours_r["round_trip_p50_ns"]
                targets.append((label, x, x >= factor))
        print("\ntargets (ratios from this run)")
        for label, value, ok in targets:
            print(f"  {'met   ' if ok else 'MISSED'} {label}: {value:.2f}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "machine": machine,
                    "bare_call_ns": bare,
                    "results": results,
                    "skipped": skipped,
                    "targets": [{"target": t, "value": v, "met": ok} for t, v, ok in targets],
                },
                f,
                indent=2,
            )
        print(f"wrote {args.json}")
    if args.png and results:
        problem = chart(results, bare, args.png, f"shm_pub_sub and its Python peers — {machine}")
        print(problem or f"wrote {args.png}")


if __name__ == "__main__":
    main()
