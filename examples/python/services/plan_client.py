"""Calls the path planner (the Rust `path_planner` or `path_planner.py`) once, blocking, then
three times at once with asyncio, and prints the plans.

    python examples/python/services/plan_client.py [SERVICE] [X] [Y]
"""

import asyncio
import sys

import shm_pub_sub
from plan_messages import Plan, PlanRequest


async def several(client: shm_pub_sub.Client) -> list:
    goals = [(1.0, 0.0), (0.0, 2.0), (6.0, 8.0)]
    return await asyncio.gather(*(client.call_async(PlanRequest(goal=g), timeout=1.0) for g in goals))


def main() -> None:
    service = sys.argv[1] if len(sys.argv) > 1 else "demo/plan"
    goal = (float(sys.argv[2]), float(sys.argv[3])) if len(sys.argv) > 3 else (3.0, 4.0)
    client = shm_pub_sub.Client(service, PlanRequest(), Plan())
    try:
        plan = client.call(PlanRequest(start=(0.0, 0.0), goal=goal), timeout=1.0)
    except shm_pub_sub.NoServerError as e:
        print(f"plan_client: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"plan to {list(goal)}: {plan.length:.2f} m in {plan.steps} steps", flush=True)
    for p in asyncio.run(several(client)):
        print(f"async plan: {p.length:.2f} m in {p.steps} steps", flush=True)


if __name__ == "__main__":
    main()
