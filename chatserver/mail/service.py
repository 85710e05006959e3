"""Render templated, localized email into the outbox, and deliver it through the job runner."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..jobs import MAIL, JobRunner
from ..models import OutboxMail
from ..services.views import iso
from .mailer import Mailer, OutgoingMail

log = logging.getLogger(__name__)

DELIVER_JOB = "mail.deliver"
MAX_ATTEMPTS = 3


class MailTemplates:
    """prompts/mail/<template>.json: {language: {subject, body}}, English mandatory and the fallback."""

    def __init__(self, directory: str):
        self._directory = directory

    @lru_cache(maxsize=64)
    def _load(self, template: str) -> dict[str, dict[str, str]]:
        with open(os.path.join(self._directory, "mail", f"{template}.json"), encoding="utf-8") as handle:
            texts = json.load(handle)
        if "en" not in texts:
            raise ValueError(f"mail template {template} has no English text")
        return texts

    def render(self, template: str, *, language: str | None, values: Mapping[str, Any]) -> tuple[str, str, str]:
        """Return (language used, subject, body), in language when the template has it, else English."""
        texts = self._load(template)
        used = language if language in texts else "en"
        chosen = texts[used]
        return used, chosen["subject"].format(**values), chosen["body"].format(**values)

    def languages(self, template: str) -> set[str]:
        return set(self._load(template))


class MailService:
    """Queue email in the caller's transaction; deliver it later, off the request and socket path."""

    def __init__(self, *, db: sessionmaker[Session], mailer: Mailer, templates: MailTemplates, jobs: JobRunner,
                 clock: Callable[[], datetime], defaults: Mapping[str, Any] | None = None):
        self._db = db
        self._mailer = mailer
        self._templates = templates
        self._jobs = jobs
        self._clock = clock
        self._defaults = dict(defaults or {})
        jobs.register(DELIVER_JOB, self.deliver)

    def add(self, session: Session, *, template: str, to_address: str, language: str | None = None,
            values: Mapping[str, Any] | None = None, reply_to: str | None = None) -> OutboxMail:
        """Render a template into an outbox row of session; call send() with it after the commit."""
        used, subject, body = self._templates.render(template, language=language,
                                                     values={**self._defaults, **(values or {})})
        mail = OutboxMail(template=template, language=used, to_address=to_address, reply_to=reply_to,
                          subject=subject[:300], body=body, status="pending", attempts=0, created_at=self._clock())
        session.add(mail)
        return mail

    def send(self, *mails: OutboxMail) -> None:
        """Hand committed outbox rows to the mail workers."""
        for mail in mails:
            if mail.id is not None and not self._jobs.submit(MAIL, DELIVER_JOB, outbox_id=mail.id):
                log.error("mail queue full; outbox %s stays pending", mail.id)

    def deliver(self, *, outbox_id: int) -> None:
        """Deliver one outbox row (a job): sent, held when there is no SMTP, or failed after retries."""
        with self._db() as session:
            mail = session.get(OutboxMail, outbox_id)
            if mail is None or mail.status not in ("pending", "failed"):
                return
            outgoing = OutgoingMail(to_address=mail.to_address, subject=mail.subject, body=mail.body,
                                    reply_to=mail.reply_to)
        error: str | None = None
        try:
            self._mailer.deliver(outgoing)
        except Exception as exc:  # the SMTP server's answer, kept short; never credentials
            error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("mail %s to outbox recipient failed: %s", outbox_id, type(exc).__name__)
        with self._db.begin() as session:
            mail = session.get(OutboxMail, outbox_id)
            mail.attempts += 1
            if error is None:
                mail.status = "sent" if self._mailer.delivers else "held"
                mail.sent_at = self._clock() if self._mailer.delivers else None
                mail.error = None
            else:
                mail.status = "failed"
                mail.error = error
            retry = error is not None and mail.attempts < MAX_ATTEMPTS
        if retry:
            self._jobs.submit(MAIL, DELIVER_JOB, outbox_id=outbox_id)

    def outbox(self, *, status: str | None = None, to_address: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Return the newest outbox rows first."""
        query = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(max(1, min(limit, 500)))
        if status is not None:
            query = query.where(OutboxMail.status == status)
        if to_address is not None:
            query = query.where(OutboxMail.to_address == to_address)
        with self._db() as session:
            return [outbox_view(mail) for mail in session.scalars(query)]


def outbox_view(mail: OutboxMail) -> dict[str, Any]:
    return {"id": mail.id, "template": mail.template, "language": mail.language, "to": mail.to_address,
            "reply_to": mail.reply_to, "subject": mail.subject, "body": mail.body, "status": mail.status,
            "attempts": mail.attempts, "error": mail.error, "created_at": iso(mail.created_at),
            "sent_at": iso(mail.sent_at)}
