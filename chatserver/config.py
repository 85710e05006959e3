"""The one place that reads the environment."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

TEAMS = ("support", "technical", "design", "copywriting", "projects")
DEFAULT_TEAM = "support"


def _int(value: str | None, default: int) -> int:
    return int(value) if value not in (None, "") else default


def _float(value: str | None, default: float) -> float:
    return float(value) if value not in (None, "") else default


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _keys(value: str | None) -> dict[str, str]:
    """Read "kid1:secret1,kid2:secret2" into {kid: secret}."""
    keys: dict[str, str] = {}
    for item in _list(value):
        kid, sep, secret = item.partition(":")
        if not sep or not kid.strip() or not secret:
            raise ValueError("IDENTITY_KEYS must look like kid1:secret1,kid2:secret2")
        keys[kid.strip()] = secret
    return keys


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the configuration mapping from environment variables."""
    env = os.environ if environ is None else environ
    return {
        # Storage and shared state. DATABASE_URL defaults to a SQLite file in
        # the instance folder (filled in by create_app, which knows the path).
        "DATABASE_URL": env.get("DATABASE_URL") or None,
        "REDIS_URL": env.get("REDIS_URL") or None,
        "REDIS_PREFIX": env.get("REDIS_PREFIX", "chatserver:"),
        # Secrets. Without SECRET_KEY a random one is made per process, which
        # is fine for the embedded default but logs every agent out on restart
        # and breaks tokens across processes: set it in production.
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "IDENTITY_SECRET": env.get("IDENTITY_SECRET") or None,
        # Identity (docs/security.md). Host-site signing keys by key id,
        # "kid1:secret1,kid2:secret2", so a site can rotate them; IDENTITY_SECRET
        # alone still works as one key (kid "default", or no kid).
        "IDENTITY_KEYS": _keys(env.get("IDENTITY_KEYS")),
        "IDENTITY_MAX_LIFETIME": _int(env.get("IDENTITY_MAX_LIFETIME"), 24 * 3600),
        # A widget session (after a host token or a code) lasts this long.
        "IDENTITY_SESSION_TTL": _int(env.get("IDENTITY_SESSION_TTL"), 24 * 3600),
        "IDENTITY_CODE_TTL": _int(env.get("IDENTITY_CODE_TTL"), 600),
        "IDENTITY_CODE_ATTEMPTS": _int(env.get("IDENTITY_CODE_ATTEMPTS"), 5),
        # Codes asked for per hour, by email, by IP address and by device.
        "IDENTITY_CODE_RATE_EMAIL": _int(env.get("IDENTITY_CODE_RATE_EMAIL"), 5),
        "IDENTITY_CODE_RATE_IP": _int(env.get("IDENTITY_CODE_RATE_IP"), 30),
        "IDENTITY_CODE_RATE_DEVICE": _int(env.get("IDENTITY_CODE_RATE_DEVICE"), 10),
        # Agents see a caution banner on accounts verified or changed more recently than this.
        "IDENTITY_CAUTION_HOURS": _float(env.get("IDENTITY_CAUTION_HOURS"), 24.0),
        "EMAIL_CHANGE_TTL": _int(env.get("EMAIL_CHANGE_TTL"), 24 * 3600),
        # Inbound email (POST /api/inbound/email), signed by the mail provider's webhook.
        "INBOUND_EMAIL_SECRET": env.get("INBOUND_EMAIL_SECRET") or None,
        # Email. Without SMTP_URL mail is held in the outbox (admins read it) and logged in development.
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_FROM": env.get("MAIL_FROM", "support@localhost"),
        "MAIL_WORKERS": _int(env.get("MAIL_WORKERS"), 2),
        "MAIL_QUEUE_LIMIT": _int(env.get("MAIL_QUEUE_LIMIT"), 10_000),
        # Where links in emails point, e.g. https://chat.example.com; the request's own URL when unset.
        "PUBLIC_URL": (env.get("PUBLIC_URL") or "").rstrip("/") or None,
        # The AI agent.
        "OPENAI_API_KEY": env.get("OPENAI_API_KEY") or None,
        "OPENAI_BASE_URL": env.get("OPENAI_BASE_URL") or None,
        "AI_MODEL": env.get("AI_MODEL", "gpt-4o-mini"),
        "AI_WORKERS": _int(env.get("AI_WORKERS"), 4),
        "AI_QUEUE_LIMIT": _int(env.get("AI_QUEUE_LIMIT"), 1000),
        "AI_TIMEOUT": _float(env.get("AI_TIMEOUT"), 20.0),
        "AI_MAX_RETRIES": _int(env.get("AI_MAX_RETRIES"), 2),
        "AI_TURN_SECONDS": _float(env.get("AI_TURN_SECONDS"), 60.0),
        "AI_CONVERSATION_TOKEN_BUDGET": _int(env.get("AI_CONVERSATION_TOKEN_BUDGET"), 20_000),
        "AI_DAILY_TOKEN_BUDGET": _int(env.get("AI_DAILY_TOKEN_BUDGET"), 2_000_000),
        "AI_HISTORY_TOKENS": _int(env.get("AI_HISTORY_TOKENS"), 3_000),
        "AI_MAX_OUTPUT_TOKENS": _int(env.get("AI_MAX_OUTPUT_TOKENS"), 400),
        "COMPANY_NAME": env.get("COMPANY_NAME", "our company"),
        # Language.
        # combined: fastText's bundled small model, then py3langid when unsure,
        # then look-alike markers (docs/language.md).
        "LANGUAGE_DETECTOR": env.get("LANGUAGE_DETECTOR", "combined"),
        # Policy knobs.
        # First-response deadlines per tier, in calendar hours from arrival
        # (docs/sla.md); FIRST_RESPONSE_HOURS is the standard tier's.
        "FIRST_RESPONSE_HOURS": _float(env.get("FIRST_RESPONSE_HOURS"), 24.0),
        "FIRST_RESPONSE_HOURS_HERE_AND_NOW": _float(env.get("FIRST_RESPONSE_HOURS_HERE_AND_NOW"), 0.25),
        "FIRST_RESPONSE_HOURS_SUBSCRIBED": _float(env.get("FIRST_RESPONSE_HOURS_SUBSCRIBED"), 4.0),
        "FIRST_RESPONSE_HOURS_AI": _float(env.get("FIRST_RESPONSE_HOURS_AI"), 24.0),
        # Aging: hours after arrival at which a standard ticket passes fresher
        # ones of higher tiers (other tiers at the same share of their deadline).
        "SLA_ESCALATION_HOURS": _float(env.get("SLA_ESCALATION_HOURS"), 20.0),
        "SLA_WARNING_MINUTES": _float(env.get("SLA_WARNING_MINUTES"), 60.0),
        "SLA_CHECK_INTERVAL": _float(env.get("SLA_CHECK_INTERVAL"), 30.0),
        "SLA_WEBHOOK_URL": env.get("SLA_WEBHOOK_URL") or None,
        "SLA_WEBHOOK_SECRET": env.get("SLA_WEBHOOK_SECRET") or None,
        # Until admins store calendars: "office" (technical 24/7, the other
        # teams weekdays 09:00-17:00 Europe/Berlin) or "always" (every team 24/7).
        "TEAM_HOURS_DEFAULT": env.get("TEAM_HOURS_DEFAULT", "office"),
        # Here and now, the paid urgent service.
        "PAYMENT_PROVIDER": env.get("PAYMENT_PROVIDER", "manual"),  # manual | stripe
        "HERE_AND_NOW_PRICE_CENTS": _int(env.get("HERE_AND_NOW_PRICE_CENTS"), 4900),
        "HERE_AND_NOW_CURRENCY": env.get("HERE_AND_NOW_CURRENCY", "eur").lower(),
        "HERE_AND_NOW_REFUND_MINUTES": _float(env.get("HERE_AND_NOW_REFUND_MINUTES"), 15.0),
        "STRIPE_API_KEY": env.get("STRIPE_API_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_SUCCESS_URL": env.get("STRIPE_SUCCESS_URL") or None,
        "STRIPE_CANCEL_URL": env.get("STRIPE_CANCEL_URL") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
        # Billing systems set subscriptions through a signed webhook.
        "SUBSCRIPTION_WEBHOOK_SECRET": env.get("SUBSCRIPTION_WEBHOOK_SECRET") or None,
        # Visitors may rate a conversation for this many days after it closed.
        "RATING_WINDOW_DAYS": _int(env.get("RATING_WINDOW_DAYS"), 7),
        "MAX_MESSAGE_LENGTH": _int(env.get("MAX_MESSAGE_LENGTH"), 5000),
        # Token buckets per socket: burst size and refill per second.
        "MESSAGE_RATE_BURST": _float(env.get("MESSAGE_RATE_BURST"), 30),
        "MESSAGE_RATE_PER_SECOND": _float(env.get("MESSAGE_RATE_PER_SECOND"), 2),
        "EVENT_RATE_BURST": _float(env.get("EVENT_RATE_BURST"), 60),
        "EVENT_RATE_PER_SECOND": _float(env.get("EVENT_RATE_PER_SECOND"), 10),
        # Connections: the largest packet a client may send, Engine.IO pings,
        # and how many sockets one client (a visitor's tabs, an agent's
        # consoles) may hold in this process.
        "MAX_PAYLOAD_BYTES": _int(env.get("MAX_PAYLOAD_BYTES"), 64 * 1024),
        "PING_INTERVAL": _float(env.get("PING_INTERVAL"), 20.0),
        "PING_TIMEOUT": _float(env.get("PING_TIMEOUT"), 10.0),
        "MAX_CONNECTIONS_PER_CLIENT": _int(env.get("MAX_CONNECTIONS_PER_CLIENT"), 10),
        # Slow clients: a socket whose unsent packets exceed this is closed
        # (it resyncs with `history` when it comes back).
        "MAX_SEND_QUEUE": _int(env.get("MAX_SEND_QUEUE"), 500),
        # The message queue probe (chatserver/realtime/queue.py): each process
        # hears its own probe every interval, or reports itself deaf.
        "MESSAGE_QUEUE_PROBE_INTERVAL": _float(env.get("MESSAGE_QUEUE_PROBE_INTERVAL"), 1.0),
        "MESSAGE_QUEUE_DEAF_AFTER": _float(env.get("MESSAGE_QUEUE_DEAF_AFTER"), 3.0),
        "AGENT_TOKEN_TTL": _int(env.get("AGENT_TOKEN_TTL"), 12 * 3600),
        # Sign-in throttle: after this many failures for one email within the
        # window (five times as many for one address), sign-ins are refused.
        "LOGIN_MAX_FAILURES": _int(env.get("LOGIN_MAX_FAILURES"), 10),
        "LOGIN_WINDOW_SECONDS": _float(env.get("LOGIN_WINDOW_SECONDS"), 900.0),
        # An agent away or offline this long gets their unanswered
        # conversations put back in the queue for someone else.
        "AGENT_GRACE_SECONDS": _float(env.get("AGENT_GRACE_SECONDS"), 120.0),
        "PRESENCE_TTL": _float(env.get("PRESENCE_TTL"), 60.0),
        "HEARTBEAT_INTERVAL": _float(env.get("HEARTBEAT_INTERVAL"), 20.0),
        "REPAIR_INTERVAL": _float(env.get("REPAIR_INTERVAL"), 60.0),
        # Web.
        "ALLOWED_ORIGINS": _list(env.get("ALLOWED_ORIGINS")) or "*",
        "ENV": env.get("CHATSERVER_ENV", "development"),
        "PROMPTS_DIR": env.get("PROMPTS_DIR") or None,
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "LOG_FORMAT": env.get("LOG_FORMAT", "text"),  # text | json
    }


def finalize(config: dict[str, Any], *, instance_path: str) -> dict[str, Any]:
    """Fill in defaults that depend on where the app lives."""
    if not config.get("DATABASE_URL"):
        os.makedirs(instance_path, exist_ok=True)
        config["DATABASE_URL"] = "sqlite:///" + os.path.join(instance_path, "chatserver.sqlite3")
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = secrets.token_hex(32)
    if not config.get("IDENTITY_SECRET") and not config.get("IDENTITY_KEYS") and config.get("ENV") == "development":
        # Lets the demo page mint identities out of the box. In production
        # visitors are refused until the host site's secret is configured.
        config["IDENTITY_SECRET"] = secrets.token_hex(32)
    if not config.get("PROMPTS_DIR"):
        config["PROMPTS_DIR"] = os.path.join(os.path.dirname(os.path.dirname(__file__)), "prompts")
    return config
