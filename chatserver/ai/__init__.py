"""The AI agent: model client, prompts, turns as background jobs, and the handoff to humans."""
from .agent import AIAgent, Budgets
from .client import ChatModel, ModelError, OpenAIChatModel
from .prompts import PromptBuilder

__all__ = ["AIAgent", "Budgets", "ChatModel", "ModelError", "OpenAIChatModel", "PromptBuilder"]
