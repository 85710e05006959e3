"""Socket.IO at the edge: the /visitor and /agent namespaces and the broadcaster."""
from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from .agent import AgentNamespace
from .broadcaster import AGENT, VISITOR, Broadcaster
from .limits import Limiter, rates_from_config
from .maintenance import Maintenance
from .queue import ListenerCollector, ProbedRedisManager
from .slow import SlowClientGuard
from .visitor import VisitorNamespace

__all__ = ["init_app", "start"]


def init_app(app: Flask, socketio: SocketIO) -> None:
    """Register the namespaces and subscribe the broadcaster to domain events."""
    container = app.extensions["chatserver"]
    rates = rates_from_config(app.config)
    cap = app.config["MAX_CONNECTIONS_PER_CLIENT"]
    agents = AgentNamespace(AGENT, limiter=Limiter(rates, max_connections=cap), metrics=container.metrics)
    socketio.on_namespace(VisitorNamespace(VISITOR, limiter=Limiter(rates, max_connections=cap),
                                           metrics=container.metrics))
    socketio.on_namespace(agents)
    container.events.subscribe(Broadcaster(socketio=socketio, chat=container.chat, state=container.state,
                                           disconnect_agent=agents.disconnect_agent))
    manager = socketio.server.manager
    if isinstance(manager, ProbedRedisManager):
        container.metrics.registry.register(ListenerCollector(manager))
    container.slow_clients = SlowClientGuard(socketio=socketio, limit=app.config["MAX_SEND_QUEUE"],
                                             metrics=container.metrics)
    container.maintenance = Maintenance(
        socketio=socketio, chat=container.chat, state=container.state, agents=agents, ai=container.ai,
        sla=container.sla, heartbeat_interval=app.config["HEARTBEAT_INTERVAL"],
        repair_interval=app.config["REPAIR_INTERVAL"], sla_interval=app.config["SLA_CHECK_INTERVAL"],
        grace_seconds=app.config["AGENT_GRACE_SECONDS"])


def start(app: Flask) -> None:
    """Start this process's background upkeep and job workers (the server does this once it runs)."""
    container = app.extensions["chatserver"]
    container.maintenance.start()
    container.slow_clients.start()
    container.jobs.start()
