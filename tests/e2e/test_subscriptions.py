"""Subscriptions set by admins and by a billing system's signed webhook re-tier queued conversations."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest

from ..support import Api, Peer, Stack
from .conftest import World, open_agent, open_visitor, running_world

SECRET = "subscription-webhook-secret-for-tests"


@pytest.fixture(scope="module")
def world(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(stack, str(tmp_path_factory.mktemp("logs")),
                       extra_env={"SUBSCRIPTION_WEBHOOK_SECRET": SECRET}) as started:
        yield started


def post(world: World, body: bytes, *, secret: str = SECRET, signature: str | None = None):
    signature = signature or "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return Api(world.url).request("POST", "/api/webhooks/subscription", data=body, headers={
        "Content-Type": "application/json", "X-Chatserver-Signature": signature})


def ids(queue: dict) -> list[int]:
    return [conversation["id"] for conversation in queue["conversations"]]


def test_signed_webhook_sets_the_subscription_and_re_tiers_the_queue(world: World, peers: list[Peer]) -> None:
    _, agent = open_agent(world, peers, languages=["en"])
    client, visitor = open_visitor(world, peers)
    _, earlier = open_visitor(world, peers)
    earlier_id = earlier.call("message", {"client_id": "m1", "text": "How do I change my password?"}
                              )["message"]["conversation_id"]
    conversation_id = visitor.call("message", {"client_id": "m1", "text": "Please cancel my last order"}
                                   )["message"]["conversation_id"]
    agent.wait_for("queue", lambda q: [c["id"] for c in q["conversations"]][-2:] == [earlier_id, conversation_id])

    body = json.dumps({"event_id": "sub-evt-1", "personal_id": client["personal_id"],
                       "subscription_active_until": "2099-06-01T00:00:00Z"}).encode()
    applied = post(world, body)
    assert applied.status_code == 200 and applied.json()["status"] == "applied", applied.text
    assert applied.json()["subscription_active"] is True
    visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["priority"] == "subscribed")
    agent.wait_for("queue", lambda q: ids(q).count(conversation_id) == 1 and ids(q).count(earlier_id) == 1
                   and ids(q).index(conversation_id) < ids(q).index(earlier_id))
    assert post(world, body).json()["status"] == "duplicate"

    # The admin REST endpoint ends it again; the conversation goes back to standard.
    ended = world.admin.ok("PUT", f"/api/admin/clients/{client['personal_id']}/subscription",
                           {"subscription_active_until": None})
    assert ended["subscription_active"] is False
    visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["priority"] == "standard")


def test_webhook_signature_and_body_are_checked(world: World) -> None:
    client = world.client()
    body = json.dumps({"personal_id": client["personal_id"],
                       "subscription_active_until": "2099-06-01T00:00:00Z"}).encode()
    for response in (post(world, body, secret="wrong-secret"), post(world, body, signature="sha256="),
                     post(world, body, signature="md5=abc"),
                     Api(world.url).request("POST", "/api/webhooks/subscription", data=body)):
        assert response.status_code == 401 and response.json()["error"]["code"] == "bad_signature", response.text
    clients = world.admin.ok("GET", "/api/admin/clients")["clients"]
    assert next(c for c in clients if c["personal_id"] == client["personal_id"])["subscription_active"] is False
    for bad in (b"not json", b"[]", json.dumps({"personal_id": client["personal_id"]}).encode(),
                json.dumps({"personal_id": client["personal_id"], "subscription_active_until": "soon"}).encode(),
                json.dumps({"personal_id": client["personal_id"],
                            "subscription_active_until": "2099-06-01T00:00:00"}).encode()):
        response = post(world, bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid", response.text
    unknown = post(world, json.dumps({"personal_id": "C-NOTTHERE", "subscription_active_until": None}).encode())
    assert unknown.status_code == 404
