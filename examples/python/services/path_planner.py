"""A service in Python: plans straight paths for whoever asks (the Rust `plan_client` or
`plan_client.py`), says who asked, and stops on Ctrl-C.

    python examples/python/services/path_planner.py [SERVICE] [COUNT]
"""

import math
import sys

import shm_pub_sub
from plan_messages import Plan, PlanRequest


def plan(request: PlanRequest) -> Plan:
    length = math.dist(request.start, request.goal)
    return Plan(length=length, steps=math.ceil(length / 0.5), reachable=length <= 100.0)


def main() -> None:
    service = sys.argv[1] if len(sys.argv) > 1 else "demo/plan"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    server = shm_pub_sub.Server(service, PlanRequest(), Plan())
    print(f"serving '{service}'", flush=True)
    served = 0
    try:
        # `server.serve(plan)` is the whole loop when nothing else is to be done; this one
        # also says who asked.
        while count == 0 or served < count:
            request = server.receive(timeout=1.0)
            if request is None:
                continue
            reply = plan(request.value)
            who = request.client
            print(
                f"#{request.seq} from pid {who.pid if who else '?'}: {reply.length:.2f} m, {reply.steps} steps",
                flush=True,
            )
            request.reply(reply)
            served += 1
    except KeyboardInterrupt:
        pass
    print(f"served {served} request(s)", flush=True)


if __name__ == "__main__":
    main()
