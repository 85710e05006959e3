"""A flooding socket is slowed down with rate_limited acks; other sockets are not."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ..support import Stack
from .conftest import World, running_world


@pytest.fixture(scope="module")
def limited(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    env = {"MESSAGE_RATE_BURST": "5", "MESSAGE_RATE_PER_SECOND": "2", "EVENT_RATE_BURST": "8",
           "EVENT_RATE_PER_SECOND": "4"}
    with running_world(stack, str(tmp_path_factory.mktemp("logs")), extra_env=env) as world:
        world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en"]})
        yield world


def test_a_flood_is_refused_past_the_burst_and_allowed_again_later(limited: World, peers) -> None:
    flooder, neighbour = limited.visitor(limited.client()), limited.visitor(limited.client())
    peers += [flooder, neighbour]
    acks = [flooder.call("message", {"client_id": f"f{n}", "text": f"Hello, flood message number {n}."})
            for n in range(12)]
    codes = ["ok" if ack["ok"] else ack["error"]["code"] for ack in acks]
    assert codes[:5] == ["ok"] * 5
    assert codes.count("rate_limited") >= 5
    stored = flooder.call("history")["messages"]
    assert len(stored) == codes.count("ok")  # refused messages are not stored

    # The neighbour is unaffected, and the flooder recovers after a pause.
    assert neighbour.call("message", {"client_id": "n1", "text": "Hello, I have a normal question."})["ok"]
    time.sleep(1.1)
    assert flooder.call("message", {"client_id": "later", "text": "Hello again, after a pause."})["ok"]


def test_unknown_and_other_events_count_too(limited: World, peers) -> None:
    visitor = limited.visitor(limited.client())
    peers.append(visitor)
    codes = [visitor.call("no_such_event")["error"]["code"] for _ in range(12)]
    assert codes[:8] == ["unknown_event"] * 8 and "rate_limited" in codes
