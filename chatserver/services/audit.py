"""The audit log: every admin change and identity decision, with who, what and when."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..models import Agent, AuditEntry

SYSTEM = ("system", None)


def actor_of(agent: Agent | None) -> tuple[str, str | None]:
    """Return the (actor_type, actor_id) an agent acts as; the system when None."""
    return SYSTEM if agent is None else ("agent", str(agent.id))


class AuditLog:
    """Record entries inside the caller's transaction, so a change and its entry commit together."""

    def __init__(self, *, db: sessionmaker[Session], clock: Callable[[], datetime]):
        self._db = db
        self._clock = clock

    def record(self, session: Session, *, actor: tuple[str, str | None], action: str,
               target: tuple[str, Any] | None = None, details: dict[str, Any] | None = None) -> AuditEntry:
        """Add one entry to the session; the caller commits it with the change it describes."""
        target_type, target_id = target if target is not None else (None, None)
        entry = AuditEntry(at=self._clock(), actor_type=actor[0], actor_id=actor[1], action=action,
                           target_type=target_type, target_id=None if target_id is None else str(target_id),
                           details=details or {})
        session.add(entry)
        return entry

    def entries(self, *, limit: int = 100, before_id: int | None = None, action: str | None = None,
                target: tuple[str, Any] | None = None) -> list[dict[str, Any]]:
        """Return the newest entries first, as plain dicts."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 500)))
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        if target is not None:
            query = query.where(AuditEntry.target_type == target[0], AuditEntry.target_id == str(target[1]))
        with self._db() as session:
            return [audit_view(entry) for entry in session.scalars(query)]


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor_type": entry.actor_type, "actor_id": entry.actor_id,
            "action": entry.action, "target_type": entry.target_type, "target_id": entry.target_id,
            "details": entry.details}
