"""Reduce a chat message to the words that say which language it is in.

Chat messages are short and noisy, and a wrong guess reroutes a visitor to
agents who cannot read them.  Every detector backend therefore sees only the
natural-language part of a message, and a message without one carries *no
evidence* rather than a guess: too short, a language-neutral chat token ("ok",
"thanks", "lol"), or machine output (URLs, e-mail addresses, order numbers,
log lines, stack traces, code).

Heuristics, in the order they run (see clean_text and evidence_units):

1. Markup is stripped, not judged: HTML tags (``<b>``, ``</p>``) and entities
   (``&nbsp;``) become spaces, so "Guten Tag <b>bitte</b>" keeps its words.
2. Machine lines are dropped whole: stack-trace headers and frames (Python
   ``Traceback``/``File "x", line n``, Java/JS/.NET ``at pkg.Cls.fn(...)``),
   lines that start with a timestamp or carry one with seconds, lines that
   start with an upper-case log level (``ERROR``, ``[WARN]``...), lines that
   start with an exception name followed by ":" (``KeyError: 'x'``), lines
   that look like code (ending in ``{`` or ``}``, ending in ``;`` after code
   punctuation, or containing ``=>``, ``==``, ``::``, ``&&``), and lines where
   ASCII punctuation and digits outweigh letters (JSON, hex dumps).  A Greek
   question ("είναι κανείς εκεί;") ends in ";" too, so ";" alone is not code.
3. Inside the remaining lines, URLs, e-mail addresses and @mentions/#tags are
   removed, then every token that looks like code is dropped: dotted names
   (``app.py``, ``com.foo.Bar``, ``example.com``), paths, ``snake_case``,
   ``camelCase``, letters mixed with digits, calls like ``foo()``.  Tokens in
   ALL CAPS (acronyms, error codes) are dropped too, unless most of the
   message is upper case, in which case the visitor is shouting and the text
   is lower-cased instead.
4. Digits, emoji and punctuation become spaces; only letters, the combining
   marks that scripts like Devanagari need, and the Catalan middle dot
   between two letters ("cancel·lar") survive.
5. Language-neutral chat tokens (NEUTRAL_TOKENS, NEUTRAL_PHRASES) are removed
   before measuring evidence, so "ok thx" is no evidence and "ok, die
   Rechnung" is judged on "die Rechnung" only.
6. The remaining text must carry at least MIN_EVIDENCE_UNITS units: one per
   letter of an alphabetic script, CJK_UNITS per Han/kana/Hangul character
   (each is a syllable or morpheme, and the script itself identifies the
   language family).  Below that, detectors return no scores.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = [
    "clean_text",
    "evidence_text",
    "evidence_units",
    "text_units",
    "units_of",
    "script_counts",
    "CJK_SCRIPTS",
    "NEUTRAL_TOKENS",
    "NEUTRAL_PHRASES",
    "MIN_EVIDENCE_UNITS",
    "CJK_UNITS",
]

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

# --- markup --------------------------------------------------------------------

# A tag needs a letter right after "<" (or "</"), so "a < b" and "<3" stay text.
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_ENTITY_RE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")

# --- machine lines -------------------------------------------------------------

# Checked at the start of a line only (re.match), in one pass.
_MACHINE_START_RE = re.compile(
    r"\s*(?:"
    + "|".join(
        (
            # Python traceback header and frames.
            r"Traceback \(most recent call last\)",
            r'File "[^"]*", line \d+',
            # Java / JS / .NET / Ruby stack frames: "at com.foo.Bar.baz(Bar.java:12)".
            r"at\s+(?:[\w$<>]+\.)+[\w$<>]+\s*\(",
            r"at\s.*\(.*:\d+(?::\d+)?\)\s*$",
            r"\.\.\. \d+ more\s*$",
            r"Caused by:",
            # Log lines: a leading timestamp ("2024-01-01 12:00", "[12:00:01]",
            # syslog's "Nov 28 01:07:12").  A date or clock time inside a
            # sentence ("since 2024-11-20 14:30") is ordinary text and only
            # loses its digits.
            r"[\[(]?\d{4}-\d{2}-\d{2}[T ]\d",
            r"[\[(]?\d{1,2}:\d{2}:\d{2}",
            r"[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}",
            # Upper-case log level ("ERROR ...", "[WARN] ...").
            r"[\[(<]?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|SEVERE|PANIC)"
            r"[\])>]?(?:[\s:|\-\]]|$)",
            # Exception type followed by a colon ("KeyError: 'x'", "java.io.IOException:").
            r"(?:[\w$]+\.)*[A-Z]\w*(?:Error|Exception|Warning|Fault)\b\s*(?::|$)",
        )
    )
    + ")"
)
# A timestamp with seconds anywhere: people do not type seconds, logs do.
_TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}:\d{2}")
# Operators no sentence uses.
_CODE_OPERATORS = ("=>", "==", "::", "!=", "&&", "||")
_CODE_PUNCTUATION_RE = re.compile(r"[=()\[\]]")
# ASCII punctuation and digits: the signal of JSON, hex dumps and key=value logs.
_MACHINE_CHAR_RE = re.compile(r"[0-9!-/:-@\[-`{-~]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_CJK_RE = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

# --- tokens --------------------------------------------------------------------

_URL_RE = re.compile(r"(?:\b[a-z][a-z0-9+.\-]*://|\bwww\.|\bmailto:)\S+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_MENTION_RE = re.compile(r"(?<!\w)[@#][\w.\-]+")

_CAMEL_RE = re.compile(r"[a-z][A-Z]")
# Inner punctuation that only occurs in identifiers, paths and markup.
_CODEISH_CHARS = frozenset("_/\\=<>{}[]|$%^~`")
_CALL_RE = re.compile(r"\w\(.*\)")
_DOTTED_RE = re.compile(r"\w\.\w")
_SENTENCE_PUNCTUATION = "\"'`.,;:!?()[]{}<>«»“”‘’¡¿…"


class _LetterTable(dict):
    """str.translate table: letters and marks map to themselves, everything else to a space.

    Filled lazily, one entry per distinct character ever seen, so translating
    a message runs at C speed after warm-up.
    """

    def __missing__(self, codepoint: int) -> str:
        category = unicodedata.category(chr(codepoint))
        # Marks are kept because Indic, Thai and Arabic words need them.
        value = chr(codepoint) if category[0] in "LM" else " "
        self[codepoint] = value
        return value


_LETTERS = _LetterTable()
# The Catalan middle dot ("cancel·lar") is part of the word it sits in.
_MIDDLE_DOT_RE = re.compile(r"(?<=[^\W\d_])·(?=[^\W\d_])")


def _is_machine_line(line: str) -> bool:
    """Return whether a line looks like log output, a stack trace or code."""
    if _MACHINE_START_RE.match(line):
        return True
    end = line.rstrip()[-1:]
    # Code: block braces at the end, or a statement ending in ";" after code
    # punctuation.  Greek asks with ";", so ";" alone is not code.
    if end in ("{", "}") or (end == ";" and _CODE_PUNCTUATION_RE.search(line)):
        return True
    if any(operator in line for operator in _CODE_OPERATORS):
        return True
    if ":" in line and _TIMESTAMP_RE.search(line):
        return True
    if len(line) < 8:
        return False
    machine = len(_MACHINE_CHAR_RE.findall(line))
    if machine <= 4:
        return False
    # Emoji are symbols too, but a row of emoji is a human reaction, not a
    # dump; only ASCII punctuation and digits count as machine signal.  A CJK
    # character is a syllable or a word: it counts CJK_UNITS letters.
    letters = len(_LETTER_RE.findall(line)) + (CJK_UNITS - 1) * len(_CJK_RE.findall(line))
    return machine > letters


def _is_codeish_token(token: str) -> bool:
    """Return whether a whitespace-separated token looks like code or an identifier."""
    # Sentence punctuation around a word is normal prose, so judge the core.
    core = token.strip(_SENTENCE_PUNCTUATION)
    if not core:
        return False
    if core.isalpha():
        # camelCase has a lower-case letter followed by an upper-case one.
        return not core[1:].islower() and not core.isupper() and bool(_CAMEL_RE.search(core))
    if any(ch in _CODEISH_CHARS for ch in core):
        return True
    if any(ch.isalpha() for ch in core) and any(ch.isdigit() for ch in core):
        return True
    if _DOTTED_RE.search(core) or _CALL_RE.search(core):
        return True
    return bool(_CAMEL_RE.search(core))


def _is_shouting(text: str) -> bool:
    """Return whether most cased letters in text are upper case."""
    upper = sum(map(str.isupper, text))
    # Short all-caps runs are acronyms ("HTTP 500"), not shouting.
    return upper >= 8 and upper > sum(map(str.islower, text))


def clean_text(text: str) -> str:
    """Strip markup, machine text, URLs, emails, mentions, code tokens, digits and symbols; keep words."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = _ENTITY_RE.sub(" ", text)
    if "·" in text:
        text = _MIDDLE_DOT_RE.sub("\u02d1", text)  # a letter-like stand-in, restored below
    shouting = _is_shouting(text)
    words: list[str] = []
    for line in text.splitlines():
        if _is_machine_line(line):
            continue
        if "@" in line or "/" in line or "www." in line:
            line = _URL_RE.sub(" ", line)
            line = _EMAIL_RE.sub(" ", line)
        if "@" in line or "#" in line:
            line = _MENTION_RE.sub(" ", line)
        for token in line.split():
            if _is_codeish_token(token):
                continue
            for word in token.translate(_LETTERS).split():
                if shouting:
                    word = word.lower()
                elif len(word) >= 2 and word.isupper():
                    # Acronyms, log levels and error codes ("HTTP", "ERROR").
                    continue
                words.append(word)
    return " ".join(words).replace("\u02d1", "·")


def _is_neutral_token(word: str) -> bool:
    """Return whether a lower-cased word is a language-neutral chat token."""
    return word in NEUTRAL_TOKENS or bool(_LAUGH_RE.match(word))


# The chat service asks a detector for scores and message_weight() for the
# weight of the same text, one right after the other: clean it once.
@functools.lru_cache(maxsize=256)
def evidence_text(text: str) -> str:
    """Return the cleaned text with language-neutral chat tokens removed."""
    cleaned = clean_text(text)
    if not cleaned:
        return ""
    folded = cleaned.casefold()
    if folded in NEUTRAL_PHRASES:
        return ""
    words = cleaned.split()
    folded_words = folded.split()
    if len(folded_words) != len(words):
        # Case folding split a word (rare: "ß" stays one word, ligatures may not).
        folded_words = [word.casefold() for word in words]
    return " ".join(word for word, fold in zip(words, folded_words) if not _is_neutral_token(fold))


# --- scripts ---------------------------------------------------------------------

# One-letter script codes; script_counts() maps every character to one.
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "L"),  # Latin
    (0x1E00, 0x1EFF, "L"),  # Latin Extended Additional (Vietnamese)
    (0x0370, 0x03FF, "G"),  # Greek
    (0x1F00, 0x1FFF, "G"),
    (0x0400, 0x052F, "C"),  # Cyrillic
    (0x0530, 0x058F, "N"),  # Armenian
    (0x0590, 0x05FF, "H"),  # Hebrew
    (0x0600, 0x06FF, "A"),  # Arabic
    (0x0750, 0x077F, "A"),
    (0x08A0, 0x08FF, "A"),
    (0xFB50, 0xFDFF, "A"),
    (0xFE70, 0xFEFF, "A"),
    (0x0900, 0x097F, "D"),  # Devanagari
    (0x0980, 0x09FF, "B"),  # Bengali
    (0x0A00, 0x0A7F, "P"),  # Gurmukhi
    (0x0A80, 0x0AFF, "J"),  # Gujarati
    (0x0B80, 0x0BFF, "T"),  # Tamil
    (0x0C00, 0x0C7F, "E"),  # Telugu
    (0x0C80, 0x0CFF, "K"),  # Kannada
    (0x0D00, 0x0D7F, "M"),  # Malayalam
    (0x0D80, 0x0DFF, "S"),  # Sinhala
    (0x0E00, 0x0E7F, "I"),  # Thai
    (0x0E80, 0x0EFF, "W"),  # Lao
    (0x1000, 0x109F, "Y"),  # Myanmar
    (0x10A0, 0x10FF, "R"),  # Georgian
    (0x1100, 0x11FF, "F"),  # Hangul jamo
    (0x3130, 0x318F, "F"),  # Hangul compatibility jamo
    (0xAC00, 0xD7AF, "F"),  # Hangul syllables
    (0x1200, 0x137F, "Q"),  # Ethiopic
    (0x1780, 0x17FF, "X"),  # Khmer
    (0x3040, 0x30FF, "V"),  # hiragana, katakana
    (0x31F0, 0x31FF, "V"),  # katakana phonetic extensions
    (0xFF66, 0xFF9F, "V"),  # half-width katakana
    (0x3400, 0x4DBF, "Z"),  # CJK extension A
    (0x4E00, 0x9FFF, "Z"),  # CJK unified ideographs
    (0xF900, 0xFAFF, "Z"),  # CJK compatibility ideographs
    (0x20000, 0x2FA1F, "Z"),  # CJK extensions B+ and compatibility supplement
)
CJK_SCRIPTS = frozenset("FVZ")


class _ScriptTable(dict):
    """str.translate table: a letter maps to its one-letter script code, a combining mark to "m".

    A vowel sign of an Indic or Southeast Asian script (Devanagari े, ो)
    counts as a letter: it writes the vowel Latin writes as a letter, so
    "मेरो पार्सल आएन" carries about as much evidence as "mero parsal aaena".
    Other marks (a virama, a nukta, Latin combining accents) do not.

    Characters that are neither (spaces, the Catalan middle dot) map to a
    space; letters of unlisted scripts map to "?".
    """

    def __missing__(self, codepoint: int) -> str:
        character = chr(codepoint)
        category = unicodedata.category(character)[0]
        if category == "M" and "VOWEL SIGN" not in unicodedata.name(character, ""):
            value = "m"
        elif category not in "LM":
            value = " "
        else:
            value = "?"
            for low, high, code in _SCRIPT_RANGES:
                if low <= codepoint <= high:
                    value = code
                    break
        self[codepoint] = value
        return value


_SCRIPTS = _ScriptTable()


def script_counts(cleaned: str) -> dict[str, int]:
    """Return one-letter script code -> number of letters, for already cleaned text."""
    codes = cleaned.translate(_SCRIPTS).replace(" ", "").replace("m", "")
    return {code: codes.count(code) for code in set(codes)}


def units_of(counts: dict[str, int]) -> float:
    """Return the evidence units of script_counts(): letters, CJK counted CJK_UNITS times."""
    cjk = sum(counts.get(code, 0) for code in CJK_SCRIPTS)
    # Combining marks other than vowel signs are not letters of their own.
    return float(sum(counts.values()) - cjk) + CJK_UNITS * cjk


def text_units(cleaned: str) -> float:
    """Return the evidence units of already cleaned text: letters, CJK counted CJK_UNITS times."""
    return units_of(script_counts(cleaned))


def evidence_units(text: str) -> float:
    """Return how much language evidence text carries: letters, CJK counted double, 0 if too little."""
    units = text_units(evidence_text(text))
    return units if units >= MIN_EVIDENCE_UNITS else 0.0
