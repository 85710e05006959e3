"""Two server processes sharing PostgreSQL and Redis behave as one server."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from ..support import Api, ServerProcess, Stack
from .conftest import World, with_admin


@pytest.fixture(scope="module")
def pair(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, World]]:
    if stack.redis_url is None or stack.database_url.startswith("sqlite"):
        pytest.skip("several processes need the shared stack: set TEST_DATABASE_URL and TEST_REDIS_URL")
    logs = tmp_path_factory.mktemp("logs")
    first = ServerProcess(stack, log_path=str(logs / "a.log"), extra_env={"HEARTBEAT_INTERVAL": "1"})
    assert first.cli("db", "upgrade").returncode == 0
    second = ServerProcess(stack, log_path=str(logs / "b.log"), extra_env={"HEARTBEAT_INTERVAL": "1"})
    first.start()
    second.start()
    try:
        first_world = with_admin(first)
        yield first_world, World(second, Api(second.base_url, first_world.admin.token))
    finally:
        first.stop()
        second.stop()
        for server in (first, second):
            assert "Traceback" not in server.read_log(), server.read_log()[-3000:]


def test_visitor_on_one_process_reaches_agent_on_the_other(pair, peers) -> None:
    a, b = pair
    a.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de"]})
    agent = a.agent(languages=["de"])
    agent_peer = b.agent_peer(agent)
    client = a.client()
    visitor = a.visitor(client)
    peers += [agent_peer, visitor]

    ack = visitor.call("message", {"client_id": str(uuid.uuid4()), "text": "Guten Tag, ich habe eine Frage zu meiner Rechnung."})
    assert ack["ok"], ack
    conversation_id = ack["message"]["conversation_id"]
    agent_peer.wait_for("queue", lambda q: conversation_id in [c["id"] for c in q["conversations"]])

    accepted = agent_peer.call("accept", {"conversation_id": conversation_id})
    assert accepted["ok"], accepted
    visitor.wait_for("conversation", lambda c: c["state"] == "active" and c["agent"]["id"] == agent["id"])

    assert agent_peer.call("message", {"conversation_id": conversation_id, "client_id": "b-1", "text": "Hallo!"})["ok"]
    assert visitor.wait_for("message", lambda m: m["sender"] == "agent")["text"] == "Hallo!"
    assert visitor.call("message", {"client_id": "a-2", "text": "Danke, die Nummer ist 118."})["ok"]
    assert agent_peer.wait_for("message", lambda m: m.get("client_id") == "a-2")["text"] == "Danke, die Nummer ist 118."


def test_accept_races_across_processes_have_one_winner(pair, peers) -> None:
    a, b = pair
    a.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de"]})
    first, second = a.agent(languages=["en"], capacity=20), b.agent(languages=["en"], capacity=20)
    on_a, on_b = a.agent_peer(first), b.agent_peer(second)
    peers += [on_a, on_b]
    for _ in range(5):
        visitor = a.visitor(a.client())
        peers.append(visitor)
        ack = visitor.call("message", {"client_id": str(uuid.uuid4()), "text": "Hello, I need help with my order please."})
        conversation_id = ack["message"]["conversation_id"]
        on_b.wait_for("queue", lambda q: conversation_id in [c["id"] for c in q["conversations"]])
        barrier = threading.Barrier(2)
        results: list[dict] = []

        def accept(peer) -> None:
            barrier.wait()
            results.append(peer.call("accept", {"conversation_id": conversation_id}))

        threads = [threading.Thread(target=accept, args=(peer,)) for peer in (on_a, on_b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(result["ok"] for result in results) == [False, True], results
        assert [r["error"]["code"] for r in results if not r["ok"]] == ["taken"]


def test_idle_message_queue_listener_stays_subscribed(pair, peers) -> None:
    """redis-py's default 5 s read timeout must not cut the idle pub/sub listener (a reconnect loop that drops emits)."""
    import time

    a, b = pair
    a.admin.ok("PUT", "/api/admin/languages", {"languages": ["en"]})
    agent = a.agent(languages=["en"])
    agent_peer = b.agent_peer(agent)
    visitor = a.visitor(a.client())
    peers += [agent_peer, visitor]
    time.sleep(7)  # longer than redis-py's default socket_timeout, with nothing published
    ack = visitor.call("message", {"client_id": str(uuid.uuid4()), "text": "Hello, is anyone there to help me?"})
    conversation_id = ack["message"]["conversation_id"]
    agent_peer.wait_for("queue", lambda q: conversation_id in [c["id"] for c in q["conversations"]], timeout=3)
    for server in (a.server, b.server):
        assert "Cannot receive from redis" not in server.read_log()


def test_a_suspension_on_one_process_ends_sockets_on_the_other(pair, peers) -> None:
    import time

    from ..support import connect_error, identity_token

    a, b = pair
    client = a.client()
    on_a = a.visitor(client)
    peers.append(on_a)
    session = on_a.wait_for("identity")["session"]
    # A jti spent on one process is spent on the other too.
    token = identity_token(client["personal_id"], client["email"])
    first = a.visitor({"identity": token})
    peers.append(first)
    assert connect_error(b.url, "/visitor", {"identity": token})["code"] == "identity_replayed"
    # The admin suspends on the other process: the socket on this one is told and ended.
    b.admin.ok("PUT", f"/api/admin/clients/{client['personal_id']}/status", {"status": "suspended", "reason": "abuse"})
    assert on_a.wait_for("revoked")["code"] == "suspended"
    deadline = time.monotonic() + 5
    while (on_a.client.connected or first.client.connected) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not on_a.client.connected and not first.client.connected
    assert connect_error(a.url, "/visitor", {"session": session})["code"] == "suspended"
