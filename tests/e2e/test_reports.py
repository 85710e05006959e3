"""Ratings and the admins' reports, against a real server: figures agree with what happened."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from ..support import Api, Peer
from .conftest import World, open_agent, open_visitor


def _converse(world: World, peers: list[Peer], agent: dict, agent_peer: Peer, text: str) -> tuple[dict, Peer, int]:
    client, visitor = open_visitor(world, peers)
    conversation_id = visitor.call("message", {"client_id": "q1", "text": text})["message"]["conversation_id"]
    agent_peer.wait_for("queue", lambda q: any(c["id"] == conversation_id for c in q["conversations"]))
    assert agent_peer.call("accept", {"conversation_id": conversation_id})["ok"] is True
    reply = agent_peer.call("message", {"conversation_id": conversation_id, "client_id": f"a-{conversation_id}",
                                        "text": "Let me check that for you."})
    assert reply["ok"] is True, reply
    return client, visitor, conversation_id


def test_a_rated_conversation_shows_in_every_report(world: World, peers: list[Peer]) -> None:
    agent, agent_peer = open_agent(world, peers, languages=["en"], capacity=5)
    _, visitor, answered = _converse(world, peers, agent, agent_peer, "My backup job fails every night at 2am")
    # A visitor may not rate an open conversation.
    early = visitor.call("rate", {"rating": 5})
    assert early["ok"] is False and early["error"]["code"] == "not_closed", early
    assert agent_peer.call("close", {"conversation_id": answered})["ok"] is True

    rated = visitor.call("rate", {"rating": 2, "comment": "=HYPERLINK(\"http://evil\")  "})
    assert rated["ok"] is True, rated
    assert (rated["rating"]["conversation_id"], rated["rating"]["rating"]) == (answered, 2)
    heard = agent_peer.wait_for("conversation_rated", lambda r: r["conversation_id"] == answered)
    assert heard["rating"] == 2 and heard["agent_id"] == agent["id"]
    # Changing one's mind replaces the rating; it never counts twice.
    again = visitor.call("rate", {"conversation_id": answered, "rating": 4, "comment": "=HYPERLINK(\"http://evil\")"})
    assert again["ok"] is True and again["rating"]["rating"] == 4
    assert Api(world.url, agent["token"]).ok("GET", f"/api/conversations/{answered}/rating")["rating"]["rating"] == 4

    # A second conversation waits unanswered: its deadline is not yet decided.
    _, waiting = open_visitor(world, peers)
    waiting.call("message", {"client_id": "w1", "text": "Can I move my domain to another account?"})

    reports = world.admin.ok("GET", "/api/admin/reports")
    today = datetime.now(timezone.utc).date()
    assert reports["filter"]["from"] == f"{today - timedelta(days=6)}T00:00:00Z"
    first = reports["first_response"]
    assert first["answered"] >= 1 and first["conversations"] >= 2 and first["median_seconds"] >= 0
    assert first["by_priority"]["standard"]["count"] >= 1
    assert reports["queue_wait"]["count"] >= 1 and reports["queue_wait"]["waiting_now"] >= 1
    sla = reports["sla"]
    assert sla["met"] >= 1 and sla["pending"] >= 1 and 0 < sla["compliance"] <= 1
    assert reports["breaches"]["count"] == 0
    ratings = reports["ratings"]
    assert [row["conversation_id"] for row in ratings["rows"]].count(answered) == 1
    assert ratings["distribution"]["4"] >= 1 and ratings["distribution"]["2"] == 0
    [mine] = [row for row in reports["agents"]["rows"] if row["agent_id"] == agent["id"]]
    assert (mine["conversations"], mine["messages_sent"], mine["ratings"], mine["average_rating"]) == (1, 1, 1, 4.0)

    # Filters: another language or team has none of it.
    assert world.admin.ok("GET", "/api/admin/reports/first_response?language=ja")["first_response"]["conversations"] == 0
    assert world.admin.ok("GET", "/api/admin/reports/agents?team=design")["agents"]["rows"] == []
    tomorrow = today + timedelta(days=1)
    assert world.admin.ok("GET", f"/api/admin/reports/sla?from={tomorrow}&to={tomorrow}")["sla"]["decided"] == 0

    # CSV: one row per rating, and a comment cannot become a spreadsheet formula.
    response = world.admin.request("GET", "/api/admin/reports/ratings?format=csv")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert f'filename="ratings_{today - timedelta(days=6)}_{today}.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    [row] = [r for r in rows if r["conversation_id"] == str(answered)]
    assert row["rating"] == "4" and row["comment"].startswith("'=HYPERLINK")
    figures = dict(csv.reader(io.StringIO(world.admin.request("GET", "/api/admin/reports/sla?format=csv").text)))
    assert figures["figure"] == "value" and figures["met"] == str(sla["met"])


def test_bad_ratings_and_report_requests_get_clear_errors(world: World, peers: list[Peer]) -> None:
    agent, agent_peer = open_agent(world, peers, languages=["en"])
    _, visitor, conversation_id = _converse(world, peers, agent, agent_peer, "Where do I download my invoices?")
    assert agent_peer.call("close", {"conversation_id": conversation_id})["ok"] is True
    for payload in ({"rating": 0}, {"rating": 6}, {"rating": "5"}, {"rating": True}, {"rating": 3.5},
                    {"rating": 3, "comment": "x" * 1001}, {"rating": 3, "comment": 7},
                    {"rating": 3, "conversation_id": "1"}):
        ack = visitor.call("rate", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid", (payload, ack)
    # Someone else's conversation is not found, and nothing is stored.
    _, stranger = open_visitor(world, peers)
    ack = stranger.call("rate", {"conversation_id": conversation_id, "rating": 1})
    assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    assert stranger.call("rate", {"rating": 1})["error"]["code"] == "not_found"  # they have no conversation
    other, _ = open_agent(world, peers, languages=["en"])
    response = Api(world.url, other["token"]).request("GET", f"/api/conversations/{conversation_id}/rating")
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert Api(world.url, agent["token"]).ok("GET", f"/api/conversations/{conversation_id}/rating")["rating"] is None

    for path, status, code in (("/api/admin/reports/nope", 404, "not_found"),
                               ("/api/admin/reports?from=2026-12-01&to=2026-11-01", 400, "invalid"),
                               ("/api/admin/reports?from=yesterday", 400, "invalid"),
                               ("/api/admin/reports?from=2024-01-01&to=2026-01-01", 400, "invalid"),
                               ("/api/admin/reports?team=sales", 400, "invalid"),
                               ("/api/admin/reports?priority=vip", 400, "invalid"),
                               ("/api/admin/reports?language=<script>", 400, "invalid"),
                               ("/api/admin/reports?colour=red", 400, "invalid"),
                               ("/api/admin/reports/sla?format=xml", 400, "invalid")):
        response = world.admin.request("GET", path)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), path
    # Agents are not admins.
    response = Api(world.url, agent["token"]).request("GET", "/api/admin/reports")
    assert response.status_code == 403
