"""The chatserver command, run as a user runs it: a subprocess."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from .support import ROOT


def chatserver(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chatserver.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          input=input, timeout=120, env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})


def test_detect_language_prints_one_code_per_line() -> None:
    lines = ["Guten Tag, meine Rechnung ist falsch.", "ok", "¿Dónde está mi pedido? No ha llegado todavía.",
             "こんにちは、注文について質問があります", "https://example.com/invoice/123", "",
             "Hello, I cannot log in to my account."]
    result = chatserver("detect-language", input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["de", "und", "es", "ja", "und", "und", "en"]


def test_detect_language_hint_decides_lines_without_evidence_only() -> None:
    result = chatserver("detect-language", "--hint", "de", input="ok\nThe invoice amount is wrong, please help me.\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["de", "en"]


def test_db_upgrade_then_create_admin(tmp_path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    upgraded = chatserver("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    with sqlite3.connect(tmp_path / "cli.sqlite3") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master where type='table'")}
    assert {"clients", "agents", "settings", "conversations", "messages", "alembic_version"} <= tables

    created = chatserver("create-admin", "--email", "root@example.com", "--password", "long-enough-1", env=env)
    assert created.returncode == 0, created.stderr
    with sqlite3.connect(tmp_path / "cli.sqlite3") as connection:
        role, password_hash = connection.execute(
            "select role, password_hash from agents where email='root@example.com'").fetchone()
    assert role == "admin" and password_hash.startswith("scrypt:") and "long-enough-1" not in password_hash

    again = chatserver("create-admin", "--email", "root@example.com", "--password", "long-enough-1", env=env)
    assert again.returncode != 0 and "exists" in again.stderr and "Traceback" not in again.stderr

    short = chatserver("create-admin", "--email", "other@example.com", "--password", "short", env=env)
    assert short.returncode != 0 and "password" in short.stderr and "Traceback" not in short.stderr
