"""BERT's uncased WordPiece tokenizer in pure Python, shared by both MiniLM signals.

`basic_tokens` is BERT's basic tokenizer (lower case, accents stripped, punctuation and
CJK characters split off) without the punctuation tokens: the static vectors of
punctuation are near zero, and for the sentence encoder dropping them changed no dev
query's top 3. `Vocabulary` splits a word greedily into the longest pieces it knows
(`##` marks a continuation), cached per distinct word: article text repeats its words,
so an index of 10,000 articles tokenizes each distinct word once.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain

# ASCII text is split in C: every byte but a letter or digit becomes a space.
_ASCII_SPACES = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256))
_WORD = re.compile(r"[^\s!-/:-@\[-`{-~]+")
_MAX_WORD = 100  # BERT's limit: a longer "word" is [UNK]
_CACHE_LIMIT = 500_000  # distinct words kept; a flood of junk cannot grow memory unbounded


class _CharMap(dict[int, str]):
    """str.translate table for non-ASCII text, filled as characters are met: accents go,
    control characters go, punctuation and CJK characters stand apart (BERT's rules)."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        category = unicodedata.category(ch)
        if category == "Mn" or (category in ("Cc", "Cf") and not ch.isspace()):
            out = ""
        elif category.startswith("P"):
            out = " "  # punctuation: dropped (see the module docstring)
        elif _is_cjk(cp):
            out = f" {ch} "
        else:
            out = ch
        self[cp] = out
        return out


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


_CHARS = _CharMap()


def basic_tokens(text: str) -> list[str]:
    """BERT's basic tokenizer (uncased: lower case, accents stripped, CJK characters split),
    without the punctuation tokens."""
    text = text.lower()
    if text.isascii():
        return text.encode().translate(_ASCII_SPACES).decode().split()
    return _WORD.findall(unicodedata.normalize("NFD", text).translate(_CHARS))


class _Pieces(dict[str, tuple[int, ...]]):
    """Word -> its WordPiece ids, computed once per distinct word."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        super().__init__(vocabulary.skip)
        self._vocabulary = vocabulary

    def __missing__(self, word: str) -> tuple[int, ...]:
        pieces = self[word] = self._vocabulary.wordpiece(word)
        return pieces


class Vocabulary:
    """WordPiece tokens in id order; texts in, token ids out.

    `skip`: words that give no ids at all. `unknown`: the id a word none of whose pieces
    is known becomes ([UNK] for the encoder), or None to drop such a word.
    """

    def __init__(
        self, tokens: list[str], skip: frozenset[str] = frozenset(), unknown: int | None = None
    ) -> None:
        self.tokens = tokens
        self.skip: dict[str, tuple[int, ...]] = dict.fromkeys(skip, ())
        self._unknown: tuple[int, ...] = () if unknown is None else (unknown,)
        self._ids = {token: i for i, token in enumerate(tokens)}
        self._pieces = _Pieces(self)

    def __len__(self) -> int:
        return len(self.tokens)

    def id_of(self, token: str) -> int:
        return self._ids[token]

    def wordpiece(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match WordPiece ids of one word; the unknown id(s) when it is [UNK]."""
        if len(word) > _MAX_WORD:
            return self._unknown
        ids = self._ids
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = ids.get(piece)
                if found is not None:
                    pieces.append(found)
                    break
                end -= 1
            else:
                return self._unknown
            start = end
        return tuple(pieces)

    def pieces(self) -> dict[str, tuple[int, ...]]:
        """The per-word cache (a fresh one when it has grown past its limit)."""
        if len(self._pieces) > _CACHE_LIMIT:
            self._pieces = _Pieces(self)
        return self._pieces

    def token_ids(self, text: str) -> list[int]:
        return list(chain.from_iterable(map(self.pieces().__getitem__, basic_tokens(text))))
