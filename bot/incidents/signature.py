"""What a report is about, for grouping: the service it names, the site, its words.

- **Service**: the first of `incidents.services` the text names (whole words, any case;
  Chinese and Cantonese through the IT glossary, so 「VPN 上唔到」 and "VPN down" are one
  service). Empty when it names none.
- **Site**: the first of `incidents.sites` it names, or a floor (`floor 12`, `12/F`,
  `12th floor`, `12樓`), as `floor 12`. Empty when it names none.
- **Words**: its content words, stemmed, without stopwords, filler (`_NOISE`) and the
  site (compared on its own), Chinese terms translated to their English glossary words.

Two reports are **similar** when their sites agree (equal, or one names none) and either
they name the same service, or neither names one and their words overlap by at least
`incidents.similarity` (Jaccard: shared / all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.glossary import translate_terms
from bot.knowledge.text import STOPWORDS, stem

_WORD = re.compile(r"[a-z0-9][a-z0-9+#.-]*[a-z0-9+#]|[a-z]")
_FLOOR = re.compile(
    r"\b(?:floor\s*(\d{1,3})|(\d{1,3})\s*/\s*f|(\d{1,3})(?:st|nd|rd|th)\s+floor)\b|(\d{1,3})\s*樓",
    re.IGNORECASE,
)
_NOISE = frozenset(
    {
        *("can't", "cant", "not", "no", "please", "help", "urgent", "asap", "thanks"),
        *("today", "now", "since", "morning", "afternoon", "yesterday", "again", "still"),
        *("always", "keeps", "every", "day", "badly", "really", "very", "my", "our"),
    }
)
"""Words that say how the reporter feels or when, not what broke: they would make any two
reports that both say "since this morning, please help" look alike."""


@dataclass(frozen=True)
class Signature:
    service: str
    site: str
    words: frozenset[str]

    def similar(self, other: Signature, similarity: float) -> bool:
        if self.site and other.site and self.site != other.site:
            return False
        if self.service or other.service:
            return self.service == other.service
        return overlap(self.words, other.words) >= similarity


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard: shared words over all words (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _names(text: str, names: tuple[str, ...]) -> str:
    lowered = f" {text.lower()} "
    for name in names:
        if re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", lowered):
            return name
    return ""


def signature(text: str, services: tuple[str, ...], sites: tuple[str, ...]) -> Signature:
    english = f"{text} {' '.join(translate_terms(text))}"
    site = _names(english, sites)
    if not site:
        floor = _FLOOR.search(text)
        if floor:
            site = "floor " + next(g for g in floor.groups() if g)
    rest = _FLOOR.sub(" ", english.lower())
    for name in sites:
        rest = rest.replace(name.lower(), " ")
    words = frozenset(
        stem(w)
        for w in _WORD.findall(rest)
        if w not in STOPWORDS and w not in _NOISE and not w.isdigit()
    )
    return Signature(_names(english, services), site, words)
