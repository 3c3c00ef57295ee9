"""Services from Python: a Python server and client in separate processes (tests/helper.py
serve), the exceptions of every way a call ends, scalars and messages, and asyncio. Rust ↔
Python in both roles is in test_examples.py (the path planner)."""

import asyncio
import os
import threading
import time

import pytest
import shm_pub_sub
from children import in_child_as
from shm_pub_sub import (
    CallTimeout,
    Client,
    Message,
    NoReplyError,
    NoServerError,
    SchemaMismatchError,
    Server,
    ServerBusyError,
    ServerGoneError,
    f64,
)

NOBODY = 65534


@pytest.fixture
def service(topic: str) -> str:
    return f"{topic}/svc"


def test_a_scalar_service_squares_across_processes(service, py_helper):
    server = py_helper("serve", "int", service, "square", stdin=True)
    server.expect("ready")
    client = Client(service, 0, 0)
    assert client.call(7, timeout=10.0) == 49
    assert server.expect("got") == "got 7"
    pending = [client.send(x) for x in (1, 2, 3)]
    assert [p.wait(timeout=5.0) for p in reversed(pending)] == [9, 4, 1]
    assert Client(service, 0, 0).call(-12, timeout=5.0) == 144


def test_without_a_server_a_call_raises_no_server_error(service):
    client = Client(service, 0, 0)
    with pytest.raises(NoServerError, match=f"no server runs for service '{service}'"):
        client.call(1, timeout=10.0)
    assert issubclass(NoServerError, ConnectionError)


def test_a_call_times_out_and_its_late_reply_goes_nowhere(service, py_helper):
    server = py_helper("serve", "int", service, "slow", stdin=True)
    server.expect("ready")
    client = Client(service, 0, 0)
    with pytest.raises(CallTimeout) as info:
        client.call(3, timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    server.expect("got 3")
    assert client.call(4, timeout=5.0) == 16


def test_a_server_killed_mid_call_raises_server_gone_error(service, py_helper):
    server = py_helper("serve", "int", service, "hang", stdin=True)
    server.expect("ready")
    client = Client(service, 0, 0)
    pending = client.send(5)
    server.expect("got 5")
    server.kill()
    started = time.monotonic()
    with pytest.raises(ServerGoneError, match="exited before it answered"):
        pending.wait(timeout=10.0)
    assert time.monotonic() - started < 5.0


def test_a_full_queue_raises_server_busy_error(service, py_helper):
    server = py_helper("serve", "int", service, "hang", "1", stdin=True)
    server.expect("ready")
    client = Client(service, 0, 0)
    held = client.send(1)
    server.expect("got 1")
    with pytest.raises(ServerBusyError, match="holds as many requests as it may"):
        client.call(2, timeout=5.0)
    del held


def test_a_client_of_other_types_raises_schema_mismatch_error(service, py_helper):
    server = py_helper("serve", "int", service, "square", stdin=True)
    server.expect("ready")
    with pytest.raises(SchemaMismatchError, match="field `request`: `i64` in the topic, `f64` here"):
        Client(service, 0.0, 0).call(1.0, timeout=10.0)


def test_values_are_checked_before_anything_is_sent(service):
    server = Server(service, 0, 0)
    client = Client(service, 0, 0)
    with pytest.raises(TypeError, match="never rounded"):
        client.call(1.5)
    with pytest.raises(TypeError, match="one type"):
        Client(service, None, 0)
    assert server.receive(timeout=0.01) is None


class Point(Message):
    x: f64
    y: f64


def test_a_server_in_this_process_serves_messages_and_sees_who_calls(service):
    server = Server(service, Point(), 0.0)
    seen = []

    def serve() -> None:
        request = server.receive(timeout=10.0)
        seen.append(request.client)
        request.reply((request.value.x**2 + request.value.y**2) ** 0.5)
        server.serve(lambda p: p.x + p.y, count=1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = Client(service, Point(), 0.0)
    assert client.call(Point(x=3.0, y=4.0), timeout=10.0) == 5.0
    assert client.call({"x": 1.5, "y": 2.0}, timeout=10.0) == 3.5
    thread.join(timeout=10.0)
    assert not thread.is_alive()
    assert seen[0].pid == __import__("os").getpid()
    assert repr(server).startswith(f"Server('{service}', request=Point")
    server.close()
    with pytest.raises((NoServerError, ServerGoneError)):
        client.call(Point(), timeout=1.0)


def test_call_async_awaits_several_calls_at_once(service, py_helper):
    server = py_helper("serve", "int", service, "square", stdin=True)
    server.expect("ready")
    client = Client(service, 0, 0)

    async def main() -> list:
        return await asyncio.gather(*(client.call_async(x, timeout=5.0) for x in range(6)))

    assert asyncio.run(main()) == [0, 1, 4, 9, 16, 25]


def test_exceptions_are_exported():
    for name in (
        "CallTimeout",
        "ServerGoneError",
        "NoServerError",
        "ServerBusyError",
        "BadRequestError",
        "NoReplyError",
    ):
        assert name in shm_pub_sub.__all__


def test_receive_with_no_time_still_sees_a_request_that_came(service, py_helper):
    server = Server(service, 0, 0)
    assert server.receive(timeout=0) is None
    caller = py_helper("serve", "int", service, "square", stdin=True)  # noqa: F841 (another service user)
    client = Client(service, 0, 0)
    pending = client.send(6)
    deadline = time.monotonic() + 10
    request = None
    while request is None:
        assert time.monotonic() < deadline, "receive(timeout=0) never saw the request"
        request = server.receive(timeout=0)
    request.reply(request.value * 2)
    assert pending.wait(timeout=10.0) == 12


def test_a_request_dropped_unanswered_raises_no_reply_error(service, py_helper):
    server = py_helper("serve", "int", service, "drop", stdin=True)
    server.expect("ready")
    with pytest.raises(NoReplyError, match="without answering"):
        Client(service, 0, 0).call(1, timeout=10.0)


def test_a_cancelled_async_call_is_given_up_and_frees_its_place(service, py_helper):
    server = py_helper("serve", "int", service, "hang", stdin=True)
    server.expect("ready")
    client = Client(service, 0, 0)

    async def cancelled(x: int) -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.call_async(x, timeout=60.0), 0.1)

    started = time.monotonic()
    for x in range(8):  # as many as the server holds of one client
        asyncio.run(cancelled(x))
        server.expect(f"got {x}")
    # asyncio.run waits for the executor: each cancelled call ended within a step, not 60 s.
    assert time.monotonic() - started < 30.0
    # The client waits for none of them: its next call is sent, and the server (which holds
    # 8 of this client's) answers it Busy.
    with pytest.raises(ServerBusyError, match="the server of service"):
        client.call(8, timeout=10.0)


def test_close_from_another_thread_ends_serve(service):
    server = Server(service, 0, 0)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(server.serve(lambda x: x)), daemon=True)
    thread.start()
    time.sleep(0.1)
    server.close()
    thread.join(timeout=10.0)
    assert result == [0]
    assert "closed" in repr(server)


def test_one_thread_serves_two_services_and_a_topic_on_a_wait_set(service, py_helper):
    square, double, topic = f"{service}/square", f"{service}/double", f"{service}/values"
    server = py_helper("serve_set", "int", square, double, topic, stdin=True)
    server.expect("ready")
    squares, doubles = Client(square, 0, 0), Client(double, 0, 0)
    for x in range(1, 50):
        assert squares.call(x, timeout=10.0) == x * x
        assert doubles.call(x, timeout=10.0) == 2 * x
    pending = [(x, squares.send(x), doubles.send(x)) for x in (7, 8, 9)]
    for x, s, d in pending:
        assert (s.wait(timeout=10.0), d.wait(timeout=10.0)) == (x * x, 2 * x)
    shm_pub_sub.Publisher(topic, 0).publish(5)
    assert server.expect("value") == "value 5"


def test_pending_calls_on_a_wait_set_report_their_end(service, py_helper):
    server = py_helper("serve", "int", service, "slow", stdin=True)
    server.expect("ready")
    client = Client(service, 0, 0)
    calls = {client.send(x): x for x in (2, 3)}
    ws = shm_pub_sub.WaitSet()
    ids = {ws.attach(c): c for c in calls}
    assert len(ws) == 2
    # The server takes 300 ms per request: nothing ended yet.
    assert ws.wait(timeout=0.1) == []
    assert all(c.try_wait() is None and not c.done for c in calls)
    replies = {}
    deadline = time.monotonic() + 10.0
    while len(replies) < 2 and time.monotonic() < deadline:
        for event in ws.wait(timeout=10.0):
            assert event.kind == "reply"
            assert event.source is ids[event.attachment]
            assert event.source not in replies, "a call reported twice"
            replies[event.source] = event.source.try_wait()
            assert event.source.done
    assert {calls[c]: v for c, v in replies.items()} == {2: 4, 3: 9}
    # Calls that are over are detached.
    assert ws.wait(timeout=0.05) == []
    assert len(ws) == 0


def test_a_pending_call_on_a_wait_set_ends_when_its_server_is_killed(service, py_helper):
    server = py_helper("serve", "int", service, "hang", stdin=True)
    server.expect("ready")
    call = Client(service, 0, 0).send(4)
    server.expect("got 4")
    ws = shm_pub_sub.WaitSet()
    ws.attach(call)
    server.kill()
    events = ws.wait(timeout=10.0)
    assert [(e.kind, e.source) for e in events] == [("reply", call)]
    with pytest.raises(ServerGoneError):
        call.try_wait()
    with pytest.raises(RuntimeError, match="over already"):
        ws.attach(call)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
def test_a_server_admits_another_user_whose_client_trusts_it(service, shm_root):
    """Across users: a server that admits a user serves that user's client (which trusts the
    server's user with ``owner=``); a client of a user it does not admit, and one that does
    not trust the server's user, get a PermissionError and send nothing."""
    os.chmod(shm_root, 0o1777)  # like /dev/shm: every user may create files
    owner = os.geteuid()
    server = Server(service, 0, 0, admit_users=[NOBODY])
    served: list = []
    thread = threading.Thread(target=lambda: served.append(server.serve(lambda x: x * x, count=2)), daemon=True)
    thread.start()

    def call(trusted):
        def action():
            client = Client(service, 0, 0) if trusted is None else Client(service, 0, 0, owner=trusted)
            return client.call(7, timeout=5.0)

        return action

    assert in_child_as(NOBODY, call(owner)) == "ok 49"
    assert in_child_as(NOBODY, call(owner)) == "ok 49"
    refused = in_child_as(NOBODY - 1, call(owner))
    assert refused.startswith("PermissionError") and "does not admit this one" in refused, refused
    untrusted = in_child_as(NOBODY, call(None))
    assert untrusted.startswith("PermissionError") and f"owner={owner}" in untrusted, untrusted
    thread.join(timeout=10.0)
    assert served == [2]
    server.close()
