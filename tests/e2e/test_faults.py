"""Faults with real processes: a server killed mid-conversation, and the database going away for a moment."""
from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy.engine import make_url

from ..browser.net import Link
from ..support import Peer, ServerProcess, Stack
from .conftest import with_admin


def shared_stack_only(stack: Stack) -> None:
    if stack.redis_url is None or stack.database_url.startswith("sqlite"):
        pytest.skip("faults across processes need the shared stack: set TEST_DATABASE_URL and TEST_REDIS_URL")


def start(stack: Stack, log_path: str, **env: str) -> ServerProcess:
    return ServerProcess(stack, log_path=log_path, extra_env={"HEARTBEAT_INTERVAL": "1", **env}).start()


def test_killed_process_loses_no_acknowledged_message(stack: Stack, tmp_path, peers) -> None:
    shared_stack_only(stack)
    first = ServerProcess(stack, log_path=str(tmp_path / "a.log"))
    assert first.cli("db", "upgrade").returncode == 0
    doomed = start(stack, str(tmp_path / "a.log"))
    survivor = start(stack, str(tmp_path / "b.log"))
    try:
        world = with_admin(survivor)
        world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en"]})
        agent = world.agent(languages=["en"])
        client = world.client()
        agent_peer = world.agent_peer(agent)
        visitor = Peer(doomed.base_url, "/visitor").connect({"identity": client["identity"]})
        peers += [agent_peer, visitor]

        acked = [visitor.call("message", {"client_id": f"before-{n}", "text": f"Hello, question number {n} about my server."})
                 for n in range(3)]
        assert all(ack["ok"] for ack in acked)
        conversation_id = acked[0]["message"]["conversation_id"]
        assert agent_peer.call("accept", {"conversation_id": conversation_id})["ok"]

        os.kill(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(10)
        # While the visitor is away, the agent answers on the surviving process.
        reply = agent_peer.call("message", {"conversation_id": conversation_id, "client_id": "during", "text": "I am here."})
        assert reply["ok"]

        # The visitor's widget reconnects (the load balancer sends it to the survivor) and resyncs.
        back = Peer(survivor.base_url, "/visitor").connect({"identity": client["identity"]})
        peers.append(back)
        last_seen = acked[-1]["message"]["seq"]
        missed = back.call("history", {"after_seq": last_seen})["messages"]
        assert [m["client_id"] for m in missed] == ["during"]
        everything = back.call("history")["messages"]
        assert [m["client_id"] for m in everything] == ["before-0", "before-1", "before-2", "during"]
        # Resending an acknowledged message on the other process stores nothing new.
        again = back.call("message", {"client_id": "before-2", "text": "Hello, question number 2 about my server."})
        assert again["ok"] and again["duplicate"] and again["message"]["id"] == acked[2]["message"]["id"]
        assert back.call("message", {"client_id": "after", "text": "Thanks, still there?"})["ok"]
        assert agent_peer.wait_for("message", lambda m: m.get("client_id") == "after")
    finally:
        survivor.stop()
        if doomed.process.poll() is None:
            doomed.stop()
    assert "Traceback" not in survivor.read_log()


def test_database_outage_gives_error_acks_and_recovers(stack: Stack, tmp_path, peers) -> None:
    shared_stack_only(stack)
    url = make_url(stack.database_url)
    link = Link()
    link.target = url.port or 5432
    through_link = Stack(stack.name, url.set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False),
                         stack.redis_url, stack.redis_prefix + "outage:")
    server = ServerProcess(through_link, log_path=str(tmp_path / "server.log"))
    assert server.cli("db", "upgrade").returncode == 0
    server.start()
    try:
        world = with_admin(server)
        admin = world.admin
        admin.ok("PUT", "/api/admin/languages", {"languages": ["en"]})
        client = world.client()
        visitor = world.visitor(client)
        peers.append(visitor)
        assert visitor.call("message", {"client_id": "one", "text": "Hello, I need help with my invoice."})["ok"]

        link.cut()
        failed = visitor.call("message", {"client_id": "two", "text": "Are you there? The page is slow."}, timeout=30)
        assert failed["ok"] is False and failed["error"]["code"] == "internal"
        assert "Traceback" not in str(failed)
        assert admin.request("GET", "/healthz").status_code == 503

        link.restore()
        deadline = time.monotonic() + 20
        while admin.request("GET", "/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        # The refused message was not stored: resending it stores it once.
        resent = visitor.call("message", {"client_id": "two", "text": "Are you there? The page is slow."})
        assert resent["ok"] and not resent["duplicate"], resent
        assert [m["client_id"] for m in visitor.call("history")["messages"]] == ["one", "two"]
        assert server.process.poll() is None
    finally:
        server.stop()
        link.close()


def test_processes_resubscribe_after_redis_drops_their_pubsub_connections(stack: Stack, tmp_path, peers) -> None:
    shared_stack_only(stack)
    import redis

    first = ServerProcess(stack, log_path=str(tmp_path / "a.log"))
    assert first.cli("db", "upgrade").returncode == 0
    a = start(stack, str(tmp_path / "a.log"))
    b = start(stack, str(tmp_path / "b.log"))
    try:
        world = with_admin(a)
        world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en"]})
        agent = world.agent(languages=["en"])
        agent_peer = Peer(b.base_url, "/agent").connect({"token": agent["token"]})
        visitor = world.visitor(world.client())
        peers += [agent_peer, visitor]
        conversation_id = visitor.call("message", {"client_id": "x1", "text": "Hello, I have a question about DNS."})["message"]["conversation_id"]
        assert agent_peer.call("accept", {"conversation_id": conversation_id})["ok"]

        killed = redis.Redis.from_url(stack.redis_url).client_kill_filter(_type="pubsub")
        assert killed >= 2  # at least one listener per server process
        # Every process resubscribes within 10 s: a visitor message on A reaches the agent on B again.
        deadline = time.monotonic() + 10
        delivered = False
        number = 0
        while not delivered and time.monotonic() < deadline:
            number += 1
            cid = f"after-{number}"
            assert visitor.call("message", {"client_id": cid, "text": f"Still there? Attempt {number}."})["ok"]
            try:
                agent_peer.wait_for("message", lambda m, cid=cid: m.get("client_id") == cid, timeout=1)
                delivered = True
            except AssertionError:
                pass
        assert delivered, "no process resubscribed within 10 s"
        # Whatever was emitted while a listener was away is in the database for a resync.
        stored = agent_peer.call("history", {"conversation_id": conversation_id})["messages"]
        assert [m["client_id"] for m in stored][-number:] == [f"after-{n}" for n in range(1, number + 1)]
    finally:
        a.stop()
        b.stop()
