"""Demo data for `chatserver run --demo`: an admin, two agents, four clients, three panel languages."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from .models import Agent, Client
from .services import Services

ADMIN = {"email": "admin@example.com", "password": "admin-demo-1", "name": "Demo Admin"}
AGENT_PASSWORD = "agent-demo-1"
AGENTS = [
    {"email": "ana@example.com", "name": "Ana (en, de)", "languages": ["en", "de"]},
    {"email": "bruno@example.com", "name": "Bruno (es)", "languages": ["es"]},
]
CLIENTS = [
    {"email": "sam@example.com", "name": "Sam Subscriber", "subscribed": True},
    {"email": "uma@example.com", "name": "Uma Unsubscribed", "subscribed": False},
    {"email": "greta@example.com", "name": "Greta Deutsch", "subscribed": False},
    {"email": "jun@example.com", "name": "Jun Nihon", "subscribed": False},
]


def seed(container: Services) -> list[str]:
    """Create what is missing of the demo data; return lines to show the user."""
    teams = ["support", "technical", "design", "copywriting", "projects"]
    with container.db() as session:
        agent_emails = set(session.scalars(select(Agent.email)))
        client_emails = set(session.scalars(select(Client.email)))
    if ADMIN["email"] not in agent_emails:
        container.admin.create_agent(**ADMIN, role="admin", languages=["en"], teams=teams)
    for agent in AGENTS:
        if agent["email"] not in agent_emails:
            container.admin.create_agent(**agent, password=AGENT_PASSWORD, teams=teams)
    until = (datetime.now(timezone.utc) + timedelta(days=365)).isoformat()
    for client in CLIENTS:
        if client["email"] not in client_emails:
            container.admin.create_client(email=client["email"], name=client["name"],
                                          subscription_active_until=until if client["subscribed"] else None)
    container.admin.set_languages(languages=["en", "de", "es"])
    return [
        f"admin:  {ADMIN['email']} / {ADMIN['password']}",
        *(f"agent:  {agent['email']} / {AGENT_PASSWORD}" for agent in AGENTS),
        "panel languages: en, de, es",
    ]


def demo_clients(container: Services) -> list[dict[str, Any]]:
    with container.db() as session:
        clients = session.scalars(select(Client).order_by(Client.id)).all()
        now = datetime.now(timezone.utc)
        return [{"personal_id": c.personal_id, "name": c.name, "email": c.email,
                 "subscribed": c.has_active_subscription(now=now)} for c in clients]
