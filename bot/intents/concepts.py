"""The concept form of a message: the words of the concept lexicon replaced by their tags.

The message is normalised (NFKC, lower case, long repeats cut) and every word or phrase
of `lexicon.toml` becomes its concept tag: "acc lokced!!" and "我個account鎖咗" both
become `@account @lock`. English words of four letters or more also match the lexicon
and the training vocabulary with typos (rapidfuzz ratio ≥ 80, same first letter). Stop
words are dropped; other words stay. The intent model reads this form beside the raw
characters, so a Cantonese and an English message that mean the same share features.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Final

from rapidfuzz import fuzz, process

_STOPWORDS: Final = frozenset(
    "a an the is are am was be been to of for on at by with and or but it its it's this that "
    "my me i i'm im you your u ur we our us pls please plz can could would will do does did "
    "so just now yet again still any some there here get got have has had up".split()
)
_HAN_RE: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD_RE: Final = re.compile(r"@?[a-z0-9]+")
_MORNING_RE: Final = re.compile(r"^\W*(?:gd |good )?mornin[g']?\b")  # "morning" opens a greeting
_TYPO_MIN_LEN: Final = 4
_TYPO_CUTOFF: Final = 80.0


def load_table(name: str) -> dict[str, list[str]]:
    """A TOML table of lists shipped in `bot.intents` (`[concepts]` or top level)."""
    raw = resources.files("bot.intents").joinpath(name).read_text("utf-8")
    data = tomllib.loads(raw)
    table = data.get("concepts", data)
    return {str(k): [str(x) for x in v] for k, v in table.items()}


def fold(text: str) -> str:
    """NFKC, lower case, and at most two repeats ("helloooo", "!!!!"), so emphasis hides nothing."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"(.)\1{2,}", r"\1\1", text)


class ConceptLexicon:
    """Maps a message to its concept form. Build once; `form` is cheap."""

    def __init__(self, lexicon: Mapping[str, list[str]], vocabulary: Iterable[str] = ()) -> None:
        """`vocabulary`: texts whose words are known spellings (typo targets)."""
        self._phrase_tags: dict[str, str] = {}
        self._word_tags: dict[str, str] = {}
        for concept, terms in lexicon.items():
            for term in terms:
                norm = fold(term)
                if _HAN_RE.search(norm) or " " in norm or not norm.isalnum():
                    self._phrase_tags.setdefault(norm, concept)
                else:
                    self._word_tags.setdefault(norm, concept)
        phrases = sorted(self._phrase_tags, key=len, reverse=True)
        self._phrase_re = re.compile(
            "|".join(
                re.escape(p) if _HAN_RE.search(p) else rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])"
                for p in phrases
            )
        )
        known = set(self._word_tags)
        for text in vocabulary:
            known.update(
                w for w in _WORD_RE.findall(fold(text)) if len(w) >= _TYPO_MIN_LEN and w[0] != "@"
            )
        self._known = frozenset(known)
        self._known_list = sorted(known)

    def form(self, text: str) -> str:
        """The concept form of `text`: tags and remaining content words, in order."""
        folded = _MORNING_RE.sub(" @greet ", fold(text))
        folded = self._phrase_re.sub(lambda m: f" @{self._phrase_tags[m.group(0)]} ", folded)
        folded = folded.replace("'", "")
        tokens: list[str] = []
        for word in _WORD_RE.findall(folded):
            if word.startswith("@"):
                tokens.append(word)
            elif word in self._word_tags:
                tokens.append("@" + self._word_tags[word])
            elif word in _STOPWORDS:
                continue
            elif (single := re.sub(r"(.)\1", r"\1", word)) in self._word_tags:
                tokens.append("@" + self._word_tags[single])  # "hii", "lockked"
            elif len(word) >= _TYPO_MIN_LEN and word not in self._known:
                tokens.append(self._correct(word))
            else:
                tokens.append(word)
        return " ".join(tokens)

    def _correct(self, word: str) -> str:
        match = process.extractOne(
            word, self._known_list, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF
        )
        # People rarely mistype a word's first letter; requiring it to match keeps
        # "word" from becoming "pword" (a password) while "pasword" still does.
        if match is None or match[0][0] != word[0]:
            return word
        fixed = match[0]
        return "@" + self._word_tags[fixed] if fixed in self._word_tags else fixed
