"""What admins configure: panel languages, agents and clients."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..config import TEAMS
from ..events import AgentChanged, AgentDeactivated, EventBus, QueueChanged, SubscriptionChanged
from ..language import is_known, language_name, native_name
from ..language.names import readership
from ..models import Agent, CannedResponse, Client, Setting, WebhookEvent
from .audit import AuditLog, actor_of
from .auth import hash_password
from .errors import ServiceError
from .validation import storable

PANEL_LANGUAGES_KEY = "panel_languages"
DEFAULT_PANEL_LANGUAGES = ("en",)
ROLES = ("agent", "admin")
MAX_CAPACITY = 50
MAX_CANNED_TEXT = 2000
# What PATCH /api/admin/agents/<id> may change.
AGENT_FIELDS = ("name", "languages", "teams", "capacity", "role", "works_outside_hours", "active")
CLIENT_SEARCH_LIMIT = 50


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


def _password(value: Any) -> str:
    if not isinstance(value, str) or len(value) < 8 or len(value) > 256:
        raise ServiceError("invalid", "password must be 8 to 256 characters.")
    return storable(value, field="password")


def _capacity(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CAPACITY:
        raise ServiceError("invalid", f"capacity must be an integer from 1 to {MAX_CAPACITY}.")
    return value


def _agent_id(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 2**31:
        raise ServiceError("not_found", "No such agent.", status=404)
    return value


def canned_view(response: CannedResponse) -> dict[str, Any]:
    return {"id": response.id, "name": response.name, "text": response.text, "team": response.team,
            "language": response.language,
            "updated_at": response.updated_at.isoformat().replace("+00:00", "Z")}


class AdminService:
    """Change the configuration admins own; every change is written to the audit log in its transaction."""

    def __init__(self, *, db: sessionmaker[Session], events: EventBus, clock: Callable[[], datetime],
                 audit: AuditLog | None = None):
        self._db = db
        self._events = events
        self._clock = clock
        self._audit = audit or AuditLog(db=db, clock=clock)

    def get_languages(self) -> list[str]:
        with self._db() as session:
            return panel_languages(session)

    def set_languages(self, *, languages: Any, actor: Agent | None = None) -> list[str]:
        """Replace the panel languages; English is always kept."""
        codes = _codes(languages, field="languages", known=is_known, what="language codes")
        codes = ["en"] + [code for code in codes if code != "en"]
        with self._db.begin() as session:
            setting = session.get(Setting, PANEL_LANGUAGES_KEY)
            before = panel_languages(session)
            if setting is None:
                session.add(Setting(key=PANEL_LANGUAGES_KEY, value=codes))
            else:
                setting.value = codes
            if before != codes:
                self._audit.record(session, actor=actor_of(actor), action="languages.set",
                                   target=("settings", PANEL_LANGUAGES_KEY),
                                   details={"added": [c for c in codes if c not in before],
                                            "removed": [c for c in before if c not in codes], "languages": codes})
        return codes

    def language_staffing(self, *, present: set[int], statuses: dict[int, str]) -> list[dict[str, Any]]:
        """Return each panel language with how many active agents speak it and how many are online."""
        with self._db() as session:
            codes = panel_languages(session)
            agents = session.scalars(select(Agent).where(Agent.active.is_(True))).all()
        rows = []
        for code in codes:
            # A Serbian-speaking agent serves the panel's Croatian (routing.panel_queue_language).
            speakers = [agent for agent in agents if readership(code) & set(agent.languages)]
            online = [agent for agent in speakers
                      if agent.id in present and statuses.get(agent.id, agent.availability) == "online"]
            rows.append({**language_entry(code), "agents": len(speakers), "online": len(online)})
        return rows

    def create_agent(self, *, email: Any, name: Any, password: Any, languages: Any = None,
                     teams: Any = None, capacity: Any = 3, role: Any = "agent", actor: Agent | None = None) -> Agent:
        email = _email(email)
        name = _name(name)
        password = _password(password)
        languages = _codes(["en"] if languages is None else languages, field="languages",
                           known=is_known, what="language codes")
        teams = _codes(["support"] if teams is None else teams, field="teams",
                       known=lambda team: team in TEAMS, what="teams")
        capacity = _capacity(capacity)
        if role not in ROLES:
            raise ServiceError("invalid", "role must be agent or admin.")
        agent = Agent(email=email, name=name, password_hash=hash_password(password), languages=languages,
                      teams=teams, capacity=capacity, role=role, created_at=self._clock())
        try:
            with self._db.begin() as session:
                session.add(agent)
                session.flush()
                self._audit.record(session, actor=actor_of(actor), action="agent.create", target=("agent", agent.id),
                                   details={"email": email, "name": name, "languages": languages, "teams": teams,
                                            "capacity": capacity, "role": role})
        except IntegrityError:
            raise ServiceError("conflict", "An agent with this email exists.", status=409) from None
        self._events.publish(QueueChanged())
        return agent

    def list_agents(self) -> Sequence[Agent]:
        with self._db() as session:
            return session.scalars(select(Agent).order_by(Agent.id)).all()

    def update_agent(self, *, agent_id: Any, changes: Any, actor: Agent | None = None) -> Agent:
        """Change an agent's name, languages, teams, capacity, role, outside-hours permission or activity."""
        agent_id = _agent_id(agent_id)
        if not isinstance(changes, dict) or not changes:
            raise ServiceError("invalid", f"Send an object with some of: {', '.join(AGENT_FIELDS)}.")
        unknown = set(changes) - set(AGENT_FIELDS)
        if unknown:
            raise ServiceError("invalid", f"These fields cannot be changed: {', '.join(sorted(unknown))}; "
                               f"allowed: {', '.join(AGENT_FIELDS)}.")
        clean: dict[str, Any] = {}
        for field, value in changes.items():
            if field == "name":
                clean[field] = _name(value)
            elif field == "languages":
                clean[field] = _codes(value, field="languages", known=is_known, what="language codes")
            elif field == "teams":
                clean[field] = _codes(value, field="teams", known=lambda team: team in TEAMS, what="teams")
            elif field == "capacity":
                clean[field] = _capacity(value)
            elif field == "role":
                if value not in ROLES:
                    raise ServiceError("invalid", "role must be agent or admin.")
                clean[field] = value
            elif not isinstance(value, bool):
                raise ServiceError("invalid", f"{field} must be true or false.")
            else:
                clean[field] = value
        if actor is not None and actor.id == agent_id and (clean.get("active") is False or clean.get("role") == "agent"):
            # An admin locking themselves out would leave nobody to undo it.
            raise ServiceError("forbidden", "You cannot deactivate yourself or remove your own admin role.",
                               status=403)
        with self._db.begin() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise ServiceError("not_found", "No such agent.", status=404)
            before = {field: getattr(agent, field) for field in clean}
            for field, value in clean.items():
                setattr(agent, field, value)
            deactivated = before.get("active") is True and clean.get("active") is False
            if deactivated:
                # Revokes every bearer token and console session at once.
                agent.token_version += 1
            changed = {field: {"from": before[field], "to": value} for field, value in clean.items()
                       if before[field] != value}
            if changed:
                action = "agent.deactivate" if deactivated else (
                    "agent.reactivate" if clean.get("active") is True and before.get("active") is False
                    else "agent.update")
                self._audit.record(session, actor=actor_of(actor), action=action, target=("agent", agent_id),
                                   details=changed)
        if deactivated:
            self._events.publish(AgentDeactivated(agent_id))
        self._events.publish(AgentChanged(agent_id), QueueChanged())
        return agent

    def reset_password(self, *, agent_id: Any, password: Any, actor: Agent | None = None) -> Agent:
        """Set a new password and sign the agent out everywhere."""
        agent_id = _agent_id(agent_id)
        password = _password(password)
        with self._db.begin() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise ServiceError("not_found", "No such agent.", status=404)
            agent.password_hash = hash_password(password)
            agent.token_version += 1
            # Never the password itself, not even hashed.
            self._audit.record(session, actor=actor_of(actor), action="agent.password_reset",
                               target=("agent", agent_id))
        return agent

    def create_client(self, *, email: Any, name: Any, subscription_active_until: Any = None,
                      actor: Agent | None = None) -> Client:
        email = _email(email)
        name = _name(name)
        until = _subscription_end(subscription_active_until)
        # Admins create clients they know, so the email counts as verified.
        client = Client(email=email, name=name, email_verified=True, subscription_active_until=until,
                        created_at=self._clock())
        try:
            with self._db.begin() as session:
                session.add(client)
                session.flush()
                self._audit.record(session, actor=actor_of(actor), action="client.create",
                                   target=("client", client.personal_id),
                                   details={"email": email, "name": name,
                                            "subscription_active_until": until.isoformat() if until else None})
        except IntegrityError:
            raise ServiceError("conflict", "A client with this email exists.", status=409) from None
        return client

    def set_subscription(self, *, personal_id: Any, subscription_active_until: Any,
                         actor: Agent | None = None, source: str = "admin") -> Client:
        """Set when the client's subscription ends (null: none); their queued conversations are re-tiered."""
        until = _subscription_end(subscription_active_until)
        client_id = self.get_client(personal_id=personal_id).id
        with self._db.begin() as session:
            client = session.get(Client, client_id)
            before = client.subscription_active_until
            client.subscription_active_until = until
            self._audit.record(session, actor=actor_of(actor), action="client.subscription",
                               target=("client", client.personal_id),
                               details={"from": before.isoformat() if before else None,
                                        "to": until.isoformat() if until else None, "source": source})
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

    def set_agent_outside_hours(self, *, agent_id: Any, works_outside_hours: Any, actor: Agent | None = None) -> Agent:
        """Let an agent go online while their teams are closed, or stop them."""
        if not isinstance(works_outside_hours, bool):
            raise ServiceError("invalid", "works_outside_hours must be true or false.")
        return self.update_agent(agent_id=agent_id, changes={"works_outside_hours": works_outside_hours}, actor=actor)

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

    def search_clients(self, *, query: Any) -> Sequence[Client]:
        """Return clients whose email or personal ID contains query (case-insensitive), newest first."""
        if not isinstance(query, str) or len(query) > 320:
            raise ServiceError("invalid", "q must be text of at most 320 characters.")
        query = storable(query.strip(), field="q")
        statement = select(Client).order_by(Client.id.desc()).limit(CLIENT_SEARCH_LIMIT)
        if query:
            # LIKE wildcards in the query are matched literally.
            pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            statement = statement.where(or_(func.lower(Client.email).like(pattern, escape="\\"),
                                            func.lower(Client.personal_id).like(pattern, escape="\\")))
        with self._db() as session:
            return session.scalars(statement).all()

    # --- canned responses ---------------------------------------------------------
    def list_canned(self) -> list[dict[str, Any]]:
        with self._db() as session:
            return [canned_view(response) for response in session.scalars(
                select(CannedResponse).order_by(CannedResponse.name, CannedResponse.id))]

    def canned_for(self, *, agent: Agent) -> list[dict[str, Any]]:
        """Return the canned responses for the agent's teams and languages (and those for all)."""
        return [response for response in self.list_canned()
                if (response["team"] is None or response["team"] in agent.teams)
                and (response["language"] is None or response["language"] in agent.languages)]

    @staticmethod
    def _canned_fields(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ServiceError("invalid", "The request body must be a JSON object.")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 64 or any(ch.isspace() for ch in name.strip()):
            raise ServiceError("invalid", "name must be a single word of at most 64 characters (agents type /name).")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_CANNED_TEXT:
            raise ServiceError("invalid", f"text must be non-empty and at most {MAX_CANNED_TEXT} characters.")
        team, language = body.get("team"), body.get("language")
        if team is not None and team not in TEAMS:
            raise ServiceError("invalid", f"team must be null (every team) or one of: {', '.join(TEAMS)}.")
        if language is not None and (not isinstance(language, str) or not is_known(language)):
            raise ServiceError("invalid", "language must be null (every language) or a known language code.")
        return {"name": storable(name.strip().lower(), field="name"), "text": storable(text.strip(), field="text"),
                "team": team, "language": language}

    def create_canned(self, *, body: Any, actor: Agent | None = None) -> dict[str, Any]:
        fields = self._canned_fields(body)
        with self._db.begin() as session:
            response = CannedResponse(**fields, updated_at=self._clock())
            session.add(response)
            session.flush()
            self._audit.record(session, actor=actor_of(actor), action="canned.create",
                               target=("canned_response", response.id), details=fields)
            return canned_view(response)

    def update_canned(self, *, canned_id: int, body: Any, actor: Agent | None = None) -> dict[str, Any]:
        fields = self._canned_fields(body)
        with self._db.begin() as session:
            response = session.get(CannedResponse, canned_id)
            if response is None:
                raise ServiceError("not_found", "No such canned response.", status=404)
            for field, value in fields.items():
                setattr(response, field, value)
            response.updated_at = self._clock()
            self._audit.record(session, actor=actor_of(actor), action="canned.update",
                               target=("canned_response", canned_id), details=fields)
            return canned_view(response)

    def delete_canned(self, *, canned_id: int, actor: Agent | None = None) -> None:
        with self._db.begin() as session:
            response = session.get(CannedResponse, canned_id)
            if response is None:
                raise ServiceError("not_found", "No such canned response.", status=404)
            self._audit.record(session, actor=actor_of(actor), action="canned.delete",
                               target=("canned_response", canned_id), details={"name": response.name})
            session.delete(response)
