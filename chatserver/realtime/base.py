"""What every namespace shares: one error shape, and handlers that never crash a client."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError as SocketIORefusal
from flask_socketio import Namespace

from ..services.errors import ServiceError
from ..metrics import Metrics
from .limits import Limiter

log = logging.getLogger(__name__)


def error_ack(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


def event(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Wrap an on_<event> method: check the payload and turn every failure into an error ack."""

    @functools.wraps(handler)
    def wrapper(self: "GuardedNamespace", data: Any = None, *extra: Any) -> dict[str, Any]:
        if data is None:
            data = {}
        if not isinstance(data, dict) or extra:
            return error_ack("invalid", "The payload must be one JSON object.")
        identity = self.identity()
        if identity is None:
            return error_ack("unauthorized", "This connection is not authenticated.")
        if not self.limiter.allow(request.sid, handler.__name__.removeprefix("on_")):
            return error_ack("rate_limited", "Too many events; slow down and try again in a moment.")
        try:
            result = handler(self, identity, data)
        except ServiceError as error:
            self.metrics.event_errors.labels(namespace=self.namespace, code=error.code).inc()
            return {"ok": False, "error": error.as_dict()}
        except Exception:
            # The stack trace stays in the log; the client gets a plain message.
            log.exception("%s %s failed", self.namespace, handler.__name__)
            self.metrics.event_errors.labels(namespace=self.namespace, code="internal").inc()
            return error_ack("internal", "Something went wrong on our side; please try again.")
        return {"ok": True, **result}

    return wrapper


class Refused(SocketIORefusal):
    """Refuse a connection with {code, message}.

    The packet carries code and message at its top level, as python-socketio
    clients see it, and again under "data", which the JavaScript client
    exposes as the connect_error's err.data.
    """

    def __init__(self, error: ServiceError):
        super().__init__(error.message)
        self.error_args = {**error.as_dict(), "data": error.as_dict()}


class GuardedNamespace(Namespace):
    """A namespace that answers unknown events with an error ack instead of silence, and rate-limits each socket."""

    def __init__(self, namespace: str, *, limiter: Limiter, metrics: Metrics):
        super().__init__(namespace)
        self.limiter = limiter
        self.metrics = metrics

    def trigger_event(self, event_name: str, *args: Any) -> Any:
        if event_name in ("connect", "disconnect") and self._sent_by_client(event_name, args[0]):
            # python-socketio hands a client's event named "connect" or
            # "disconnect" to the same handlers as the real ones.
            return error_ack("unknown_event", f"{event_name!r} is reserved.")
        if event_name not in ("connect", "disconnect") and not hasattr(self, "on_" + (event_name or "")):
            if not self.limiter.allow(args[0], "*"):
                return error_ack("rate_limited", "Too many events; slow down and try again in a moment.")
            return error_ack("unknown_event", f"Unknown event {event_name!r} on {self.namespace}.")
        try:
            result = super().trigger_event(event_name, *args)
        except Exception:
            if event_name == "connect":
                self.limiter.forget(args[0])  # refused: it holds no slot
            raise
        finally:
            if event_name == "disconnect":
                self.limiter.forget(args[0])
                self.metrics.connections.labels(namespace=self.namespace).dec()
        if event_name == "connect" and result is False:
            self.limiter.forget(args[0])
        elif event_name == "connect":
            # Reached only when the connection was accepted (a refusal raises).
            self.metrics.connections.labels(namespace=self.namespace).inc()
        return result

    def _sent_by_client(self, event_name: str, sid: str) -> bool:
        server = self.socketio.server
        if event_name == "connect":
            # A real connect finds the socket without an identity yet.
            try:
                return bool(server.get_session(sid, namespace=self.namespace))
            except KeyError:
                return False
        # A real disconnect runs after the socket was marked as leaving.
        return server.manager.is_connected(sid, self.namespace)

    def admit(self, owner: str) -> None:
        """Count this connection against owner's cap, or refuse it with the reason."""
        if not self.limiter.connect(request.sid, owner):
            raise Refused(ServiceError("too_many_connections",
                                       "Too many open connections for this account; close another tab or window."))

    def identity(self) -> dict[str, Any] | None:
        """Return what connect stored about this socket's caller."""
        try:
            return self.socketio.server.get_session(request.sid, namespace=self.namespace) or None
        except KeyError:
            return None

    def remember(self, identity: dict[str, Any]) -> None:
        self.socketio.server.save_session(request.sid, identity, namespace=self.namespace)
