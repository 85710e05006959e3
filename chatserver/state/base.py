"""The shared-state interface: routing queue, presence, load and locks."""
from __future__ import annotations

import json
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

AGENT_STATUSES = frozenset({"online", "away"})


@dataclass(frozen=True)
class QueueEntry:
    """One queued conversation as the routing queue sees it."""

    conversation_id: int
    score: float  # lower is better (computed by the caller)
    summary: dict[str, Any]  # JSON-serialisable snapshot used to render agents' queues


class SharedState(ABC):
    """State that every server process must agree on."""

    # --- the routing queue: an ordered index of queued conversations

    @abstractmethod
    def queue_put(self, *, conversation_id: int, score: float, summary: Mapping[str, Any]) -> None:
        """Insert or update a queued conversation."""

    @abstractmethod
    def queue_remove(self, *, conversation_id: int) -> bool:
        """Remove a conversation from the queue; return True if it was there."""

    @abstractmethod
    def queue_entries(self) -> list[QueueEntry]:
        """Return the queue best first: score ascending, ties by conversation id ascending."""

    @abstractmethod
    def queue_replace(self, *, entries: Iterable[QueueEntry]) -> None:
        """Atomically replace the whole queue."""

    # --- presence: an agent is present while at least one connection has a fresh heartbeat

    @abstractmethod
    def presence_touch(self, *, agent_id: int, connection_id: str, ttl: float) -> None:
        """Add or refresh a connection so that it expires ttl seconds from now."""

    @abstractmethod
    def presence_drop(self, *, agent_id: int, connection_id: str) -> None:
        """Forget one connection of an agent."""

    @abstractmethod
    def present_agents(self) -> set[int]:
        """Prune expired connections and return agents with at least one left."""

    @abstractmethod
    def agent_status_set(self, *, agent_id: int, status: str) -> None:
        """Record an agent's chosen status ("online" or "away")."""

    @abstractmethod
    def agent_statuses(self, *, agent_ids: Iterable[int]) -> dict[int, str]:
        """Return the recorded statuses of the given agents, omitting unknown ones."""

    # --- load: active conversations per agent, reserved atomically against capacity

    @abstractmethod
    def load_reserve(self, *, agent_id: int, capacity: int) -> bool:
        """Atomically take one slot if the agent's load is below capacity."""

    @abstractmethod
    def load_release(self, *, agent_id: int) -> None:
        """Give back one slot, never going below zero."""

    @abstractmethod
    def load_get(self, *, agent_ids: Iterable[int]) -> dict[int, int]:
        """Return the load of each given agent, 0 when unknown."""

    @abstractmethod
    def load_set(self, *, loads: Mapping[int, int]) -> None:
        """Overwrite the given agents' loads."""

    # --- locks: short leases, e.g. so only one process runs a periodic repair

    @abstractmethod
    def lock_acquire(self, *, name: str, owner: str, ttl: float) -> bool:
        """Take the lease for ttl seconds, or extend it if owner already holds it."""

    @abstractmethod
    def lock_release(self, *, name: str, owner: str) -> None:
        """Release the lease only if owner still holds it."""

    def claim_once(self, *, name: str, ttl: float) -> bool:
        """Return True the first time name is claimed, False while an earlier claim lasts (ttl seconds)."""
        # A lease with an owner nobody else can hold: exactly one caller wins,
        # in this process or any other. Used for identity tokens' jti.
        return self.lock_acquire(name=f"once:{name}", owner=uuid.uuid4().hex, ttl=ttl)

    # --- member sets: small sets whose members expire one by one, e.g. a client's open sockets

    @abstractmethod
    def members_add(self, *, name: str, member: str, ttl: float) -> None:
        """Add or refresh member so that it expires ttl seconds from now."""

    @abstractmethod
    def members_remove(self, *, name: str, member: str) -> None:
        """Forget member."""

    @abstractmethod
    def members_get(self, *, name: str) -> set[str]:
        """Return the members that have not expired."""

    # --- counters: usage totals with a lifetime, e.g. AI tokens spent today

    @abstractmethod
    def counter_add(self, *, name: str, amount: int, ttl: float) -> int:
        """Add amount to the counter, keep it ttl seconds from its creation, and return the new total."""

    @abstractmethod
    def counter_get(self, *, name: str) -> int:
        """Return the counter's total, 0 when absent or expired."""

    # --- job queues: background work that any process may take

    @abstractmethod
    def job_push(self, *, queue: str, payload: Mapping[str, Any], limit: int) -> bool:
        """Append a JSON-serialisable job; return False when the queue already holds limit jobs."""

    @abstractmethod
    def job_pop(self, *, queue: str, timeout: float) -> dict[str, Any] | None:
        """Take the oldest job, waiting up to timeout seconds; None when there is none."""

    # --- plumbing

    @property
    @abstractmethod
    def message_queue_url(self) -> str | None:
        """Return the Flask-SocketIO message queue URL, or None when in-process."""

    def ping(self) -> bool:
        """Check that the backing store answers."""
        return True

    @abstractmethod
    def close(self) -> None:
        """Release connections held by this object."""


# Validation is shared so both backends reject the same inputs the same way
# (Redis would otherwise fail later and differently, e.g. on a NaN score).


def check_conversation_id(conversation_id: int) -> int:
    """Return conversation_id as an int, rejecting negatives."""
    conversation_id = int(conversation_id)
    if conversation_id < 0:
        raise ValueError(f"conversation_id must be >= 0, got {conversation_id}")
    return conversation_id


def check_score(score: float) -> float:
    """Return score as a float, rejecting NaN."""
    score = float(score)
    if math.isnan(score):
        raise ValueError("score must not be NaN")
    return score


def check_ttl(ttl: float) -> float:
    """Return ttl as a float, rejecting non-positive or non-finite values."""
    ttl = float(ttl)
    if not (ttl > 0 and math.isfinite(ttl)):
        raise ValueError(f"ttl must be a positive finite number of seconds, got {ttl}")
    return ttl


def check_status(status: str) -> str:
    """Return status if it is a known agent status."""
    if status not in AGENT_STATUSES:
        raise ValueError(f"status must be one of {sorted(AGENT_STATUSES)}, got {status!r}")
    return status


def check_load(load: int) -> int:
    """Return load as an int, rejecting negatives."""
    load = int(load)
    if load < 0:
        raise ValueError(f"load must be >= 0, got {load}")
    return load


def dump_summary(summary: Mapping[str, Any]) -> str:
    """Serialise a summary; storing text keeps callers from mutating stored state."""
    return json.dumps(dict(summary), separators=(",", ":"), allow_nan=False)


def load_summary(data: str) -> dict[str, Any]:
    """Deserialise a stored summary into a fresh dict."""
    return json.loads(data)
