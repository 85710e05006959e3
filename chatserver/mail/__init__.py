"""Email: a small Mailer interface (SMTP, or held in the outbox), templates in files, sending off the socket path."""
from __future__ import annotations

from .mailer import HeldMailer, Mailer, OutgoingMail, SmtpMailer, make_mailer
from .service import MailService, MailTemplates

__all__ = ["HeldMailer", "MailService", "MailTemplates", "Mailer", "OutgoingMail", "SmtpMailer", "make_mailer"]
