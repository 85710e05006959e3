"""Use cases. Views and namespaces ask for them with services(); they never build one."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app

from ..events import EventBus
from ..jobs import JobRunner
from ..state import SharedState
from .admin import AdminService
from .auth import AuthService
from .chat import ChatService
from .errors import ServiceError


@dataclass
class Services:
    """Everything one app wires together, kept in app.extensions["chatserver"]."""

    db: Any
    engine: Any
    state: SharedState
    events: EventBus
    jobs: JobRunner
    auth: AuthService
    admin: AdminService
    chat: ChatService
    clock: Callable[[], datetime]
    hours: Any = None
    sla: Any = None
    payments: Any = None
    ai: Any = None
    maintenance: Any = None
    slow_clients: Any = None
    metrics: Any = None
    audit: Any = None
    mail: Any = None
    identity: Any = None
    feedback: Any = None
    reports: Any = None


def services() -> Services:
    """Return the current app's services."""
    return current_app.extensions["chatserver"]


__all__ = ["AdminService", "AuthService", "ChatService", "ServiceError", "Services", "services"]
