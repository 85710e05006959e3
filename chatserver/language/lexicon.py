"""Word frequencies of look-alike languages: word-level naive-Bayes evidence within a group.

On one to eight words, what tells Portuguese from Spanish or Danish from
Norwegian is which words are there, and how common each is in each language.
The character n-gram models (fastText, py3langid) only see that indirectly.
This module scores a message's words against per-language word frequencies
from the ``wordfreq`` package (its bundled "small" lists: words of frequency
at least one per million, from subtitles, Wikipedia, news, web text and
more), and only ever *within* a look-alike group (markers.GROUPS): the
combined detector uses it to share a group's probability out again, never to
pull a message into a group.

wordfreq's lists are read once per process from the installed package; it
never downloads anything.  Only the MAX_WORDS most frequent words of each
list are kept, as a tenth of a decade (0..90) of their frequency, so the
tables take a few tens of MB rather than the lists' 76 MB as dictionaries.

Members without a list of their own (Galician, Marathi, Nepali, Belarusian,
and Croatian, Serbian and Bosnian, which wordfreq merges into one
Serbo-Croatian list) are scored like the best member that has a list, so
the lexicon mostly tells *against* the members it knows; the one thing it
says for them is that a word none of the listed members knows ("enderezo",
"tarxeta" among Spanish, Portuguese and Catalan) is a little more likely in
a member without a list (UNKNOWN_WORD_DECADES).  Their markers (markers.py)
and the models still apply.
"""

from __future__ import annotations

import sys
import threading
from typing import Mapping, Sequence

__all__ = ["WORDFREQ_LISTS", "MAX_WORDS", "FLOOR_DECILOG", "UNKNOWN_WORD_DECADES", "UNKNOWN_MIN_LETTERS", "Lexicon", "lexicon", "lexical_scores"]

# Our code -> wordfreq's list.  Norwegian is Bokmål ("nb").  Left out on
# purpose: "sh" (Croatian, Serbian and Bosnian in one list, in Latin script),
# which cannot tell the three apart.
WORDFREQ_LISTS: Mapping[str, str] = {
    "es": "es", "pt": "pt", "ca": "ca",
    "id": "id", "ms": "ms",
    "no": "nb", "da": "da", "sv": "sv",
    "cs": "cs", "sk": "sk",
    "ru": "ru", "uk": "uk", "bg": "bg", "mk": "mk",
    "hi": "hi",
}
# Words kept per language, most frequent first.
MAX_WORDS = 30000
# A word missing from a language's list counts as this frequency, in tenths
# of a decade below 1 (65 = 10^-6.5, just under the lists' cut-off).
FLOOR_DECILOG = 65
# A word of at least UNKNOWN_MIN_LETTERS letters that no listed member knows
# is UNKNOWN_WORD_DECADES more likely in a member without a list (Galician
# "enderezo", "tarxeta"): every listed member has scored it at the floor.
UNKNOWN_WORD_DECADES = 0.5
UNKNOWN_MIN_LETTERS = 4

_LOCK = threading.Lock()
_LOADED: list[Lexicon] = []


class Lexicon:
    """Per-language word -> frequency (in tenths of a decade below 1) for the look-alike languages."""

    def __init__(self, tables: Mapping[str, Mapping[str, int]]) -> None:
        self.tables = dict(tables)

    @classmethod
    def from_wordfreq(cls, *, max_words: int = MAX_WORDS) -> Lexicon:
        """Read wordfreq's bundled small lists (no network) and keep the max_words most frequent words of each."""
        try:
            from wordfreq import get_frequency_list
        except ImportError as error:  # pragma: no cover - depends on the environment
            from .backends import ModelUnavailable

            raise ModelUnavailable("wordfreq is not installed (pip install wordfreq)") from error
        tables: dict[str, dict[str, int]] = {}
        for code, list_name in WORDFREQ_LISTS.items():
            table: dict[str, int] = {}
            # A list of bins, one per centibel (hundredth of a decade) of
            # frequency, most frequent first.
            for centibels, words in enumerate(get_frequency_list(list_name, "small")):
                decilog = min((centibels + 5) // 10, FLOOR_DECILOG)
                for word in words:
                    if len(table) >= max_words:
                        break
                    # Interned: the same word in several lists is stored once.
                    table.setdefault(sys.intern(word), decilog)
                if len(table) >= max_words:
                    break
            tables[code] = table
            # wordfreq caches every list it read (the whole list, as Python
            # strings); only the table above is needed from here on, and
            # freeing each list before reading the next keeps the peak low.
            get_frequency_list.cache_clear()
        return cls(tables)

    def scores(self, words: Sequence[str], group: Sequence[str]) -> dict[str, float]:
        """Return member -> log10 likelihood of the words (relative, max 0); {} when no word is known.

        A word no member's list has (a name, a typo, a word from another
        language) is skipped.  Members without a list score like the best
        member with one.
        """
        known = [code for code in group if code in self.tables]
        if len(known) < 2:
            return {}
        tables = [self.tables[code] for code in known]
        totals = [0] * len(known)
        used = unknown = 0
        for word in words:
            values = [table.get(word, FLOOR_DECILOG) for table in tables]
            if min(values) == FLOOR_DECILOG:
                if len(word) >= UNKNOWN_MIN_LETTERS and word.isalpha():
                    unknown += 1
                continue
            used += 1
            for index, value in enumerate(values):
                totals[index] += value
        unlisted = [code for code in group if code not in self.tables]
        bonus = UNKNOWN_WORD_DECADES * unknown if unlisted else 0.0
        if not used and not bonus:
            return {}
        best = min(totals)
        result = {code: (best - total) / 10.0 for code, total in zip(known, totals)}
        for code in unlisted:
            result[code] = bonus
        return result


def lexicon() -> Lexicon:
    """Return the process-wide lexicon, reading wordfreq's lists exactly once."""
    if not _LOADED:
        with _LOCK:
            if not _LOADED:
                _LOADED.append(Lexicon.from_wordfreq())
    return _LOADED[0]


def lexical_scores(words: Sequence[str], group: Sequence[str]) -> dict[str, float]:
    """Return member -> relative log10 likelihood of the words within the group; {} without evidence."""
    return lexicon().scores(words, group)
