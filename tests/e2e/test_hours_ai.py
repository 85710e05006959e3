"""The AI agent answers while a team is closed, if the visitor asks, and gives the conversation back at opening."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from ..fake_openai import FakeOpenAI
from ..support import Peer, Stack
from .conftest import World, open_agent, open_visitor, running_world
from .test_hours import closed_until, opening_soon


@pytest.fixture(scope="module")
def world(stack: Stack, model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    env = {"OPENAI_API_KEY": "sk-test-" + "k" * 24, "OPENAI_BASE_URL": model.base_url, "AI_MODEL": "fake-model",
           "AI_TIMEOUT": "2", "AI_MAX_RETRIES": "0", "SLA_CHECK_INTERVAL": "0.5"}
    with running_world(stack, str(tmp_path_factory.mktemp("logs")), extra_env=env) as started:
        yield started


def test_ai_helps_until_the_team_opens_then_the_conversation_returns_to_its_queue(
        world: World, peers: list[Peer], model: FakeOpenAI) -> None:
    opens_at = opening_soon(10)
    world.admin.ok("PUT", "/api/admin/calendars/projects", closed_until(opens_at))
    _, visitor = open_visitor(world, peers, timezone="Europe/Lisbon")
    conversation_id = visitor.call("message", {"client_id": "m1", "text": "We need a quote for a new online shop",
                                               "team": "projects"})["message"]["conversation_id"]
    visitor.wait_for("message", lambda m: m.get("event") == "team_closed")
    # A second message while queued does not repeat the notice.
    visitor.call("message", {"client_id": "m2", "text": "About fifty products and a blog"})

    asked = visitor.call("ask_ai")
    assert asked["ok"] is True and asked["conversation"]["state"] == "ai", asked
    visitor.wait_for("message", lambda m: m["sender"] == "ai")
    assert model.requests, "the model was asked"
    assert visitor.call("ask_ai")["error"]["code"] == "not_queued"

    _, agent = open_agent(world, peers, languages=["en"], teams=["projects"])
    deadline = time.monotonic() + 30
    while True:
        states = [c["state"] for name, c in list(visitor.events) if name == "conversation" and c["id"] == conversation_id]
        if "ai" in states and "queued" in states[states.index("ai"):]:
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.1)
    assert datetime.now(timezone.utc) >= opens_at  # given back at the opening, not before
    back = visitor.call("history")["conversation"]
    assert (back["state"], back["team"], back["priority"]) == ("queued", "projects", "standard")
    agent.wait_for("queue", lambda q: any(c["id"] == conversation_id for c in q["conversations"]), timeout=10)
    assert agent.call("accept", {"conversation_id": conversation_id})["ok"] is True
    notices = [m for name, m in visitor.events if name == "message" and m.get("event") == "team_closed"]
    assert len(notices) == 1
    assert visitor.call("ask_ai")["error"]["code"] == "not_queued"
