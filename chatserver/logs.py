"""Logging: plain text for people, or one JSON object per line for log pipelines; domain events logged with their ids."""
from __future__ import annotations

import json
import logging
from typing import Any

from .events import ConversationChanged, MessagePosted

# Attributes every LogRecord has; anything else was passed with extra=.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

log = logging.getLogger("chatserver.events")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line with its extra fields (conversation_id, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                                 "logger": record.name, "message": record.getMessage()}
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(*, level: str, fmt: str) -> None:
    """Set up the root logger once per process."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    if not any(getattr(existing, "_chatserver", False) for existing in root.handlers):
        handler._chatserver = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)


def log_event(event: Any) -> None:
    """Log what happened to a conversation, with its ids and never its text (subscribed to the event bus)."""
    if isinstance(event, MessagePosted):
        message = event.message
        log.info("message stored", extra={"conversation_id": message["conversation_id"], "message_id": message["id"],
                                          "seq": message.get("seq"), "sender": message["sender"],
                                          "event": message.get("event")})
    elif isinstance(event, ConversationChanged):
        conversation = event.conversation
        log.info("conversation %s", conversation["state"],
                 extra={"conversation_id": conversation["id"], "state": conversation["state"],
                        "language": conversation["language"], "priority": conversation["priority"],
                        "agent_id": (conversation.get("agent") or {}).get("id")})
