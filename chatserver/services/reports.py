"""Support reports: how fast and how well the promises were kept, from what the database recorded.

Every figure is computed from stored facts: the conversation's timestamps
(created, last queued, accepted, first human response, SLA deadline and
breach, closed), its messages (AI answers, the handed_to_humans system
message) and the visitors' ratings. Nothing is counted in memory, so the
figures survive restarts and every process agrees.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from ..config import TEAMS
from ..models import Agent, Conversation, Message, Rating
from ..routing.policy import PRIORITY_TIERS as TIERS
from .errors import ServiceError
from .views import iso

REPORTS = ("first_response", "queue_wait", "sla", "breaches", "ai", "ratings", "agents")
DEFAULT_DAYS = 7
MAX_DAYS = 366


@dataclass(frozen=True)
class ReportFilter:
    """Conversations that started in [start, end), optionally of one language, team and tier."""

    start: datetime
    end: datetime
    language: str | None = None
    team: str | None = None
    priority: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"from": iso(self.start), "to": iso(self.end), "language": self.language, "team": self.team,
                "priority": self.priority}


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ServiceError("invalid", f"{field} must be a date, YYYY-MM-DD.") from None


def parse_filter(args: dict[str, str], *, now: datetime) -> ReportFilter:
    """Read ?from=&to= (dates, UTC, both inclusive) and ?language=&team=&priority= from a query string."""
    unknown = set(args) - {"from", "to", "language", "team", "priority", "format"}
    if unknown:
        raise ServiceError("invalid", f"Unknown parameters: {', '.join(sorted(unknown))}.")
    last = _day(args["to"], "to") if args.get("to") else now.date()
    first = _day(args["from"], "from") if args.get("from") else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ServiceError("invalid", "from must not be after to.")
    if (last - first).days >= MAX_DAYS:
        raise ServiceError("invalid", f"A report covers at most {MAX_DAYS} days.")
    language = args.get("language") or None
    if language is not None and (len(language) > 8 or not language.replace("-", "").isalpha()):
        raise ServiceError("invalid", "language must be a language code such as de.")
    team = args.get("team") or None
    if team is not None and team not in TEAMS:
        raise ServiceError("invalid", f"team must be one of: {', '.join(TEAMS)}.")
    priority = args.get("priority") or None
    if priority is not None and priority not in TIERS:
        raise ServiceError("invalid", f"priority must be one of: {', '.join(TIERS)}.")
    start = datetime.combine(first, time(), tzinfo=timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=timezone.utc)
    return ReportFilter(start=start, end=end, language=language, team=team, priority=priority)


def percentile(values: Sequence[float], share: float) -> float | None:
    """Return the nearest-rank percentile of values (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _seconds(values: Iterable[float]) -> dict[str, Any]:
    values = list(values)
    median, p90 = percentile(values, 0.5), percentile(values, 0.9)
    return {"count": len(values), "median_seconds": None if median is None else round(median, 1),
            "p90_seconds": None if p90 is None else round(p90, 1)}


class ReportService:
    """Compute each report for a filter, as JSON-ready data or CSV rows."""

    def __init__(self, *, db: sessionmaker[Session], clock: Callable[[], datetime]):
        self._db = db
        self._clock = clock

    def report(self, name: str, *, where: ReportFilter) -> dict[str, Any]:
        """Return one report, or all of them with name "all"."""
        if name == "all":
            return {"filter": where.as_dict(), **{report: self._compute(report, where) for report in REPORTS}}
        if name not in REPORTS:
            raise ServiceError("not_found", f"No such report; reports are: {', '.join(REPORTS)}.", status=404)
        return {"filter": where.as_dict(), name: self._compute(name, where)}

    def csv(self, name: str, *, where: ReportFilter) -> str:
        """Return one report as CSV: a header row, then one row per figure (or per agent, per breach, per rating)."""
        data = self.report(name, where=where)[name]
        rows: list[dict[str, Any]]
        if name in ("breaches", "agents", "ratings"):
            rows = data["rows"]
        else:
            rows = [{"figure": key, "value": value} for key, value in _flatten(data)]
        out = io.StringIO()
        fields = list(rows[0]) if rows else ["figure", "value"]
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(value) for key, value in row.items()})
        return out.getvalue()

    # --- the reports ------------------------------------------------------------
    def _compute(self, name: str, where: ReportFilter) -> dict[str, Any]:
        with self._db() as session:
            return getattr(self, f"_{name}")(session, where)

    def _conversations(self, session: Session, where: ReportFilter, *extra: Any) -> list[Conversation]:
        query = select(Conversation).where(Conversation.created_at >= where.start, Conversation.created_at < where.end,
                                           *extra)
        if where.language:
            query = query.where(Conversation.language == where.language)
        if where.team:
            query = query.where(Conversation.team == where.team)
        if where.priority:
            query = query.where(Conversation.priority == where.priority)
        return list(session.scalars(query.order_by(Conversation.id)))

    def _first_response(self, session: Session, where: ReportFilter) -> dict[str, Any]:
        conversations = self._conversations(session, where)
        answered = [c for c in conversations if c.first_response_at is not None]
        by_tier = {tier: _seconds((c.first_response_at - c.created_at).total_seconds()
                                  for c in answered if c.priority == tier) for tier in TIERS}
        return {"conversations": len(conversations), "answered": len(answered),
                **_seconds((c.first_response_at - c.created_at).total_seconds() for c in answered),
                "by_priority": by_tier}

    def _queue_wait(self, session: Session, where: ReportFilter) -> dict[str, Any]:
        # From the last time the conversation entered the queue to its accept.
        accepted = self._conversations(session, where, Conversation.accepted_at.is_not(None))
        waits = [(c.accepted_at - (c.queued_at or c.created_at)).total_seconds() for c in accepted]
        now = self._clock()
        waiting = self._conversations(session, where, Conversation.state == "queued")
        return {**_seconds(max(0.0, wait) for wait in waits),
                "waiting_now": len(waiting),
                "longest_waiting_seconds": round(max(((now - (c.queued_at or c.created_at)).total_seconds()
                                                      for c in waiting), default=0.0), 1)}

    def _sla(self, session: Session, where: ReportFilter) -> dict[str, Any]:
        now = self._clock()
        conversations = self._conversations(session, where)
        # A deadline counts once it is decided: answered, or passed unanswered.
        decided = [c for c in conversations if c.first_response_at is not None or c.sla_due_at <= now]
        met = [c for c in decided if c.first_response_at is not None and c.first_response_at <= c.sla_due_at]
        met_ids = {c.id for c in met}
        by_tier = {}
        for tier in TIERS:
            tier_decided = [c for c in decided if c.priority == tier]
            tier_met = [c for c in tier_decided if c.id in met_ids]
            by_tier[tier] = {"decided": len(tier_decided), "met": len(tier_met),
                             "compliance": round(len(tier_met) / len(tier_decided), 4) if tier_decided else None}
        return {"decided": len(decided), "met": len(met),
                "compliance": round(len(met) / len(decided), 4) if decided else None,
                "pending": len(conversations) - len(decided), "by_priority": by_tier}

    def _breaches(self, session: Session, where: ReportFilter) -> dict[str, Any]:
        breached = self._conversations(session, where, Conversation.sla_breached_at.is_not(None))
        rows = [{"conversation_id": c.id, "language": c.language, "team": c.team, "priority": c.priority,
                 "created_at": iso(c.created_at), "sla_due_at": iso(c.sla_due_at),
                 "breached_at": iso(c.sla_breached_at), "first_response_at": iso(c.first_response_at)}
                for c in breached]
        return {"count": len(rows), "rows": rows}

    def _ai(self, session: Session, where: ReportFilter) -> dict[str, Any]:
        answered_by_ai = exists().where(Message.conversation_id == Conversation.id, Message.sender == "ai")
        handed = exists().where(Message.conversation_id == Conversation.id, Message.sender == "system",
                                Message.event == "handed_to_humans")
        with_ai = self._conversations(session, where, answered_by_ai)
        handed_over = self._conversations(session, where, handed)
        handed_ids = {c.id for c in handed_over}
        reasons: dict[str, int] = {}
        for conversation in handed_over:
            reason = conversation.handoff_reason or "unknown"
            reasons[reason] = reasons.get(reason, 0) + 1
        total = len(self._conversations(session, where))
        return {"conversations": total, "answered_by_ai": len(with_ai), "handed_to_humans": len(handed_over),
                "resolved_by_ai": len([c for c in with_ai if c.id not in handed_ids and c.state == "closed"
                                       and c.first_response_at is None]),
                "handoff_reasons": dict(sorted(reasons.items()))}

    def _ratings(self, session: Session, where: ReportFilter) -> dict[str, Any]:
        conversations = {c.id: c for c in self._conversations(session, where)}
        ratings = [r for r in session.scalars(select(Rating).where(Rating.conversation_id.in_(list(conversations))))
                   ] if conversations else []
        distribution = {str(score): 0 for score in range(1, 6)}
        for rating in ratings:
            distribution[str(rating.rating)] += 1
        names = self._agent_names(session)
        rows = [{"conversation_id": r.conversation_id, "rating": r.rating, "comment": r.comment,
                 "agent": names.get(r.agent_id), "language": conversations[r.conversation_id].language,
                 "team": conversations[r.conversation_id].team, "rated_at": iso(r.updated_at)}
                for r in sorted(ratings, key=lambda r: r.updated_at, reverse=True)]
        closed = len([c for c in conversations.values() if c.state == "closed"])
        return {"count": len(ratings),
                "average": round(sum(r.rating for r in ratings) / len(ratings), 2) if ratings else None,
                "response_rate": round(len(ratings) / closed, 4) if closed else None,
                "distribution": distribution, "rows": rows}

    def _agents(self, session: Session, where: ReportFilter) -> dict[str, Any]:
        conversations = self._conversations(session, where, Conversation.agent_id.is_not(None))
        ids = [c.id for c in conversations]
        sent: dict[int, int] = {}
        if ids:
            for agent_id, count in session.execute(
                    select(Message.agent_id, func.count()).where(Message.conversation_id.in_(ids),
                                                                  Message.sender == "agent")
                    .group_by(Message.agent_id)):
                sent[agent_id] = count
        ratings: dict[int, list[int]] = {}
        if ids:
            for rating in session.scalars(select(Rating).where(Rating.conversation_id.in_(ids))):
                if rating.agent_id is not None:
                    ratings.setdefault(rating.agent_id, []).append(rating.rating)
        rows = []
        for agent in session.scalars(select(Agent).order_by(Agent.name)):
            mine = [c for c in conversations if c.agent_id == agent.id]
            responses = [(c.first_response_at - c.created_at).total_seconds() for c in mine if c.first_response_at]
            scores = ratings.get(agent.id, [])
            if not mine and not sent.get(agent.id):
                continue
            median = percentile(responses, 0.5)
            rows.append({"agent_id": agent.id, "agent": agent.name, "conversations": len(mine),
                         "open_now": len([c for c in mine if c.state == "active"]),
                         "messages_sent": sent.get(agent.id, 0),
                         "median_first_response_seconds": None if median is None else round(median, 1),
                         "ratings": len(scores),
                         "average_rating": round(sum(scores) / len(scores), 2) if scores else None})
        return {"rows": rows}

    @staticmethod
    def _agent_names(session: Session) -> dict[int, str]:
        return {agent_id: name for agent_id, name in session.execute(select(Agent.id, Agent.name))}


def _flatten(data: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: quote it.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
