"""The bilingual glossary (Chinese / Cantonese → English) and the English synonyms."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources


@cache
def glossary() -> dict[str, str]:
    raw = resources.files("bot.knowledge").joinpath("glossary.toml").read_text("utf-8")
    return {k.lower(): str(v) for k, v in tomllib.loads(raw)["zh_en"].items()}


@cache
def _pattern() -> re.Pattern[str]:
    terms = sorted(glossary(), key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in terms))


def translate_terms(text: str) -> list[str]:
    """English words for the glossary terms found in `text` (longest match first)."""
    found: list[str] = []
    for match in _pattern().finditer(text.lower()):
        found.extend(glossary()[match.group(0)].split())
    return found


@cache
def synonyms() -> dict[str, tuple[str, ...]]:
    """English question word → article words that mean the same in IT support."""
    raw = resources.files("bot.knowledge").joinpath("synonyms.toml").read_text("utf-8")
    return {
        k.lower(): tuple(str(v) for v in vs) for k, vs in tomllib.loads(raw)["synonyms"].items()
    }
