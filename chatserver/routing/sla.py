"""First-response deadlines per tier: when a conversation is due, raised by aging, and warned about.

Deadlines count calendar (real) hours from arrival, whatever the team's
hours: the promise is made to a person who waits on a real clock. See
docs/sla.md for why.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .policy import PRIORITY_TIERS

DEFAULT_HOURS: Mapping[str, float] = {"here_and_now": 0.25, "subscribed": 4.0, "standard": 24.0, "ai": 24.0}


@dataclass(frozen=True)
class SlaSchedule:
    """The three moments of one conversation's first-response promise."""

    due_at: datetime
    escalate_at: datetime
    warn_at: datetime


@dataclass(frozen=True)
class SlaPolicy:
    """Deadlines per tier, the escalation point and the warning lead."""

    hours: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    # Hours after arrival at which a standard ticket is raised above fresher
    # ones; other tiers escalate at the same share of their own deadline.
    escalation_hours: float = 20.0
    warning_minutes: float = 60.0

    def __post_init__(self) -> None:
        missing = [tier for tier in PRIORITY_TIERS if tier not in self.hours]
        if missing:
            raise ValueError(f"SLA hours missing for tiers: {', '.join(missing)}")
        if any(hours <= 0 for hours in self.hours.values()):
            raise ValueError("SLA hours must be positive")
        if not 0 < self.escalation_hours <= self.hours["standard"]:
            raise ValueError("the escalation point must lie within the standard deadline")
        if self.warning_minutes < 0:
            raise ValueError("the warning lead must not be negative")

    def schedule(self, *, priority: str, arrived_at: datetime) -> SlaSchedule:
        """Return when a conversation of this tier arriving at arrived_at is due, escalated and warned."""
        hours = self.hours[priority]
        due_at = arrived_at + timedelta(hours=hours)
        share = self.escalation_hours / self.hours["standard"]
        escalate_at = arrived_at + timedelta(hours=hours * share)
        warn_at = max(arrived_at, due_at - timedelta(minutes=self.warning_minutes))
        return SlaSchedule(due_at=due_at, escalate_at=escalate_at, warn_at=warn_at)
