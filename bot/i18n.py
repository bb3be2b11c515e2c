"""The message catalogue: every user-facing sentence, in English and Traditional Chinese.

Entries live in `bot/locales/<lang>.toml` as `key = "text with {placeholders}"`.
Both languages must hold the same keys with the same placeholders; a test checks it.
The Chinese entries are written Cantonese as Hong Kong staff write it, keeping
English product names (Outlook, Teams, VPN) in English.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from bot.messages import Lang

LANGUAGES: tuple[Lang, ...] = ("en", "zh-Hant")


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(f"{name}.", value, out)
        else:
            out[name] = str(value)


@cache
def catalogue(lang: Lang) -> dict[str, str]:
    """All entries of one language, keyed by dotted name (`unlock.done`)."""
    raw = resources.files("bot").joinpath("locales", f"{lang}.toml").read_text("utf-8")
    out: dict[str, str] = {}
    _flatten("", tomllib.loads(raw), out)
    return out


def section(lang: Lang, table: str) -> dict[str, str]:
    """One table of the catalogue (`report.weekly`), keyed by the names inside it."""
    prefix = table + "."
    return {k.removeprefix(prefix): v for k, v in catalogue(lang).items() if k.startswith(prefix)}


def bilingual(key: str, /, **params: object) -> str:
    """An entry in English, then in Chinese: for the few texts shown before the person's
    language is known (a platform's notification fallback, an expired form)."""
    return " ".join(Translator(lang)(key, **params) for lang in LANGUAGES)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Translator:
    """`t("unlock.done", name="Tai Man")` in one language, falling back to English."""

    def __init__(self, lang: Lang) -> None:
        self.lang: Lang = lang
        self._entries = catalogue(lang)
        self._fallback = catalogue("en")

    def __call__(self, key: str, /, **params: object) -> str:
        template = self._entries.get(key) or self._fallback.get(key)
        if template is None:
            raise KeyError(f"message catalogue has no key {key!r}")
        return template.format(**params)


@cache
def _by_text() -> dict[str, tuple[str, ...]]:
    """Each catalogue text (either language) → the same entry in every language."""
    out: dict[str, tuple[str, ...]] = {}
    for lang in LANGUAGES:
        for key, text in catalogue(lang).items():
            if not placeholders(text):
                out.setdefault(text, tuple(catalogue(other).get(key, text) for other in LANGUAGES))
    return out


def in_both_languages(label: str) -> tuple[str, ...]:
    """A button's label as it reads in every language (`Cancel` → `Cancel`, `取消`), so a
    label typed in the other language picks it too; a label not in the catalogue as itself."""
    return _by_text().get(label, (label,))
