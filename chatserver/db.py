"""Database engine, sessions and migrations."""
from __future__ import annotations

import os
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


def make_engine(url: str) -> Engine:
    """Create an engine with the settings each backend needs."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        # Several greenlets share the file; wait for the writer instead of
        # failing with "database is locked".
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Under WAL, NORMAL fsyncs at checkpoints rather than on every commit: a
    # commit still survives the process crashing (SIGKILL included), and only
    # a power loss can take the last moments' commits. FULL cost an fsync
    # (3 ms and more, blocking the whole gevent loop) per message; a
    # deployment that must survive power loss runs PostgreSQL.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Run the Alembic migrations up to revision."""
    from alembic import command

    command.upgrade(_alembic_config(url), revision)
