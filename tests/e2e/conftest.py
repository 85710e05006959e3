"""A real server per test module, with an admin and a helper to set up agents and clients."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from ..support import Api, ClientRecord, Peer, ServerProcess, Stack, identity_token, unique

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"


@dataclass
class World:
    """A running server plus shortcuts to populate it."""

    server: ServerProcess
    admin: Api

    @property
    def url(self) -> str:
        return self.server.base_url

    def agent(self, *, languages: list[str], teams: list[str] | None = None, capacity: int = 3,
              role: str = "agent") -> dict[str, Any]:
        email = f"{unique('agent')}@example.com"
        body = self.admin.ok("POST", "/api/admin/agents", {
            "email": email, "name": f"Agent {email[:10]}", "password": "agent-password-1",
            "languages": languages, "teams": teams or ["support"], "capacity": capacity, "role": role}, status=201)
        body["token"] = Api(self.url).login(email, "agent-password-1")
        return body

    def client(self, *, subscribed: bool = False) -> dict[str, Any]:
        body = self.admin.ok("POST", "/api/admin/clients", {
            "email": f"{unique('client')}@example.com", "name": f"Client {unique()}",
            "subscription_active_until": "2099-01-01T00:00:00Z" if subscribed else None}, status=201)
        body["identity"] = identity_token(body["personal_id"], body["email"])
        return ClientRecord(body)

    def visitor(self, client: dict[str, Any], **auth: Any) -> Peer:
        return Peer(self.url, "/visitor").connect({"identity": client["identity"], **auth})

    def agent_peer(self, agent: dict[str, Any]) -> Peer:
        return Peer(self.url, "/agent").connect({"token": agent["token"]})


def with_admin(server: ServerProcess) -> World:
    """Make sure the server's stack has the test admin; return the server with the admin signed in."""
    result = server.cli("create-admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    # A second server on the same stack finds the admin already there.
    assert result.returncode == 0 or "exists" in result.stderr, result.stderr
    admin = Api(server.base_url)
    admin.token = admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    return World(server, admin)


@contextmanager
def running_world(stack: Stack, log_dir: str, *, extra_env: dict[str, str] | None = None,
                  name: str = "server") -> Iterator[World]:
    """Start a server on stack with an admin; stop it afterwards and check its log has no stack trace."""
    server = ServerProcess(stack, log_path=f"{log_dir}/{name}.log",
                           extra_env={"HEARTBEAT_INTERVAL": "1", **(extra_env or {})})
    if not stack.database_url.startswith("sqlite"):
        result = server.cli("db", "upgrade")
        assert result.returncode == 0, result.stderr
    server.start()
    try:
        yield with_admin(server)
    finally:
        server.stop()
        # A server must never print a stack trace for bad input; genuine
        # failures show up here too.
        assert "Traceback" not in server.read_log(), server.read_log()[-5000:]


@pytest.fixture(scope="module")
def world(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(stack, str(tmp_path_factory.mktemp("logs"))) as started:
        yield started


def open_visitor(world: World, peers: list[Peer], *, subscribed: bool = False, client: dict | None = None,
                 **auth: Any) -> tuple[dict, Peer]:
    """Connect a visitor (a new client unless one is given); the peers fixture disconnects it."""
    client = client or world.client(subscribed=subscribed)
    peer = world.visitor(client, **auth)
    peers.append(peer)
    return client, peer


def open_agent(world: World, peers: list[Peer], **kwargs: Any) -> tuple[dict, Peer]:
    """Create and connect an agent; the peers fixture disconnects it."""
    agent = world.agent(**kwargs)
    peer = world.agent_peer(agent)
    peers.append(peer)
    return agent, peer
