"""Static token embeddings: a meaning signal for search with numpy only (no model at run time).

`vectors/minilm-static.npz` holds one vector per WordPiece token of all-MiniLM-L6-v2
(Apache-2.0), distilled offline with model2vec (`tools/distill_vectors.py` tells how):
the token's output embedding, reduced by PCA, with a frequency weight (SIF) baked in,
stored as int8 with one float16 scale per row. A text's vector is the normalised sum of
its tokens' vectors. Tokenizing is BERT's (`wordpiece.py`). Unknown words add nothing (as
in model2vec).

The vocabulary is English: a Chinese question is embedded through the English words the
glossary gives it (see `KnowledgeBase.search`), never through its characters.
"""

from __future__ import annotations

import logging
from functools import cache
from itertools import chain
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.knowledge.text import STOPWORDS
from bot.knowledge.wordpiece import Vocabulary, basic_tokens

log = logging.getLogger(__name__)

VECTORS = Path(__file__).with_name("vectors") / "minilm-static.npz"
Matrix = npt.NDArray[np.float32]

_CHUNK = 65_536  # tokens summed per numpy step when embedding many texts


class StaticEmbedder:
    """Token vectors and a WordPiece vocabulary; texts in, unit vectors out.

    `skip`: words that add nothing (the search's stopwords), for articles and questions alike.
    """

    def __init__(
        self, vocab: list[str], vectors: Matrix, skip: frozenset[str] = frozenset()
    ) -> None:
        if len(vocab) != len(vectors) or vectors.ndim != 2 or not len(vocab):
            raise ValueError(f"{len(vocab)} tokens but vectors of shape {vectors.shape}")
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._columns = np.ascontiguousarray(self.vectors.T)  # dims x tokens, for embed_many
        self.dims = int(vectors.shape[1])
        self.vocabulary = Vocabulary(vocab, skip)

    @classmethod
    def from_file(cls, path: Path, skip: frozenset[str] = STOPWORDS) -> StaticEmbedder:
        """Read a vector file: `vocab` ('\\n'-joined UTF-8 bytes), `vectors` (float, or int8
        with per-row `scales`). Raises OSError or ValueError on a missing or malformed file."""
        with np.load(path, allow_pickle=False) as data:
            vocab = bytes(data["vocab"]).decode("utf-8").split("\n")
            vectors = data["vectors"].astype(np.float32)
            if "scales" in data:
                vectors *= data["scales"].astype(np.float32)[:, None]
        if not np.isfinite(vectors).all():
            raise ValueError("vectors are not all finite")
        return cls(vocab, vectors, skip)

    @classmethod
    def load(cls, path: Path = VECTORS, skip: frozenset[str] = STOPWORDS) -> StaticEmbedder | None:
        """The embedder, or None (with a warning) when the file is missing or unreadable."""
        try:
            return cls.from_file(path, skip)
        except (OSError, ValueError, KeyError, EOFError) as exc:
            log.warning(
                "kb search: no semantic signal, vector file %s unusable (%s)", path.name, exc
            )
            return None

    def token_ids(self, text: str) -> list[int]:
        return self.vocabulary.token_ids(text)

    # -- vectors ------------------------------------------------------------------------------

    def embed(self, text: str) -> Matrix | None:
        """The text's unit vector; None when no token of it is in the vocabulary."""
        ids = self.token_ids(text)
        if not ids:
            return None
        vector: Matrix = self.vectors[ids].sum(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None

    def embed_many(self, texts: list[str]) -> Matrix:
        """One unit vector per text (all zeros for a text with no known token)."""
        get = self.vocabulary.pieces().__getitem__
        flat: list[int] = []
        starts: list[int] = []
        for text in texts:
            starts.append(len(flat))
            flat.extend(chain.from_iterable(map(get, basic_tokens(text))))
        out = np.zeros((self.dims, len(texts)), dtype=np.float32)
        ids = np.asarray(flat, dtype=np.intp)
        bounds = np.asarray([*starts, len(flat)], dtype=np.intp)
        nonempty = np.flatnonzero(bounds[1:] > bounds[:-1])
        # Sum each text's token vectors: gather a bounded run of tokens as columns (dims x
        # tokens, so each sum runs along contiguous memory) and add them up per text.
        row = 0
        while row < len(nonempty):
            first = bounds[nonempty[row]]
            last = int(np.searchsorted(bounds, first + _CHUNK, side="right")) - 2
            last_row = max(row, int(np.searchsorted(nonempty, last, side="right")) - 1)
            rows = nonempty[row : last_row + 1]
            block = np.take(self._columns, ids[first : bounds[rows[-1] + 1]], axis=1)
            out[:, rows] = np.add.reduceat(block, bounds[rows] - first, axis=1)
            row = last_row + 1
        norms = np.linalg.norm(out, axis=0)
        norms[norms == 0] = 1.0
        result: Matrix = np.ascontiguousarray((out / norms).T)
        return result


@cache
def default_embedder() -> StaticEmbedder | None:
    """The shipped vectors, read once per process; None (warned once) if they are unusable."""
    return StaticEmbedder.load(VECTORS)
