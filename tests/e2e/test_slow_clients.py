"""A client that stops reading is closed once its unsent packets pile up; the others carry on."""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests
import websocket

from ..support import Stack
from .conftest import World, running_world

SEND_QUEUE = 150


@pytest.fixture(scope="module")
def guarded(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(stack, str(tmp_path_factory.mktemp("logs")), extra_env={
            # Long pings: a stalled client that misses them is closed too, which is not what this tests.
            "MAX_SEND_QUEUE": str(SEND_QUEUE), "PING_INTERVAL": "300", "PING_TIMEOUT": "60"}) as world:
        world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en"]})
        yield world


class StalledAgent:
    """An agent's console on a phone that stops reading: raw Socket.IO over a websocket with a tiny buffer."""

    def __init__(self, url: str, token: str):
        self.ws = websocket.create_connection(
            url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=10,
            sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
        assert self.ws.recv().startswith("0")
        self.ws.send("40/agent," + json.dumps({"token": token}))
        self._read_until("40/agent,")

    def _read_until(self, prefix: str) -> str:
        while True:
            packet = self.ws.recv()
            if packet == "2":
                self.ws.send("3")
            elif packet.startswith(prefix):
                return packet

    def accept(self, conversation_id: int) -> dict:
        self.ws.send('42/agent,1["accept",' + json.dumps({"conversation_id": conversation_id}) + "]")
        return json.loads(self._read_until("43/agent,1")[len("43/agent,1"):])[0]

    def closed_by_server(self) -> bool:
        """Read what is buffered; True if the server ended the connection."""
        try:
            while True:
                if not self.ws.recv():
                    return True
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return True
        except websocket.WebSocketTimeoutException:
            return False


def slow_clients_closed(world: World) -> float:
    for line in requests.get(world.url + "/metrics", timeout=5).text.splitlines():
        if line.startswith("chatserver_slow_clients_closed_total "):
            return float(line.split()[1])
    raise AssertionError("no chatserver_slow_clients_closed_total in /metrics")


def test_a_stalled_client_is_closed_and_the_others_carry_on(guarded: World, peers) -> None:
    agent = guarded.agent(languages=["en"], capacity=5)
    visitor = guarded.visitor(guarded.client())
    peers.append(visitor)
    conversation_id = visitor.call("message", {"client_id": "m0", "text": "Hello, I need help with a big log file."})[
        "message"]["conversation_id"]
    stalled = StalledAgent(guarded.url, agent["token"])
    assert stalled.accept(conversation_id)["ok"]
    before = slow_clients_closed(guarded)

    # The stalled console stops reading; the visitor keeps writing long messages.
    text = "A line of my log file that the agent should see. " * 90
    number = 0
    while slow_clients_closed(guarded) == before:
        # The kernel's socket buffers take a few megabytes before the server's queue grows.
        for _ in range(49):
            number += 1
            visitor.client.emit("message", {"client_id": f"m{number}", "text": text[:4900]}, namespace="/visitor")
        number += 1
        ack = visitor.call("message", {"client_id": f"m{number}", "text": text[:4900]})
        assert ack["ok"], ack  # the writer is never slowed down by the stalled reader
        assert number < 4000, "the stalled client was never closed"
    stalled.ws.settimeout(10)
    assert stalled.closed_by_server()
    # Nothing was lost: a console that comes back resyncs from the database.
    back = guarded.agent_peer(agent)
    peers.append(back)
    history = back.call("history", {"conversation_id": conversation_id})["messages"]
    assert len([m for m in history if m["sender"] == "visitor"]) == number + 1
