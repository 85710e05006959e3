"""The /visitor namespace: website visitors chatting through the widget."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import join_room

from ..language import normalize_code
from ..services import services
from ..services.errors import ServiceError
from ..services.hours import visitor_zone
from .base import GuardedNamespace, Refused, event

MAX_BROWSER_LANGUAGES = 10


def visitor_room(client_id: int) -> str:
    return f"visitor:{client_id}"


def _browser_languages(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    codes = [normalize_code(item) for item in value[:MAX_BROWSER_LANGUAGES] if isinstance(item, str)]
    return list(dict.fromkeys(code for code in codes if code))


class VisitorNamespace(GuardedNamespace):
    """Authenticate visitors at connect, then hand each event to the chat service."""

    def on_connect(self, auth: Any = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        try:
            client = services().auth.client_from_identity(auth.get("identity"))
        except ServiceError as error:
            raise Refused(error) from None
        self.admit(f"client:{client.id}")
        panel = auth.get("panel_language")
        zone = auth.get("timezone")
        self.remember({
            "client_id": client.id,
            "personal_id": client.personal_id,
            "browser_languages": _browser_languages(auth.get("languages")),
            "panel_language": normalize_code(panel) if isinstance(panel, str) else None,
            # An IANA name from the browser; unknown or absent means UTC.
            "timezone": visitor_zone(zone).key,
        })
        join_room(visitor_room(client.id))
        conversation = services().chat.open_conversation(client_id=client.id)
        if conversation is not None:
            self.emit("conversation", conversation, room=request.sid)

    @event
    def on_message(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        posted = services().chat.post_visitor_message(
            client_id=identity["client_id"], message_client_id=data.get("client_id"), text=data.get("text"),
            team=data.get("team"), panel_language=identity["panel_language"],
            browser_languages=identity["browser_languages"], visitor_timezone=identity.get("timezone"))
        return {"message": posted.message, "duplicate": posted.duplicate}

    @event
    def on_here_and_now(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return services().payments.request(client_id=identity["client_id"])

    @event
    def on_ask_ai(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"conversation": services().chat.ask_ai_until_opening(client_id=identity["client_id"])}

    @event
    def on_request_human(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"conversation": services().chat.request_human(client_id=identity["client_id"])}

    @event
    def on_rate(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"rating": services().feedback.rate(client_id=identity["client_id"],
                                                   conversation_id=data.get("conversation_id"),
                                                   rating=data.get("rating"), comment=data.get("comment", ""))}

    @event
    def on_history(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return services().chat.history(client_id=identity["client_id"], after_seq=data.get("after_seq"),
                                       after_id=data.get("after_id"))

    @event
    def on_typing(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        services().chat.visitor_typing(client_id=identity["client_id"], typing=data.get("typing"))
        return {}
