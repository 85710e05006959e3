"""The AI agent: answers conversations in languages the human team does not offer."""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from ..catalog import Catalog
from ..jobs import AI, JobRunner
from ..services.chat import ChatService
from ..state import SharedState
from .guard import screen
from .client import ChatModel, HandoffRequested, ModelError, TextDelta, Usage
from .prompts import PromptBuilder, estimate_tokens

log = logging.getLogger(__name__)

TURN_JOB = "ai_turn"
DAY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Budgets:
    conversation_tokens: int
    daily_tokens: int
    history_tokens: int
    max_output_tokens: int
    turn_seconds: float


class AIAgent:
    """Take AI turns as jobs of the lowest class, stream replies, and hand off to humans when it should."""

    def __init__(self, *, chat: ChatService, jobs: JobRunner, state: SharedState, catalog: Catalog,
                 prompts: PromptBuilder, model: ChatModel | None, budgets: Budgets):
        self._chat = chat
        self._jobs = jobs
        self._state = state
        self._catalog = catalog
        self._prompts = prompts
        self._model = model
        self._budgets = budgets
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def bind(self) -> None:
        self._chat.on_ai_turn = self.schedule
        self._jobs.register(TURN_JOB, self.take_turn)

    def schedule(self, conversation_id: int) -> None:
        """Queue a turn for the conversation; when the AI queue is full, hand it to humans."""
        if not self._jobs.submit(AI, TURN_JOB, conversation_id=conversation_id):
            self._chat.hand_to_humans(conversation_id=conversation_id, reason="ai_saturated")

    def resume_waiting(self) -> None:
        """Queue turns for AI conversations left unanswered (a worker died mid-turn)."""
        for conversation_id in self._chat.ai_conversations_waiting():
            self.schedule(conversation_id)

    def take_turn(self, *, conversation_id: int) -> None:
        """Answer the visitor's newest messages, once, even with several workers."""
        lock = f"ai-turn:{conversation_id}"
        if not self._state.lock_acquire(name=lock, owner=self._owner, ttl=self._budgets.turn_seconds + 30):
            return  # another worker is answering; it looks again for new messages when done
        try:
            # Messages that arrive while a reply streams are answered next, in
            # the same turn, so that nothing the visitor typed goes unanswered.
            for _ in range(3):
                context = self._chat.ai_context(conversation_id=conversation_id)
                if context is None or not context["pending"]:
                    return
                if self._model is None:
                    self._acknowledge(context)
                    return
                if not self._answer(context):
                    return
        finally:
            self._state.lock_release(name=lock, owner=self._owner)
        # A message may have landed between our last look and the release,
        # while its own job found the lock taken: answer it too.
        context = self._chat.ai_context(conversation_id=conversation_id)
        if context is not None and context["pending"]:
            self.schedule(conversation_id)

    def _acknowledge(self, context: dict) -> None:
        # Without a model the agent says honestly what happens next, once, in
        # the visitor's language, and hands the conversation to humans so the
        # 24-hour promise is kept.
        text = self._catalog.text("ai_acknowledgement", language=context["language"])
        self._chat.post_ai_message(conversation_id=context["conversation_id"], text=text, acknowledgement=True)
        self._chat.hand_to_humans(conversation_id=context["conversation_id"], reason="no_model", note=False)

    def _day_counter(self) -> str:
        return "ai-tokens:" + datetime.now(timezone.utc).strftime("%Y-%m-%d")

    def _answer(self, context: dict) -> bool:
        """Stream one reply; return True when the AI still handles the conversation afterwards."""
        conversation_id, client_id = context["conversation_id"], context["client_id"]
        budgets = self._budgets
        if (context["tokens_used"] >= budgets.conversation_tokens
                or self._state.counter_get(name=self._day_counter()) >= budgets.daily_tokens):
            self._chat.hand_to_humans(conversation_id=conversation_id, reason="budget")
            return False
        unanswered = _unanswered(context["messages"])
        category = next(filter(None, (screen(text) for text in unanswered)), None)
        if category is not None:
            # Never sent to the model: a human checks identity and acts.
            self._chat.hand_to_humans(conversation_id=conversation_id, reason=f"guard_{category}")
            return False
        messages = self._prompts.messages(context=context, history_tokens=budgets.history_tokens)
        stream_id = "ai-" + uuid.uuid4().hex
        parts: list[str] = []
        usage: Usage | None = None
        handoff = False
        self._chat.typing(conversation_id=conversation_id, client_id=client_id, sender="ai", typing=True)
        try:
            for chunk in self._model.stream(messages=messages, max_tokens=budgets.max_output_tokens,
                                            deadline=time.monotonic() + budgets.turn_seconds):
                if isinstance(chunk, TextDelta):
                    parts.append(chunk.text)
                    self._chat.ai_delta(conversation_id=conversation_id, client_id=client_id, stream_id=stream_id,
                                        delta=chunk.text)
                elif isinstance(chunk, HandoffRequested):
                    handoff = True
                elif isinstance(chunk, Usage):
                    usage = chunk
        except ModelError as error:
            log.warning("AI turn failed for conversation %s: %s", conversation_id, error.kind)
            self._spend(conversation_id, usage.total if usage else _estimate(messages, parts), stored=False)
            self._chat.typing(conversation_id=conversation_id, client_id=client_id, sender="ai", typing=False)
            self._chat.hand_to_humans(conversation_id=conversation_id, reason=f"model_{error.kind}")
            return False
        tokens = usage.total if usage else _estimate(messages, parts)
        text = "".join(parts).strip()
        self._spend(conversation_id, tokens, stored=bool(text))
        self._chat.typing(conversation_id=conversation_id, client_id=client_id, sender="ai", typing=False)
        if text:
            self._chat.post_ai_message(conversation_id=conversation_id, text=text, stream_id=stream_id, tokens=tokens)
        if handoff or not text:
            self._chat.hand_to_humans(conversation_id=conversation_id,
                                      reason="model_request" if handoff else "model_empty")
            return False
        return True

    def _spend(self, conversation_id: int, tokens: int, *, stored: bool) -> None:
        self._state.counter_add(name=self._day_counter(), amount=tokens, ttl=2 * DAY_SECONDS)
        if not stored:
            self._chat.add_ai_tokens(conversation_id=conversation_id, tokens=tokens)


def _unanswered(messages: list[dict[str, str]]) -> list[str]:
    """Return the visitor's texts after the AI's latest reply."""
    texts: list[str] = []
    for message in messages:
        if message["sender"] == "ai":
            texts = []
        elif message["sender"] == "visitor":
            texts.append(message["text"])
    return texts


def _estimate(messages: list[dict[str, str]], parts: list[str]) -> int:
    return sum(estimate_tokens(m["content"]) for m in messages) + estimate_tokens("".join(parts))
