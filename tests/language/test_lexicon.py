"""Tests for the word-frequency evidence within look-alike groups (real wordfreq lists, no mocks)."""

from __future__ import annotations

import pytest

from chatserver.language import make_detector
from chatserver.language.lexicon import (
    FLOOR_DECILOG,
    MAX_WORDS,
    UNKNOWN_WORD_DECADES,
    WORDFREQ_LISTS,
    Lexicon,
    lexical_scores,
    lexicon,
)
from chatserver.language.markers import GROUPS


def test_scores_are_relative_log10_likelihoods_of_known_words() -> None:
    # 10 = one in ten words; a word missing from a list counts at the floor.
    small = Lexicon({"aa": {"x": 10, "y": 30}, "bb": {"x": 20}})
    assert small.scores(["x", "y"], ("aa", "bb")) == {"aa": 0.0, "bb": -(20 + FLOOR_DECILOG - 40) / 10}
    # Words no member knows say nothing, and nothing at all gives {}.
    assert small.scores(["x", "zzz"], ("aa", "bb")) == {"aa": 0.0, "bb": -1.0}
    assert small.scores(["zzz"], ("aa", "bb")) == {}


def test_members_without_a_list_score_like_the_best_member() -> None:
    small = Lexicon({"aa": {"x": 10}, "bb": {"x": 30}})
    # "cc" has no list: the lexicon can tell against aa and bb, never against cc.
    assert small.scores(["x"], ("aa", "bb", "cc")) == {"aa": 0.0, "bb": -2.0, "cc": 0.0}
    # Fewer than two members with a list: nothing to compare.
    assert small.scores(["x"], ("aa", "cc")) == {}


def test_words_no_list_knows_lean_to_a_member_without_a_list() -> None:
    small = Lexicon({"aa": {"x": 10}, "bb": {"x": 30}})
    # "tarxeta" is in neither list: a little more likely in cc, which has none.
    assert small.scores(["x", "tarxeta"], ("aa", "bb", "cc")) == {"aa": 0.0, "bb": -2.0, "cc": UNKNOWN_WORD_DECADES}
    assert small.scores(["tarxeta"], ("aa", "bb", "cc")) == {"aa": 0.0, "bb": 0.0, "cc": UNKNOWN_WORD_DECADES}
    # Short tokens and groups where every member has a list: no such lean.
    assert small.scores(["x", "xyz"], ("aa", "bb", "cc")) == {"aa": 0.0, "bb": -2.0, "cc": 0.0}
    assert small.scores(["x", "tarxeta"], ("aa", "bb")) == {"aa": 0.0, "bb": -2.0}


def test_wordfreq_lists_load_once_and_are_capped() -> None:
    loaded = lexicon()
    assert lexicon() is loaded
    assert set(loaded.tables) == set(WORDFREQ_LISTS)
    for code, table in loaded.tables.items():
        assert 1000 < len(table) <= MAX_WORDS, code
        assert all(0 <= value <= FLOOR_DECILOG for value in table.values()), code


@pytest.mark.parametrize(
    ("text", "group", "expected"),
    [
        ("não consigo entrar", "ibero", "pt"),
        ("no puedo entrar", "ibero", "es"),
        ("jeg har ikke fået pakken", "nordic", "da"),
        ("jeg har ikke fått pakken", "nordic", "no"),
        ("jag har inte fått paketet", "nordic", "sv"),
        ("saya tidak bisa masuk", "malay", "id"),
        ("saya tak boleh masuk", "malay", "ms"),
        ("kde je můj balík", "czechoslovak", "cs"),
        ("kde je môj balík", "czechoslovak", "sk"),
        ("що сталося з замовленням", "cyrillic", "uk"),
        ("что случилось с заказом", "cyrillic", "ru"),
    ],
)
def test_real_word_frequencies_favour_the_right_sibling(text: str, group: str, expected: str) -> None:
    members = GROUPS[group]
    scores = lexical_scores(text.split(), members)
    listed = {code: score for code, score in scores.items() if code in WORDFREQ_LISTS}
    assert max(listed, key=listed.__getitem__) == expected, scores
    # Strictly ahead of every other sibling that has a list.
    assert sorted(listed.values())[-2] < listed[expected]


def test_croatian_serbian_and_bosnian_get_no_lexical_evidence() -> None:
    # wordfreq merges them into one list, which cannot tell them apart.
    assert lexical_scores("gdje je moj paket".split(), GROUPS["bcms"]) == {}


def test_lexicon_only_moves_probability_within_a_group() -> None:
    detector = make_detector("combined")
    # "não" is a very common Portuguese word, but a German message stays German.
    scores = detector.scores("die Rechnung ist falsch, não")
    assert max(scores, key=scores.__getitem__) == "de", scores


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Both models lean Danish; "passordet" and "glemt" are more Norwegian.
        ("jeg har glemt passordet", "no"),
        # Both models lean Indonesian; "kad" (card) is Malay, Indonesian says "kartu".
        ("kad saya ditolak", "ms"),
        ("fa una hora que espero", "ca"),
    ],
)
def test_lexicon_tips_look_alikes_the_models_get_wrong(text: str, expected: str) -> None:
    scores = make_detector("combined").scores(text)
    assert max(scores, key=scores.__getitem__) == expected, scores
