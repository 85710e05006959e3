"""Localized message catalogs kept in prompts/catalog, English as the fallback."""
from __future__ import annotations

import json
import os
from functools import lru_cache


class Catalog:
    """Look up localized texts by key and language."""

    def __init__(self, directory: str):
        self._directory = directory

    @lru_cache(maxsize=64)
    def _load(self, key: str) -> dict[str, str]:
        with open(os.path.join(self._directory, "catalog", f"{key}.json"), encoding="utf-8") as handle:
            texts = json.load(handle)
        if "en" not in texts:
            raise ValueError(f"catalog {key} has no English text")
        return texts

    def text(self, key: str, *, language: str) -> str:
        """Return the text for key in language, or in English when the catalog lacks it."""
        texts = self._load(key)
        return texts.get(language) or texts["en"]

    def languages(self, key: str) -> set[str]:
        return set(self._load(key))
