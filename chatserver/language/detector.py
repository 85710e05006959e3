"""Language detection for short chat messages.

Chat messages are short and noisy, and a wrong guess reroutes a visitor to
agents who cannot read them.  This module therefore removes everything that is
not natural-language text before detecting, and reports *no evidence* (an
empty score dict) rather than a guess whenever a message is too short, is a
language-neutral chat token ("ok", "thanks", "lol"), or is machine output
(URLs, e-mail addresses, log lines, stack traces, code).

Heuristics, in the order they run (see clean_text and evidence_units):

1. Machine lines are dropped whole: stack-trace headers and frames (Python
   ``Traceback``/``File "x", line n``, Java/JS/.NET ``at pkg.Cls.fn(...)``),
   lines with an ISO timestamp or a clock time, lines that start with an
   upper-case log level (``ERROR``, ``[WARN]``...), lines that start with an
   exception name followed by ":" (``KeyError: 'x'``), lines that look like
   code (ending in ``;``, ``{``, ``}``, or containing ``=>``, ``==``, ``::``),
   and lines where punctuation/digits outweigh letters (JSON, hex dumps).
2. Inside the remaining lines, URLs, e-mail addresses and @mentions/#tags are
   removed, then every token that looks like code is dropped: dotted names
   (``app.py``, ``com.foo.Bar``, ``example.com``), paths, ``snake_case``,
   ``camelCase``, letters mixed with digits, calls like ``foo()``.  Tokens in
   ALL CAPS (acronyms, error codes) are dropped too, unless most of the
   message is upper case, in which case the visitor is shouting and the text
   is lower-cased instead (langdetect ignores all-caps words).
3. Digits, emoji and punctuation become spaces; only letters (and the
   combining marks that scripts like Devanagari need) survive.
4. Language-neutral chat tokens (NEUTRAL_TOKENS, NEUTRAL_PHRASES) are removed
   before measuring evidence, so "ok thx" is no evidence and "ok, die
   Rechnung" is judged on "die Rechnung" only.
5. The remaining text must carry at least MIN_EVIDENCE_UNITS units: one per
   letter of an alphabetic script, CJK_UNITS per Han/kana/Hangul character
   (each is a syllable or morpheme, and the script itself identifies the
   language family).  Below that, scores() returns {}.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from langdetect.detector_factory import DetectorFactory

__all__ = [
    "Detector",
    "LangdetectDetector",
    "make_detector",
    "clean_text",
    "detect",
    "evidence_units",
    "evidence_text",
    "NEUTRAL_TOKENS",
    "NEUTRAL_PHRASES",
    "MIN_EVIDENCE_UNITS",
    "CJK_UNITS",
    "UNDETERMINED",
]

UNDETERMINED = "und"

# Fewer than three letters ("ja", "no", "si") is a coin toss for n-gram
# detectors; two CJK characters (4 units) already identify a script and word.
MIN_EVIDENCE_UNITS = 3.0
CJK_UNITS = 2.0

# Tokens used the same way by speakers of every language in chat, so they say
# nothing about which language the visitor prefers.  Choices:
# - acknowledgements and thanks in their international English form (ok,
#   thanks, thx, ty) are neutral; localised ones (danke, merci, gracias,
#   spasibo) are *not*, they are real if weak evidence;
# - yes/no-style replies in English form (yes, yeah, yep, nope) are neutral
#   because non-English speakers type them constantly in support chats;
#   "no", "ya" and "si" are not listed: they are real words in Spanish,
#   Italian or Portuguese sentences, and alone they are below
#   MIN_EVIDENCE_UNITS anyway;
# - greetings hi/hey/hello are neutral for the same reason; localised
#   greetings (hallo, hola, bonjour, ciao) are kept as weak evidence;
# - laughter, interjections and chat abbreviations are neutral.
NEUTRAL_TOKENS: frozenset[str] = frozenset(
    {
        # acknowledgements
        "ok", "okay", "okey", "okie", "oki", "okk", "k", "kk", "kay",
        "alright", "allright", "cool", "nice", "great", "perfect",
        # thanks
        "thanks", "thank", "thanx", "thnx", "thx", "tnx", "tx", "ty", "tyvm",
        "tysm", "thankyou", "thks",
        # yes / no replies
        "yes", "yeah", "yea", "yep", "yup", "nope", "nah",
        # greetings / farewells
        "hi", "hey", "heya", "hello", "helo", "bye", "byebye",
        # laughter / interjections / chat abbreviations
        "lol", "lmao", "lmfao", "rofl", "omg", "wtf", "brb", "btw", "np",
        "pls", "plz", "xd", "xoxo", "wow", "yay", "ugh", "oops", "ops",
        "hm", "hmm", "hmmm", "um", "umm", "uh", "uhm", "ah", "oh", "eh",
        "aha", "ahh", "ohh", "mhm", "idk",
        # repeated laughter ("haha", "jajaja", "kkkk") is matched by _LAUGH_RE
    }
)
# Laughter of any length ("hahahahaha", "jajaja", "hihihi").
# The syllable must repeat, so "ja" (German yes) and "je" (French I) stay words.
_LAUGH_RE = re.compile(r"^(?:(ha|he|hi|ja|je|ah|eh)\1+h?|k{3,}|w{3,}|x+d+|(?:rs){2,})$")

# Whole-message phrases that are neutral even though some of their words
# ("you", "much", "so") are real English evidence elsewhere.
NEUTRAL_PHRASES: frozenset[str] = frozenset(
    {
        "thank you",
        "thank u",
        "thank you so much",
        "thank you very much",
        "thanks a lot",
        "thanks so much",
        "thanks very much",
        "many thanks",
        "ok thank you",
        "okay thank you",
        "thank you bye",
        "good bye",
        "goodbye",
        "see you",
        "no problem",
        "of course",
        "all good",
        "got it",
        "sounds good",
        "oh ok",
        "ok cool",
    }
)

# --- machine-text heuristics -------------------------------------------------

_MACHINE_LINE_RES: tuple[re.Pattern[str], ...] = (
    # Python traceback header and frames.
    re.compile(r"^\s*Traceback \(most recent call last\)"),
    re.compile(r'^\s*File "[^"]*", line \d+'),
    # Java / JS / .NET / Ruby stack frames: "at com.foo.Bar.baz(Bar.java:12)".
    re.compile(r"^\s*at\s+(?:[\w$<>]+\.)+[\w$<>]+\s*\("),
    re.compile(r"^\s*at\s.*\(.*:\d+(?::\d+)?\)\s*$"),
    re.compile(r"^\s*\.\.\. \d+ more\s*$"),
    re.compile(r"^\s*Caused by:"),
    # ISO dates with a time, or a bare clock time with seconds: log lines.
    re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}"),
    re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b"),
    # Upper-case log level at the start ("ERROR ...", "[WARN] ...", "E/Tag:").
    re.compile(
        r"^\s*[\[(<]?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|SEVERE|PANIC)"
        r"[\])>]?(?:[\s:|\-\]]|$)"
    ),
    # Exception type followed by a colon ("KeyError: 'x'", "java.io.IOException:").
    re.compile(r"^\s*(?:[\w$]+\.)*[A-Z]\w*(?:Error|Exception|Warning|Fault)\b\s*(?::|$)"),
    # Code-ish lines.
    re.compile(r"[;{}]\s*$"),
    re.compile(r"=>|==|::|!=|&&|\|\||</?\w+[^>]*>"),
)

_URL_RE = re.compile(
    r"(?:\b[a-z][a-z0-9+.\-]*://|\bwww\.|\bmailto:)\S+",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_MENTION_RE = re.compile(r"(?<!\w)[@#][\w.\-]+")

_CAMEL_RE = re.compile(r"[a-z][A-Z]")
# Inner punctuation that only occurs in identifiers, paths and markup.
_CODEISH_CHARS = frozenset("_/\\=<>{}[]|$%^~`")
_CALL_RE = re.compile(r"\w\(.*\)")
_DOTTED_RE = re.compile(r"\w\.\w")


def _is_cjk(ch: str) -> bool:
    """Return whether ch is a Han, kana or Hangul character."""
    cp = ord(ch)
    return (
        0x3040 <= cp <= 0x30FF  # hiragana, katakana
        or 0x31F0 <= cp <= 0x31FF  # katakana phonetic extensions
        or 0x3400 <= cp <= 0x4DBF  # CJK extension A
        or 0x4E00 <= cp <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= cp <= 0xFAFF  # CJK compatibility ideographs
        or 0xFF66 <= cp <= 0xFF9F  # half-width katakana
        or 0x1100 <= cp <= 0x11FF  # Hangul jamo
        or 0x3130 <= cp <= 0x318F  # Hangul compatibility jamo
        or 0xAC00 <= cp <= 0xD7AF  # Hangul syllables
        or 0x20000 <= cp <= 0x2FA1F  # CJK extensions B+ and compatibility supplement
    )


def _is_machine_line(line: str) -> bool:
    """Return whether a line looks like log output, a stack trace or code."""
    if any(pattern.search(line) for pattern in _MACHINE_LINE_RES):
        return True
    visible = [ch for ch in line if not ch.isspace()]
    if len(visible) < 8:
        return False
    letters = sum(1 for ch in visible if ch.isalpha())
    # Emoji are symbols too, but a row of emoji is a human reaction, not a
    # dump; only count ASCII punctuation and digits as machine signal.
    machine = sum(1 for ch in visible if ch.isdigit() or (ch.isascii() and not ch.isalnum()))
    return machine > letters


def _is_codeish_token(token: str) -> bool:
    """Return whether a whitespace-separated token looks like code or an identifier."""
    # Sentence punctuation around a word is normal prose, so judge the core.
    core = token.strip("\"'`.,;:!?()[]{}<>«»“”‘’¡¿…")
    if not core:
        return False
    if any(ch in _CODEISH_CHARS for ch in core):
        return True
    has_alpha = any(ch.isalpha() for ch in core)
    if has_alpha and any(ch.isdigit() for ch in core):
        return True
    if _DOTTED_RE.search(core) or _CALL_RE.search(core):
        return True
    return bool(_CAMEL_RE.search(core))


def _is_shouting(text: str) -> bool:
    """Return whether most cased letters in text are upper case."""
    upper = lower = 0
    for ch in text:
        if ch.isupper():
            upper += 1
        elif ch.islower():
            lower += 1
    # Short all-caps runs are acronyms ("HTTP 500"), not shouting.
    return upper >= 8 and upper > lower


def _letters_only(token: str) -> str:
    """Return token with everything but letters and combining marks turned into spaces."""
    out = []
    for ch in token:
        category = unicodedata.category(ch)
        # Marks are kept because Indic, Thai and Arabic words need them.
        keep = category[0] == "L" or (category[0] == "M" and bool(out) and out[-1] != " ")
        out.append(ch if keep else " ")
    return "".join(out)


def clean_text(text: str) -> str:
    """Strip machine text, URLs, emails, mentions, code tokens, digits and symbols; keep words."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    shouting = _is_shouting(text)
    words: list[str] = []
    for line in text.splitlines():
        if _is_machine_line(line):
            continue
        line = _URL_RE.sub(" ", line)
        line = _EMAIL_RE.sub(" ", line)
        line = _MENTION_RE.sub(" ", line)
        for token in line.split():
            if _is_codeish_token(token):
                continue
            letters = _letters_only(token)
            for word in letters.split():
                if shouting:
                    word = word.lower()
                elif len(word) >= 2 and word.isupper():
                    # Acronyms, log levels and error codes ("HTTP", "ERROR").
                    continue
                words.append(word)
    return " ".join(words)


def _is_neutral_token(word: str) -> bool:
    """Return whether a lower-cased word is a language-neutral chat token."""
    return word in NEUTRAL_TOKENS or bool(_LAUGH_RE.match(word))


def evidence_text(text: str) -> str:
    """Return the cleaned text with language-neutral chat tokens removed."""
    cleaned = clean_text(text)
    if not cleaned:
        return ""
    if cleaned.casefold() in NEUTRAL_PHRASES:
        return ""
    return " ".join(w for w in cleaned.split() if not _is_neutral_token(w.casefold()))


def _units(cleaned: str) -> float:
    """Return the evidence units of already cleaned text."""
    total = 0.0
    for ch in cleaned:
        if _is_cjk(ch):
            total += CJK_UNITS
        elif ch.isalpha():
            total += 1.0
    return total


def evidence_units(text: str) -> float:
    """Return how much language evidence text carries: letters, CJK counted double, 0 if too little."""
    units = _units(evidence_text(text))
    return units if units >= MIN_EVIDENCE_UNITS else 0.0


# --- detectors ---------------------------------------------------------------


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

    def scores(self, text: str) -> dict[str, float]:
        """Return ISO 639-1 code -> probability for text; empty when text carries no language evidence."""
        cleaned = evidence_text(text)
        if _units(cleaned) < MIN_EVIDENCE_UNITS:
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


def make_detector(name: str = "langdetect") -> Detector:
    """Return a detector by name; raise ValueError for unknown names."""
    if name == "langdetect":
        return LangdetectDetector()
    raise ValueError(f"unknown language detector: {name!r}")


def detect(detector: Detector, text: str) -> str:
    """Return the most likely ISO 639-1 code for text, or "und" when it carries no evidence."""
    scores = detector.scores(text)
    if not scores:
        return UNDETERMINED
    # Ties break alphabetically so the answer never depends on dict order.
    return min(scores.items(), key=lambda kv: (-kv[1], kv[0]))[0]
