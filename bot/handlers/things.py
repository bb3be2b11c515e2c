"""Whether a text names something IT looks after, or speaks of how a ticket was handled.

Read from the words of `things.toml` (general helpdesk vocabulary, English; Chinese
through the IT glossary `bot/knowledge/glossary.toml`). Used where the bot must tell a new
problem from a remark: a text typed where free text is awaited (`free_text.py`) and a
short follow-up ("still slow") that stays on the problem already told (`context.py`).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import cache
from importlib import resources
from typing import Final

from bot.intents import find_entities
from bot.knowledge.glossary import translate_terms

_WORD: Final = re.compile(r"[a-z0-9][a-z0-9-]*")


@cache
def _words() -> dict[str, tuple[str, ...]]:
    raw = resources.files("bot.handlers").joinpath("things.toml").read_text("utf-8")
    return {k: tuple(str(w).lower() for w in v) for k, v in tomllib.loads(raw).items()}


def _has_any(text: str, words: tuple[str, ...]) -> bool:
    found = set(_WORD.findall(text))
    return any(w in found if w.isascii() and " " not in w else w in text for w in words)


def names_a_thing(text: str, services: tuple[str, ...] = ()) -> bool:
    """Whether `text` names something IT looks after: a product or licence, a device, an
    app or a service (`things.toml` `things`, `incidents.services`), Chinese through the
    IT glossary (「部印表機」 names a printer)."""
    lower = unicodedata.normalize("NFKC", text).lower()
    if find_entities(lower).products:
        return True
    english = f"{lower} {' '.join(translate_terms(lower))}"
    return _has_any(english, _words()["things"] + tuple(s.lower() for s in services))


def speaks_of_the_handling(text: str) -> bool:
    """Whether `text` speaks of how a ticket was handled ("took too long but fixed",
    "the engineer was great", 「等咗好耐」): a comment on a rating, not a new problem."""
    return _has_any(unicodedata.normalize("NFKC", text).lower(), _words()["handling"])
