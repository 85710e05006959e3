"""Mailers: deliver one rendered email by SMTP, or hold it (the embedded default)."""
from __future__ import annotations

import logging
import smtplib
import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 15.0


@dataclass(frozen=True)
class OutgoingMail:
    to_address: str
    subject: str
    body: str
    reply_to: str | None = None


class Mailer(ABC):
    """Deliver one email, or say it is held for later reading."""

    #: False when mail stays in the outbox (no SMTP configured).
    delivers: bool = True

    @abstractmethod
    def deliver(self, mail: OutgoingMail) -> None:
        """Send mail; raise on failure."""


class HeldMailer(Mailer):
    """No SMTP configured: mail stays in the outbox for admins, and goes to the log in development."""

    delivers = False

    def __init__(self, *, log_bodies: bool):
        self._log_bodies = log_bodies

    def deliver(self, mail: OutgoingMail) -> None:
        if self._log_bodies:
            # Development only: lets a developer read codes without an SMTP server.
            log.info("mail held for %s: %s\n%s", mail.to_address, mail.subject, mail.body)


class SmtpMailer(Mailer):
    """Send through an SMTP server: smtp://[user:password@]host[:port][?starttls=true], or smtps:// for TLS."""

    def __init__(self, *, url: str, sender: str):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587?starttls=true or smtps://host:465")
        self._tls = parts.scheme == "smtps"
        self._starttls = parse_qs(parts.query).get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self._host = parts.hostname
        self._port = parts.port or (465 if self._tls else 25)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._sender = sender

    def deliver(self, mail: OutgoingMail) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to_address
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self._sender.rpartition("@")[2] or None)
        if mail.reply_to:
            message["Reply-To"] = mail.reply_to
        message.set_content(mail.body)
        smtp: Any
        if self._tls:
            smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=SMTP_TIMEOUT)
        with smtp:
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._username:
                smtp.login(self._username, self._password or "")
            smtp.send_message(message)


def make_mailer(config: dict[str, Any]) -> Mailer:
    """Return the SMTP mailer when SMTP_URL is set, else the outbox-only one."""
    if config.get("SMTP_URL"):
        return SmtpMailer(url=config["SMTP_URL"], sender=config["MAIL_FROM"])
    return HeldMailer(log_bodies=config.get("ENV") == "development")
