"""One authorization layer for the REST API and the consoles.

A caller is an agent identified either by a bearer token (API clients, the
agent's socket) or by the console's session cookie. Requests that change
state with the cookie must carry the session's CSRF token, in the
X-CSRF-Token header (fetch) or a csrf_token form field (forms): a bearer
token cannot be sent by another site, a cookie can.
"""
from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface

from ..models import Agent
from ..services import services
from ..services.errors import ServiceError

SESSION_AGENT = "agent_id"
SESSION_VERSION = "ver"
SESSION_CSRF = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        # A proxy terminating TLS says so in X-Forwarded-Proto; trusting it can
        # only make the cookie stricter, never looser.
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure \
            or request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip() == "https"


def init_app(app: Flask) -> None:
    app.session_interface = ConsoleSessionInterface()
    app.config.update(SESSION_COOKIE_NAME="chatserver_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=app.config["AGENT_TOKEN_TTL"])


def csrf_token() -> str:
    """Return the session's CSRF token, creating one (a signed-out visitor of the login form gets one too)."""
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = token
    return token


def check_csrf() -> None:
    """Refuse a state-changing cookie request without the session's CSRF token."""
    expected = session.get(SESSION_CSRF)
    supplied = request.headers.get(CSRF_HEADER) or (request.form.get(CSRF_FIELD) if request.form else None)
    if not isinstance(expected, str) or not isinstance(supplied, str) \
            or not hmac.compare_digest(expected.encode(), supplied.encode()):
        raise ServiceError("csrf_failed", "This request lacks a valid CSRF token; reload the page and try again.",
                           status=403)


def sign_in(agent: Agent) -> None:
    """Start a console session for the agent, with a fresh CSRF token."""
    session.clear()
    session.permanent = True
    session[SESSION_AGENT] = agent.id
    session[SESSION_VERSION] = agent.token_version
    session[SESSION_CSRF] = secrets.token_urlsafe(32)


def sign_out() -> None:
    session.clear()


def session_agent() -> Agent | None:
    """Return the agent of a valid console session cookie, if any."""
    if SESSION_AGENT not in session:
        return None
    agent = services().auth.agent_from_session(agent_id=session.get(SESSION_AGENT),
                                               token_version=session.get(SESSION_VERSION))
    if agent is None:
        # Revoked (password reset, deactivation): forget the stale session.
        session.pop(SESSION_AGENT, None)
        session.pop(SESSION_VERSION, None)
    return agent


def authenticate() -> Agent | None:
    """Return the calling agent by bearer token or session cookie (checking CSRF for cookies), or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme or token:
        if scheme.lower() != "bearer" or not token.strip():
            raise ServiceError("unauthorized", "Send Authorization: Bearer <token>.", status=401)
        return services().auth.agent_from_token(token.strip())
    agent = session_agent()
    if agent is not None and request.method not in SAFE_METHODS:
        check_csrf()
    return agent


def require_agent(*, admin: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a signed-in agent (bearer token or console session); with admin=True, an admin."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            agent = authenticate()
            if agent is None:
                raise ServiceError("unauthorized", "Send Authorization: Bearer <token>, or sign in to the console.",
                                   status=401)
            if admin and agent.role != "admin":
                raise ServiceError("forbidden", "Admins only.", status=403)
            g.agent = agent
            return view(*args, **kwargs)

        return wrapper

    return decorate


def safe_next(target: str | None) -> str:
    """Return where to go after signing in: only the consoles themselves, never another site."""
    return target if target in ("/console", "/admin") else "/console"

