"""The 24-hour guarantee end to end, on a compressed clock: tier order, aging, warnings, breaches, refunds."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ..support import Peer, Stack
from .conftest import World, open_agent, open_visitor, running_world

WEBHOOK_SECRET = "sla-webhook-secret-for-tests"
# Standard tickets are due after 14.4 s and escalate after 2.9 s (the
# 20-of-24-hours share, scaled down); the warning comes 6 s before the deadline.
TIMINGS = {"FIRST_RESPONSE_HOURS": "0.004", "SLA_ESCALATION_HOURS": "0.0008", "SLA_WARNING_MINUTES": "0.1",
           "FIRST_RESPONSE_HOURS_SUBSCRIBED": "1", "SLA_CHECK_INTERVAL": "0.3",
           "HERE_AND_NOW_REFUND_MINUTES": "0.05"}


class Receiver:
    """A real HTTP server that records the webhooks it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.changed:
                    receiver.received.append((dict(self.headers), body))
                    receiver.changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/sla"

    def wait_for(self, predicate, timeout: float = 20) -> tuple[dict, bytes]:
        with self.changed:
            assert self.changed.wait_for(lambda: any(predicate(json.loads(b)) for _, b in self.received), timeout), \
                self.received
            return next((h, b) for h, b in self.received if predicate(json.loads(b)))


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.server.shutdown()


@pytest.fixture(scope="module")
def world(stack: Stack, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[World]:
    env = {**TIMINGS, "SLA_WEBHOOK_URL": receiver.url, "SLA_WEBHOOK_SECRET": WEBHOOK_SECRET}
    with running_world(stack, str(tmp_path_factory.mktemp("logs")), extra_env=env) as started:
        yield started


def queue_ids(queue: dict) -> list[int]:
    return [conversation["id"] for conversation in queue["conversations"]]


def test_aging_lifts_a_standard_ticket_past_a_fresher_subscribed_one_then_warns_and_records_the_breach(
        world: World, peers: list[Peer], receiver: Receiver) -> None:
    admin = Peer(world.url, "/agent").connect({"token": world.admin.token})
    peers.append(admin)
    _, agent = open_agent(world, peers, languages=["en"], teams=["support"])
    _, standard = open_visitor(world, peers)
    standard_id = standard.call("message", {"client_id": "m1", "text": "My invoice shows the wrong address"}
                                )["message"]["conversation_id"]
    _, subscribed = open_visitor(world, peers, subscribed=True)
    subscribed_id = subscribed.call("message", {"client_id": "m1", "text": "I cannot log in to my account"}
                                    )["message"]["conversation_id"]

    # Tier order first: the subscribed ticket is ahead although it came later.
    agent.wait_for("queue", lambda q: queue_ids(q)[:2] == [subscribed_id, standard_id], timeout=5)
    # At the escalation point the older standard ticket passes it.
    agent.wait_for("queue", lambda q: queue_ids(q)[:2] == [standard_id, subscribed_id], timeout=15)
    standard.wait_for("conversation", lambda c: c["id"] == standard_id and c["queue_position"] == 1)

    warning = admin.wait_for("sla_warning", lambda c: c["id"] == standard_id, timeout=20)
    assert warning["first_response_at"] is None and warning["sla_due_at"]
    headers, body = receiver.wait_for(lambda event: event["type"] == "sla_warning"
                                      and event["data"]["id"] == standard_id)
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Chatserver-Signature"] == expected

    breach = admin.wait_for("sla_breach", lambda c: c["id"] == standard_id, timeout=30)
    assert breach["sla_breached_at"] >= breach["sla_due_at"]
    breaches = world.admin.ok("GET", "/api/admin/sla/breaches")["breaches"]
    recorded = [entry for entry in breaches if entry["id"] == standard_id]
    assert len(recorded) == 1 and recorded[0]["sla_breached_at"] == breach["sla_breached_at"]
    # The subscribed ticket is due in an hour: no warning, no breach.
    assert all(entry["id"] != subscribed_id for entry in breaches)
    # Warned and breached once, however many checks ran since.
    assert sum(1 for name, data in admin.events if name == "sla_breach" and data["id"] == standard_id) == 1
    assert sum(1 for name, data in admin.events if name == "sla_warning" and data["id"] == standard_id) == 1


def test_here_and_now_without_a_specialist_in_time_is_flagged_for_refund(world: World, peers: list[Peer]) -> None:
    admin = Peer(world.url, "/agent").connect({"token": world.admin.token})
    peers.append(admin)
    open_agent(world, peers, languages=["en"], teams=["technical"])  # online, but never accepts
    _, visitor = open_visitor(world, peers)
    visitor.call("message", {"client_id": "m1", "text": "Our production database is down, please help"})
    offer = visitor.call("here_and_now")
    assert offer["ok"] is True and offer["payment"]["status"] == "pending", offer
    paid = world.admin.ok("POST", f"/api/payments/{offer['payment']['id']}/paid")["payment"]
    assert paid["status"] == "paid"
    refund = admin.wait_for("refund_due", lambda p: p["id"] == paid["id"], timeout=20)
    assert refund["refund_due_at"]
    owed = world.admin.ok("GET", "/api/admin/payments?status=refund_due")["payments"]
    assert [payment["id"] for payment in owed if payment["id"] == paid["id"]] == [paid["id"]]


def test_only_admins_hear_sla_events(world: World, peers: list[Peer]) -> None:
    _, agent = open_agent(world, peers, languages=["en"], teams=["support"])
    _, visitor = open_visitor(world, peers)
    visitor.call("message", {"client_id": "m1", "text": "Where can I download my receipts?"})
    admin = Peer(world.url, "/agent").connect({"token": world.admin.token})
    peers.append(admin)
    admin.wait_for("sla_warning", timeout=20)
    assert not [name for name, _ in agent.events if name in ("sla_warning", "sla_breach", "refund_due")]
