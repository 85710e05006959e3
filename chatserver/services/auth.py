"""Who is calling: agents by password and bearer token (visitors: chatserver/identity)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import hashlib

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import Agent
from ..state import SharedState
from .errors import ServiceError
from .validation import storable

AGENT_AUDIENCE = "chatserver:agent"
# A hash to compare against when the email is unknown, so that a login for a
# missing account costs the same time as one with a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def _login_counter(kind: str, value: str) -> tuple[str, int]:
    """Name a failed-login counter; an address may fail more often than an account, as offices share one."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"login_failures:{kind}:{digest}", (1 if kind == "email" else 5)


class AuthService:
    """Issue and check agents' tokens."""

    def __init__(self, *, db: sessionmaker[Session], secret_key: str, token_ttl: int, clock: Callable[[], datetime],
                 state: SharedState | None = None, login_max_failures: int = 10, login_window_seconds: float = 900.0):
        self._db = db
        self._state = state
        self._login_max_failures = login_max_failures
        self._login_window = login_window_seconds
        self._secret_key = secret_key
        self._token_ttl = token_ttl
        self._clock = clock

    # --- agents -----------------------------------------------------------
    def login(self, *, email: str, password: str, remote: str | None = None) -> tuple[str, Agent]:
        """Return a bearer token and the agent for valid credentials; throttle repeated failures."""
        storable(email, field="email")
        storable(password, field="password")
        # Counted per account and per address, in shared state so that the
        # limit holds however many processes answer logins.
        counters = [_login_counter("email", email.strip().lower())]
        if remote:
            counters.append(_login_counter("remote", remote))
        self._check_throttle(counters)
        with self._db() as session:
            agent = session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
        if agent is None:
            check_password_hash(_DUMMY_HASH, password)
            self._count_failure(counters)
            raise ServiceError("invalid_credentials", "Wrong email or password.", status=401)
        if not check_password_hash(agent.password_hash, password):
            self._count_failure(counters)
            raise ServiceError("invalid_credentials", "Wrong email or password.", status=401)
        if not agent.active:
            # Said only after the password matched, so it reveals nothing to a guesser.
            raise ServiceError("deactivated", "This account has been deactivated; ask an admin.", status=403)
        return self.issue_agent_token(agent), agent

    def _check_throttle(self, counters: list[tuple[str, int]]) -> None:
        if self._state is None:
            return
        for name, factor in counters:
            if self._state.counter_get(name=name) >= self._login_max_failures * factor:
                minutes = max(1, round(self._login_window / 60))
                raise ServiceError("too_many_attempts", "Too many failed sign-ins; try again in "
                                   f"{minutes} minutes.", status=429)

    def _count_failure(self, counters: list[tuple[str, int]]) -> None:
        if self._state is None:
            return
        for name, _ in counters:
            self._state.counter_add(name=name, amount=1, ttl=self._login_window)

    def issue_agent_token(self, agent: Agent) -> str:
        now = self._clock()
        claims = {"sub": str(agent.id), "ver": agent.token_version, "aud": AGENT_AUDIENCE,
                  "iat": now, "exp": now + timedelta(seconds=self._token_ttl)}
        return jwt.encode(claims, self._secret_key, algorithm="HS256")

    def agent_from_token(self, token: Any) -> Agent:
        """Return the agent a bearer token names, or raise 401."""
        if not isinstance(token, str) or not token:
            raise ServiceError("unauthorized", "A bearer token is required.", status=401)
        try:
            claims = jwt.decode(token, self._secret_key, algorithms=["HS256"], audience=AGENT_AUDIENCE,
                                options={"require": ["exp", "sub", "aud"]})
        except jwt.ExpiredSignatureError:
            raise ServiceError("token_expired", "The token has expired; log in again.", status=401) from None
        except jwt.InvalidTokenError:
            raise ServiceError("invalid_token", "The token is not valid.", status=401) from None
        with self._db() as session:
            agent = session.get(Agent, int(claims["sub"])) if str(claims["sub"]).isdigit() else None
        if agent is None or agent.token_version != claims.get("ver") or not agent.active:
            raise ServiceError("invalid_token", "The token has been revoked.", status=401)
        return agent

    def agent_from_session(self, *, agent_id: Any, token_version: Any) -> Agent | None:
        """Return the agent a console session cookie names, if still valid (not revoked, not deactivated)."""
        if not isinstance(agent_id, int) or isinstance(agent_id, bool):
            return None
        with self._db() as session:
            agent = session.get(Agent, agent_id)
        if agent is None or agent.token_version != token_version or not agent.active:
            return None
        return agent
