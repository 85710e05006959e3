"""Typed SQLAlchemy models. No I/O beyond the session."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Store UTC, always hand back timezone-aware datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


# Crockford-style alphabet: no 0/O or 1/I/L look-alikes, so IDs survive being
# read out over the phone.
_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_personal_id() -> str:
    return "C-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(16), unique=True, default=new_personal_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(200))
    subscription_active_until: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | suspended | merged
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Identity (docs/security.md). Why the account is suspended, e.g. duplicate_identity.
    suspension_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    company: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str | None] = mapped_column(String(64), default=None)
    # Normalized forms, compared to find a second account of the same person.
    normalized_name: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    normalized_company: Mapped[str | None] = mapped_column(String(200), default=None)
    normalized_phone: Mapped[str | None] = mapped_column(String(64), default=None)
    # When the email was last proven (a code, or the host site's token) and last changed:
    # agents are cautioned about accounts that are new to either.
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    email_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), default=None)

    def has_active_subscription(self, *, now: datetime) -> bool:
        until = self.subscription_active_until
        return until is not None and until > now


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    teams: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | admin
    # The status the agent chose last; it survives reconnects and reloads.
    availability: Mapped[str] = mapped_column(String(16), default="online")  # online | away
    # Bumped to revoke every token issued so far (logout everywhere, password change).
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    # Admins let some agents go online while their teams are closed.
    works_outside_hours: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Deactivated agents cannot sign in; their tokens and sockets are cut off.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # When the agent was first seen away or offline with conversations open;
    # after AGENT_GRACE_SECONDS their unanswered conversations go back to the queue.
    unavailable_since: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedResponse(Base):
    """A reply agents insert with /name; for one team and language, or for all when those are None."""

    __tablename__ = "canned_responses"
    __table_args__ = (Index("ix_canned_responses_name", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(32), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # One open conversation per client, enforced by the database so that
        # two processes racing on a first message cannot open two.
        Index(
            "uq_conversations_one_open_per_client",
            "client_id",
            unique=True,
            sqlite_where=text("state != 'closed'"),
            postgresql_where=text("state != 'closed'"),
        ),
        Index("ix_conversations_state", "state"),
        Index("ix_conversations_agent_state", "agent_id", "state"),
        Index("ix_conversations_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    # The visitor's language as decided from the evidence ("und" when unknown).
    language: Mapped[str] = mapped_column(String(8), default="und")
    language_explanation: Mapped[str] = mapped_column(Text, default="")
    language_confidence: Mapped[float] = mapped_column(default=0.0, server_default="0")
    # The decision's evidence for agents and admins: candidates with their
    # shares, the priors used and the messages counted.
    language_decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    # The language the handling agents must speak. Equal to `language`, except
    # for AI conversations handed to humans, which go to English speakers.
    queue_language: Mapped[str] = mapped_column(String(8), default="en")
    team: Mapped[str] = mapped_column(String(32), default="support")
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | active | ai | closed
    priority: Mapped[str] = mapped_column(String(16), default="standard")
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    panel_language: Mapped[str | None] = mapped_column(String(8), default=None)
    browser_languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    sla_due_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the conversation last entered the queue; orders ties and shows waiting time.
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    ai_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    # The sequence number of the conversation's latest message. Incrementing
    # it locks the row, so sequence numbers commit in order per conversation.
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Tokens the AI agent spent on this conversation, against its budget.
    ai_tokens_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Why the AI handed the conversation to humans, when it did.
    handoff_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    # The visitor's IANA time zone, for telling opening times on their clock.
    visitor_timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    # The SLA schedule (routing/sla.py): when aging raises the conversation,
    # when admins are warned, and what happened.
    sla_escalate_at: Mapped[datetime | None] = mapped_column(default=None)
    sla_warn_at: Mapped[datetime | None] = mapped_column(default=None)
    sla_escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    sla_warned_at: Mapped[datetime | None] = mapped_column(default=None)
    sla_breached_at: Mapped[datetime | None] = mapped_column(default=None)
    # The AI answers while the team is closed; at opening the conversation
    # goes back to its human queue.
    ai_until_opening: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    client: Mapped[Client] = relationship(lazy="joined")
    agent: Mapped[Agent | None] = relationship(lazy="joined")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Idempotency that holds across processes: a resent client_id cannot
        # store a second row, whoever receives it.
        UniqueConstraint("conversation_id", "client_id", name="uq_messages_conversation_client_id"),
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        Index("ix_messages_conversation_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    # 1, 2, 3... within the conversation, in commit order (see Conversation.last_seq).
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(16))  # visitor | agent | ai | system
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="und")
    # Per-message detector scores, kept so the conversation-level decision can
    # be recomputed without running the detector over the history again.
    language_scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    language_weight: Mapped[float] = mapped_column(default=0.0)
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # For system messages: a stable key (conversation_closed, handed_to_humans)
    # that clients may render in their own words; text holds a localized default.
    event: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agent: Mapped[Agent | None] = relationship(lazy="joined")
    conversation: Mapped[Conversation] = relationship(lazy="select")


class Payment(Base):
    """A Here-and-now payment: requested, then confirmed by its provider once."""

    __tablename__ = "payments"
    __table_args__ = (
        # A provider's payment is recorded once, however often it is confirmed.
        UniqueConstraint("provider", "provider_payment_id", name="uq_payments_provider_payment"),
        Index("ix_payments_conversation", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    provider: Mapped[str] = mapped_column(String(16))  # manual | stripe
    provider_payment_id: Mapped[str] = mapped_column(String(255))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | paid | cancelled
    checkout_url: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    # Who marked a manual payment paid.
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    # Set when no specialist accepted in time: the money is owed back.
    refund_due_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookEvent(Base):
    """A provider's webhook event already handled: replays are recognised by the unique key."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who changed what, and when: admin changes, identity decisions, email changes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_target", "target_type", "target_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))  # agent | client | system
    actor_id: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str] = mapped_column(String(64))  # e.g. agent.create, language.add, client.suspend
    target_type: Mapped[str | None] = mapped_column(String(32), default=None)
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ClientDevice(Base):
    """A widget install (its random device ID, stored hashed) seen for a client."""

    __tablename__ = "client_devices"
    __table_args__ = (UniqueConstraint("client_id", "device_hash", name="uq_client_devices_client_device"),
                      Index("ix_client_devices_device_hash", "device_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    device_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityChallenge(Base):
    """A 6-digit code sent to an email: to sign in, to register, or to prove a new address."""

    __tablename__ = "identity_challenges"
    __table_args__ = (Index("ix_identity_challenges_email", "email", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # sign_in | register
    email: Mapped[str] = mapped_column(String(320))
    # The account the code signs in to; None for registrations and for requests
    # that matched no account (kept so that both answer alike).
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), default=None)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column()
    consumed_at: Mapped[datetime | None] = mapped_column(default=None)
    device_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # Registration details (name, company, phone), applied once the code is right.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityFlag(Base):
    """Two accounts that look like one person, for an admin to review."""

    __tablename__ = "identity_flags"
    __table_args__ = (Index("ix_identity_flags_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The new account (suspended) and the existing one (keeps working).
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    existing_client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    reason: Mapped[str] = mapped_column(String(32))  # duplicate_identity
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"device": true, "name_company": true}
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | merged | lifted | kept
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(foreign_keys=[client_id], lazy="joined")
    existing_client: Mapped[Client] = relationship(foreign_keys=[existing_client_id], lazy="joined")


class EmailChange(Base):
    """A request to move a client to a new email, from the account or from the old address."""

    __tablename__ = "email_changes"
    __table_args__ = (Index("ix_email_changes_client_status", "client_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    via: Mapped[str] = mapped_column(String(16))  # account | email
    old_email: Mapped[str] = mapped_column(String(320))
    new_email: Mapped[str] = mapped_column(String(320))
    # pending -> (account: awaiting_approval) -> completed; or rejected | expired | cancelled
    status: Mapped[str] = mapped_column(String(24), default="pending")
    new_code_hash: Mapped[str] = mapped_column(String(64))
    new_code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    new_confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The inbound-email path: a link to the old address proves it too.
    old_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    old_confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    client: Mapped[Client] = relationship(lazy="joined")


class OutboxMail(Base):
    """Every email the server sends, kept: delivered by SMTP, or held here when no SMTP is configured."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    to_address: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320), default=None)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | held | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class Rating(Base):
    """The visitor's rating of a conversation: one per conversation, the latest word counts."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    # The agent who handled the conversation when it was rated, for per-agent reports.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    rating: Mapped[int] = mapped_column(Integer)  # 1..5
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
