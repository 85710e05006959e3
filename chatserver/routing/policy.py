"""Who waits ahead of whom, and who may take what."""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..language.names import readership

# Best first. `ai` is the lowest: conversations the AI agent handles, or that
# it handed to humans.
PRIORITY_TIERS: tuple[str, ...] = ("here_and_now", "subscribed", "standard", "ai")

# Tier dominates the score; within a tier the SLA deadline orders, then
# arrival (the queue breaks exact ties by conversation id, which grows with
# arrival). Deadlines are epoch seconds (~1.8e9); a tier step of 1e11 keeps
# every tier apart for millennia and well inside float precision.
_TIER_STEP = 1e11
# Aging: a conversation past its escalation point waits in a band between
# here_and_now and subscribed, ordered by its own deadline, so it passes
# fresher tickets of every higher tier except paid urgent ones.
_ESCALATED_BAND = 0.5 * _TIER_STEP


def panel_queue_language(language: str, panel: Collection[str]) -> str | None:
    """Return the panel language whose agents read language, or None when the panel has none."""
    if language in panel:
        return language
    # Croatian, Serbian and Bosnian readers read each other (language.names.READERSHIPS):
    # a Serbian visitor waits for the panel's Croatian agents rather than for the AI.
    return min((code for code in readership(language) if code in panel), default=None)


def initial_priority(*, subscribed: bool, here_and_now: bool = False) -> str:
    """Return the tier of a new human-routed conversation."""
    if here_and_now:
        return "here_and_now"
    return "subscribed" if subscribed else "standard"


def first_response_due(*, arrived_at: datetime, hours: float) -> datetime:
    """Return when the first human response is due."""
    return arrived_at + timedelta(hours=hours)


def queue_score(*, priority: str, sla_due_at: datetime, escalated: bool = False) -> float:
    """Return the sort key of a queued conversation: lower is served first."""
    # Sub-second precision survives: 4e11 needs 39 bits, leaving ~14 for fractions.
    tier = PRIORITY_TIERS.index(priority)
    if escalated and tier > 0:
        return _ESCALATED_BAND + sla_due_at.timestamp()
    return tier * _TIER_STEP + sla_due_at.timestamp()


@dataclass(frozen=True)
class AgentView:
    """What routing needs to know about an agent."""

    id: int
    languages: Collection[str]
    teams: Collection[str]
    capacity: int
    online: bool
    load: int
    # Teams closed now that this agent may not serve (empty when allowed outside hours).
    closed_teams: Collection[str] = frozenset()


@dataclass(frozen=True)
class QueueItem:
    """What routing needs to know about a queued conversation."""

    conversation_id: int
    queue_language: str
    team: str


def can_take(agent: AgentView, item: QueueItem, *, check_load: bool = True) -> str | None:
    """Return why agent may not take item, or None when it may."""
    reads = item.queue_language in agent.languages or any(
        code in agent.languages for code in readership(item.queue_language))
    if not reads or item.team not in agent.teams:
        return "forbidden"
    if not agent.online:
        return "not_online"
    if item.team in agent.closed_teams:
        return "team_closed"
    if check_load and agent.load >= agent.capacity:
        return "at_capacity"
    return None


def visible_queue(agent: AgentView, queue: Iterable[tuple[QueueItem, Any]]) -> Sequence[Any]:
    """Return the payloads of the queue entries agent may take, best first."""
    return [payload for item, payload in queue if can_take(agent, item) is None]
