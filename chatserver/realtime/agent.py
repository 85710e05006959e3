"""The /agent namespace: human agents running live sessions."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import join_room

from ..services import services
from ..services.errors import ServiceError
from .base import GuardedNamespace, Refused, event
from ..metrics import Metrics
from .limits import Limiter


def agent_room(agent_id: int) -> str:
    return f"agent:{agent_id}"


# Online admins hear SLA warnings, breaches and refunds due.
ADMINS_ROOM = "admins"


class AgentNamespace(GuardedNamespace):
    """Authenticate agents by bearer token at connect, then hand each event to the chat service."""

    def __init__(self, namespace: str, *, limiter: Limiter, metrics: Metrics):
        super().__init__(namespace, limiter=limiter, metrics=metrics)
        # Sockets connected to this process, for presence heartbeats. Sockets
        # live in exactly one process, so this is local by nature; presence
        # itself is shared state.
        self.local_connections: dict[str, int] = {}

    def on_connect(self, auth: Any = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        try:
            agent = services().auth.agent_from_token(auth.get("token"))
        except ServiceError as error:
            raise Refused(error) from None
        self.admit(f"agent:{agent.id}")
        self.remember({"agent_id": agent.id, "role": agent.role})
        join_room(agent_room(agent.id))
        if agent.role == "admin":
            join_room(ADMINS_ROOM)
        self.local_connections[request.sid] = agent.id
        chat = services().chat
        chat.agent_connected(agent_id=agent.id, connection_id=request.sid)
        self.emit("assigned", {"conversations": chat.assigned(agent_id=agent.id)}, room=request.sid)
        self.emit("queue", chat.queue_for(agent_id=agent.id), room=request.sid)

    def on_disconnect(self, reason: Any = None) -> None:
        agent_id = self.local_connections.pop(request.sid, None)
        if agent_id is not None:
            services().chat.agent_disconnected(agent_id=agent_id, connection_id=request.sid)

    @event
    def on_status(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"status": services().chat.set_status(agent_id=identity["agent_id"], status=data.get("status"))}

    @event
    def on_queue(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return services().chat.queue_for(agent_id=identity["agent_id"])

    @event
    def on_accept(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"conversation": services().chat.accept(agent_id=identity["agent_id"],
                                                       conversation_id=data.get("conversation_id"))}

    @event
    def on_message(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"message": services().chat.post_agent_message(
            agent_id=identity["agent_id"], conversation_id=data.get("conversation_id"),
            message_client_id=data.get("client_id"), text=data.get("text"))}

    @event
    def on_history(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return services().chat.agent_history(agent_id=identity["agent_id"],
                                             conversation_id=data.get("conversation_id"),
                                             after_seq=data.get("after_seq"))

    @event
    def on_close(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"conversation": services().chat.close(agent_id=identity["agent_id"],
                                                      conversation_id=data.get("conversation_id"))}

    @event
    def on_transfer(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"conversation": services().chat.transfer(agent_id=identity["agent_id"],
                                                         conversation_id=data.get("conversation_id"),
                                                         to_agent_id=data.get("to_agent_id"),
                                                         to_team=data.get("to_team"))}

    def disconnect_agent(self, agent_id: int) -> None:
        """Cut this process's sockets of an agent (deactivated); other processes do it on their heartbeat."""
        for sid, connected_agent in list(self.local_connections.items()):
            if connected_agent == agent_id:
                self.socketio.server.disconnect(sid, namespace=self.namespace)

    @event
    def on_mark_paid(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"payment": services().payments.mark_paid(agent_id=identity["agent_id"],
                                                         payment_id=data.get("payment_id"))}

    @event
    def on_typing(self, identity: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        services().chat.agent_typing(agent_id=identity["agent_id"], conversation_id=data.get("conversation_id"),
                                     typing=data.get("typing"))
        return {}
