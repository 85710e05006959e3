"""A flooding socket is slowed down with rate_limited acks; other sockets are not."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ..support import Stack, connect_error
from .conftest import World, running_world


@pytest.fixture(scope="module")
def limited(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    env = {"MESSAGE_RATE_BURST": "5", "MESSAGE_RATE_PER_SECOND": "2", "EVENT_RATE_BURST": "8",
           "EVENT_RATE_PER_SECOND": "4", "MAX_CONNECTIONS_PER_CLIENT": "3"}
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


def test_a_clients_tabs_share_its_allowance(limited: World, peers) -> None:
    client = limited.client()
    first, second = limited.visitor(client), limited.visitor(client)
    peers += [first, second]
    started = time.monotonic()
    acks = [tab.call("message", {"client_id": f"t{n}", "text": f"Hello from a tab, message {n}."})
            for n, tab in enumerate([first, second] * 4)]
    elapsed = time.monotonic() - started
    codes = ["ok" if ack["ok"] else ack["error"]["code"] for ack in acks]
    # Four from each tab is within each socket's burst of five: only the
    # client's shared bucket (five, plus two a second) refuses any.
    assert codes[:5] == ["ok"] * 5 and "rate_limited" in codes, codes
    assert codes.count("ok") <= 5 + int(2 * elapsed) + 1, (codes, elapsed)
    typing = [first.call("typing", {"typing": True}) for _ in range(6)] + \
             [second.call("typing", {"typing": True}) for _ in range(6)]
    assert sum(1 for ack in typing if not ack["ok"] and ack["error"]["code"] == "rate_limited") >= 4


def test_connections_per_client_are_capped_with_a_reason(limited: World, peers) -> None:
    client = limited.client()
    tabs = [limited.visitor(client) for _ in range(3)]
    peers += tabs
    refusal = connect_error(limited.url, "/visitor", {"identity": client["identity"]})
    assert refusal["code"] == "too_many_connections" and refusal["message"], refusal
    # Another client is not affected, and closing a tab frees its place.
    peers.append(limited.visitor(limited.client()))
    tabs[0].disconnect()
    time.sleep(0.3)
    again = limited.visitor(client)
    peers.append(again)
    assert again.call("history")["ok"]
