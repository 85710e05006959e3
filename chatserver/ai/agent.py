"""The AI agent: answers conversations in languages the human team does not offer."""
from __future__ import annotations

import logging

from ..jobs import AI, JobRunner
from ..services.chat import ChatService
from .catalog import Catalog

log = logging.getLogger(__name__)


class AIAgent:
    """Take AI turns off the socket path, as the lowest job class."""

    def __init__(self, *, chat: ChatService, jobs: JobRunner, catalog: Catalog):
        self._chat = chat
        self._jobs = jobs
        self._catalog = catalog

    def bind(self) -> None:
        self._chat.on_ai_turn = self.schedule

    def schedule(self, conversation_id: int) -> None:
        if not self._jobs.submit(AI, self.take_turn, conversation_id=conversation_id):
            # Saturated: a human will answer rather than nobody.
            self._chat.hand_to_humans(conversation_id=conversation_id)

    def take_turn(self, *, conversation_id: int) -> None:
        """Answer the conversation's latest visitor message."""
        context = self._chat.ai_context(conversation_id=conversation_id)
        if context is None or context["acknowledged"]:
            return
        # Without a model the agent says honestly what happens next, once, in
        # the visitor's language. The model path replaces this (see issue 4).
        text = self._catalog.text("ai_acknowledgement", language=context["language"])
        self._chat.post_ai_message(conversation_id=conversation_id, text=text, acknowledgement=True)
