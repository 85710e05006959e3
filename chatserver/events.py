"""Domain events. Services raise them; the realtime broadcaster decides who hears what."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
import logging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessagePosted:
    message: dict[str, Any]
    client_id: int  # database id of the conversation's client
    agent_id: int | None  # the assigned agent, if any


@dataclass(frozen=True)
class MessageDelta:
    """A piece of an AI reply that is still streaming; not stored."""

    delta: dict[str, Any]
    client_id: int


@dataclass(frozen=True)
class Typing:
    conversation_id: int
    sender: str  # visitor | agent | ai
    typing: bool
    client_id: int
    agent_id: int | None


@dataclass(frozen=True)
class ConversationChanged:
    conversation: dict[str, Any]
    client_id: int
    # Agents that must hear about it: the assigned one, and one that just lost it.
    agent_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class QueueChanged:
    """The queue, an agent's status or an agent's load changed."""


@dataclass(frozen=True)
class AgentChanged:
    agent_id: int


@dataclass(frozen=True)
class HereAndNowOffered:
    """A paid conversation is offered to one specialist first."""

    agent_id: int
    conversation_id: int


@dataclass(frozen=True)
class SlaWarning:
    """A conversation nears its first-response deadline without a response; admins hear it."""

    conversation: dict[str, Any]  # the queue summary, plus sla_due_at


@dataclass(frozen=True)
class SlaBreached:
    """A conversation passed its first-response deadline without a response; recorded and reported."""

    conversation: dict[str, Any]


@dataclass(frozen=True)
class RefundDue:
    """A Here-and-now payment found no specialist in time and is owed back."""

    payment: dict[str, Any]


@dataclass(frozen=True)
class SubscriptionChanged:
    """A client's subscription end changed; their queued conversations are re-tiered."""

    client_id: int


@dataclass(frozen=True)
class ClientRevoked:
    """A client's open widget sockets must end now: suspended, or their email changed."""

    client_id: int
    code: str
    message: str


@dataclass(frozen=True)
class AgentDeactivated:
    """An admin deactivated an agent: their sockets are cut and their conversations requeued."""

    agent_id: int


@dataclass(frozen=True)
class ConversationRated:
    """A visitor rated a closed conversation; its agent and the admins hear it."""

    rating: dict[str, Any]
    client_id: int
    agent_id: int | None


Event = (ClientRevoked | AgentDeactivated | ConversationRated | SubscriptionChanged | MessagePosted | MessageDelta
         | Typing | ConversationChanged | QueueChanged | AgentChanged
         | HereAndNowOffered | SlaWarning | SlaBreached | RefundDue)


@dataclass
class EventBus:
    """Hands each published event to every subscriber, in order."""

    _subscribers: list[Callable[[Any], None]] = field(default_factory=list)

    def subscribe(self, handler: Callable[[Any], None]) -> None:
        self._subscribers.append(handler)

    def publish(self, *events: Any) -> None:
        for event in events:
            for handler in self._subscribers:
                try:
                    handler(event)
                except Exception:  # a broken listener must not undo a committed change
                    log.exception("event handler failed for %s", type(event).__name__)
