"""The language model behind the AI agent, behind a small interface.

OpenAIChatModel speaks the chat-completions API with streaming, so any
OpenAI-compatible server works: OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

HANDOFF_TOOL = "request_human"
TOOLS: list[dict[str, Any]] = [{
    "type": "function",
    "function": {
        "name": HANDOFF_TOOL,
        "description": "Hand the conversation to a human support agent: the visitor asked for a person, "
                       "or you cannot help. A person replies within 24 hours.",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    },
}]


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class HandoffRequested:
    """The model called the handoff tool."""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


Chunk = TextDelta | HandoffRequested | Usage


class ModelError(Exception):
    """The model could not answer: time-out, rate limit or server error after retries."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class ChatModel(Protocol):
    def stream(self, *, messages: Sequence[dict[str, str]], max_tokens: int, deadline: float) -> Iterator[Chunk]:
        """Yield the reply as it streams; raise ModelError when it cannot."""


class OpenAIChatModel:
    """Stream chat completions with the official openai client."""

    def __init__(self, *, api_key: str, base_url: str | None, model: str, timeout: float, max_retries: int):
        import openai

        self._openai = openai
        # The client retries 408, 409, 429 and 5xx with exponential backoff
        # (0.5 s doubling, honouring Retry-After), bounded by max_retries.
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout,
                                     max_retries=max_retries)
        self._model = model

    def stream(self, *, messages: Sequence[dict[str, str]], max_tokens: int, deadline: float) -> Iterator[Chunk]:
        openai = self._openai
        try:
            response = self._client.chat.completions.create(
                model=self._model, messages=list(messages), stream=True, tools=TOOLS, max_tokens=max_tokens,
                stream_options={"include_usage": True}, temperature=0.3)
            with response as stream:
                for chunk in stream:
                    if time.monotonic() > deadline:
                        raise ModelError("timeout", "the reply took too long")
                    if chunk.usage is not None:
                        yield Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
                    for choice in chunk.choices or ():
                        delta = choice.delta
                        if delta is None:
                            continue
                        for call in delta.tool_calls or ():
                            if call.function is not None and call.function.name == HANDOFF_TOOL:
                                yield HandoffRequested()
                        if delta.content:
                            yield TextDelta(delta.content)
        except ModelError:
            raise
        except openai.APITimeoutError as error:
            raise ModelError("timeout", str(error)) from None
        except openai.RateLimitError as error:
            raise ModelError("rate_limited", str(error)) from None
        except openai.APIStatusError as error:
            raise ModelError("upstream", f"status {error.status_code}") from None
        except openai.APIError as error:
            raise ModelError("upstream", type(error).__name__) from None
