"""Normalized names, companies, phones and emails, so that one person's two accounts compare equal."""
from __future__ import annotations

import re
import unicodedata

# Legal forms say nothing about who a company is: "Acme GmbH" and "ACME" match.
_LEGAL_FORMS = frozenset({
    "ab", "ag", "as", "bv", "co", "corp", "corporation", "gmbh", "inc", "incorporated", "kg", "limited", "llc",
    "llp", "ltd", "nv", "oy", "plc", "pty", "sa", "sarl", "sas", "spa", "srl", "sl", "ug", "the", "and",
})
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _words(value: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.findall(r"\w+", plain)


def normalize_name(value: str | None) -> str | None:
    """Return a person's name as lower-case words without accents or punctuation, in order."""
    words = _words(value or "")
    return " ".join(words) or None


def normalize_company(value: str | None) -> str | None:
    """Return a company's name without case, accents, punctuation or legal form."""
    words = [word for word in _words(value or "") if word not in _LEGAL_FORMS]
    return " ".join(words) or None


def normalize_phone(value: str | None) -> str | None:
    """Return a phone number as + and digits (00 read as +); None when it has too few digits."""
    text = (value or "").strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits, text = digits[2:], "+"
    if len(digits) < 6:
        return None
    return ("+" if text.startswith("+") else "") + digits


def normalize_email(value: str) -> str:
    return value.strip().lower()


def emails_in(text: str) -> list[str]:
    """Return the email addresses found in text, lower-case, in order, without repeats."""
    return list(dict.fromkeys(match.lower() for match in _EMAIL.findall(text or "")))
