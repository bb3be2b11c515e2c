"""A question as the knowledge base reads it: concepts, unknown words, a cleaned text.

Each content word of a question becomes a concept after chat shorthand and British
spellings are folded and typos corrected against the vocabulary of the article heads
(symmetric deletes: edit distance 1, or 2 for long words; the closest, then most
frequent, candidate wins). Its English IT synonyms count only towards the confidence.
Chinese text adds concepts for the English words the glossary gives it, and its
character bigrams for Chinese articles. A word found nowhere in the knowledge base is
kept as unknown: it counts against the confidence. So do the Chinese characters no
glossary term covers (function characters aside), every two of them as one unknown word
(a Chinese word is mostly two characters): without that, 「邊度可以下載返我啲糧單」
(where can I download my payslip), of which the glossary knows only 「下載」, would look
fully understood as "download".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import combinations

from rapidfuzz.distance import DamerauLevenshtein

from bot.knowledge.glossary import synonyms, translate_terms, untranslated
from bot.knowledge.text import HAN, STOPWORDS, fold, han_bigrams, porter_stem, stem, words

MAX_QUERY_CHARS = 500
_PREFIX = 7  # symmetric deletes are taken over the first letters only (as SymSpell does)
# Article bodies keep their own spelling; a joined question word also matches the
# two-word forms (FTS5 phrases), so indexing costs nothing extra.
_BODY_VARIANTS = {
    "signin": ("signin", "login", "logon", "sign in", "log in", "log on", "sign on"),
    "signout": ("signout", "logout", "sign out", "log out"),
    "wifi": ("wifi", "wi fi"),
    "email": ("email", "e mail"),
    "onedrive": ("onedrive", "one drive"),
    "sharepoint": ("sharepoint", "share point"),
    "freebusy": ("freebusy", "free busy"),
}
HAN_CHARS_PER_WORD = 2  # untranslated Chinese characters counted as one unknown word
_FTS_WORD = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True)
class Concept:
    """One idea of a question: the head terms and body words that express it."""

    word: str
    head: frozenset[str]
    body: tuple[str, ...]
    weight: float
    related_head: frozenset[str] = frozenset()
    related_body: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    concepts: tuple[Concept, ...]
    unknown: tuple[str, ...]
    clean: str
    untranslated: int = 0  # Chinese characters no glossary term covers (function ones aside)

    def total(self, unknown_weight: float) -> float:
        """What the concepts found in an article are a share of: every concept's weight, and
        the weight of a rare word for each unknown word and untranslated Chinese word."""
        untranslated_words = math.ceil(self.untranslated / HAN_CHARS_PER_WORD)
        unknown = len(self.unknown) + untranslated_words
        return sum(c.weight for c in self.concepts) + unknown_weight * unknown


def _deletes(word: str, distance: int) -> set[str]:
    word = word[:_PREFIX]
    out = {word}
    for d in range(1, distance + 1):
        for positions in combinations(range(len(word)), d):
            out.add("".join(ch for i, ch in enumerate(word) if i not in positions))
    return out


def _max_edits(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def typo_index(raw_df: dict[str, int]) -> dict[str, list[str]]:
    """Symmetric deletes of every head word found in two articles or more -> those words."""
    index: dict[str, list[str]] = {}
    for word, count in raw_df.items():
        if count < 2 or not word.isalpha():
            continue
        for variant in _deletes(word, _max_edits(word)):
            index.setdefault(variant, []).append(word)
    return index


class QuestionReader:
    """Turns questions into concepts over one index's vocabulary and document counts."""

    def __init__(
        self,
        articles: int,
        head_df: dict[str, int],
        raw_df: dict[str, int],
        body_df: dict[str, int],
        deletes: dict[str, list[str]],
    ) -> None:
        self._n = max(articles, 1)
        self._head_df = head_df
        self._raw_df = raw_df
        self._body_df = body_df
        self._deletes = deletes

    def idf_of(self, count: int) -> float:
        n = self._n
        return math.log(1 + (n - count + 0.5) / (count + 0.5))

    def correct(self, word: str) -> str | None:
        """The vocabulary word closest to `word`, `word` itself if known, None if nothing fits.

        A word is known when some article head has it, or some article body has its stem.
        """
        if word in self._raw_df or word.isdigit() or porter_stem(word) in self._body_df:
            return word
        edits = _max_edits(word)
        if edits == 0:
            return None
        candidates: set[str] = set()
        for variant in _deletes(word, edits):
            candidates.update(self._deletes.get(variant, ()))
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            distance = DamerauLevenshtein.distance(word, candidate, score_cutoff=edits)
            if distance > edits:
                continue
            key = (-distance, self._raw_df[candidate], candidate)
            if best is None or key > best:
                best = key
        return None if best is None else best[2]

    def _concept(self, word: str) -> Concept | None:
        own = stem(word)
        head = frozenset({own}) if own in self._head_df else frozenset()
        variants = _BODY_VARIANTS.get(word, (word,))
        body = tuple(v for v in variants if self._body_df.get(porter_phrase(v)))
        if not head and not body:
            return None
        related = synonyms().get(word, ())
        related_head = frozenset(
            t for m in related for w in words(fold(m)) if (t := stem(w)) in self._head_df
        )
        related_body = tuple(m for m in related if self._body_df.get(porter_phrase(m)))
        if own in self._head_df:
            count = self._head_df[own]
        else:
            count = max((self._body_df.get(porter_phrase(v), 0) for v in body), default=0)
        return Concept(word, head, body, self.idf_of(count), related_head, related_body)

    def parse(self, query: str) -> Query:
        """The question as concepts, the words found nowhere, and a cleaned text."""
        folded = fold(query[:MAX_QUERY_CHARS])
        english = [w for w in words(folded) if w not in STOPWORDS]
        runs = HAN.findall(folded)
        for run in runs:
            english.extend(w for w in words(" ".join(translate_terms(run))) if w not in STOPWORDS)
        concepts: dict[str, Concept] = {}
        unknown: list[str] = []
        clean: list[str] = []
        for word in english:
            fixed = self.correct(word)
            concept = self._concept(fixed) if fixed else None
            if concept is None:
                if word not in unknown:
                    unknown.append(word)
                continue
            clean.append(fixed or word)
            concepts.setdefault(concept.word, concept)
        for run in runs:
            for gram in han_bigrams(run):
                count = self._head_df.get(gram) or self._body_df.get(gram)
                if count and gram not in concepts:
                    concepts[gram] = Concept(gram, frozenset({gram}), (gram,), self.idf_of(count))
        left = sum(untranslated(run) for run in runs)
        return Query(tuple(concepts.values()), tuple(unknown), " ".join(clean), left)


def porter_phrase(text: str) -> str:
    """The key under which FTS5's vocabulary holds a word (a phrase: its first word)."""
    first = text.split()[0] if text.split() else text
    return porter_stem(first) if _FTS_WORD.match(first) else first
