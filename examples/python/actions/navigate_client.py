"""Sends the navigator action (the Rust `navigator` or `navigator.py`) one goal and follows it:
prints each position, optionally cancels after some of them, and prints how the goal ended.

    python examples/python/actions/navigate_client.py [ACTION] [X] [Y] [CANCEL_AFTER]
"""

import sys

import shm_pub_sub
from navigate_messages import NavigateFeedback, NavigateGoal, NavigateOutcome


def main() -> None:
    action = sys.argv[1] if len(sys.argv) > 1 else "demo/navigate"
    target = (float(sys.argv[2]), float(sys.argv[3])) if len(sys.argv) > 3 else (3.0, 4.0)
    cancel_after = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    client = shm_pub_sub.ActionClient(action, NavigateGoal(), NavigateFeedback(), NavigateOutcome())
    handle = client.send_goal(NavigateGoal(target=target, speed=0.5), timeout=1.0)
    print(f"goal {handle.id} accepted", flush=True)
    seen = 0
    while (feedback := handle.feedback(timeout=5.0)) is not None:
        seen += 1
        x, y = feedback.position
        print(f"at [{x:.2f}, {y:.2f}], {feedback.remaining:.2f} m to go", flush=True)
        if seen == cancel_after:
            print(f"cancel asked: {handle.cancel()}", flush=True)
    status, outcome = handle.result(timeout=5.0)
    if outcome is None:
        print(f"{status} (the server is gone)", flush=True)
    else:
        x, y = outcome.position
        print(f"{status} at [{x:.2f}, {y:.2f}] after {outcome.steps} steps", flush=True)


if __name__ == "__main__":
    main()
