"""Unit tests for first-response deadlines, aging order and the wait estimate."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chatserver.routing import queue_score
from chatserver.routing.estimate import estimate_wait
from chatserver.routing.sla import DEFAULT_HOURS, SlaPolicy

T0 = datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)  # the night Europe sets its clocks back


def test_standard_is_due_24_real_hours_later_and_escalates_at_20_even_across_a_clock_change() -> None:
    schedule = SlaPolicy().schedule(priority="standard", arrived_at=T0)
    assert schedule.due_at - T0 == timedelta(hours=24)
    assert schedule.escalate_at - T0 == timedelta(hours=20)
    assert schedule.due_at - schedule.warn_at == timedelta(minutes=60)


def test_other_tiers_escalate_at_the_same_share_of_their_own_deadline() -> None:
    policy = SlaPolicy(hours={**DEFAULT_HOURS, "subscribed": 6.0}, escalation_hours=18.0)
    schedule = policy.schedule(priority="subscribed", arrived_at=T0)
    assert schedule.due_at - T0 == timedelta(hours=6)
    assert schedule.escalate_at - T0 == timedelta(hours=4.5)


def test_a_warning_lead_longer_than_the_deadline_warns_at_arrival() -> None:
    schedule = SlaPolicy(warning_minutes=120).schedule(priority="here_and_now", arrived_at=T0)
    assert schedule.warn_at == T0


@pytest.mark.parametrize("fields", [
    {"hours": {"standard": 24.0}},
    {"hours": {**DEFAULT_HOURS, "ai": 0}},
    {"escalation_hours": 25.0},
    {"escalation_hours": 0},
    {"warning_minutes": -1},
])
def test_bad_settings_are_refused(fields: dict) -> None:
    with pytest.raises(ValueError):
        SlaPolicy(**fields)


def test_an_escalated_standard_ticket_passes_fresher_subscribed_ones_but_not_older_escalated_or_paid() -> None:
    policy = SlaPolicy()
    old_standard = policy.schedule(priority="standard", arrived_at=T0)
    fresh_subscribed = policy.schedule(priority="subscribed", arrived_at=T0 + timedelta(hours=20))
    escalated = queue_score(priority="standard", sla_due_at=old_standard.due_at, escalated=True)
    assert queue_score(priority="standard", sla_due_at=old_standard.due_at) > \
        queue_score(priority="subscribed", sla_due_at=fresh_subscribed.due_at)
    assert escalated < queue_score(priority="subscribed", sla_due_at=fresh_subscribed.due_at)
    # Among escalated tickets the earlier deadline goes first, whatever the tier.
    escalated_subscribed = queue_score(priority="subscribed", sla_due_at=old_standard.due_at - timedelta(minutes=1),
                                       escalated=True)
    assert escalated_subscribed < escalated
    # Paid urgent tickets stay on top, escalated or not.
    paid = queue_score(priority="here_and_now", sla_due_at=T0 + timedelta(days=30))
    assert paid < escalated_subscribed
    assert queue_score(priority="here_and_now", sla_due_at=T0, escalated=True) == \
        queue_score(priority="here_and_now", sla_due_at=T0)
    # An escalated ai-tier ticket keeps its deadline order too.
    assert queue_score(priority="ai", sla_due_at=old_standard.due_at, escalated=True) == escalated


NOW = datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)


def test_free_slots_mean_no_wait() -> None:
    estimate = estimate_wait(position=2, agents_online=2, free_slots=3, total_slots=6, handling_minutes=12,
                             now=NOW, team_open=True, next_opening=NOW)
    assert estimate.as_dict() == {"estimated_wait_minutes": 0, "next_agent_expected_at": None,
                                  "estimate_basis": "capacity"}


def test_a_full_team_waits_rounds_of_handling_time() -> None:
    estimate = estimate_wait(position=5, agents_online=2, free_slots=0, total_slots=4, handling_minutes=12,
                             now=NOW, team_open=True, next_opening=NOW)
    assert estimate.minutes == 24  # two rounds of four slots


def test_without_history_a_default_handling_time_is_used() -> None:
    assert estimate_wait(position=1, agents_online=1, free_slots=0, total_slots=1, handling_minutes=None,
                         now=NOW, team_open=True, next_opening=NOW).minutes == 10


def test_nobody_online_reports_the_opening_instead_of_minutes() -> None:
    opens = NOW + timedelta(hours=7)
    estimate = estimate_wait(position=1, agents_online=0, free_slots=0, total_slots=0, handling_minutes=5,
                             now=NOW, team_open=False, next_opening=opens)
    assert estimate.as_dict() == {"estimated_wait_minutes": None, "next_agent_expected_at": "2026-03-29T08:00:00Z",
                                  "estimate_basis": "next_opening"}


def test_nobody_online_while_open_says_unknown() -> None:
    estimate = estimate_wait(position=1, agents_online=0, free_slots=0, total_slots=0, handling_minutes=5,
                             now=NOW, team_open=True, next_opening=NOW)
    assert (estimate.minutes, estimate.next_agent_expected_at, estimate.basis) == (None, None, "unknown")
