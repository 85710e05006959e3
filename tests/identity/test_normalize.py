"""Normalized names, companies and phones: one person's two spellings compare equal, two people's do not."""
from __future__ import annotations

import pytest

from chatserver.identity.normalize import emails_in, normalize_company, normalize_name, normalize_phone


@pytest.mark.parametrize("a,b", [
    ("Jürgen Müller", "  JURGEN   muller "),
    ("Anne-Marie O'Neil", "anne marie o neil"),
    ("Ｊｏｈｎ Ｓｍｉｔｈ", "John Smith"),  # full-width letters
])
def test_names_that_match(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


def test_names_that_differ_stay_apart() -> None:
    assert normalize_name("John Smith") != normalize_name("Smith John")
    assert normalize_name("   ") is None and normalize_name(None) is None


@pytest.mark.parametrize("a,b", [
    ("Müller Webdesign GmbH", "Muller Webdesign"),
    ("ACME, Inc.", "acme"),
    ("The Analytical Engines Ltd", "Analytical Engines"),
])
def test_companies_that_match(a: str, b: str) -> None:
    assert normalize_company(a) == normalize_company(b)


def test_a_legal_form_alone_is_no_company() -> None:
    assert normalize_company("GmbH") is None and normalize_company("") is None


@pytest.mark.parametrize("value,expected", [
    ("+49 (30) 123-4567", "+49301234567"),
    ("0049 30 1234567", "+49301234567"),
    ("030 1234567", "0301234567"),
    ("12-34", None),
])
def test_phones(value: str, expected: str | None) -> None:
    assert normalize_phone(value) == expected


def test_emails_in_text() -> None:
    text = "Please change my email from Old@Example.com to new.person+tag@mail.example.org, thanks. old@example.com"
    assert emails_in(text) == ["old@example.com", "new.person+tag@mail.example.org"]
