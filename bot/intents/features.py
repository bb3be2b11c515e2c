"""What the intent model sees of a message: features that carry meaning in both languages.

Three sparse blocks, each scaled to unit length and then by its weight:
- `c:` character 1–4-grams of the folded text (digits read as `0`): Cantonese words
  are one or two characters, English stems and typos share 3–4-grams;
- `w:` the concept form's tokens and their neighbour pairs (`@account @lock`, see
  `concepts.py`): "acc locked" and "我個account鎖咗" share these;
- `e:` the kinds of entity found (`e:ticket_ref`, `e:urgent`, see `entities.py`).

plus, when a `SentenceEncoder` is given, its unit-length embedding as a dense block.
The encoder is optional: without one the model is complete; with one (the KB's sentence
encoder) it learns weights for it too. Only features seen at least `min_count` times in the
training data are kept; one constant feature stands for the bias.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from bot.intents.concepts import ConceptLexicon, fold
from bot.intents.entities import find_entities

MAX_CHARS: Final = 300
"""Longer messages are read from their first 300 characters (intent is said early)."""
_BIAS: Final = "bias"
_DIGITS: Final = re.compile(r"\d+")
_SPACES: Final = re.compile(r"\s+")


class SentenceEncoder(Protocol):
    """Anything that turns texts into one vector each (rows of a 2-D array)."""

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.floating]: ...


@dataclass(frozen=True)
class FeatureWeights:
    """How much each block counts (chosen by cross-validation, see `bench/intents_cv.py`)."""

    chars: float = 1.0
    concepts: float = 0.7
    entities: float = 0.5
    encoder: float = 1.0
    min_count: int = 2


@dataclass(frozen=True)
class SparseRows:
    """Rows of a sparse matrix: row i is `indices[starts[i]:starts[i+1]]` with `values`."""

    indices: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]
    starts: npt.NDArray[np.int64]

    @property
    def rows(self) -> int:
        return len(self.starts) - 1


class Featuriser:
    """Turns messages into feature rows over a fixed vocabulary (see `vocabulary_of`)."""

    def __init__(
        self,
        concepts: ConceptLexicon,
        vocabulary: Sequence[str],
        weights: FeatureWeights = FeatureWeights(),
        encoder: SentenceEncoder | None = None,
    ) -> None:
        self.concepts = concepts
        self.weights = weights
        self.encoder = encoder
        self.vocabulary: dict[str, int] = {_BIAS: 0} | {
            name: i + 1 for i, name in enumerate(vocabulary)
        }

    def vocabulary_of(self, texts: Iterable[str]) -> list[str]:
        """The features seen at least `min_count` times in `texts`, sorted."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update({name for block in self._blocks(text) for name in block})
        return sorted(name for name, n in counts.items() if n >= self.weights.min_count)

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def _blocks(self, text: str) -> tuple[set[str], set[str], set[str]]:
        clipped = text[:MAX_CHARS]
        folded = " " + _SPACES.sub(" ", _DIGITS.sub("0", fold(clipped))).strip() + " "
        chars = {
            "c:" + folded[i : i + n]
            for n in (1, 2, 3, 4)
            for i in range(len(folded) - n + 1)
            if folded[i : i + n].strip()
        }
        tokens = _DIGITS.sub("0", self.concepts.form(clipped)).split()
        words = {"w:" + tok for tok in tokens}
        words.update(f"w:{a}_{b}" for a, b in itertools.pairwise(tokens))
        kinds = {"e:" + kind for kind in find_entities(clipped).kinds()}
        return chars, words, kinds

    def rows(self, texts: Sequence[str]) -> SparseRows:
        """The sparse feature rows of `texts` (the bias feature in every row)."""
        scales = (self.weights.chars, self.weights.concepts, self.weights.entities)
        indices: list[int] = []
        values: list[float] = []
        starts = [0]
        for text in texts:
            indices.append(0)
            values.append(1.0)
            for block, scale in zip(self._blocks(text), scales, strict=True):
                known = [self.vocabulary[name] for name in block if name in self.vocabulary]
                if known:
                    indices.extend(known)
                    values.extend([scale / len(known) ** 0.5] * len(known))
            starts.append(len(indices))
        return SparseRows(
            np.asarray(indices, dtype=np.int64),
            np.asarray(values, dtype=np.float32),
            np.asarray(starts, dtype=np.int64),
        )

    def dense(self, texts: Sequence[str]) -> npt.NDArray[np.float32] | None:
        """The encoder block (unit rows times its weight), or None without an encoder."""
        if self.encoder is None:
            return None
        vectors = np.asarray(self.encoder.encode([t[:MAX_CHARS] for t in texts]), np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        scaled: npt.NDArray[np.float32] = self.weights.encoder * vectors / np.maximum(norms, 1e-9)
        return scaled
