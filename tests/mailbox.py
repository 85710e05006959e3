"""A real SMTP server (aiosmtpd) for tests: it keeps what it receives, and tests read codes from it."""
from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller

from .support import free_port


@dataclass(frozen=True)
class Received:
    to: list[str]
    sender: str
    subject: str
    body: str
    headers: dict[str, str]

    def code(self) -> str:
        match = re.search(r"\b(\d{6})\b", self.body)
        assert match, self.body
        return match.group(1)

    def link(self) -> str:
        match = re.search(r"https?://\S+", self.body)
        assert match, self.body
        return match.group(0)


class Mailbox:
    """An SMTP server on a loopback port; every message it accepts is kept in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Received] = []
        self._changed = threading.Condition()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        received = Received(to=[address.lower() for address in envelope.rcpt_tos], sender=envelope.mail_from,
                            subject=str(message["Subject"]), body=message.get_content(),
                            headers={key: str(value) for key, value in message.items()})
        with self._changed:
            self.messages.append(received)
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def start(self) -> "Mailbox":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[Received]:
        with self._changed:
            return [message for message in self.messages if address.lower() in message.to]

    def wait(self, address: str, *, count: int = 1, timeout: float = 15) -> Received:
        """Return the count-th message to address, waiting for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [message for message in self.messages if address.lower() in message.to]
                if len(found) >= count:
                    return found[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no message #{count} to {address} within {timeout}s; "
                                         f"mail so far: {[(m.to, m.subject) for m in self.messages]}")
                self._changed.wait(remaining)
