"""What admins configure: panel languages, agents and clients."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..config import TEAMS
from ..events import AgentChanged, EventBus, QueueChanged, SubscriptionChanged
from ..language import is_known, language_name, native_name
from ..models import Agent, Client, Setting, WebhookEvent
from .auth import hash_password
from .errors import ServiceError
from .validation import storable

PANEL_LANGUAGES_KEY = "panel_languages"
DEFAULT_PANEL_LANGUAGES = ("en",)
ROLES = ("agent", "admin")
MAX_CAPACITY = 50


def panel_languages(session: Session) -> list[str]:
    """Return the panel languages; English is always first."""
    setting = session.get(Setting, PANEL_LANGUAGES_KEY)
    codes = list(setting.value) if setting else list(DEFAULT_PANEL_LANGUAGES)
    return ["en"] + [code for code in codes if code != "en"]


def language_entry(code: str) -> dict[str, str]:
    return {"code": code, "name": language_name(code), "native_name": native_name(code)}


def _email(value: Any) -> str:
    if not isinstance(value, str) or "@" not in value or len(value) > 320 or value.strip() != value:
        raise ServiceError("invalid", "email must be an email address.")
    storable(value, field="email")
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        raise ServiceError("invalid", "email must be an email address.")
    return value.lower()


def _name(value: Any, *, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ServiceError("invalid", f"{field} must be a non-empty string of at most 200 characters.")
    return storable(value.strip(), field=field)


def _codes(value: Any, *, field: str, known: Callable[[str], bool], what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ServiceError("invalid", f"{field} must be a list of strings.")
    unknown = [item for item in value if not known(item)]
    if unknown:
        raise ServiceError("invalid", f"unknown {what}: {', '.join(unknown)}.")
    return list(dict.fromkeys(value))


def _subscription_end(value: Any) -> datetime | None:
    """Read a subscription end: an ISO 8601 date-time with a zone, or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ServiceError("invalid", "subscription_active_until must be an ISO 8601 date-time or null.")
    try:
        until = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ServiceError("invalid", "subscription_active_until must be an ISO 8601 date-time or null.") from None
    if until.tzinfo is None:
        raise ServiceError("invalid", "subscription_active_until needs a time zone, e.g. 2027-01-01T00:00:00Z.")
    return until.astimezone(timezone.utc)


class AdminService:
    """Change the configuration admins own."""

    def __init__(self, *, db: sessionmaker[Session], events: EventBus, clock: Callable[[], datetime]):
        self._db = db
        self._events = events
        self._clock = clock

    def get_languages(self) -> list[str]:
        with self._db() as session:
            return panel_languages(session)

    def set_languages(self, *, languages: Any) -> list[str]:
        """Replace the panel languages; English is always kept."""
        codes = _codes(languages, field="languages", known=is_known, what="language codes")
        codes = ["en"] + [code for code in codes if code != "en"]
        with self._db.begin() as session:
            setting = session.get(Setting, PANEL_LANGUAGES_KEY)
            if setting is None:
                session.add(Setting(key=PANEL_LANGUAGES_KEY, value=codes))
            else:
                setting.value = codes
        return codes

    def create_agent(self, *, email: Any, name: Any, password: Any, languages: Any = None,
                     teams: Any = None, capacity: Any = 3, role: Any = "agent") -> Agent:
        email = _email(email)
        name = _name(name)
        if not isinstance(password, str) or len(password) < 8 or len(password) > 256:
            raise ServiceError("invalid", "password must be 8 to 256 characters.")
        languages = _codes(["en"] if languages is None else languages, field="languages",
                           known=is_known, what="language codes")
        teams = _codes(["support"] if teams is None else teams, field="teams",
                       known=lambda team: team in TEAMS, what="teams")
        if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= MAX_CAPACITY:
            raise ServiceError("invalid", f"capacity must be an integer from 1 to {MAX_CAPACITY}.")
        if role not in ROLES:
            raise ServiceError("invalid", "role must be agent or admin.")
        agent = Agent(email=email, name=name, password_hash=hash_password(password), languages=languages,
                      teams=teams, capacity=capacity, role=role, created_at=self._clock())
        try:
            with self._db.begin() as session:
                session.add(agent)
        except IntegrityError:
            raise ServiceError("conflict", "An agent with this email exists.", status=409) from None
        self._events.publish(QueueChanged())
        return agent

    def list_agents(self) -> Sequence[Agent]:
        with self._db() as session:
            return session.scalars(select(Agent).order_by(Agent.id)).all()

    def create_client(self, *, email: Any, name: Any, subscription_active_until: Any = None) -> Client:
        email = _email(email)
        name = _name(name)
        until = _subscription_end(subscription_active_until)
        # Admins create clients they know, so the email counts as verified.
        client = Client(email=email, name=name, email_verified=True, subscription_active_until=until,
                        created_at=self._clock())
        try:
            with self._db.begin() as session:
                session.add(client)
        except IntegrityError:
            raise ServiceError("conflict", "A client with this email exists.", status=409) from None
        return client

    def set_subscription(self, *, personal_id: Any, subscription_active_until: Any) -> Client:
        """Set when the client's subscription ends (null: none); their queued conversations are re-tiered."""
        until = _subscription_end(subscription_active_until)
        client_id = self.get_client(personal_id=personal_id).id
        with self._db.begin() as session:
            client = session.get(Client, client_id)
            client.subscription_active_until = until
        self._events.publish(SubscriptionChanged(client_id))
        return self.get_client(personal_id=personal_id)

    def record_webhook(self, *, provider: str, event_id: str) -> bool:
        """Remember a webhook event; return False when it was seen before (a replay)."""
        try:
            with self._db.begin() as session:
                session.add(WebhookEvent(provider=provider, event_id=event_id, received_at=self._clock()))
        except IntegrityError:
            return False
        return True

    def set_agent_outside_hours(self, *, agent_id: Any, works_outside_hours: Any) -> Agent:
        """Let an agent go online while their teams are closed, or stop them."""
        if not isinstance(works_outside_hours, bool):
            raise ServiceError("invalid", "works_outside_hours must be true or false.")
        if not isinstance(agent_id, int) or isinstance(agent_id, bool) or agent_id < 1:
            raise ServiceError("not_found", "No such agent.", status=404)
        with self._db.begin() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise ServiceError("not_found", "No such agent.", status=404)
            agent.works_outside_hours = works_outside_hours
        self._events.publish(AgentChanged(agent_id), QueueChanged())
        return agent

    def get_client(self, *, personal_id: Any) -> Client:
        with self._db() as session:
            client = session.scalar(select(Client).where(Client.personal_id == personal_id)) \
                if isinstance(personal_id, str) and "\x00" not in personal_id else None
        if client is None:
            raise ServiceError("not_found", "No client has this personal ID.", status=404)
        return client

    def list_clients(self) -> Sequence[Client]:
        with self._db() as session:
            return session.scalars(select(Client).order_by(Client.id)).all()
