"""The public shapes of messages, conversations, agents and clients (docs/protocol.md)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ..models import Agent, Client, Conversation, Message

PREVIEW_LENGTH = 140


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def agent_public(agent: Agent | None) -> dict[str, Any] | None:
    """Return what a visitor may know of an agent."""
    return {"id": agent.id, "name": agent.name} if agent else None


def message_view(message: Message) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender": message.sender,
        "text": message.text,
        "created_at": iso(message.created_at),
        "client_id": message.client_id,
    }
    if message.sender == "agent":
        view["agent"] = agent_public(message.agent)
    if message.sender == "system":
        view["event"] = message.event
    return view


def conversation_view(conversation: Conversation, *, queue_position: int | None) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "state": conversation.state,
        "language": conversation.language,
        "team": conversation.team,
        "priority": conversation.priority,
        "queue_position": queue_position,
        "agent": agent_public(conversation.agent),
        "sla_due_at": iso(conversation.sla_due_at),
        "created_at": iso(conversation.created_at),
        "state_since": iso(state_since(conversation)),
    }


def caution_for(client: Client, *, now: datetime, window: timedelta) -> dict[str, Any] | None:
    """Return why agents should take extra care with this account (new to its email), or None."""
    reasons = []
    if client.verified_at is not None and now - client.verified_at < window:
        reasons.append("recently_verified")
    if client.email_changed_at is not None and now - client.email_changed_at < window:
        reasons.append("email_changed")
    if not reasons:
        return None
    since = max(moment for moment in (client.verified_at, client.email_changed_at) if moment is not None)
    return {"reasons": reasons, "until": iso(since + window)}


def state_since(conversation: Conversation) -> datetime | None:
    """Return when the conversation entered its current state, so clients can drop a stale update."""
    if conversation.state == "queued":
        return conversation.queued_at or conversation.created_at
    if conversation.state == "active":
        return conversation.accepted_at
    if conversation.state == "closed":
        return conversation.closed_at
    return None


def queue_summary(conversation: Conversation, *, preview: str, now: datetime | None = None,
                  caution: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a queued conversation as agents see it in their queue."""
    now = now or datetime.now(timezone.utc)
    return {
        "id": conversation.id,
        "language": conversation.language,
        "queue_language": conversation.queue_language,
        "priority": conversation.priority,
        "team": conversation.team,
        "state": conversation.state,
        "waiting_since": iso(conversation.queued_at or conversation.created_at),
        "sla_due_at": iso(conversation.sla_due_at),
        "created_at": iso(conversation.created_at),
        "client": {"personal_id": conversation.client.personal_id, "name": conversation.client.name,
                   "subscribed": conversation.client.has_active_subscription(now=now)},
        "preview": preview[:PREVIEW_LENGTH],
        "caution": caution,
        "handoff_reason": conversation.handoff_reason,
    }


def agent_conversation_view(conversation: Conversation, *, caution: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return an assigned conversation as its agent sees it."""
    client = conversation.client
    view = conversation_view(conversation, queue_position=None)
    view.update(
        client={"personal_id": client.personal_id, "name": client.name, "email": client.email,
                "subscription_active_until": iso(client.subscription_active_until)},
        language_explanation=conversation.language_explanation,
        handoff_reason=conversation.handoff_reason,
        language_confidence=conversation.language_confidence,
        language_decision=conversation.language_decision or {},
        queue_language=conversation.queue_language,
        # Verified or changed email recently: no dashboard or server access without extra checks.
        caution=caution,
    )
    return view


def agent_view(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "email": agent.email,
        "name": agent.name,
        "languages": list(agent.languages),
        "teams": list(agent.teams),
        "capacity": agent.capacity,
        "role": agent.role,
        "availability": agent.availability,
        "works_outside_hours": agent.works_outside_hours,
        "active": agent.active,
    }


def client_view(client: Client, *, now: datetime) -> dict[str, Any]:
    return {
        "personal_id": client.personal_id,
        "email": client.email,
        "email_verified": client.email_verified,
        "name": client.name,
        "subscription_active_until": iso(client.subscription_active_until),
        "subscription_active": client.has_active_subscription(now=now),
        "status": client.status,
        "created_at": iso(client.created_at),
    }
