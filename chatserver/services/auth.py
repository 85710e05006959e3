"""Who is calling: agents by password and bearer token, visitors by the host site's identity token."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import Agent, Client
from .errors import ServiceError
from .validation import storable

AGENT_AUDIENCE = "chatserver:agent"
# A hash to compare against when the email is unknown, so that a login for a
# missing account costs the same time as one with a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


class AuthService:
    """Issue and check agents' tokens, and check visitors' identity tokens."""

    def __init__(self, *, db: sessionmaker[Session], secret_key: str, identity_secret: str | None,
                 token_ttl: int, clock: Callable[[], datetime]):
        self._db = db
        self._secret_key = secret_key
        self._identity_secret = identity_secret
        self._token_ttl = token_ttl
        self._clock = clock

    # --- agents -----------------------------------------------------------
    def login(self, *, email: str, password: str) -> tuple[str, Agent]:
        """Return a bearer token and the agent for valid credentials."""
        storable(email, field="email")
        storable(password, field="password")
        with self._db() as session:
            agent = session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
        if agent is None:
            check_password_hash(_DUMMY_HASH, password)
            raise ServiceError("invalid_credentials", "Wrong email or password.", status=401)
        if not check_password_hash(agent.password_hash, password):
            raise ServiceError("invalid_credentials", "Wrong email or password.", status=401)
        return self.issue_agent_token(agent), agent

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
        if agent is None or agent.token_version != claims.get("ver"):
            raise ServiceError("invalid_token", "The token has been revoked.", status=401)
        return agent

    # --- visitors ---------------------------------------------------------
    def client_from_identity(self, token: Any) -> Client:
        """Return the verified, active client a host-site identity token names."""
        if not self._identity_secret:
            raise ServiceError("identity_not_configured", "This server has no IDENTITY_SECRET configured.")
        if not isinstance(token, str) or not token:
            raise ServiceError("missing_identity", "An identity token is required.")
        try:
            claims = jwt.decode(token, self._identity_secret, algorithms=["HS256"],
                                options={"require": ["exp", "sub", "email"]})
        except jwt.ExpiredSignatureError:
            raise ServiceError("identity_expired", "The identity token has expired.") from None
        except jwt.InvalidSignatureError:
            raise ServiceError("invalid_identity", "The identity token's signature is not valid.") from None
        except jwt.InvalidTokenError as error:
            raise ServiceError("invalid_identity", f"The identity token is not valid: {error}.") from None
        try:
            personal_id, email = storable(str(claims["sub"]), field="sub"), storable(str(claims["email"]), field="email")
        except ServiceError:
            raise ServiceError("invalid_identity", "The identity token's claims are not valid text.") from None
        with self._db() as session:
            client = session.scalar(select(Client).where(Client.personal_id == personal_id))
        if client is None:
            raise ServiceError("unknown_client", "No client has this personal ID.")
        if email.strip().lower() != client.email:
            raise ServiceError("email_mismatch", "The identity's email is not the client's email.")
        if client.status == "suspended":
            raise ServiceError("suspended", "This account is suspended; contact support by email.")
        if not client.email_verified:
            raise ServiceError("unverified", "Support is given only to accounts with a verified email.")
        return client

    def mint_identity(self, *, client: Client, ttl: timedelta = timedelta(hours=1)) -> str:
        """Return an identity token as a host site would sign it (demo and tests)."""
        if not self._identity_secret:
            raise ServiceError("identity_not_configured", "This server has no IDENTITY_SECRET configured.")
        now = self._clock()
        return jwt.encode({"sub": client.personal_id, "email": client.email, "iat": now, "exp": now + ttl},
                          self._identity_secret, algorithm="HS256")
