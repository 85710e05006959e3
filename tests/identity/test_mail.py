"""The mail service against a real SMTP server (aiosmtpd) and one that refuses: sent, held, retried, failed."""
from __future__ import annotations

import smtplib
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine

from chatserver.db import make_sessionmaker
from chatserver.jobs import MAIL, JobRunner
from chatserver.mail import HeldMailer, MailService, MailTemplates, SmtpMailer
from chatserver.mail.mailer import Mailer, OutgoingMail
from chatserver.models import Base
from chatserver.state import MemoryState

from ..mailbox import Mailbox
from ..support import ROOT


class Refusing(Mailer):
    def deliver(self, mail: OutgoingMail) -> None:
        raise smtplib.SMTPRecipientsRefused({mail.to_address: (550, b"no such user")})


@pytest.fixture
def db(tmp_path) -> Any:
    engine = create_engine(f"sqlite:///{tmp_path / 'mail.sqlite3'}")
    Base.metadata.create_all(engine)
    return make_sessionmaker(engine)


def service(db: Any, mailer: Mailer) -> tuple[MailService, JobRunner]:
    runner = JobRunner(state=MemoryState(), spawn=lambda *args: None, workers={MAIL: 1}, limits={MAIL: 100})
    mail = MailService(db=db, mailer=mailer, templates=MailTemplates(f"{ROOT}/prompts"), jobs=runner,
                       clock=lambda: datetime.now(timezone.utc), defaults={"company": "Acme"})
    return mail, runner


def queue(mail: MailService, db: Any, *, language: str | None = "de") -> int:
    with db.begin() as session:
        row = mail.add(session, template="sign_in_code", to_address="ada@example.com", language=language,
                       values={"code": "123456", "minutes": 10}, reply_to="reply+token@example.com")
    mail.send(row)
    return row.id


def drain(runner: JobRunner) -> None:
    while runner.run_one(MAIL, timeout=0.01):
        pass


def test_mail_goes_out_by_smtp_localized_with_reply_to(db: Any) -> None:
    box = Mailbox().start()
    try:
        mail, runner = service(db, SmtpMailer(url=box.url, sender="Support <support@acme.example>"))
        queue(mail, db)
        drain(runner)
        received = box.wait("ada@example.com")
        assert received.subject == "Ihr Anmeldecode für Acme: 123456"
        assert received.headers["Reply-To"] == "reply+token@example.com" and "123456" in received.body
        [row] = mail.outbox()
        assert (row["status"], row["language"], row["attempts"]) == ("sent", "de", 1) and row["sent_at"]
    finally:
        box.stop()


def test_a_language_without_the_template_falls_back_to_english(db: Any) -> None:
    mail, runner = service(db, HeldMailer(log_bodies=False))
    queue(mail, db, language="ja")
    drain(runner)
    [row] = mail.outbox()
    assert row["language"] == "en" and row["subject"].startswith("Your Acme sign-in code")
    assert row["status"] == "held" and row["sent_at"] is None


def test_a_refused_mail_is_retried_then_marked_failed(db: Any) -> None:
    mail, runner = service(db, Refusing())
    queue(mail, db)
    drain(runner)
    [row] = mail.outbox()
    assert row["status"] == "failed" and row["attempts"] == 3 and "SMTPRecipientsRefused" in row["error"]


def test_smtp_url_must_be_smtp_or_smtps() -> None:
    with pytest.raises(ValueError):
        SmtpMailer(url="http://mail.example.com", sender="a@b.c")
