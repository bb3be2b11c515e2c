"""Multinomial logistic regression over sparse rows (plus an optional dense block), in numpy.

Trained full-batch with Adam on the mean cross-entropy plus an L2 penalty; softmax with a
temperature gives the probabilities. Small and exact enough for a few thousand utterances
and a few tens of thousands of features: training takes a fraction of a second and one
prediction is a gather and a sum. Why not scikit-learn: it brings scipy (tens of MB) for
one model this size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.intents.features import SparseRows

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Training:
    """How to fit (values chosen by cross-validation, see `bench/intents_cv.py`)."""

    l2: float = 1e-6
    steps: int = 250
    learning_rate: float = 0.2
    seed: int = 0


@dataclass(frozen=True)
class LogisticModel:
    """Weights per feature and class (`sparse`), per encoder dimension (`dense`)."""

    sparse: Floats
    dense: Floats | None

    def logits(self, rows: SparseRows, dense: Floats | None = None) -> Floats:
        gathered = np.take(self.sparse, rows.indices, axis=0) * rows.values[:, None]
        out: Floats = np.add.reduceat(gathered, rows.starts[:-1], axis=0)
        if self.dense is not None and dense is not None:
            out = out + dense @ self.dense
        return out


def softmax(logits: Floats, temperature: float = 1.0) -> Floats:
    """Row-wise probabilities of `logits / temperature`."""
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    result: Floats = exp / exp.sum(axis=1, keepdims=True)
    return result


def fit(
    rows: SparseRows,
    labels: npt.NDArray[np.int64],
    classes: int,
    features: int,
    dense: Floats | None = None,
    training: Training = Training(),
) -> LogisticModel:
    """Fit weights so that `softmax(logits)` predicts `labels` (0..classes-1)."""
    n = rows.rows
    # the same non-zeros ordered by feature, for the gradient (X transposed times the error)
    order = np.argsort(rows.indices, kind="stable")
    row_by_feature = np.repeat(np.arange(n), np.diff(rows.starts))[order]
    value_by_feature = rows.values[order][:, None]
    by_feature = rows.indices[order]
    firsts = np.flatnonzero(np.r_[True, by_feature[1:] != by_feature[:-1]])
    used = by_feature[firsts]
    target = np.zeros((n, classes), np.float32)
    target[np.arange(n), labels] = 1.0
    params = [np.zeros((features, classes), np.float32)]
    if dense is not None:
        params.append(np.zeros((dense.shape[1], classes), np.float32))
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, training.steps + 1):
        model = LogisticModel(params[0], params[1] if dense is not None else None)
        error = (softmax(model.logits(rows, dense)) - target) / n
        contributions = np.take(error, row_by_feature, axis=0) * value_by_feature
        grads = [np.zeros_like(params[0])]
        grads[0][used] = np.add.reduceat(contributions, firsts, axis=0)
        grads[0] += training.l2 * params[0]
        if dense is not None:
            grads.append(dense.T @ error + training.l2 * params[1])
        for p, g, m, v in zip(params, grads, moments, squares, strict=True):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            p -= training.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    return LogisticModel(params[0], params[1] if dense is not None else None)
