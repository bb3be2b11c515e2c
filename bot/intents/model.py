"""The trained intent model: features, weights, calibrated probabilities, and its cache.

`train_model` fits a multinomial logistic regression (`logistic.py`) on the shipped
utterances (`training_data.py`) over the features of `features.py`. Training takes a
second or two on a shared machine, so the fitted vocabulary and weights are cached in
`cache_dir` under a hash of everything they depend on (utterances, lexicon, settings,
and, with an encoder, the encoder's vector for a probe sentence). A changed example means
a new hash and a fresh fit; the same process also keeps each model it fitted in memory.
A cache file that cannot be read or written is ignored (the model is simply fitted).

Probabilities are the softmax of the logits divided by `TEMPERATURE`, chosen by
cross-validation so that confidence matches accuracy (`bench/intents_cv.py` reports
the expected calibration error).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from bot.intents.concepts import ConceptLexicon, load_table
from bot.intents.features import FeatureWeights, Featuriser, SentenceEncoder
from bot.intents.logistic import LogisticModel, Training, fit, softmax
from bot.intents.training_data import INTENTS, Utterance, fingerprint

log = logging.getLogger(__name__)

TEMPERATURE: Final = 0.8
"""Logits are divided by this before the softmax (calibration, chosen by cross-validation)."""
FEATURE_WEIGHTS: Final = FeatureWeights()
TRAINING: Final = Training()
_PROBE: Final = "my account is locked 我個account鎖咗"
_FORMAT: Final = "intent-model-1"
_fitted: dict[str, IntentModel] = {}


@dataclass(frozen=True)
class IntentModel:
    """Everything needed to turn texts into intent probabilities (rows follow `INTENTS`)."""

    featuriser: Featuriser
    weights: LogisticModel
    temperature: float = TEMPERATURE

    def logits(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.weights.logits(self.featuriser.rows(texts), self.featuriser.dense(texts))

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return softmax(self.logits(texts), self.temperature)


def default_cache_dir() -> Path:
    """`HELPDESK_CACHE_DIR`, else `$XDG_CACHE_HOME/helpdesk-bot`, else `~/.cache/helpdesk-bot`."""
    if os.environ.get("HELPDESK_CACHE_DIR"):
        return Path(os.environ["HELPDESK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "helpdesk-bot"


def train_model(
    utterances: Sequence[Utterance],
    *,
    encoder: SentenceEncoder | None = None,
    feature_weights: FeatureWeights = FEATURE_WEIGHTS,
    training: Training = TRAINING,
    cache_dir: Path | None = None,
) -> IntentModel:
    """The model for `utterances`: from memory, from `cache_dir`, or fitted now."""
    lexicon = load_table("lexicon.toml")
    texts = [u.text for u in utterances]
    concepts = ConceptLexicon(lexicon, texts)
    probe = "" if encoder is None else np.asarray(encoder.encode([_PROBE])).tobytes().hex()
    key = fingerprint(
        tuple(utterances), _FORMAT, repr(lexicon), repr(feature_weights), repr(training), probe
    )
    if key in _fitted:
        return _fitted[key]
    path = cache_dir / f"intents-{key}.npz" if cache_dir is not None else None
    model = _read(path, concepts, feature_weights, encoder) if path else None
    if model is None:
        featuriser = Featuriser(concepts, [], feature_weights, encoder)
        featuriser = Featuriser(concepts, featuriser.vocabulary_of(texts), feature_weights, encoder)
        labels = np.asarray([INTENTS.index(u.intent) for u in utterances], np.int64)
        weights = fit(
            featuriser.rows(texts),
            labels,
            len(INTENTS),
            featuriser.size,
            featuriser.dense(texts),
            training,
        )
        model = IntentModel(featuriser, weights)
        if path:
            _write(path, model)
    _fitted[key] = model
    return model


def _read(
    path: Path, concepts: ConceptLexicon, weights: FeatureWeights, encoder: SentenceEncoder | None
) -> IntentModel | None:
    try:
        with np.load(path, allow_pickle=False) as saved:
            vocabulary = [str(x) for x in saved["vocabulary"]]
            sparse = saved["sparse"].astype(np.float32)
            dense = saved["dense"].astype(np.float32) if "dense" in saved.files else None
    except (OSError, KeyError, ValueError):
        return None
    featuriser = Featuriser(concepts, vocabulary, weights, encoder)
    if sparse.shape != (featuriser.size, len(INTENTS)):
        return None
    return IntentModel(featuriser, LogisticModel(sparse, dense))


def _write(path: Path, model: IntentModel) -> None:
    vocabulary = np.asarray(list(model.featuriser.vocabulary)[1:], dtype=np.str_)
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "vocabulary": vocabulary,
        "sparse": model.weights.sparse,
    }
    if model.weights.dense is not None:
        arrays["dense"] = model.weights.dense
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(partial, allow_pickle=False, **arrays)
        partial.replace(path)
    except OSError as exc:
        log.info("intent model cache not written (%s): the model is refitted next start", exc)
