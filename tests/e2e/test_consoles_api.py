"""What the consoles rely on, end to end over REST and Socket.IO: sign-in throttling, deactivation,
the away grace period, transfer, canned responses, client search, password resets and the audit log."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ..support import Api, Peer, Stack, unique
from .conftest import ADMIN_EMAIL, World, open_agent, open_visitor, running_world

GRACE_SECONDS = 2
MAX_FAILURES = 3


@pytest.fixture(scope="module")
def world(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    env = {"LOGIN_MAX_FAILURES": str(MAX_FAILURES), "AGENT_GRACE_SECONDS": str(GRACE_SECONDS)}
    with running_world(stack, str(tmp_path_factory.mktemp("logs")), extra_env=env) as started:
        yield started


def error_of(response: requests.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"], body
    return body["error"]["code"]


def say(peer: Peer, text: str) -> dict[str, Any]:
    ack = peer.call("message", {"client_id": str(uuid.uuid4()), "text": text})
    assert ack["ok"], ack
    return ack["message"]


def take(agent_peer: Peer, client: dict[str, Any]) -> dict[str, Any]:
    """Wait for the client's conversation in the agent's queue and accept it."""
    entry = None
    deadline = time.monotonic() + 10
    while entry is None and time.monotonic() < deadline:
        queue = agent_peer.call("queue")
        entry = next((c for c in queue["conversations"] if c["client"]["personal_id"] == client["personal_id"]), None)
        time.sleep(0.05 if entry is None else 0)
    assert entry is not None, "the conversation never reached the queue"
    ack = agent_peer.call("accept", {"conversation_id": entry["id"]})
    assert ack["ok"], ack
    return ack["conversation"]


def audit(world: World, action: str) -> list[dict[str, Any]]:
    return world.admin.ok("GET", f"/api/admin/audit?action={action}")["entries"]


def test_sign_ins_are_throttled_after_repeated_failures(world: World) -> None:
    agent = world.agent(languages=["en"])
    other = world.agent(languages=["en"])
    url = world.url + "/api/auth/login"
    for _ in range(MAX_FAILURES):
        wrong = requests.post(url, json={"email": agent["email"], "password": "wrong-password-1"}, timeout=10)
        assert error_of(wrong, 401) == "invalid_credentials"
    # Now even the right password is refused, with a reason; other accounts are untouched.
    right = requests.post(url, json={"email": agent["email"], "password": "agent-password-1"}, timeout=10)
    assert error_of(right, 429) == "too_many_attempts"
    Api(world.url).login(other["email"], "agent-password-1")
    # An unknown email is throttled the same way, so the refusal reveals nothing.
    ghost = f"{unique('ghost')}@example.com"
    codes = [error_of(requests.post(url, json={"email": ghost, "password": "x" * 12}, timeout=10), 401 if i < MAX_FAILURES else 429)
             for i in range(MAX_FAILURES + 1)]
    assert codes[-1] == "too_many_attempts"


def test_a_deactivated_agent_is_cut_off_and_their_conversations_requeued(world: World, peers: list[Peer]) -> None:
    agent, agent_peer = open_agent(world, peers, languages=["en"])
    client, visitor = open_visitor(world, peers)
    say(visitor, "Hello, my website shows a certificate warning since this morning.")
    conversation = take(agent_peer, client)

    body = world.admin.ok("PATCH", f"/api/admin/agents/{agent['id']}", {"active": False})
    assert body["active"] is False
    # The server closes the agent's socket.
    deadline = time.monotonic() + 10
    while agent_peer.client.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not agent_peer.client.connected
    # The visitor hears that the conversation waits again.
    visitor.wait_for("conversation", lambda c: c["id"] == conversation["id"] and c["state"] == "queued")
    visitor.wait_for("message", lambda m: m.get("event") == "conversation_requeued")
    # Tokens and sign-in stop working.
    assert error_of(Api(world.url, agent["token"]).request("GET", "/api/me"), 401) == "invalid_token"
    login = requests.post(world.url + "/api/auth/login", json={"email": agent["email"], "password": "agent-password-1"},
                          timeout=10)
    assert error_of(login, 403) == "deactivated"
    # Another agent can take it.
    _, colleague = open_agent(world, peers, languages=["en"])
    assert take(colleague, client)["id"] == conversation["id"]
    [entry] = [e for e in audit(world, "agent.deactivate") if e["target_id"] == str(agent["id"])]
    assert entry["details"] == {"active": {"from": True, "to": False}}

    # Reactivated, the agent signs in again.
    world.admin.ok("PATCH", f"/api/admin/agents/{agent['id']}", {"active": True})
    Api(world.url).login(agent["email"], "agent-password-1")


def test_an_admin_cannot_lock_themselves_out(world: World) -> None:
    me = world.admin.ok("GET", "/api/me")["agent"]
    for change in ({"active": False}, {"role": "agent"}):
        assert error_of(world.admin.request("PATCH", f"/api/admin/agents/{me['id']}", change), 403) == "forbidden"


def test_agents_are_edited_field_by_field_and_audited(world: World) -> None:
    agent = world.agent(languages=["en"])
    path = f"/api/admin/agents/{agent['id']}"
    body = world.admin.ok("PATCH", path, {"name": "Rita Renamed", "languages": ["en", "fr"], "teams": ["technical"],
                                          "capacity": 5, "role": "admin"})
    assert (body["name"], body["languages"], body["teams"], body["capacity"], body["role"]) == \
        ("Rita Renamed", ["en", "fr"], ["technical"], 5, "admin")
    for bad in ({"email": "x@example.com"}, {}, {"capacity": 0}, {"languages": ["xx"]}, {"role": "owner"},
                {"active": "no"}, {"teams": ["sales"]}):
        assert error_of(world.admin.request("PATCH", path, bad), 400) == "invalid", bad
    assert error_of(world.admin.request("PATCH", "/api/admin/agents/999999", {"capacity": 2}), 404) == "not_found"
    [entry] = [e for e in audit(world, "agent.update") if e["target_id"] == str(agent["id"])]
    assert entry["details"]["capacity"] == {"from": 3, "to": 5}
    assert entry["actor_type"] == "agent"


def test_a_password_reset_signs_the_agent_out_everywhere(world: World) -> None:
    agent = world.agent(languages=["en"])
    path = f"/api/admin/agents/{agent['id']}/password"
    assert error_of(world.admin.request("POST", path, {"password": "short"}), 400) == "invalid"
    world.admin.ok("POST", path, {"password": "a-new-password-2"})
    assert error_of(Api(world.url, agent["token"]).request("GET", "/api/me"), 401) == "invalid_token"
    Api(world.url).login(agent["email"], "a-new-password-2")
    [entry] = [e for e in audit(world, "agent.password_reset") if e["target_id"] == str(agent["id"])]
    assert "a-new-password-2" not in str(entry)
    # Agents cannot reset anyone's password.
    assert error_of(Api(world.url, world.agent(languages=["en"])["token"]).request("POST", path, {"password": "x" * 10}),
                    403) == "forbidden"


def test_transfer_to_an_agent_and_to_a_team(world: World, peers: list[Peer]) -> None:
    first, first_peer = open_agent(world, peers, languages=["en"], teams=["support", "technical"])
    second, second_peer = open_agent(world, peers, languages=["en"], teams=["support"])
    spanish, _ = open_agent(world, peers, languages=["es"], teams=["support"])
    client, visitor = open_visitor(world, peers)
    say(visitor, "Hello, I need help with the DNS records of my domain.")
    conversation = take(first_peer, client)
    cid = conversation["id"]

    def transfer(peer: Peer, **target: Any) -> dict[str, Any]:
        return peer.call("transfer", {"conversation_id": cid, **target})

    for bad, code in (({}, "invalid"), ({"to_agent_id": second["id"], "to_team": "technical"}, "invalid"),
                      ({"to_team": "sales"}, "invalid"), ({"to_agent_id": "2"}, "invalid"),
                      ({"to_agent_id": spanish["id"]}, "forbidden"), ({"to_agent_id": 999999}, "not_found"),
                      ({"to_agent_id": first["id"]}, "invalid")):
        ack = transfer(first_peer, **bad)
        assert not ack["ok"] and ack["error"]["code"] == code, (bad, ack)
    ack = transfer(second_peer, to_team="technical")
    assert not ack["ok"] and ack["error"]["code"] == "forbidden"

    ack = transfer(first_peer, to_agent_id=second["id"])
    assert ack["ok"] and ack["conversation"]["agent"]["id"] == second["id"], ack
    first_peer.wait_for("conversation", lambda c: c["id"] == cid and c["agent"]["id"] == second["id"])
    visitor.wait_for("message", lambda m: m.get("event") == "conversation_transferred")
    history = second_peer.call("history", {"conversation_id": cid})
    assert history["ok"] and history["conversation"]["agent"]["id"] == second["id"], history
    reply = second_peer.call("message", {"conversation_id": cid, "client_id": "t1", "text": "I am taking over."})
    assert reply["ok"], reply
    assert not first_peer.call("message", {"conversation_id": cid, "client_id": "t2", "text": "Still me?"})["ok"]

    # Back to a team's queue: the technical team now, where the first agent can take it again.
    ack = transfer(second_peer, to_team="technical")
    assert ack["ok"] and ack["conversation"]["state"] == "queued" and ack["conversation"]["team"] == "technical", ack
    visitor.wait_for("conversation", lambda c: c["id"] == cid and c["state"] == "queued" and c["team"] == "technical")
    assert all(c["id"] != cid for c in second_peer.call("queue")["conversations"])
    assert take(first_peer, client)["id"] == cid
    assert not transfer(second_peer, to_agent_id=first["id"])["ok"]


def test_an_away_agent_hands_back_unanswered_conversations_after_the_grace_period(
        world: World, peers: list[Peer]) -> None:
    agent, agent_peer = open_agent(world, peers, languages=["en"])
    answered_client, answered_visitor = open_visitor(world, peers)
    say(answered_visitor, "Hello, how do I add a second user to my account?")
    answered = take(agent_peer, answered_client)
    assert agent_peer.call("message", {"conversation_id": answered["id"], "client_id": "a1",
                                       "text": "Under Settings, then Team."})["ok"]
    waiting_client, waiting_visitor = open_visitor(world, peers)
    say(waiting_visitor, "Hello, my mailbox is full and I cannot receive mail.")
    waiting = take(agent_peer, waiting_client)

    assert agent_peer.call("status", {"status": "away"})["ok"]
    started = time.monotonic()
    waiting_visitor.wait_for("message", lambda m: m.get("event") == "conversation_requeued", timeout=GRACE_SECONDS + 10)
    # Not before the grace period is over.
    assert time.monotonic() - started >= GRACE_SECONDS - 0.5
    assert waiting_visitor.latest("conversation", lambda c: c["id"] == waiting["id"])["state"] == "queued"
    # The answered one stays with the agent, as a fresh connection's `assigned` shows.
    assigned = world.agent_peer(agent)
    peers.append(assigned)
    conversations = assigned.wait_for("assigned")["conversations"]
    assert [c["id"] for c in conversations] == [answered["id"]]


def test_an_agent_who_drops_off_hands_back_unanswered_conversations_after_the_grace_period(
        world: World, peers: list[Peer]) -> None:
    agent, agent_peer = open_agent(world, peers, languages=["en"])
    client, visitor = open_visitor(world, peers)
    say(visitor, "Hello, my invoice shows the wrong company address.")
    conversation = take(agent_peer, client)
    agent_peer.disconnect()  # the laptop lid closes
    visitor.wait_for("message", lambda m: m.get("event") == "conversation_requeued", timeout=GRACE_SECONDS + 10)
    assert visitor.latest("conversation", lambda c: c["id"] == conversation["id"])["state"] == "queued"


def test_canned_responses_are_managed_by_admins_and_filtered_for_agents(world: World) -> None:
    created = world.admin.ok("POST", "/api/admin/canned", {"name": "Hours", "text": "We answer around the clock.",
                                                           "team": "support", "language": "en"}, status=201)
    assert created["name"] == "hours"
    everyone = world.admin.ok("POST", "/api/admin/canned", {"name": "thanks", "text": "Thank you for waiting.",
                                                            "team": None, "language": None}, status=201)
    german = world.admin.ok("POST", "/api/admin/canned", {"name": "danke", "text": "Danke für Ihre Geduld.",
                                                          "team": None, "language": "de"}, status=201)
    for bad in ({"name": "two words", "text": "x"}, {"name": "ok", "text": ""}, {"name": "ok", "text": "x", "team": "sales"},
                {"name": "ok", "text": "x", "language": "xx"}, {"name": "", "text": "x"}, {"name": "ok", "text": "x" * 2001}):
        assert error_of(world.admin.request("POST", "/api/admin/canned", bad), 400) == "invalid", bad

    agent = world.agent(languages=["en"], teams=["support"])
    mine = Api(world.url, agent["token"]).ok("GET", "/api/canned")["canned"]
    names = {response["name"] for response in mine}
    assert {"hours", "thanks"} <= names and "danke" not in names
    assert error_of(Api(world.url, agent["token"]).request("POST", "/api/admin/canned",
                                                           {"name": "x", "text": "y"}), 403) == "forbidden"

    updated = world.admin.ok("PUT", f"/api/admin/canned/{created['id']}", {"name": "hours", "text": "Around the clock.",
                                                                           "team": None, "language": None})
    assert updated["text"] == "Around the clock." and updated["team"] is None
    assert world.admin.request("DELETE", f"/api/admin/canned/{german['id']}").status_code == 204
    assert error_of(world.admin.request("DELETE", f"/api/admin/canned/{german['id']}"), 404) == "not_found"
    assert {e["action"] for e in world.admin.ok("GET", "/api/admin/audit")["entries"]} >= {
        "canned.create", "canned.update", "canned.delete"}
    assert everyone["id"] in [r["id"] for r in world.admin.ok("GET", "/api/admin/canned")["canned"]]


def test_clients_are_found_by_email_or_personal_id(world: World) -> None:
    tag = unique("zed")
    client = world.admin.ok("POST", "/api/admin/clients", {"email": f"{tag}@example.com", "name": "Zed"}, status=201)
    by_email = world.admin.ok("GET", f"/api/admin/clients?q={tag.upper()}")["clients"]
    assert [c["personal_id"] for c in by_email] == [client["personal_id"]]
    by_id = world.admin.ok("GET", f"/api/admin/clients?q={client['personal_id'][2:].lower()}")["clients"]
    assert [c["personal_id"] for c in by_id] == [client["personal_id"]]
    # LIKE wildcards are matched literally.
    assert world.admin.ok("GET", "/api/admin/clients?q=%25")["clients"] == []
    assert world.admin.ok("GET", "/api/admin/clients?q=_")["clients"] == []
    [entry] = [e for e in audit(world, "client.create") if e["target_id"] == client["personal_id"]]
    assert entry["details"]["email"] == f"{tag}@example.com"
    world.admin.ok("PUT", f"/api/admin/clients/{client['personal_id']}/subscription",
                   {"subscription_active_until": "2030-01-01T00:00:00Z"})
    [entry] = [e for e in audit(world, "client.subscription") if e["target_id"] == client["personal_id"]]
    assert entry["details"]["source"] == "admin" and entry["details"]["to"].startswith("2030-01-01")


def test_the_overview_counts_the_queue_and_the_staffing(world: World, peers: list[Peer]) -> None:
    world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "it"]})
    try:
        client, visitor = open_visitor(world, peers)
        say(visitor, "Hello, I would like to cancel my subscription at the end of the month.")
        agent, _ = open_agent(world, peers, languages=["en"])
        overview = world.admin.ok("GET", "/api/admin/overview")
        assert overview["queued"] >= 1 and overview["queue_by_language"]["en"] >= 1
        assert overview["queue_by_team"]["support"] >= 1
        assert agent["id"] in [a["id"] for a in overview["agents_online"]]
        italian = next(row for row in overview["languages"] if row["code"] == "it")
        assert (italian["name"], italian["agents"], italian["online"]) == ("Italian", 0, 0)
        english = next(row for row in overview["languages"] if row["code"] == "en")
        assert english["online"] >= 1
        entries = audit(world, "languages.set")
        assert entries[0]["details"]["added"] == ["it"] and entries[0]["actor_type"] == "agent"
    finally:
        world.admin.ok("PUT", "/api/admin/languages", {"languages": ["en"]})
    assert error_of(world.admin.request("GET", "/api/admin/audit?limit=abc"), 400) == "invalid"


def test_admin_endpoints_refuse_agents(world: World) -> None:
    agent = Api(world.url, world.agent(languages=["en"])["token"])
    for method, path in (("GET", "/api/admin/overview"), ("GET", "/api/admin/audit"), ("GET", "/api/admin/canned"),
                         ("PATCH", "/api/admin/agents/1"), ("POST", "/api/admin/agents/1/password")):
        assert error_of(agent.request(method, path, {}), 403) == "forbidden", path
    assert error_of(requests.get(world.url + "/api/admin/overview", timeout=10), 401) == "unauthorized"
    assert ADMIN_EMAIL  # the fixture's admin did every change above
