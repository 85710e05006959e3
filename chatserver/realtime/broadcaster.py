"""Turn domain events into Socket.IO emits, deciding who hears each one."""
from __future__ import annotations

import logging
import threading
from typing import Any

from flask_socketio import SocketIO

from ..events import (AgentChanged, AgentDeactivated, ClientRevoked, ConversationChanged, ConversationRated,
                      HereAndNowOffered,
                      MessageDelta, MessagePosted,
                      QueueChanged, RefundDue, SlaBreached, SlaWarning, Typing)
from ..services.chat import ChatService
from ..state import UNAVAILABLE
from .agent import ADMINS_ROOM, agent_room
from ..state import SharedState
from .visitor import visitor_room, visitor_sockets

log = logging.getLogger(__name__)

VISITOR = "/visitor"
AGENT = "/agent"


class Broadcaster:
    """Emit messages and conversation changes at once; coalesce queue refreshes."""

    def __init__(self, *, socketio: SocketIO, chat: ChatService, state: SharedState, queue_delay: float = 0.05,
                 disconnect_agent: Any = None):
        self._socketio = socketio
        self._state = state
        self._disconnect_agent = disconnect_agent
        self._chat = chat
        self._queue_delay = queue_delay
        self._lock = threading.Lock()
        self._flush_scheduled = False
        self._positions_dirty = False

    def __call__(self, event: Any) -> None:
        if isinstance(event, ClientRevoked):
            self._revoke(event)
        elif isinstance(event, MessagePosted):
            self._emit("message", event.message, visitor_room(event.client_id), VISITOR)
            if event.agent_id is not None:
                self._emit("message", event.message, agent_room(event.agent_id), AGENT)
        elif isinstance(event, MessageDelta):
            self._emit("message_delta", event.delta, visitor_room(event.client_id), VISITOR)
        elif isinstance(event, Typing):
            payload = {"conversation_id": event.conversation_id, "sender": event.sender, "typing": event.typing}
            if event.sender != "visitor":
                self._emit("typing", payload, visitor_room(event.client_id), VISITOR)
            if event.sender != "agent" and event.agent_id is not None:
                self._emit("typing", payload, agent_room(event.agent_id), AGENT)
        elif isinstance(event, ConversationChanged):
            self._emit("conversation", event.conversation, visitor_room(event.client_id), VISITOR)
            for agent_id in event.agent_ids:
                self._emit("conversation", event.conversation, agent_room(agent_id), AGENT)
        elif isinstance(event, QueueChanged):
            self._schedule(positions=True)
        elif isinstance(event, AgentDeactivated):
            if self._disconnect_agent is not None:
                self._disconnect_agent(event.agent_id)
        elif isinstance(event, AgentChanged):
            self._schedule(positions=False)
        elif isinstance(event, HereAndNowOffered):
            self._emit("here_and_now_offer", {"conversation_id": event.conversation_id},
                       agent_room(event.agent_id), AGENT)
        elif isinstance(event, SlaWarning):
            self._emit("sla_warning", event.conversation, ADMINS_ROOM, AGENT)
        elif isinstance(event, SlaBreached):
            self._emit("sla_breach", event.conversation, ADMINS_ROOM, AGENT)
        elif isinstance(event, RefundDue):
            self._emit("refund_due", event.payment, ADMINS_ROOM, AGENT)
        elif isinstance(event, ConversationRated):
            if event.agent_id is not None:
                self._emit("conversation_rated", event.rating, agent_room(event.agent_id), AGENT)
            self._emit("conversation_rated", event.rating, ADMINS_ROOM, AGENT)

    def _revoke(self, event: ClientRevoked) -> None:
        """Tell the client's widgets why, then end their sockets, on whichever process holds them."""
        self._emit("revoked", {"code": event.code, "message": event.message}, visitor_room(event.client_id), VISITOR)
        name = visitor_sockets(event.client_id)
        for sid in self._state.members_get(name=name):
            try:
                # With a message queue, a socket of another process is ended by that process.
                self._socketio.server.disconnect(sid, namespace=VISITOR)
            except Exception:
                log.exception("could not disconnect a revoked visitor socket")
            self._state.members_remove(name=name, member=sid)

    def _emit(self, name: str, payload: Any, room: str, namespace: str) -> None:
        self._socketio.emit(name, payload, to=room, namespace=namespace)

    def _schedule(self, *, positions: bool) -> None:
        # A burst of changes (ten visitors writing at once) becomes one refresh
        # of every agent's queue rather than ten.
        with self._lock:
            self._positions_dirty |= positions
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        self._socketio.start_background_task(self._flush_later)

    def _flush_later(self) -> None:
        self._socketio.sleep(self._queue_delay)
        with self._lock:
            self._flush_scheduled = False
            positions, self._positions_dirty = self._positions_dirty, False
        try:
            self.flush(positions=positions)
        except UNAVAILABLE as error:
            # Redis is away; the next change or the periodic repair refreshes the queues.
            log.warning("queue refresh skipped: shared state unavailable (%s)", type(error).__name__)
        except Exception:
            log.exception("queue refresh failed")

    def flush(self, *, positions: bool) -> None:
        """Send every present agent its queue, and every waiting visitor its position."""
        # The estimate reads the database: do it before the snapshot, so a
        # conversation accepted meanwhile is not announced as queued again.
        estimate = self._chat.wait_estimator() if positions else None
        # One read of the shared queue serves both: it is the costly part.
        entries = self._chat.queue_snapshot()
        for agent_id, queue in self._chat.queues_for_present_agents(entries).items():
            self._emit("queue", queue, agent_room(agent_id), AGENT)
        if positions:
            for conversation in self._chat.queued_conversations(entries, estimate):
                client_id = conversation.pop("client_db_id")
                self._emit("conversation", conversation, visitor_room(client_id), VISITOR)
