"""What the model is sent: the system prompt from prompts/, and this conversation trimmed to a budget."""
from __future__ import annotations

import os

from chatserver.ai.prompts import PromptBuilder, estimate_tokens

PROMPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "prompts")


def builder() -> PromptBuilder:
    return PromptBuilder(directory=PROMPTS, company="Acme")


def context(messages: list[tuple[str, str]], *, language: str = "fr", subscribed: bool = False) -> dict:
    return {"language": language, "subscribed": subscribed,
            "messages": [{"sender": sender, "text": text} for sender, text in messages]}


def test_system_prompt_carries_the_policy_in_the_visitors_language() -> None:
    prompt = builder().system_prompt(language="fr", subscribed=False)
    assert "Acme" in prompt and "French (fr)" in prompt
    for rule in ("verified", "24 hours", "request_human", "Never disclose", "suspended", "Here and now"):
        assert rule in prompt, rule
    assert "has no active subscription" in prompt
    assert "has an active subscription" in builder().system_prompt(language="de", subscribed=True)


def test_roles_and_order_and_no_agent_or_system_notes() -> None:
    messages = builder().messages(context=context([
        ("visitor", "Bonjour"), ("ai", "Bonjour !"), ("system", "conversation note"), ("agent", "agent text"),
        ("visitor", "Ma facture ?")]), history_tokens=1000)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[-1]["content"] == "Ma facture ?"


def test_history_is_trimmed_from_the_oldest_turn() -> None:
    turns = [("visitor", f"message {n} " + "x" * 300) for n in range(20)]
    budget = 5 * estimate_tokens(turns[0][1])
    messages = builder().messages(context=context(turns), history_tokens=budget)
    kept = [m["content"] for m in messages[1:]]
    assert len(kept) == 5 and kept[-1].startswith("message 19") and kept[0].startswith("message 15")
