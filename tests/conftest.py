"""Stacks to test against: the embedded default always; PostgreSQL and Redis when configured.

TEST_DATABASE_URL and TEST_REDIS_URL select the scale-out stack. When they are
set but unreachable, the tests that need them fail: they never skip.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from .fake_openai import FakeOpenAI
from .support import Peer, Stack

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")

STACKS = ["embedded"] + (["scaled"] if TEST_DATABASE_URL or TEST_REDIS_URL else [])


def _postgres_database(url: str) -> tuple[str, callable]:
    """Create a fresh database next to url's; return its URL and a function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"chatserver_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        pytest.fail(f"TEST_DATABASE_URL={url!r} is set but PostgreSQL is unreachable: {error}", pytrace=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def _check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as error:
        pytest.fail(f"TEST_REDIS_URL={url!r} is set but Redis is unreachable: {error}", pytrace=False)


def _cleanup_redis(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=prefix + "*", count=500))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A fresh, empty place for one test module's server to keep its data."""
    if request.param == "embedded":
        path = tmp_path_factory.mktemp("db") / "chatserver.sqlite3"
        yield Stack("embedded", f"sqlite:///{path}")
        return
    drop = None
    database_url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'chatserver.sqlite3'}"
    if TEST_DATABASE_URL:
        database_url, drop = _postgres_database(TEST_DATABASE_URL)
    if TEST_REDIS_URL:
        _check_redis(TEST_REDIS_URL)
    stack = Stack("scaled", database_url, TEST_REDIS_URL)
    try:
        yield stack
    finally:
        if TEST_REDIS_URL:
            _cleanup_redis(TEST_REDIS_URL, stack.redis_prefix)
        if drop:
            drop()


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    """Collect Socket.IO peers a test opens and disconnect them afterwards."""
    opened: list[Peer] = []
    yield opened
    for peer in opened:
        peer.disconnect()


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    """A local HTTP server speaking the OpenAI API, for one test module."""
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()
