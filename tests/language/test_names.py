"""Tests for the language name table and tag normalisation."""

from __future__ import annotations

import pytest

from chatserver.language import LANGUAGES, is_known, language_name, native_name, normalize_code

# Every code langdetect 1.0.9 can output, after zh-cn/zh-tw -> zh.
LANGDETECT_CODES = (
    "af ar bg bn ca cs cy da de el en es et fa fi fr gu he hi hr hu id it ja kn ko lt lv mk ml "
    "mr ne nl no pa pl pt ro ru sk sl so sq sv sw ta te th tl tr uk ur vi zh"
).split()
EXTRA_CODES = (
    "ms eu gl is ga hy ka kk az uz be bs sr am my km lo mn si zu xh yo ha ig tg ky ps ku mt lb fy"
).split()


def test_table_covers_langdetect_and_common_languages() -> None:
    missing = [code for code in LANGDETECT_CODES + EXTRA_CODES if code not in LANGUAGES]
    assert missing == []
    assert len(LANGUAGES) >= 70


def test_table_entries_are_well_formed() -> None:
    for code, (english, native) in LANGUAGES.items():
        assert len(code) == 2 and code.isascii() and code.islower(), code
        assert english and native, code
        assert english == english.strip() and native == native.strip(), code


def test_names() -> None:
    assert language_name("de") == "German"
    assert native_name("de") == "Deutsch"
    assert language_name("ja") == "Japanese"
    assert native_name("ja") == "日本語"
    assert language_name("zh") == "Chinese"


@pytest.mark.parametrize("code", ["xx", "und", "", "DE", "zh-cn"])
def test_unknown_codes_raise_key_error(code: str) -> None:
    with pytest.raises(KeyError):
        language_name(code)
    with pytest.raises(KeyError):
        native_name(code)
    assert is_known(code) is False


def test_is_known() -> None:
    assert is_known("en")
    assert is_known("fy")
    assert not is_known(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("de", "de"),
        ("pt-BR", "pt"),
        ("PT-br", "pt"),
        ("pt_BR", "pt"),
        ("en-US", "en"),
        ("zh-Hant", "zh"),
        ("zh-Hant-TW", "zh"),
        ("zh-CN", "zh"),
        ("zh-cn", "zh"),
        ("sr-Latn-RS", "sr"),
        ("es-419", "es"),
        ("  de-DE  ", "de"),
        ("de-DE;q=0.8", "de"),
        ("iw", "he"),
        ("iw-IL", "he"),
        ("in", "id"),
        ("nb-NO", "no"),
        ("nn", "no"),
        ("fil", "tl"),
        ("deu", "de"),
        ("eng", "en"),
    ],
)
def test_normalize_code(tag: str, expected: str) -> None:
    assert normalize_code(tag) == expected


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "   ",
        "*",
        "x",
        "xx",  # well-formed but not a language we know
        "und",
        "english",
        "123",
        "de--DE",
        "de-",
        "-de",
        "de DE",
        "x-klingon",
        "haw",  # a real language without an ISO 639-1 code
        "ü",
        None,
        42,
    ],
)
def test_normalize_code_rejects_junk(tag: object) -> None:
    assert normalize_code(tag) is None  # type: ignore[arg-type]
