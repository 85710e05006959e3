"""The detector interface, the langdetect backend, and choosing a backend by name.

A detector turns one message into ISO 639-1 code -> probability scores, or {}
when the message carries no language evidence (see cleaning.py for what
counts).  Backends, chosen by the LANGUAGE_DETECTOR setting:

* ``combined`` (DEFAULT_DETECTOR): script rules, fastText lid.176 small,
  py3langid, look-alike markers and word frequencies together (backends.py,
  lexicon.py); the most accurate
  on the benchmark at well under 0.1 ms per message;
* ``fasttext`` and ``py3langid``: one model each, for comparison;
* ``langdetect``: the original backend, seeded so it is deterministic; slow
  (milliseconds per message) and weaker on short text, kept selectable.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .cleaning import (
    CJK_UNITS,
    MIN_EVIDENCE_UNITS,
    NEUTRAL_PHRASES,
    NEUTRAL_TOKENS,
    clean_text,
    evidence_text,
    evidence_units,
    text_units,
)

if TYPE_CHECKING:
    from langdetect.detector_factory import DetectorFactory

__all__ = [
    "Detector",
    "LangdetectDetector",
    "make_detector",
    "detect",
    "DETECTORS",
    "DEFAULT_DETECTOR",
    "UNDETERMINED",
    # Re-exported from cleaning for callers of the original module.
    "clean_text",
    "evidence_units",
    "evidence_text",
    "NEUTRAL_TOKENS",
    "NEUTRAL_PHRASES",
    "MIN_EVIDENCE_UNITS",
    "CJK_UNITS",
]

UNDETERMINED = "und"

DETECTORS = ("combined", "fasttext", "py3langid", "langdetect")
DEFAULT_DETECTOR = "combined"


@runtime_checkable
class Detector(Protocol):
    """Anything that scores a text's language."""

    name: str

    def scores(self, text: str) -> dict[str, float]:
        """Return ISO 639-1 code -> probability for text; empty when text carries no language evidence."""
        ...


# The only module-level mutable state: the loaded langdetect factory, built
# lazily (profiles take a noticeable time to parse) and exactly once.
_FACTORY_LOCK = threading.Lock()
_FACTORY_CACHE: dict[int, DetectorFactory] = {}

# Characters handed to langdetect at most; more adds time, not accuracy.
MAX_DETECT_CHARS = 2000

# langdetect seed; fixed so the same text always yields the same scores.
LANGDETECT_SEED = 0


def _langdetect_factory(seed: int) -> DetectorFactory:
    """Return a loaded, seeded langdetect DetectorFactory, building it on first use."""
    factory = _FACTORY_CACHE.get(seed)
    if factory is not None:
        return factory
    with _FACTORY_LOCK:
        factory = _FACTORY_CACHE.get(seed)
        if factory is None:
            from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

            # A private factory instead of langdetect's global one, so no
            # other code can reseed or clear it.  Profiles are loaded in
            # sorted order so the internal language index (and thus float
            # summation order) is identical on every filesystem.
            profiles = []
            for filename in sorted(os.listdir(PROFILES_DIRECTORY)):
                if filename.startswith("."):
                    continue
                with open(os.path.join(PROFILES_DIRECTORY, filename), encoding="utf-8") as fh:
                    profiles.append(fh.read())
            factory = DetectorFactory()
            factory.load_json_profile(profiles)
            factory.set_seed(seed)
            _FACTORY_CACHE[seed] = factory
    return factory


def _iso_code(langdetect_code: str) -> str | None:
    """Return the ISO 639-1 code for a langdetect code, or None when it has none."""
    code = langdetect_code.lower().split("-", 1)[0]
    return code if len(code) == 2 and code.isalpha() else None


class LangdetectDetector:
    """Detector backed by langdetect with a fixed seed, safe to share across threads."""

    name = "langdetect"

    def __init__(self, *, seed: int = LANGDETECT_SEED) -> None:
        """Bind the detector to the seed; the shared profile factory loads on first use."""
        self._seed = seed

    def load(self) -> LangdetectDetector:
        """Load the language profiles now instead of on the first message."""
        _langdetect_factory(self._seed)
        return self

    def scores(self, text: str) -> dict[str, float]:
        """Return ISO 639-1 code -> probability for text; empty when text carries no language evidence."""
        cleaned = evidence_text(text)
        if text_units(cleaned) < MIN_EVIDENCE_UNITS:
            return {}
        from langdetect.lang_detect_exception import LangDetectException

        factory = _langdetect_factory(self._seed)
        # A fresh langdetect Detector per call: they hold per-text state and
        # their own Random, so sharing one across threads/greenlets would mix
        # texts.  The factory's profile map is only read.
        detector = factory.create()
        # Chat messages are short; the cap bounds CPU time for pasted essays.
        detector.set_max_text_length(MAX_DETECT_CHARS)
        try:
            detector.append(cleaned)
            ranked = detector.get_probabilities()
        except LangDetectException:
            return {}
        result: dict[str, float] = {}
        for item in ranked:
            code = _iso_code(item.lang)
            if code is not None:
                # zh-cn and zh-tw both become zh, so their mass adds up.
                result[code] = result.get(code, 0.0) + float(item.prob)
        return dict(sorted(result.items(), key=lambda kv: (-kv[1], kv[0])))

    def __repr__(self) -> str:
        return f"LangdetectDetector(seed={self._seed})"


def make_detector(name: str = DEFAULT_DETECTOR, *, load: bool = True) -> Detector:
    """Return a detector by name (see DETECTORS), its model loaded unless load=False; raise ValueError for unknown names."""
    from .backends import CombinedDetector, FastTextDetector, Py3LangidDetector

    backends = {
        "combined": CombinedDetector,
        "fasttext": FastTextDetector,
        "py3langid": Py3LangidDetector,
        "langdetect": LangdetectDetector,
    }
    backend = backends.get(name.strip().lower() if isinstance(name, str) else name)
    if backend is None:
        raise ValueError(f"unknown language detector: {name!r} (choose one of: {', '.join(DETECTORS)})")
    detector = backend()
    # Models load once per process; loading here keeps the first visitor's
    # message from paying for it (py3langid takes most of a second).
    return detector.load() if load else detector


def detect(detector: Detector, text: str) -> str:
    """Return the most likely ISO 639-1 code for text, or "und" when it carries no evidence."""
    scores = detector.scores(text)
    if not scores:
        return UNDETERMINED
    # Ties break alphabetically so the answer never depends on dict order.
    return min(scores.items(), key=lambda kv: (-kv[1], kv[0]))[0]
