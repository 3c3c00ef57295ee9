"""A separate Python process for the multi-process tests.

    helper.py publish TYPE TOPIC [BUFFER_NUM]  publish values read from stdin (Python literals),
                                               printing "ready" then "published <seq>" per value
    helper.py subscribe TYPE TOPIC COUNT       print "subscribed", then "<seq> <repr(value)>" per
                                               new value, until COUNT values (10 s timeout)
    helper.py wait TYPE TOPIC COUNT TIMEOUT    COUNT times: print "waiting", then
                                               subscribe(timeout=TIMEOUT) and print
                                               "got <seq> <repr(value)> <missed>" or
                                               "nothing <repr(value)> <publisher_alive>"; then "done".
                                               Ctrl-C prints "interrupted" and exits 0.

    helper.py burst TYPE TOPIC BUFFER_NUM     for each count read from stdin, publish that many values
                                               (1, 2, ...) as fast as it can, then print "published <seq>"
    helper.py creator TYPE                     for each topic name read from stdin: create it,
                                               publish 1 (True, 1.0), print "published <name>"
    helper.py waitset TYPE TIMEOUT TOPIC...    one WaitSet over the topics' subscribers: print
                                               "waiting", then per event "<kind> <index>" (a value:
                                               "value <index> <repr(value)>"), or "timeout";
                                               forever. Ctrl-C prints "interrupted" and exits 0.

    helper.py serve TYPE SERVICE MODE [QUEUE]  a Server(SERVICE, default, default): print "ready",
                                               then per request "got <repr(value)>" and answer
                                               (MODE square: x*x; hang: never, holding it; drop: never, dropping it;
                                               slow: x*x after 0.3 s); stdin EOF ends it.

TYPE is bool, int or float (the type of the default value). Errors print
"error <ExceptionClass> <message>" and exit with status 3.
"""

import ast
import sys
import time

import shm_pub_sub

DEFAULTS = {"bool": False, "int": 0, "float": 0.0}


def publish(kind: str, topic: str, buffer_num: str = "3") -> None:
    pub = shm_pub_sub.Publisher(topic, DEFAULTS[kind], int(buffer_num))
    print("ready", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line:
            pub.publish(ast.literal_eval(line) if line not in ("inf", "-inf", "nan") else float(line))
            print(f"published {pub.last_seq}", flush=True)


def subscribe(kind: str, topic: str, count: str) -> None:
    sub = shm_pub_sub.Subscriber(topic, DEFAULTS[kind])
    print("subscribed", flush=True)
    deadline = time.monotonic() + 10
    last = None
    received = 0
    while received < int(count):
        value, ok = sub.subscribe()
        if ok and sub.last_seq != last:
            last = sub.last_seq
            print(f"{last} {value!r}", flush=True)
            received += 1
        elif time.monotonic() > deadline:
            print("timeout", flush=True)
            sys.exit(1)
        else:
            time.sleep(0.0001)


def wait(kind: str, topic: str, count: str, timeout: str) -> None:
    sub = shm_pub_sub.Subscriber(topic, DEFAULTS[kind])
    print("subscribed", flush=True)
    try:
        for _ in range(int(count)):
            print("waiting", flush=True)
            value, ok = sub.subscribe(timeout=float(timeout))
            if ok:
                print(f"got {sub.last_seq} {value!r} {sub.missed}", flush=True)
            else:
                print(f"nothing {value!r} {sub.publisher_alive}", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return
    print("done", flush=True)


def burst(kind: str, topic: str, buffer_num: str) -> None:
    pub = shm_pub_sub.Publisher(topic, DEFAULTS[kind], int(buffer_num))
    print("ready", flush=True)
    n = 0
    for line in sys.stdin:
        for _ in range(int(line)):
            n += 1
            pub.publish(type(DEFAULTS[kind])(n))
        print(f"published {pub.last_seq}", flush=True)


def creator(kind: str) -> None:
    keep = []
    print("ready", flush=True)
    for line in sys.stdin:
        name = line.strip()
        pub = shm_pub_sub.Publisher(name, DEFAULTS[kind])
        pub.publish(type(DEFAULTS[kind])(1))
        keep.append(pub)
        print(f"published {name}", flush=True)


def waitset(kind: str, timeout: str, *topics: str) -> None:
    subs = [shm_pub_sub.Subscriber(t, DEFAULTS[kind]) for t in topics]
    ws = shm_pub_sub.WaitSet()
    for sub in subs:
        ws.attach(sub)
    print("subscribed", flush=True)
    try:
        while True:
            print("waiting", flush=True)
            events = ws.wait(float(timeout))
            if not events:
                print("timeout", flush=True)
            for event in events:
                i = subs.index(event.subscriber)
                if event.kind == "value":
                    value, _ = event.subscriber.subscribe()
                    print(f"value {i} {value!r}", flush=True)
                else:
                    print(f"{event.kind} {i}", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)


def serve(kind: str, service: str, mode: str, queue: str = "64") -> None:
    import threading

    server = shm_pub_sub.Server(service, DEFAULTS[kind], DEFAULTS[kind], queue=int(queue))
    ended = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), ended.set()), daemon=True).start()
    print("ready", flush=True)
    held = []
    while not ended.is_set():
        request = server.receive(timeout=0.05)
        if request is None:
            continue
        print(f"got {request.value!r}", flush=True)
        if mode == "hang":
            held.append(request)
            continue
        if mode == "drop":
            del request  # unanswered: its client gets NoReplyError
            continue
        if mode == "slow":
            time.sleep(0.3)
        request.reply(request.value * request.value)


def serve_set(kind: str, square: str, double: str, topic: str) -> None:
    """Two services and a topic served by one thread on one WaitSet, until stdin closes."""
    import threading

    ws = shm_pub_sub.WaitSet()
    ws.on(shm_pub_sub.Server(square, DEFAULTS[kind], DEFAULTS[kind]), lambda x: x * x)
    ws.on(shm_pub_sub.Server(double, DEFAULTS[kind], DEFAULTS[kind]), lambda x: 2 * x)
    ws.on(
        shm_pub_sub.Subscriber(topic, DEFAULTS[kind]),
        lambda v: print(f"value {v!r}", flush=True),
    )
    ended = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), ended.set()), daemon=True).start()
    ws.every(0.02, lambda: ended.is_set() and ws.stop())
    print("ready", flush=True)
    ws.spin()


def main() -> None:
    command, *args = sys.argv[1:]
    try:
        {
            "publish": publish,
            "subscribe": subscribe,
            "wait": wait,
            "creator": creator,
            "burst": burst,
            "waitset": waitset,
            "serve": serve,
            "serve_set": serve_set,
        }[command](*args)
    except Exception as e:  # reported to the test, which checks the class and message
        print(f"error {type(e).__name__} {e}", flush=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
