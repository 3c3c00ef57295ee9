"""An action in Python: drives toward each goal's target (one thread per goal), publishing the
position every 20 ms step, stopping when a client cancels. Goals with a speed that is not
positive are rejected. The Rust `navigate_client` or `navigate_client.py` send it goals.

    python examples/python/actions/navigator.py [ACTION] [COUNT]
"""

import math
import sys
import threading
import time

import shm_pub_sub
from navigate_messages import NavigateFeedback, NavigateGoal, NavigateOutcome


def drive(goal: shm_pub_sub.ServerGoal) -> None:
    target, speed = goal.value.target.tolist(), goal.value.speed
    length = math.hypot(*target)
    total = math.ceil(length / speed)
    for step in range(1, total + 1):
        time.sleep(0.02)
        done = min(speed * step, length)
        position = [t * done / length for t in target]
        if goal.is_cancel_requested:
            print(f"goal {goal.id}: canceled at {position}", flush=True)
            goal.cancel(NavigateOutcome(position=position, steps=step))
            return
        goal.publish_feedback(NavigateFeedback(position=position, remaining=length - done))
    print(f"goal {goal.id}: reached {target} in {total} steps", flush=True)
    goal.succeed(NavigateOutcome(position=target, steps=total))


def main() -> None:
    action = sys.argv[1] if len(sys.argv) > 1 else "demo/navigate"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    # `accept` decides which goals run: the others are rejected (their clients raise
    # GoalRejectedError).
    server = shm_pub_sub.ActionServer(
        action, NavigateGoal(), NavigateFeedback(), NavigateOutcome(), accept=lambda g: g.speed > 0
    )
    print(f"serving action '{action}'", flush=True)
    threads: list[threading.Thread] = []
    try:
        while count == 0 or len(threads) < count:
            goal = server.receive(timeout=1.0)
            if goal is not None:
                print(f"goal {goal.id}: to {goal.value.target.tolist()} at {goal.value.speed} m/step", flush=True)
                threads.append(threading.Thread(target=drive, args=(goal,)))
                threads[-1].start()
    except KeyboardInterrupt:
        pass
    for thread in threads:
        thread.join()
    print(f"served {len(threads)} goal(s)", flush=True)


if __name__ == "__main__":
    main()
