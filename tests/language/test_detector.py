"""Tests for text cleaning and langdetect-backed detection (real langdetect, no mocks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chatserver.language import (
    Detector,
    LangdetectDetector,
    clean_text,
    detect,
    make_detector,
)
from chatserver.language import detector as detector_module

REPO_ROOT = Path(__file__).resolve().parents[2]

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

NO_EVIDENCE = [
    "",
    "   ",
    "ok",
    "OK",
    "okay",
    "Ok!",
    "k",
    "thanks",
    "Thanks!",
    "thanks!!",
    "thx",
    "ty",
    "Thank you!",
    "thank you very much",
    "ok thanks",
    "ok thx 👍",
    "lol",
    "hahaha",
    "yes",
    "nope",
    "hello",
    "hi",
    "hmm",
    "👍",
    "😀😀😀",
    "🙏🏻",
    "?",
    "!!!",
    "...",
    "12345",
    "+49 170 1234567",
    "#4711",
    "@support",
    "https://example.com/orders/123?x=1",
    "www.example.com",
    "example.com",
    "foo.bar@example.com",
    "mailto:foo@example.com",
    "ERR_CONNECTION_REFUSED",
    "404",
    "HTTP 500",
    PYTHON_TRACEBACK,
    JAVA_LOG,
    JAVA_TRACE,
    JS_TRACE,
    JSON_DUMP,
    "好",  # a single CJK character is below the evidence threshold
    "ja",
    "si",
    "no",
]


@pytest.fixture(scope="module")
def detector() -> Detector:
    return make_detector()


def test_make_detector() -> None:
    made = make_detector()
    assert isinstance(made, LangdetectDetector)
    assert isinstance(made, Detector)
    assert made.name == "langdetect"
    assert make_detector("langdetect").name == "langdetect"


def test_make_detector_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown language detector: "):
        make_detector("cld3")


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
    assert detector_module.evidence_text(text) == expected


@pytest.mark.parametrize("text", NO_EVIDENCE)
def test_no_evidence_gives_empty_scores(detector: Detector, text: str) -> None:
    assert detector.scores(text) == {}
    assert detect(detector, text) == "und"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("die Rechnung ist falsch", "de"),
        ("is anyone there?", "en"),
        ("Hello, I have a problem with my invoice", "en"),
        ("necesito ayuda con la factura", "es"),
        ("la facture est incorrecte", "fr"),
        ("こんにちは、注文について質問があります", "ja"),
        ("我无法登录我的账户", "zh"),
        ("로그인이 안 돼요", "ko"),
        ("не могу войти в аккаунт", "ru"),
        ("ok, die Rechnung ist falsch", "de"),  # neutral tokens are ignored
        ("MY ORDER DID NOT ARRIVE", "en"),  # shouting is lower-cased, not dropped
        # The human sentence before a pasted traceback still counts.
        ("Hallo, ich bekomme diesen Fehler beim Bezahlen:\n" + PYTHON_TRACEBACK, "de"),
    ],
)
def test_detects_short_messages(detector: Detector, text: str, expected: str) -> None:
    assert detect(detector, text) == expected


def test_two_cjk_characters_are_evidence(detector: Detector) -> None:
    assert detect(detector, "你好") == "zh"
    assert detect(detector, "안녕") == "ko"


def test_scores_are_iso_codes_and_probabilities(detector: Detector) -> None:
    for text in ["我的订单还没到", "发票有问题", "mi pedido no ha llegado", "faturada bir hata var"]:
        scores = detector.scores(text)
        assert scores, text
        for code, prob in scores.items():
            assert len(code) == 2 and code.isalpha() and code.islower(), code
            assert 0.0 < prob <= 1.0
        assert sum(scores.values()) <= 1.0 + 1e-9
        # Best first, so callers can read the top guess off the dict.
        assert list(scores.values()) == sorted(scores.values(), reverse=True)
    assert "zh" in detector.scores("我的订单还没到")


DETERMINISM_TEXTS = [
    "hola",
    "bonjour",
    "mi pedido no ha llegado",
    "faturada bir hata var",
    "mijn bestelling is nog niet aangekomen",
    "die Rechnung ist falsch",
    "注文確認",
    "ok danke",
]


def test_deterministic_across_fresh_detectors() -> None:
    first = [LangdetectDetector().scores(text) for text in DETERMINISM_TEXTS]
    for _ in range(3):
        fresh = LangdetectDetector()
        assert [fresh.scores(text) for text in DETERMINISM_TEXTS] == first


def test_deterministic_across_processes() -> None:
    # A fresh interpreter with a different hash seed must load the profiles
    # and produce exactly the same probabilities.
    script = (
        "import json, sys\n"
        "from chatserver.language import make_detector\n"
        "d = make_detector()\n"
        "print(json.dumps([d.scores(t) for t in json.loads(sys.argv[1])]))\n"
    )
    expected = [LangdetectDetector().scores(text) for text in DETERMINISM_TEXTS]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(DETERMINISM_TEXTS)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == expected


def test_does_not_touch_langdetect_global_factory(detector: Detector) -> None:
    import langdetect.detector_factory as ldf

    before = ldf._factory
    detector.scores("die Rechnung ist falsch")
    assert ldf._factory is before


THREAD_TEXTS = [
    "die Rechnung ist falsch",
    "mi pedido no ha llegado",
    "ma commande n'est pas arrivée",
    "il mio ordine non è arrivato",
    "мой заказ не пришёл",
    "注文がまだ届きません",
    "我的订单还没到",
    "결제가 안 됩니다",
    "faturada bir hata var",
    "ik kan niet inloggen",
    "bonjour",
    "thanks",
]


def test_thread_safety_matches_serial(detector: Detector) -> None:
    serial = {text: detector.scores(text) for text in THREAD_TEXTS}
    work = THREAD_TEXTS * 8
    barrier = threading.Barrier(8)

    def run(offset: int) -> list[tuple[str, dict[str, float]]]:
        barrier.wait()
        # Each thread walks the texts in a different order to interleave calls.
        order = work[offset:] + work[:offset]
        return [(text, detector.scores(text)) for text in order]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(8)))
    for per_thread in results:
        for text, scores in per_thread:
            assert scores == serial[text], text


def test_factory_is_built_once_under_concurrency() -> None:
    # A seed no other test uses, so this exercises the first, lazy build.
    seed = 987654
    assert seed not in detector_module._FACTORY_CACHE
    barrier = threading.Barrier(8)

    def build(_: int) -> int:
        barrier.wait()
        return id(detector_module._langdetect_factory(seed))

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(build, range(8)))
    assert len(ids) == 1
    assert detect(LangdetectDetector(seed=seed), "die Rechnung ist falsch") == "de"


def test_gevent_greenlets_match_serial() -> None:
    pytest.importorskip("gevent")
    script = (
        "from gevent import monkey; monkey.patch_all()\n"
        "import json, sys, gevent\n"
        "from chatserver.language import make_detector\n"
        "texts = json.loads(sys.argv[1])\n"
        "d = make_detector()\n"
        "jobs = [gevent.spawn(d.scores, t) for t in texts * 4]\n"
        "gevent.joinall(jobs, raise_error=True)\n"
        "print(json.dumps([j.value for j in jobs[: len(texts)]]))\n"
        "assert [j.value for j in jobs] == [j.value for j in jobs[: len(texts)]] * 4\n"
    )
    expected = [LangdetectDetector().scores(text) for text in THREAD_TEXTS]
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(THREAD_TEXTS)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == expected


def test_long_paste_is_fast(detector: Detector) -> None:
    import time

    text = "Die Rechnung ist falsch und ich möchte eine Korrektur. " * 500
    start = time.perf_counter()
    assert detect(detector, text) == "de"
    assert time.perf_counter() - start < 2.0
