"""Office hours end to end: calendars through the admin API, closed teams queue and tell the visitor, opening."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ..support import Api, Peer, Stack
from .conftest import World, open_agent, open_visitor, running_world


@pytest.fixture(scope="module")
def world(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # Team openings must be noticed within a second for the opening test.
    with running_world(stack, str(tmp_path_factory.mktemp("logs")), extra_env={"SLA_CHECK_INTERVAL": "0.5"}) as started:
        yield started


def closed_until(opens_at: datetime) -> dict:
    """A UTC calendar closed every day, with one special opening from opens_at to the end of that day."""
    day = opens_at.date().isoformat()
    return {"timezone": "UTC", "weekly": {}, "special_openings": {day: [[opens_at.strftime("%H:%M:%S"), "24:00"]]}}


def opening_soon(seconds: int) -> datetime:
    opens_at = (datetime.now(timezone.utc) + timedelta(seconds=seconds)).replace(microsecond=0)
    if opens_at.date() != datetime.now(timezone.utc).date():
        pytest.skip("the opening would cross midnight UTC")  # the calendar above cannot say so in one day
    return opens_at


def test_admins_read_and_replace_calendars_with_clear_errors(world: World) -> None:
    calendars = world.admin.ok("GET", "/api/admin/calendars")["calendars"]
    assert set(calendars) == {"support", "technical", "design", "copywriting", "projects"}
    split = {"timezone": "America/New_York", "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:30"]]},
             "holidays": ["2026-12-24"], "yearly_holidays": ["12-25"],
             "special_openings": {"2026-12-27": [["10:00", "14:00"]]}}
    stored = world.admin.ok("PUT", "/api/admin/calendars/projects", split)["calendar"]
    assert stored["weekly"]["mon"] == [["08:00", "12:00"], ["13:00", "17:30"]]
    assert stored["holidays"] == ["2026-12-24"] and stored["yearly_holidays"] == ["12-25"]
    assert world.admin.ok("GET", "/api/admin/calendars/projects")["calendar"] == stored
    for bad, words in [({"timezone": "Mars/Olympus"}, "unknown time zone"),
                       ({"timezone": "UTC", "weekly": {"mon": [["22:00", "06:00"]]}}, "crosses midnight"),
                       ({"timezone": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "overlap"),
                       ({"timezone": "UTC", "holidays": ["2026-02-30"]}, "no such date"),
                       ({"weekly": {}}, "timezone: required")]:
        response = world.admin.request("PUT", "/api/admin/calendars/projects", bad)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_calendar" and words in error["message"], error
    assert world.admin.ok("GET", "/api/admin/calendars/projects")["calendar"] == stored  # nothing half-stored
    assert world.admin.request("PUT", "/api/admin/calendars/nope", split).status_code == 404
    agent = world.agent(languages=["en"])
    assert Api(world.url, agent["token"]).request("GET", "/api/admin/calendars").status_code == 403


def test_closed_team_queues_tells_the_visitor_and_opens(world: World, peers: list[Peer]) -> None:
    opens_at = opening_soon(6)
    world.admin.ok("PUT", "/api/admin/calendars/design", closed_until(opens_at))
    config = Api(world.url).ok("GET", "/api/widget/config")
    assert config["teams"]["design"]["open"] is False
    assert config["teams"]["design"]["next_open_at"] == opens_at.isoformat().replace("+00:00", "Z")
    assert config["teams"]["technical"]["open"] is True

    designer, designer_peer = open_agent(world, peers, languages=["en"], teams=["design"])
    status = designer_peer.call("status", {"status": "online"})
    assert status["ok"] is False and status["error"]["code"] == "team_closed"
    night_owl, night_peer = open_agent(world, peers, languages=["en"], teams=["design"])
    world.admin.ok("PATCH", f"/api/admin/agents/{night_owl['id']}", {"works_outside_hours": True})
    assert night_peer.call("status", {"status": "online"})["ok"] is True

    _, visitor = open_visitor(world, peers, timezone="Asia/Tokyo")
    sent = visitor.call("message", {"client_id": "m1", "text": "Hello, I need help with the new logo please",
                                    "team": "design"})
    assert sent["ok"] is True, sent
    conversation_id = sent["message"]["conversation_id"]
    notice = visitor.wait_for("message", lambda m: m.get("event") == "team_closed")
    tokyo = opens_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{tokyo:%Y-%m-%d %H:%M} (Asia/Tokyo)" in notice["text"]
    queued = visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["state"] == "queued")
    assert queued["queue_position"] == 1

    # Only the agent allowed outside hours sees it; the other cannot take it yet.
    assert [c["id"] for c in night_peer.call("queue")["conversations"]] == [conversation_id]
    closed_queue = designer_peer.call("queue")
    assert closed_queue["conversations"] == [] and closed_queue["closed_teams"] == ["design"]
    assert night_peer.call("queue")["closed_teams"] == []
    refused = designer_peer.call("accept", {"conversation_id": conversation_id})
    assert refused["ok"] is False and refused["error"]["code"] in ("team_closed", "not_online")

    time.sleep(max(0.0, (opens_at - datetime.now(timezone.utc)).total_seconds()) + 0.2)
    assert Api(world.url).ok("GET", "/api/widget/config")["teams"]["design"]["open"] is True
    # The opening refreshes the queue of agents who can now take it.
    designer_peer.wait_for("queue", lambda q: any(c["id"] == conversation_id for c in q["conversations"]))
    accepted = designer_peer.call("accept", {"conversation_id": conversation_id})
    assert accepted["ok"] is True, accepted
    visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["state"] == "active")


def test_waiting_for_a_closed_team_reports_the_opening_not_minutes(world: World, peers: list[Peer]) -> None:
    opens_at = opening_soon(3600)
    world.admin.ok("PUT", "/api/admin/calendars/copywriting", closed_until(opens_at))
    _, visitor = open_visitor(world, peers)
    sent = visitor.call("message", {"client_id": "m1", "text": "Could you proofread my landing page text?",
                                    "team": "copywriting"})
    conversation_id = sent["message"]["conversation_id"]
    queued = visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["state"] == "queued")
    assert queued["estimated_wait_minutes"] is None
    assert queued["estimate_basis"] == "next_opening"
    assert queued["next_agent_expected_at"] == opens_at.isoformat().replace("+00:00", "Z")
    # Asking for the AI meanwhile is possible while closed; without a model
    # it says so once and hands the conversation back to the same queue.
    asked = visitor.call("ask_ai")
    assert asked["ok"] is True and asked["conversation"]["state"] == "ai", asked
    visitor.wait_for("message", lambda m: m["sender"] == "ai")
    deadline = time.monotonic() + 10
    while (back := visitor.call("history")["conversation"])["state"] != "queued" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (back["state"], back["team"], back["priority"]) == ("queued", "copywriting", "standard")
    assert back["queue_position"] == 1 and back["estimate_basis"] == "next_opening"
    refused = visitor.call("ask_ai")  # queued again, the team still closed: allowed again, not an error
    assert refused["ok"] is True


def test_an_open_team_with_online_agents_estimates_minutes(world: World, peers: list[Peer]) -> None:
    open_agent(world, peers, languages=["en"], teams=["technical"], capacity=1)
    _, visitor = open_visitor(world, peers)
    sent = visitor.call("message", {"client_id": "m1", "text": "My server returns errors since this morning",
                                    "team": "technical"})
    conversation_id = sent["message"]["conversation_id"]
    queued = visitor.wait_for("conversation", lambda c: c["id"] == conversation_id and c["state"] == "queued")
    assert queued["estimate_basis"] == "capacity" and queued["estimated_wait_minutes"] == 0
    assert queued["next_agent_expected_at"] is None
