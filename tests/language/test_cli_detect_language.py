"""`chatserver detect-language`, run as a user runs it: a subprocess per backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINES = [
    "Guten Tag, meine Rechnung ist falsch.",
    "ok",
    "¿Dónde está mi pedido? No ha llegado todavía.",
    "こんにちは、注文について質問があります",
    "https://example.com/invoice/123",
    "",
    "Hello, I cannot log in to my account.",
]


def run(*args: str, stdin: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chatserver.cli", "detect-language", *args], cwd=ROOT,
                          capture_output=True, text=True, input=stdin, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


@pytest.mark.parametrize("backend", ["combined", "fasttext", "py3langid", "langdetect"])
def test_one_code_per_line(backend: str) -> None:
    result = run("--detector", backend, stdin="\n".join(LINES) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["de", "und", "es", "ja", "und", "und", "en"]


def test_backend_from_the_environment() -> None:
    result = run(stdin="jeg får ikke logget inn\n", env={"LANGUAGE_DETECTOR": "combined"})
    assert result.stdout.splitlines() == ["no"]


def test_explain_prints_scores_and_the_explanation() -> None:
    result = run("--explain", "--detector", "combined", stdin="Guten Tag, meine Rechnung ist falsch.\nok\n")
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    code, scores, explanation = first.split("\t")
    assert code == "de"
    assert scores.split()[0].startswith("de=")
    assert explanation.startswith("German from 1 message (confidence ")
    assert second.split("\t") == ["und", "-", "Language unknown: no message with language evidence and no panel or browser language."]


def test_hint_decides_lines_without_evidence_only() -> None:
    result = run("--hint", "de", "--explain", stdin="ok\nThe invoice amount is wrong, please help me.\n")
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [line[0] for line in lines] == ["de", "en"]
    assert lines[0][2].startswith("German from the panel choice")
    assert lines[1][2].endswith("; the panel choice German is outweighed.")


def test_unknown_backend_is_a_usage_error() -> None:
    result = run("--detector", "cld3", stdin="hallo\n")
    assert result.returncode == 2
    assert "unknown language detector: 'cld3'" in result.stderr and "Traceback" not in result.stderr
