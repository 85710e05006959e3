"""Background upkeep: presence heartbeats and healing the shared state from the database."""
from __future__ import annotations

import logging
import os
import socket
import uuid

from flask_socketio import SocketIO

from ..ai import AIAgent
from ..services.chat import ChatService
from ..services.sla import SlaService
from ..state import UNAVAILABLE, SharedState
from .agent import AgentNamespace

log = logging.getLogger(__name__)

REPAIR_LOCK = "repair"
SLA_LOCK = "sla"
GRACE_LOCK = "agent-grace"


class Maintenance:
    """Keep this process's agents present and the shared queue true to the database."""

    def __init__(self, *, socketio: SocketIO, chat: ChatService, state: SharedState, agents: AgentNamespace,
                 ai: AIAgent, sla: SlaService, heartbeat_interval: float, repair_interval: float,
                 sla_interval: float, grace_seconds: float = 120.0):
        self._ai = ai
        self._socketio = socketio
        self._chat = chat
        self._state = state
        self._agents = agents
        self._heartbeat_interval = heartbeat_interval
        self._repair_interval = repair_interval
        self._sla = sla
        self._sla_interval = sla_interval
        self._grace_seconds = grace_seconds
        # Checked a few times per grace period, so a requeue comes at most a quarter late.
        self._grace_interval = min(15.0, max(0.5, grace_seconds / 4))
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def start(self) -> None:
        self.repair()
        self._socketio.start_background_task(self._heartbeats)
        self._socketio.start_background_task(self._repairs)
        self._socketio.start_background_task(self._sla_checks)
        self._socketio.start_background_task(self._grace_checks)

    def check_grace(self) -> None:
        # One process sweeps; the requeue itself is a conditional update, so a lapsed lease is harmless.
        if not self._state.lock_acquire(name=GRACE_LOCK, owner=self._owner, ttl=max(self._grace_interval * 2, 10)):
            return
        try:
            self._chat.sweep_unavailable(grace_seconds=self._grace_seconds)
        finally:
            self._state.lock_release(name=GRACE_LOCK, owner=self._owner)

    def _grace_checks(self) -> None:
        while True:
            self._socketio.sleep(self._grace_interval)
            try:
                self.check_grace()
            except Exception:
                log.exception("agent grace check failed")

    def check_sla(self) -> None:
        # The lock saves duplicate reads; correctness comes from the
        # scheduler's conditional updates, so a lapsed lease is harmless.
        if not self._state.lock_acquire(name=SLA_LOCK, owner=self._owner, ttl=max(self._sla_interval * 2, 10)):
            return
        try:
            self._sla.run()
        finally:
            self._state.lock_release(name=SLA_LOCK, owner=self._owner)

    def repair(self) -> None:
        # One process at a time: a repair reads the database and rewrites the
        # whole queue, so two at once would only do the work twice.
        if not self._state.lock_acquire(name=REPAIR_LOCK, owner=self._owner, ttl=max(self._repair_interval, 30)):
            return
        try:
            self._chat.repair()
            self._ai.resume_waiting()
        finally:
            self._state.lock_release(name=REPAIR_LOCK, owner=self._owner)

    def _heartbeats(self) -> None:
        while True:
            self._socketio.sleep(self._heartbeat_interval)
            try:
                connections = list(self._agents.local_connections.items())
                # An agent deactivated through another process loses its sockets here.
                for agent_id in self._chat.inactive_among(agent_ids={agent_id for _, agent_id in connections}):
                    self._agents.disconnect_agent(agent_id)
                for connection_id, agent_id in connections:
                    if connection_id in self._agents.local_connections:
                        self._chat.agent_heartbeat(agent_id=agent_id, connection_id=connection_id)
            except UNAVAILABLE as error:
                log.warning("presence heartbeat failed: shared state unavailable (%s)", type(error).__name__)
            except Exception:
                log.exception("presence heartbeat failed")

    def _sla_checks(self) -> None:
        while True:
            self._socketio.sleep(self._sla_interval)
            try:
                self.check_sla()
            except UNAVAILABLE as error:
                log.warning("SLA check failed: shared state unavailable (%s)", type(error).__name__)
            except Exception:
                log.exception("SLA check failed")

    def _repairs(self) -> None:
        while True:
            self._socketio.sleep(self._repair_interval)
            try:
                self.repair()
            except UNAVAILABLE as error:
                log.warning("shared state repair failed: shared state unavailable (%s)", type(error).__name__)
            except Exception:
                log.exception("shared state repair failed")
