"""Shared state: the routing queue, presence, load and locks, in memory or Redis."""
from __future__ import annotations

from .base import QueueEntry, SharedState
from .keys import DEFAULT_PREFIX
from .memory import MemoryState
from .redis import UNAVAILABLE, RedisState

__all__ = ["MemoryState", "QueueEntry", "RedisState", "SharedState", "UNAVAILABLE", "make_state"]


def make_state(*, redis_url: str | None, prefix: str = DEFAULT_PREFIX) -> SharedState:
    """Return Redis-backed state when redis_url is given, else in-process state."""
    if redis_url:
        return RedisState(redis_url, prefix=prefix)
    return MemoryState()
