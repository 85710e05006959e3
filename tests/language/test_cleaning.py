"""Tests for reducing chat messages to their language evidence (cleaning.py)."""

from __future__ import annotations

import pytest

from chatserver.language.cleaning import (
    clean_text,
    evidence_text,
    evidence_units,
    script_counts,
    text_units,
)

PYTHON_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "app.py", line 3, in <module>\n'
    "KeyError: 'x'"
)
JAVA_LOG = "ERROR 2024-01-01 12:00:00 [main] NullPointerException at com.foo.Bar"
JAVA_TRACE = (
    "java.lang.IllegalStateException: connection pool exhausted\n"
    "\tat com.example.db.Pool.acquire(Pool.java:88)\n"
    "\tat com.example.service.OrderService.load(OrderService.java:41)\n"
    "\t... 12 more"
)
JS_TRACE = (
    "TypeError: Cannot read properties of undefined (reading 'id')\n"
    "    at Object.<anonymous> (/srv/app/index.js:12:7)\n"
    "    at Module._compile (node:internal/modules/cjs/loader:1256:14)"
)
JSON_DUMP = '{"error": "invalid_request", "status": 400, "trace_id": "a1b2c3"}'
SYSLOG = "Nov 28 01:07:12 web1 nginx[812]: upstream timed out while reading response header"

# Messages that carry no language evidence at all.
NO_EVIDENCE = [
    "", "   ", "ok", "OK", "okay", "Ok!", "k", "thanks", "Thanks!", "thanks!!", "thx", "ty",
    "Thank you!", "thank you very much", "ok thanks", "ok thx 👍", "lol", "hahaha", "yes", "nope",
    "hello", "hi", "hmm", "👍", "😀😀😀", "🙏🏻", "?", "!!!", "...", "12345", "+49 170 1234567",
    "#4711", "A-48213", "ORD-2024-99812", "@support", "https://example.com/orders/123?x=1",
    "www.example.com", "example.com", "foo.bar@example.com", "mailto:foo@example.com",
    "ERR_CONNECTION_REFUSED", "404", "HTTP 500", "<br>", "&nbsp;", "<b></b>",
    PYTHON_TRACEBACK, JAVA_LOG, JAVA_TRACE, JS_TRACE, JSON_DUMP, SYSLOG,
    "好",  # a single CJK character is below the evidence threshold
    "ja", "si", "no",
]


@pytest.mark.parametrize("text", NO_EVIDENCE)
def test_no_evidence(text: str) -> None:
    assert evidence_units(text) == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, world!", "Hello world"),
        ("see https://example.com/a?b=1 please", "see please"),
        ("mail me at foo.bar@example.com now", "mail me at now"),
        ("@anna can you help", "can you help"),
        ("order 12345 is late", "order is late"),
        ("it's broken 😡😡", "it s broken"),
        ("the file app.py fails", "the file fails"),
        ("call getUserName() fails", "call fails"),
        ("path /var/log/app.log is full", "path is full"),
        ("my_var is null", "is null"),
        ("got a HTTP 500 ERROR today", "got a today"),
        ("MY ORDER DID NOT ARRIVE", "my order did not arrive"),
        ("Größe ändern", "Größe ändern"),
        ("注文がまだ届きません。", "注文がまだ届きません"),
        ("नमस्ते दुनिया", "नमस्ते दुनिया"),  # combining vowel signs survive
        ("Hi, I get this error:\n" + PYTHON_TRACEBACK, "Hi I get this error"),
        (JAVA_LOG, ""),
        (JSON_DUMP, ""),
        ("", ""),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A tag is stripped, its words kept; the line is not code.
        ("Guten Tag, meine Rechnung ist falsch. <b>bold?</b>", "Guten Tag meine Rechnung ist falsch bold"),
        ("<p>Bonjour, ma commande n'est pas arrivée</p>", "Bonjour ma commande n est pas arrivée"),
        ('ik krijg <span class="x">sessie verlopen</span>', "ik krijg sessie verlopen"),
        ("Dzień dobry&nbsp;zamówienie nie dotarło", "Dzień dobry zamówienie nie dotarło"),
        # "<3" and "a < b" are not tags.
        ("ich liebe euch <3", "ich liebe euch"),
        # Greek asks with ";": that is not a statement terminator.
        ("είναι κανείς εκεί;", "είναι κανείς εκεί"),
        # A date and time inside a sentence only lose their digits.
        ("min order från 2024-11-20 14:30 har inte kommit", "min order från har inte kommit"),
        ("ich habe um 12:30 bezahlt", "ich habe um bezahlt"),
        # The Catalan middle dot belongs to its word.
        ("vull cancel·lar la subscripció", "vull cancel·lar la subscripció"),
    ],
)
def test_over_eager_drops_are_fixed(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "var x = compute(a, b);",
        "if (x) {",
        "}",
        "SELECT * FROM orders WHERE id = 4;",
        "[2024-01-01 12:00:00] worker started",
        "12:00:01 job failed",
        "user => admin",
    ],
)
def test_machine_lines_are_dropped(text: str) -> None:
    assert clean_text(text) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok, die Rechnung ist falsch", "die Rechnung ist falsch"),
        ("thanks hahaha lol", ""),
        ("Thank you very much!", ""),
        ("je ne peux pas", "je ne peux pas"),  # "je" is not laughter
        ("ja bitte", "ja bitte"),
        ("no funciona", "no funciona"),  # "no" is a real word in es/it/pt
        ("hello, where is my order?", "where is my order"),
    ],
)
def test_evidence_text_drops_neutral_tokens(text: str, expected: str) -> None:
    assert evidence_text(text) == expected


def test_units_count_letters_and_cjk_double() -> None:
    assert text_units("abc def") == 6.0
    assert text_units("注文") == 4.0
    # Devanagari vowel signs write vowels, like Latin letters; the virama does not.
    assert text_units("नमस्ते") == 5.0
    assert text_units("मेरो पार्सल आएन") == text_units("mero parsl aen")
    # Latin combining accents (decomposed é) are not letters of their own.
    assert text_units("cafe\u0301") == 4.0
    assert evidence_units("注文がまだ届きません") == evidence_units("abcdefghij" * 2)


def test_script_counts() -> None:
    assert script_counts("привет мир") == {"C": 9}
    assert script_counts("注文が") == {"Z": 2, "V": 1}
    assert script_counts("αβγ abc") == {"G": 3, "L": 3}
    assert script_counts("안녕") == {"F": 2}


def test_long_paste_is_fast() -> None:
    import time

    text = "Die Rechnung ist falsch und ich möchte eine Korrektur. " * 500
    start = time.perf_counter()
    assert evidence_units(text) > 1000
    assert time.perf_counter() - start < 1.0
