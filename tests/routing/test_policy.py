"""Unit tests for the routing policy: tiers, deadlines, queue order, who may take what."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chatserver.routing import (
    PRIORITY_TIERS,
    AgentView,
    QueueItem,
    can_take,
    first_response_due,
    initial_priority,
    panel_queue_language,
    queue_score,
    visible_queue,
)

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)  # a daylight-saving night in Europe


def agent(**overrides) -> AgentView:
    fields = dict(id=1, languages=("en", "de"), teams=("support",), capacity=2, online=True, load=0)
    fields.update(overrides)
    return AgentView(**fields)


def test_tiers_best_first() -> None:
    assert PRIORITY_TIERS == ("here_and_now", "subscribed", "standard", "ai")
    assert initial_priority(subscribed=True) == "subscribed"
    assert initial_priority(subscribed=False) == "standard"
    assert initial_priority(subscribed=False, here_and_now=True) == "here_and_now"


def test_first_response_is_due_24_hours_later_in_absolute_time() -> None:
    assert first_response_due(arrived_at=T0, hours=24) == T0 + timedelta(hours=24)


def test_tier_beats_an_earlier_deadline() -> None:
    later_subscribed = queue_score(priority="subscribed", sla_due_at=T0 + timedelta(hours=23))
    earlier_standard = queue_score(priority="standard", sla_due_at=T0)
    assert later_subscribed < earlier_standard


def test_within_a_tier_the_earlier_deadline_goes_first_to_the_millisecond() -> None:
    first = queue_score(priority="standard", sla_due_at=T0)
    second = queue_score(priority="standard", sla_due_at=T0 + timedelta(milliseconds=1))
    assert first < second


def test_ai_is_the_lowest_tier_even_with_the_oldest_deadline() -> None:
    old_ai = queue_score(priority="ai", sla_due_at=T0 - timedelta(days=3650))
    new_standard = queue_score(priority="standard", sla_due_at=T0 + timedelta(days=3650))
    assert new_standard < old_ai


def test_unknown_priority_is_an_error() -> None:
    with pytest.raises(ValueError):
        queue_score(priority="vip", sla_due_at=T0)


@pytest.mark.parametrize("item, overrides, reason", [
    (QueueItem(1, "de", "support"), {}, None),
    (QueueItem(1, "es", "support"), {}, "forbidden"),
    (QueueItem(1, "en", "technical"), {}, "forbidden"),
    (QueueItem(1, "en", "support"), {"online": False}, "not_online"),
    (QueueItem(1, "en", "support"), {"load": 2}, "at_capacity"),
    (QueueItem(1, "es", "support"), {"online": False}, "forbidden"),
])
def test_can_take(item: QueueItem, overrides: dict, reason: str | None) -> None:
    assert can_take(agent(**overrides), item) == reason


def test_load_can_be_ignored_for_reads() -> None:
    assert can_take(agent(load=2), QueueItem(1, "en", "support"), check_load=False) is None


def test_visible_queue_keeps_order_and_filters() -> None:
    queue = [(QueueItem(3, "en", "support"), "c3"), (QueueItem(1, "es", "support"), "c1"),
             (QueueItem(2, "de", "support"), "c2")]
    assert visible_queue(agent(), queue) == ["c3", "c2"]
    assert visible_queue(agent(online=False), queue) == []
    assert visible_queue(agent(languages=("es",)), queue) == ["c1"]


@pytest.mark.parametrize(("language", "panel", "queue"), [
    ("de", {"en", "de"}, "de"),
    ("ja", {"en", "de"}, None),                  # outside the panel: the AI agent
    ("sr", {"en", "hr"}, "hr"),                  # Serbian readers are served by Croatian agents
    ("bs", {"en", "sr", "hr"}, "hr"),            # several readers: a stable choice
    ("sr", {"en", "sr", "hr"}, "sr"),            # its own language first
    ("da", {"en", "no"}, None),                  # Danish and Norwegian are not one readership
])
def test_panel_queue_language(language: str, panel: set[str], queue: str | None) -> None:
    assert panel_queue_language(language, panel) == queue


def test_an_agent_who_reads_the_language_may_take_it() -> None:
    serbian_reader = AgentView(id=1, languages=["sr"], teams=["support"], capacity=2, online=True, load=0)
    danish_reader = AgentView(id=2, languages=["da"], teams=["support"], capacity=2, online=True, load=0)
    assert can_take(serbian_reader, QueueItem(1, "hr", "support")) is None
    assert can_take(danish_reader, QueueItem(1, "no", "support")) == "forbidden"
