"""Intent detection: concepts, then fuzzy nearest example, then a confidence threshold.

1. The message is normalised (NFKC, lower case) and every word or phrase of the
   concept lexicon (`lexicon.toml`) becomes its tag: "acc lokced!!" and "我個account
   鎖咗" both become `@account @lock`. English words of four letters or more also
   match the lexicon and the examples' vocabulary with typos (rapidfuzz ratio ≥ 80).
2. The result is compared with every example utterance (`examples.toml`, normalised
   the same way) by rapidfuzz; the closest example's intent wins.
3. Below the threshold, or when the closest example is itself a knowledge question,
   the message is a knowledge question: the fallback, answered by KB search.

Why not a trained model: the examples are a file admins can read and extend, the
result is explainable (`helpdesk intents classify --json` shows the score), it
needs no model download, and it runs in well under a millisecond.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Final

import numpy as np
from rapidfuzz import fuzz, process

from bot.language import detect_language
from bot.messages import Lang

INTENTS: Final = (
    "greeting",
    "kb_question",
    "human",
    "ticket_status",
    "unlock",
    "password_reset",
    "licence_check",
    "group_check",
)
FALLBACK: Final = "kb_question"

_STOPWORDS: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "am",
        "was",
        "be",
        "been",
        "to",
        "of",
        "for",
        "on",
        "at",
        "by",
        "with",
        "and",
        "or",
        "but",
        "it",
        "its",
        "it's",
        "this",
        "that",
        "my",
        "me",
        "i",
        "i'm",
        "im",
        "you",
        "your",
        "u",
        "ur",
        "we",
        "our",
        "us",
        "pls",
        "please",
        "plz",
        "can",
        "could",
        "would",
        "will",
        "do",
        "does",
        "did",
        "so",
        "just",
        "now",
        "yet",
        "again",
        "still",
        "any",
        "some",
        "there",
        "here",
        "get",
        "got",
        "have",
        "has",
        "had",
        "up",
    ]
)
_HAN_RE: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD_RE: Final = re.compile(r"@?[a-z0-9]+")
_TICKET_ID_RE: Final = re.compile(  # ASCII boundaries: `\b` fails next to Chinese (我個HD-1042)
    r"(?<![A-Za-z0-9_])(?:hd|inc|req)[-_ ]?\d{2,}(?![A-Za-z0-9_])|#\d{3,}"
)
_MORNING_RE: Final = re.compile(r"^\W*(?:gd |good )?mornin[g']?\b")  # "morning" opens a greeting
_TYPO_MIN_LEN: Final = 4
_TYPO_CUTOFF: Final = 80.0


@dataclass(frozen=True)
class IntentResult:
    """What a message asks for; `example` is the closest example (for explaining)."""

    text: str
    intent: str
    confidence: float
    lang: Lang
    example: str = ""


def _load(name: str) -> dict[str, list[str]]:
    raw = resources.files("bot.intents").joinpath(name).read_text("utf-8")
    data = tomllib.loads(raw)
    table = data.get("concepts", data)
    return {str(k): [str(x) for x in v] for k, v in table.items()}


class IntentClassifier:
    """Classify messages into one of `INTENTS`. Build once; `classify` is cheap."""

    def __init__(
        self,
        threshold: float = 0.66,
        examples: dict[str, list[str]] | None = None,
        lexicon: dict[str, list[str]] | None = None,
    ) -> None:
        self.threshold = threshold
        examples = examples if examples is not None else _load("examples.toml")
        lexicon = lexicon if lexicon is not None else _load("lexicon.toml")
        unknown = set(examples) - set(INTENTS)
        if unknown:
            raise ValueError(f"examples for unknown intents: {sorted(unknown)}")
        self._phrase_tags: dict[str, str] = {}
        self._word_tags: dict[str, str] = {}
        for concept, terms in lexicon.items():
            for term in terms:
                norm = _fold(term)
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
        self._vocabulary: set[str] = set(self._word_tags)
        example_forms: list[str] = []
        example_intents: list[str] = []
        example_texts: list[str] = []
        for lines in examples.values():
            for line in lines:
                for word in _WORD_RE.findall(_fold(line)):
                    if len(word) >= _TYPO_MIN_LEN and not word.startswith("@"):
                        self._vocabulary.add(word)
        self._vocab_list = sorted(self._vocabulary)
        for intent, lines in examples.items():
            for line in lines:
                example_forms.append(self.normalise(line))
                example_intents.append(intent)
                example_texts.append(line)
        self._forms = example_forms
        self._intents = example_intents
        self._texts = example_texts

    @cached_property
    def example_count(self) -> int:
        return len(self._forms)

    def normalise(self, text: str) -> str:
        """The concept form of `text`: tags and remaining content words, in order."""
        folded = _fold(text)
        folded = _TICKET_ID_RE.sub(" @ticketid ", folded)
        folded = _MORNING_RE.sub(" @greet ", folded)
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
            elif len(word) >= _TYPO_MIN_LEN and word not in self._vocabulary:
                tokens.append(self._correct(word))
            else:
                tokens.append(word)
        return " ".join(tokens)

    def _correct(self, word: str) -> str:
        match = process.extractOne(
            word, self._vocab_list, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF
        )
        # People rarely mistype a word's first letter; requiring it to match keeps
        # "word" from becoming "pword" (a password) while "pasword" still does.
        if match is None or match[0][0] != word[0]:
            return word
        fixed = match[0]
        return "@" + self._word_tags[fixed] if fixed in self._word_tags else fixed

    def classify(self, text: str) -> IntentResult:
        lang = detect_language(text)
        form = self.normalise(text)
        if not form:
            return IntentResult(text, FALLBACK, 0.0, lang)
        # _similarity against every example, as two C loops instead of one Python call per
        # example; argmax keeps the first best example, as process.extract(limit=1) did.
        scores = (
            0.5
            * process.cdist([form], self._forms, scorer=fuzz.token_set_ratio, dtype=np.float64)[0]
            + 0.5
            * process.cdist([form], self._forms, scorer=fuzz.token_sort_ratio, dtype=np.float64)[0]
        )
        index = int(scores.argmax())
        confidence = round(float(scores[index]) / 100.0, 3)
        intent = self._intents[index]
        if confidence < self.threshold:
            intent = FALLBACK
        return IntentResult(text, intent, confidence, lang, self._texts[index])


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    # "helloooo", "!!!!" -> at most two repeats, so emphasis does not hide a word
    return re.sub(r"(.)\1{2,}", r"\1\1", text)


def _similarity(a: str, b: str, **_: object) -> float:
    """Order-insensitive closeness of two concept forms, 0-100."""
    return 0.5 * fuzz.token_set_ratio(a, b) + 0.5 * fuzz.token_sort_ratio(a, b)
