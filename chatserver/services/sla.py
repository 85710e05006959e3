"""The SLA scheduler: aging, breach warnings, recorded breaches and Here-and-now refunds.

Every step is a conditional UPDATE, so any number of processes may run it at
once and each change happens exactly once; the maintenance loop also takes a
shared lock so that normally only one process does the reading.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ..events import EventBus, QueueChanged, RefundDue, SlaBreached, SlaWarning
from ..models import Conversation, Payment
from .chat import ChatService
from .hours import HoursService
from .views import iso

log = logging.getLogger(__name__)

# States in which a first human response is still owed. "ai" is excluded: the
# AI answers those (out-of-panel languages), and handing to humans re-queues them.
OWED_STATES = ("queued", "active")
SIGNATURE_HEADER = "X-Chatserver-Signature"


def sla_view(conversation: Conversation) -> dict[str, Any]:
    """Return a conversation as the SLA report and admins' warnings show it."""
    return {
        "id": conversation.id, "team": conversation.team, "priority": conversation.priority,
        "state": conversation.state, "language": conversation.language,
        "queue_language": conversation.queue_language,
        "client": {"personal_id": conversation.client.personal_id, "name": conversation.client.name},
        "agent": {"id": conversation.agent.id, "name": conversation.agent.name} if conversation.agent else None,
        "created_at": iso(conversation.created_at), "sla_due_at": iso(conversation.sla_due_at),
        "sla_escalated_at": iso(conversation.sla_escalated_at), "sla_warned_at": iso(conversation.sla_warned_at),
        "sla_breached_at": iso(conversation.sla_breached_at),
        "first_response_at": iso(conversation.first_response_at),
    }


def payment_view(payment: Payment) -> dict[str, Any]:
    return {"id": payment.id, "conversation_id": payment.conversation_id, "provider": payment.provider,
            "provider_payment_id": payment.provider_payment_id, "amount_cents": payment.amount_cents,
            "currency": payment.currency, "status": payment.status, "checkout_url": payment.checkout_url,
            "created_at": iso(payment.created_at), "paid_at": iso(payment.paid_at),
            "refund_due_at": iso(payment.refund_due_at)}


def sign(body: bytes, *, secret: str) -> str:
    """Return the signature header value of a webhook body: sha256=<hex HMAC-SHA256>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SlaWebhook:
    """POST SLA events, signed with HMAC-SHA256, to the URL admins configured."""

    def __init__(self, *, url: str, secret: str, timeout: float = 5.0):
        self._url = url
        self._secret = secret
        self._timeout = timeout

    def __call__(self, event: Any) -> None:
        kinds = {SlaWarning: "sla_warning", SlaBreached: "sla_breach", RefundDue: "refund_due"}
        kind = kinds.get(type(event))
        if kind is None:
            return
        data = event.payment if isinstance(event, RefundDue) else event.conversation
        body = json.dumps({"type": kind, "data": data}, separators=(",", ":")).encode()
        request = urllib.request.Request(self._url, data=body, method="POST", headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret=self._secret)})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                response.read()
        except Exception as error:  # the receiver's trouble must not stop the scheduler
            log.warning("SLA webhook %s failed: %s", kind, type(error).__name__)


class SlaService:
    """Run the SLA schedule and report breaches."""

    def __init__(self, *, db: sessionmaker[Session], chat: ChatService, hours: HoursService, events: EventBus,
                 clock: Callable[[], datetime], refund_minutes: float):
        self._db = db
        self._chat = chat
        self._events = events
        self._clock = clock
        self._refund_after = timedelta(minutes=refund_minutes)
        self._hours = hours
        # Which teams this process last saw open: only to notice an opening
        # or closing and refresh queues, so it may differ between processes.
        self._open_teams: frozenset[str] | None = None

    def run(self) -> dict[str, int]:
        """Do every step that is due now; return how many of each this process did."""
        now = self._clock()
        done = {"escalated": self._escalate(now), "warned": self._warn(now), "breached": self._breach(now),
                "refunds": self._refunds(now)}
        done["returned_from_ai"] = len(self._chat.return_opened_from_ai())
        open_teams = frozenset(team for team, status in self._hours.status(now=now).items() if status["open"])
        if self._open_teams is not None and open_teams != self._open_teams:
            # A team opened or closed: agents' queues and visitors' estimates change.
            self._events.publish(QueueChanged())
        self._open_teams = open_teams
        return done

    def _due(self, *conditions: Any) -> list[int]:
        with self._db() as session:
            return list(session.scalars(select(Conversation.id).where(*conditions).order_by(Conversation.id)))

    def _claim(self, conversation_id: int, column: Any, *conditions: Any, now: datetime) -> Conversation | None:
        """Set column to now if it is still empty and conditions hold; return the conversation if this call did."""
        with self._db.begin() as session:
            won = session.execute(update(Conversation).where(
                Conversation.id == conversation_id, column.is_(None), *conditions)
                .values({column.key: now})).rowcount == 1
            return session.get(Conversation, conversation_id) if won else None

    def _escalate(self, now: datetime) -> int:
        # Aging changes a score once, at the escalation moment: the queue
        # keeps a static score per entry.
        count = 0
        for conversation_id in self._due(Conversation.state == "queued", Conversation.sla_escalated_at.is_(None),
                                         Conversation.sla_escalate_at <= now,
                                         Conversation.priority != "here_and_now"):
            if self._claim(conversation_id, Conversation.sla_escalated_at, Conversation.state == "queued",
                           now=now):
                log.info("conversation %s escalated by aging", conversation_id)
                self._chat.requeue(conversation_id=conversation_id)
                count += 1
        return count

    def _warn(self, now: datetime) -> int:
        count = 0
        for conversation_id in self._due(Conversation.state.in_(OWED_STATES), Conversation.first_response_at.is_(None),
                                         Conversation.sla_warned_at.is_(None), Conversation.sla_warn_at <= now,
                                         Conversation.sla_due_at > now):
            conversation = self._claim(conversation_id, Conversation.sla_warned_at,
                                       Conversation.first_response_at.is_(None), now=now)
            if conversation:
                log.warning("conversation %s nears its first-response deadline", conversation_id)
                self._events.publish(SlaWarning(sla_view(conversation)))
                count += 1
        return count

    def _breach(self, now: datetime) -> int:
        count = 0
        for conversation_id in self._due(Conversation.state.in_(OWED_STATES), Conversation.first_response_at.is_(None),
                                         Conversation.sla_breached_at.is_(None), Conversation.sla_due_at <= now):
            conversation = self._claim(conversation_id, Conversation.sla_breached_at,
                                       Conversation.first_response_at.is_(None), now=now)
            if conversation:
                log.warning("conversation %s breached its first-response deadline", conversation_id)
                self._events.publish(SlaBreached(sla_view(conversation)))
                count += 1
        return count

    def _refunds(self, now: datetime) -> int:
        count = 0
        with self._db() as session:
            rows = session.execute(
                select(Payment.id, Payment.paid_at, Conversation.accepted_at)
                .join(Conversation, Conversation.id == Payment.conversation_id)
                .where(Payment.status == "paid", Payment.refund_due_at.is_(None),
                       Payment.paid_at <= now - self._refund_after)).all()
        # Late acceptance still owes the refund: the promise was "at once".
        candidates = [payment_id for payment_id, paid_at, accepted_at in rows
                      if accepted_at is None or accepted_at > paid_at + self._refund_after]
        for payment_id in candidates:
            with self._db.begin() as session:
                won = session.execute(update(Payment).where(Payment.id == payment_id,
                                                            Payment.refund_due_at.is_(None))
                                      .values(refund_due_at=now)).rowcount == 1
                payment = session.get(Payment, payment_id) if won else None
                view = payment_view(payment) if payment else None
            if view:
                log.warning("payment %s flagged for refund: no specialist accepted in time", payment_id)
                self._events.publish(RefundDue(view))
                count += 1
        return count

    def breaches(self, *, since: datetime | None = None) -> list[dict[str, Any]]:
        """Return recorded breaches, newest first."""
        with self._db() as session:
            query = select(Conversation).where(Conversation.sla_breached_at.is_not(None))
            if since is not None:
                query = query.where(Conversation.sla_breached_at >= since)
            return [sla_view(conversation)
                    for conversation in session.scalars(query.order_by(Conversation.sla_breached_at.desc()))]
