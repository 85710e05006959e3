"""Checks shared by the use cases, so every entry point refuses bad input the same way."""
from __future__ import annotations

from typing import Any

from .errors import ServiceError

# Database ids are 32-bit integers (PostgreSQL `integer`).
MAX_ID = 2**31 - 1


def storable(value: str, *, field: str) -> str:
    """Refuse text no database can store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ServiceError("invalid", f"{field} must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ServiceError("invalid", f"{field} must be valid Unicode text.") from None
    return value


def positive_id(value: Any, *, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise ServiceError("invalid", f"{field} must be a positive integer.")
    return value
