"""Structured logs: JSON lines with the conversation's ids, never the message text."""
from __future__ import annotations

import json
import logging

from chatserver.events import ConversationChanged, MessagePosted
from chatserver.logs import JsonFormatter, log_event


def test_json_formatter_keeps_extra_fields() -> None:
    record = logging.makeLogRecord({"name": "chatserver.x", "levelname": "INFO", "levelno": 20, "msg": "hello %s",
                                    "args": ("world",), "conversation_id": 7})
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello world" and line["conversation_id"] == 7 and line["level"] == "INFO"


def test_domain_events_are_logged_with_ids_and_without_text(caplog) -> None:
    caplog.set_level(logging.INFO, logger="chatserver.events")
    log_event(MessagePosted({"id": 3, "conversation_id": 9, "seq": 2, "sender": "visitor", "text": "my secret text"},
                            client_id=1, agent_id=None))
    log_event(ConversationChanged({"id": 9, "state": "active", "language": "de", "priority": "standard",
                                   "agent": {"id": 4, "name": "Ana"}}, client_id=1))
    stored, changed = caplog.records
    assert (stored.conversation_id, stored.message_id, stored.seq, stored.sender) == (9, 3, 2, "visitor")
    assert (changed.conversation_id, changed.state, changed.agent_id) == (9, "active", 4)
    assert "my secret text" not in caplog.text
    assert "my secret text" not in JsonFormatter().format(stored)
