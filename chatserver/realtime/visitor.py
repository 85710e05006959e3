"""The /visitor namespace: website visitors chatting through the widget."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import join_room

from ..identity import Visitor
from ..identity.service import VERIFY_HINT
from ..language import normalize_code
from ..services import services
from ..services.errors import ServiceError
from ..services.hours import visitor_zone
from .base import GuardedNamespace, Refused, event

MAX_BROWSER_LANGUAGES = 10
# A verified socket is listed under its client for this long (a session's longest life), so a
# suspension or an email change can end it from any process.
SOCKET_LISTING_SECONDS = 24 * 3600.0


def visitor_room(client_id: int) -> str:
    return f"visitor:{client_id}"


def visitor_sockets(client_id: int) -> str:
    """Name the shared member set of a client's open /visitor sockets."""
    return f"visitor_sockets:{client_id}"


def _browser_languages(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    codes = [normalize_code(item) for item in value[:MAX_BROWSER_LANGUAGES] if isinstance(item, str)]
    return list(dict.fromkeys(code for code in codes if code))


def verified(identity: dict[str, Any]) -> int:
    """Return the socket's client id, or refuse: unverified visitors may read, not ask for support."""
    if identity.get("client_id") is None:
        raise ServiceError("verification_required", VERIFY_HINT, status=403)
    return identity["client_id"]


class VisitorNamespace(GuardedNamespace):
    """Authenticate visitors at connect, then hand each event to the chat or identity service."""

    def on_connect(self, auth: Any = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        try:
            visitor = services().identity.connect(auth=auth, ip=request.remote_addr)
        except ServiceError as error:
            raise Refused(error) from None
        # The connection cap counts per client, or per device before verification.
        if visitor.client_id is not None:
            self.admit(f"client:{visitor.client_id}")
        else:
            self.admit(f"device:{visitor.device_hash or request.sid}")
        panel = auth.get("panel_language")
        zone = auth.get("timezone")
        self.remember({
            "client_id": None,
            "personal_id": None,
            "device_hash": visitor.device_hash,
            "ip": request.remote_addr,
            "browser_languages": _browser_languages(auth.get("languages")),
            "panel_language": normalize_code(panel) if isinstance(panel, str) else None,
            # An IANA name from the browser; unknown or absent means UTC.
            "timezone": visitor_zone(zone).key,
        })
        self._enter(visitor)

    def on_disconnect(self, *args: Any) -> None:
        identity = self.identity()
        if identity and identity.get("client_id") is not None:
            services().state.members_remove(name=visitor_sockets(identity["client_id"]), member=request.sid)

    def _enter(self, visitor: Visitor) -> None:
        """Tell the socket who it is; a verified one joins its client's room and hears its conversation."""
        if visitor.verified:
            identity = self.identity() or {}
            identity.update(client_id=visitor.client_id, personal_id=visitor.personal_id)
            self.remember(identity)
            join_room(visitor_room(visitor.client_id))
            services().state.members_add(name=visitor_sockets(visitor.client_id), member=request.sid,
                                         ttl=SOCKET_LISTING_SECONDS)
        self.emit("identity", visitor.public(), room=request.sid)
        if visitor.verified:
            conversation = services().chat.open_conversation(client_id=visitor.client_id)
            if conversation is not None:
                self.emit("conversation", conversation, room=request.sid)

    # --- support: verified visitors only ----------------------------------------------------------------
    @event
    def on_message(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        posted = services().chat.post_visitor_message(
            client_id=verified(identity), message_client_id=data.get("client_id"), text=data.get("text"),
            team=data.get("team"), panel_language=identity["panel_language"],
            browser_languages=identity["browser_languages"], visitor_timezone=identity.get("timezone"))
        return {"message": posted.message, "duplicate": posted.duplicate}

    @event
    def on_here_and_now(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return services().payments.request(client_id=verified(identity))

    @event
    def on_ask_ai(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"conversation": services().chat.ask_ai_until_opening(client_id=verified(identity))}

    @event
    def on_request_human(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"conversation": services().chat.request_human(client_id=verified(identity))}

    @event
    def on_rate(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"rating": services().feedback.rate(client_id=verified(identity),
                                                   conversation_id=data.get("conversation_id"),
                                                   rating=data.get("rating"), comment=data.get("comment", ""))}

    @event
    def on_history(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        if identity.get("client_id") is None:
            return {"conversation": None, "messages": []}  # nothing to read yet; not an error to retry
        return services().chat.history(client_id=identity["client_id"], after_seq=data.get("after_seq"),
                                       after_id=data.get("after_id"))

    @event
    def on_typing(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        services().chat.visitor_typing(client_id=verified(identity), typing=data.get("typing"))
        return {}

    # --- verification: any visitor --------------------------------------------------------------------------
    @event
    def on_verify_start(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return services().identity.start_sign_in(
            personal_id=data.get("personal_id"), email=data.get("email"), device=identity.get("device_hash"),
            ip=identity.get("ip"), language=identity.get("panel_language"))

    @event
    def on_register(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return services().identity.register(
            email=data.get("email"), name=data.get("name"), company=data.get("company"), phone=data.get("phone"),
            device=identity.get("device_hash"), ip=identity.get("ip"), language=identity.get("panel_language"))

    @event
    def on_verify_code(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        visitor = services().identity.verify_code(
            email=data.get("email"), code=data.get("code"), device=identity.get("device_hash"),
            ip=identity.get("ip"), language=identity.get("panel_language"))
        if identity.get("client_id") not in (None, visitor.client_id):
            # One socket, one client: a socket of another account reconnects with the new session.
            return {"identity": visitor.public()}
        self._enter(visitor)
        return {"identity": visitor.public()}

    # --- email change from the account -------------------------------------------------------------------------
    @event
    def on_email_change(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"email_change": services().identity.request_email_change(
            client_id=verified(identity), new_email=data.get("new_email"), language=identity.get("panel_language"))}

    @event
    def on_email_change_confirm(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"email_change": services().identity.confirm_email_change_code(client_id=verified(identity),
                                                                              code=data.get("code"))}
