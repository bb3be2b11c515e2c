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
