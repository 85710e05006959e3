"""Tests for the look-alike markers table."""

from __future__ import annotations

import pytest

from chatserver.language import LANGUAGES, evidence_text
from chatserver.language.markers import GROUPS, PATTERN_MARKERS, PHRASE_MARKERS, WORD_MARKERS, marker_hits


def test_groups_name_known_languages() -> None:
    for name, members in GROUPS.items():
        assert len(members) >= 2, name
        assert all(code in LANGUAGES for code in members), name


def test_every_marker_names_group_members() -> None:
    grouped = {code for members in GROUPS.values() for code in members}
    for table in (WORD_MARKERS, PHRASE_MARKERS):
        for marker, languages in table.items():
            assert marker == marker.casefold().strip() and marker, marker
            assert set(languages) <= grouped, marker
    for pattern, languages in PATTERN_MARKERS:
        assert set(languages) <= grouped, pattern.pattern


def test_no_marker_names_a_whole_group() -> None:
    # A marker every member shares carries no information: it is a mistake.
    for marker, languages in WORD_MARKERS.items():
        for members in GROUPS.values():
            if set(languages) & set(members):
                assert not set(members) <= set(languages), (marker, members)


@pytest.mark.parametrize(
    ("text", "group", "winner"),
    [
        ("jeg fikk ikke hjelp", GROUPS["nordic"], "no"),
        ("jeg fik ikke hjælp", GROUPS["nordic"], "da"),
        ("jag fick ingen hjälp", GROUPS["nordic"], "sv"),
        ("ještě to nefunguje", GROUPS["czechoslovak"], "cs"),
        ("ešte to nefunguje", GROUPS["czechoslovak"], "sk"),
        ("gdje je paket, tko zna", GROUPS["bcms"], "hr"),
        ("gde je paket, ko zna", GROUPS["bcms"], "sr"),
        ("ne mogu da platim, šta da radim, gdje", GROUPS["bcms"], "bs"),
        ("платићу сутра", GROUPS["cyrillic"], "sr"),
        ("я ще чекаю", GROUPS["cyrillic"], "uk"),
        ("не мога да платя", GROUPS["cyrillic"], "bg"),
        ("बिलमध्ये चूक आहे", GROUPS["devanagari"], "mr"),
        ("पैसा मलाई फिर्ता चाहियो", GROUPS["devanagari"], "ne"),
        ("¿dónde está mi paquete?", GROUPS["ibero"], "es"),
        ("não recebi nada", GROUPS["ibero"], "pt"),
        ("vull cancel·lar", GROUPS["ibero"], "ca"),
        ("non recibín a miña encomenda", GROUPS["ibero"], "gl"),
        ("boleh tolong saya tak", GROUPS["malay"], "ms"),
        ("nggak bisa bayar kak", GROUPS["malay"], "id"),
        # Spellings and word order rather than words (third round of markers).
        ("hvor er passordet mitt", GROUPS["nordic"], "no"),
        ("tøjet er for småt", GROUPS["nordic"], "da"),
        ("chcem to zrušiť", GROUPS["czechoslovak"], "sk"),
        ("aplikácia padá", GROUPS["czechoslovak"], "sk"),
        ("přihlášení nefunguje", GROUPS["czechoslovak"], "cs"),
        ("hoxe tampouco", GROUPS["ibero"], "gl"),
        ("non é posible", GROUPS["ibero"], "gl"),
        ("não é possível", GROUPS["ibero"], "pt"),
        ("cobráronme mal", GROUPS["ibero"], "gl"),
        ("barang belum sampai lagi", GROUPS["malay"], "ms"),
        ("返金対応", GROUPS["han"], "ja"),
        ("发票问题", GROUPS["han"], "zh"),
        ("謝謝你的幫助", GROUPS["han"], "zh"),
    ],
)
def test_marker_hits_point_to_the_right_sibling(text: str, group: tuple[str, ...], winner: str) -> None:
    words = evidence_text(text).casefold().split()
    hits = marker_hits(words, text.casefold(), group)
    ranked = sorted(((count, code) for code, count in hits.items() if code in group), reverse=True)
    assert ranked[0][1] == winner and (len(ranked) == 1 or ranked[0][0] > ranked[1][0]), hits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Modal + infinitive, and the future written apart: Croatian and Bosnian.
        ("želim otkazati pretplatu", {"hr": 1.0, "bs": 1.0}),
        ("mogu li razgovarati s nekim", {"hr": 1.0, "bs": 1.0}),
        ("u redu, pričekat ću", {"hr": 1.0, "bs": 1.0}),
        # "da" and the present, and the future joined: no such marker; Serbian's own.
        ("želim da otkažem pretplatu", {}),
        ("mogu li da razgovaram", {}),
        ("važi, sačekaću", {"sr": 1.0}),
    ],
)
def test_bcms_verb_constructions(text: str, expected: dict[str, float]) -> None:
    hits = marker_hits([], text.casefold(), GROUPS["bcms"])
    assert hits == expected


@pytest.mark.parametrize(
    ("text", "group", "absent"),
    [
        # Danish puts the possessive first: no Norwegian word-order hit.
        ("jeg har fået min pakke", GROUPS["nordic"], "no"),
        # Galician "unha" is not Portuguese "nh"; Portuguese writes the pronoun with a hyphen.
        ("unha pregunta", GROUPS["ibero"], "pt"),
        ("rejeitaram-me o cartão", GROUPS["ibero"], "gl"),
        # Czech ú only starts a word (or follows a prefix); "ať" is not an infinitive.
        ("účet je zablokovaný, ať to opraví", GROUPS["czechoslovak"], "sk"),
    ],
)
def test_spelling_markers_do_not_misfire(text: str, group: tuple[str, ...], absent: str) -> None:
    # Spellings only (no word list): the words themselves may be shared.
    assert absent not in marker_hits([], text.casefold(), group)
