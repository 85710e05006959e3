"""Redis restarts mid-conversation: /healthz reports the deaf listener, every process resubscribes, and clients resync."""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import requests

from ..support import Peer, ServerProcess, Stack, free_port
from .conftest import with_admin

# Bounded: the whole test waits at most this long for any one recovery.
RESUBSCRIBE_WITHIN = 10.0


class PrivateRedis:
    """A redis-server of this test's own, so that stopping it disturbs nobody else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        import redis

        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def health(server: ServerProcess) -> tuple[int, dict]:
    response = requests.get(server.base_url + "/healthz", timeout=5)
    return response.status_code, response.json()


def listening(server: ServerProcess) -> bool:
    status, body = health(server)
    return status == 200 and body["listener"] == "ok"


def wait_until(condition, timeout: float, what: str) -> float:
    """Wait for condition(); return how long it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def test_redis_restart_is_reported_then_healed_and_missed_messages_resync(stack: Stack, tmp_path, peers,
                                                                          private_redis: PrivateRedis) -> None:
    if stack.database_url.startswith("sqlite"):
        pytest.skip("two processes need a shared database: set TEST_DATABASE_URL")
    shared = Stack(stack.name, stack.database_url, private_redis.url, stack.redis_prefix + "restart:")
    env = {"HEARTBEAT_INTERVAL": "1", "MESSAGE_QUEUE_PROBE_INTERVAL": "0.5", "MESSAGE_QUEUE_DEAF_AFTER": "2"}
    a = ServerProcess(shared, log_path=str(tmp_path / "a.log"), extra_env=env)
    assert a.cli("db", "upgrade").returncode == 0
    b = ServerProcess(shared, log_path=str(tmp_path / "b.log"), extra_env=env)
    a.start()
    b.start()
    try:
        world = with_admin(a)
        world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en"]})
        agent = world.agent(languages=["en"])
        agent_peer = Peer(b.base_url, "/agent").connect({"token": agent["token"]})
        visitor = world.visitor(world.client())
        peers += [agent_peer, visitor]
        first = visitor.call("message", {"client_id": "before", "text": "Hello, I have a question about DNS."})
        conversation_id = first["message"]["conversation_id"]
        assert agent_peer.call("accept", {"conversation_id": conversation_id})["ok"]
        assert visitor.call("message", {"client_id": "live", "text": "My domain does not resolve."})["ok"]
        seen = agent_peer.wait_for("message", lambda m: m.get("client_id") == "live")["seq"]
        for server in (a, b):
            wait_until(lambda server=server: listening(server), 5, "listener ok before the outage")

        private_redis.stop()
        # While Redis is away, messages in a conversation an agent handles are
        # still stored and acknowledged: nothing on that path needs Redis.
        during = [visitor.call("message", {"client_id": f"during-{n}", "text": f"Still waiting, attempt {n}."})
                  for n in range(3)]
        assert all(ack["ok"] for ack in during), during
        # Both processes notice that they hear nothing, and say so.
        for server in (a, b):
            wait_until(lambda server=server: health(server)[1]["listener"] == "deaf", 8, "healthz reports deafness")
            status, body = health(server)
            assert status == 503 and body["status"] == "degraded", body
        metrics = requests.get(a.base_url + "/metrics", timeout=5).text
        assert "chatserver_listener_deaf 1.0" in metrics

        private_redis.start()
        # Every process hears its own probe again within 10 s of Redis coming back.
        for server in (a, b):
            wait_until(lambda server=server: listening(server), RESUBSCRIBE_WITHIN, "resubscribed")
        assert "chatserver_listener_resubscriptions_total 0.0" not in requests.get(a.base_url + "/metrics").text
        # Live delivery across processes works again...
        assert visitor.call("message", {"client_id": "after", "text": "Is it fixed now?"})["ok"]
        agent_peer.wait_for("message", lambda m: m.get("client_id") == "after", timeout=RESUBSCRIBE_WITHIN)
        # ...and what the agent missed comes back from the database, in order, once each.
        missed = agent_peer.call("history", {"conversation_id": conversation_id, "after_seq": seen})["messages"]
        assert [m["client_id"] for m in missed] == ["during-0", "during-1", "during-2", "after"]
        assert [m["seq"] for m in missed] == list(range(seen + 1, seen + 5))
        for server in (a, b):
            assert server.process.poll() is None
    finally:
        a.stop()
        b.stop()
    for server in (a, b):
        assert "Traceback" not in server.read_log(), server.read_log()[-4000:]
