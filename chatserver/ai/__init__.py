"""The AI agent: client, prompts, job runner and handoff."""
from .agent import AIAgent
from .catalog import Catalog

__all__ = ["AIAgent", "Catalog"]
