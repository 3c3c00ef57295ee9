"""Actions from Python: goals accepted and rejected, feedback in order, cancel, several goals,
the status list, and a server killed mid-goal (a separate process). Python ↔ Rust in both roles
is in test_examples.py (the navigator)."""

import os
import sys
import threading
import time

import pytest
from children import in_child_as
from conftest import REPO
from shm_pub_sub import (
    ActionClient,
    ActionServer,
    GoalRejectedError,
    GoalStatus,
    SchemaMismatchError,
)

NOBODY = 65534


@pytest.fixture
def action(topic: str) -> str:
    return f"{topic}/act"


def count_to(goal) -> None:
    """Runs a goal: feedback 1..n every 5 ms, then succeed(n); canceled on request."""
    for i in range(1, goal.value + 1):
        time.sleep(0.005)
        if goal.is_cancel_requested:
            goal.cancel(i)
            return
        goal.publish_feedback(i)
    goal.succeed(goal.value)


def serve(server: ActionServer, goals: int) -> threading.Thread:
    def run() -> None:
        threads = []
        for _ in range(goals):
            goal = server.receive(timeout=10.0)
            assert goal is not None
            threads.append(threading.Thread(target=count_to, args=(goal,), daemon=True))
            threads[-1].start()
        for t in threads:
            t.join(timeout=10.0)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_goal_reports_feedback_in_order_then_succeeds(action):
    server = ActionServer(action, 0, 0, 0)
    thread = serve(server, 1)
    handle = ActionClient(action, 0, 0, 0).send_goal(5, timeout=10.0)
    feedback = []
    while (f := handle.feedback(timeout=10.0)) is not None:
        feedback.append(f)
    assert feedback == [1, 2, 3, 4, 5]
    status, outcome = handle.result(timeout=10.0)
    assert (status, outcome) == ("succeeded", 5)
    assert status is GoalStatus.SUCCEEDED
    thread.join(timeout=10.0)


def test_goals_are_rejected_by_accept_and_canceled_on_request(action):
    server = ActionServer(action, 0, 0, 0, accept=lambda n: n > 0)
    thread = serve(server, 1)
    client = ActionClient(action, 0, 0, 0)
    with pytest.raises(GoalRejectedError, match="rejected the goal"):
        client.send_goal(-1, timeout=10.0)
    handle = client.send_goal(100_000, timeout=10.0)
    assert handle.feedback(timeout=10.0) == 1
    assert handle.cancel(timeout=10.0) == "canceling"
    status, outcome = handle.result(timeout=10.0)
    assert status == "canceled" and 1 <= outcome < 100_000
    assert handle.status == "canceled"
    thread.join(timeout=10.0)


def test_several_goals_run_at_once_and_are_listed(action):
    server = ActionServer(action, 0, 0, 0)
    thread = serve(server, 3)
    client = ActionClient(action, 0, 0, 0)
    handles = [client.send_goal(n, timeout=10.0) for n in (30, 10, 20)]
    listed = dict(client.statuses())
    assert all(h.id in listed for h in handles), listed
    assert [h.result(timeout=10.0) for h in handles] == [("succeeded", n) for n in (30, 10, 20)]
    thread.join(timeout=10.0)


def test_a_client_of_other_types_is_refused(action):
    ActionServer(action, 0, 0, 0)
    with pytest.raises(SchemaMismatchError, match="goal"):
        ActionClient(action, 0.0, 0, 0).send_goal(1.0, timeout=10.0)


def test_a_server_killed_mid_goal_ends_it_aborted(action, spawn):
    navigator = REPO / "examples" / "python" / "actions" / "navigator.py"
    server = spawn([sys.executable, navigator, action])
    assert server.expect_line(timeout=30) == f"serving action '{action}'"
    sys.path.insert(0, str(navigator.parent))
    try:
        from navigate_messages import NavigateFeedback, NavigateGoal, NavigateOutcome
    finally:
        sys.path.pop(0)
    client = ActionClient(action, NavigateGoal(), NavigateFeedback(), NavigateOutcome())
    handle = client.send_goal(NavigateGoal(target=(100.0, 0.0), speed=0.5), timeout=10.0)
    assert handle.feedback(timeout=10.0) is not None
    server.kill()
    while handle.feedback(timeout=10.0) is not None:
        pass
    assert handle.result(timeout=10.0) == ("aborted", None)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
def test_an_admitted_user_sends_a_goal_and_follows_it(action, shm_root):
    """Across users: an action server that admits a user runs that user's goal; the user's
    client (trusting the server's user with ``owner=``) reads its feedback and result."""
    os.chmod(shm_root, 0o1777)
    server = ActionServer(action, 0, 0, 0, admit_users=[NOBODY])
    thread = serve(server, 1)

    def send() -> tuple:
        handle = ActionClient(action, 0, 0, 0, owner=0).send_goal(3, timeout=10.0)
        feedback = []
        while (f := handle.feedback(timeout=10.0)) is not None:
            feedback.append(f)
        status, outcome = handle.result(timeout=10.0)
        return feedback, str(status), outcome

    assert in_child_as(NOBODY, send) == "ok ([1, 2, 3], 'succeeded', 3)"
    thread.join(timeout=10.0)
    server.close()
