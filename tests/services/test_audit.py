"""The audit log on both stacks' databases: entries commit with their change, or not at all."""
from __future__ import annotations

from datetime import datetime, timezone

from chatserver.db import make_engine, make_sessionmaker, upgrade
from chatserver.models import Setting
from chatserver.services.audit import AuditLog, actor_of

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def _log(stack) -> tuple[AuditLog, object]:
    upgrade(stack.database_url)
    db = make_sessionmaker(make_engine(stack.database_url))
    return AuditLog(db=db, clock=lambda: NOW), db


def test_entries_commit_with_their_change_and_come_back_newest_first(stack) -> None:
    log, db = _log(stack)
    with db() as session:
        session.add(Setting(key="audit_test", value=[1]))
        log.record(session, actor=("agent", "7"), action="setting.set", target=("setting", "audit_test"),
                   details={"value": [1]})
        session.commit()
    with db() as session:
        log.record(session, actor=actor_of(None), action="client.suspend", target=("client", 42))
        session.commit()
    entries = log.entries(limit=10)
    assert [entry["action"] for entry in entries[:2]] == ["client.suspend", "setting.set"]
    assert entries[1] == {"id": entries[1]["id"], "at": NOW.isoformat(), "actor_type": "agent", "actor_id": "7",
                          "action": "setting.set", "target_type": "setting", "target_id": "audit_test",
                          "details": {"value": [1]}}
    assert entries[0]["actor_type"] == "system" and entries[0]["target_id"] == "42"
    assert [entry["action"] for entry in log.entries(target=("client", 42))] == ["client.suspend"]
    assert log.entries(before_id=entries[0]["id"], limit=1)[0]["action"] == "setting.set"


def test_a_rolled_back_change_leaves_no_entry(stack) -> None:
    log, db = _log(stack)
    with db() as session:
        log.record(session, actor=("agent", "1"), action="agent.delete", target=("agent", 99))
        session.rollback()
    assert log.entries(action="agent.delete") == []
