"""Build what the model sees: the system prompt from prompts/ and this conversation only."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..language import LANGUAGES

SYSTEM_TEMPLATE = "ai_system.md.j2"
# A rough, tokenizer-free estimate (about four characters per token for
# Latin scripts, fewer for CJK): trimming only needs to be safe, not exact.
CHARS_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 4


class PromptBuilder:
    """Render the system prompt and trim the conversation's history to a token budget."""

    def __init__(self, *, directory: str, company: str):
        # Prompts are plain text for a model, not HTML: no autoescaping.
        self._env = Environment(loader=FileSystemLoader(directory), undefined=StrictUndefined,
                                autoescape=False, keep_trailing_newline=True)
        self._company = company

    def system_prompt(self, *, language: str, subscribed: bool) -> str:
        name = LANGUAGES.get(language, (language, language))[0]
        return self._env.get_template(SYSTEM_TEMPLATE).render(
            company=self._company, language=language, language_name=name, subscribed=subscribed)

    def messages(self, *, context: Mapping[str, Any], history_tokens: int) -> list[dict[str, str]]:
        """Return the chat-completions messages for one AI turn."""
        system = self.system_prompt(language=context["language"], subscribed=context["subscribed"])
        turns: list[dict[str, str]] = []
        budget = history_tokens
        # Newest first, so that trimming drops the oldest turns.
        for message in reversed(context["messages"]):
            role = {"visitor": "user", "ai": "assistant"}.get(message["sender"])
            if role is None:
                continue  # system notes and agents' messages are not the model's turns
            cost = estimate_tokens(message["text"])
            if cost > budget:
                break
            budget -= cost
            turns.append({"role": role, "content": message["text"]})
        turns.reverse()
        return [{"role": "system", "content": system}, *turns]

