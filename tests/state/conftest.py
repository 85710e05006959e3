"""Fixtures that run every shared-state test against each backend."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from uuid import uuid4

import pytest
import redis

from chatserver.state import MemoryState, RedisState, SharedState
from chatserver.state.keys import Keys


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        """Start at now; far from 0 so expiry arithmetic is never near a boundary."""
        self.now = now

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by seconds."""
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """Provide a fresh fake clock."""
    return FakeClock()


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    """Connect to TEST_REDIS_URL once, skipping when unset and failing when unreachable."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set; set it (e.g. redis://127.0.0.1:6379/0) to test the Redis backend")
    client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2)
    try:
        client.ping()
        error = None
    except redis.RedisError as exc:
        error = exc
    if error is not None:
        # A configured but dead Redis is a broken test environment, not an
        # optional backend: failing keeps CI from silently going green.
        # (Raised outside the except block so the report is one clear line.)
        client.close()
        pytest.fail(f"TEST_REDIS_URL={url!r} is set but Redis is unreachable: {error}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(params=["memory", "redis"])
def state(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[SharedState]:
    """Provide an empty state of each backend, driven by the fake clock."""
    if request.param == "memory":
        yield MemoryState(clock)
        return
    client: redis.Redis = request.getfixturevalue("redis_client")
    prefix = f"test:{uuid4().hex}:"
    url = os.environ["TEST_REDIS_URL"]
    backend = RedisState(url, prefix=prefix, clock=clock)
    try:
        yield backend
    finally:
        backend.close()
        keys = list(client.scan_iter(match=Keys(prefix).pattern(), count=500))
        if keys:
            client.delete(*keys)


@pytest.fixture
def lapse(state: SharedState, clock: FakeClock) -> Callable[[float], None]:
    """Let seconds pass for both client-side (fake clock) and server-side (Redis PX) expiry."""

    def lapse(seconds: float) -> None:
        clock.advance(seconds)
        if isinstance(state, RedisState):
            # Redis expires keys by its own clock, which no fake can move.
            time.sleep(seconds)

    return lapse
