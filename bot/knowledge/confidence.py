"""How sure the search is that the knowledge base answers a question: a small logistic model.

With the sentence encoder, a search describes its question and first hits by a few numbers
(`Evidence`) and the model turns them into a confidence in [0, 1]:

    confidence = sigmoid(INTERCEPT + sum(COEFFICIENTS[k] * evidence[k]))

The coefficients were learnt by `tools/train_confidence.py` on the four labelled query
sets over the public corpus (dev, held-out, unseen, final) and on the questions of
`bench/data/kb_confidence_train.jsonl` (written for this model; no-answer brokerage, HR,
facilities and other-vendor questions and answerable ones, English and Chinese). The
label is "the knowledge base holds an answer". The operating point was chosen by
cross-validation (choose on three sets, check on the fourth) and folded into the
intercept, so `kb.min_score` 0.5 is that point: the search abstains below it. See README,
"Knowledge search".

The model does not change the ranking: it only reads the hits the ranking chose.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass


@dataclass(frozen=True)
class Evidence:
    """What the confidence reads about a question and its first hits (the person sees three)."""

    blend: float  # best of the first hits': concept share and rescaled cosine, half each
    share: float  # best IDF-weighted share of the question's concepts held by a first hit
    cosine: float  # best encoder cosine of the question with a first hit
    nearest: float  # encoder cosine of the nearest article of all (hit or not)
    stand_out: float  # nearest cosine minus the fifth nearest's: how much the best stands out
    unknown: float  # share of the question's weight in words the KB has nowhere
    agree: float  # 1 when the lexical and the encoder's top articles are the same
    chinese: float  # 1 for a question with Chinese characters
    words: float  # log(1 + the question's words the KB knows), Chinese bigrams aside

    def as_row(self) -> tuple[float, ...]:
        return astuple(self)


FEATURES = tuple(Evidence.__dataclass_fields__)

# Written by tools/train_confidence.py (`--write`); see the module docstring.
INTERCEPT = -10.4521
COEFFICIENTS: dict[str, float] = {
    "blend": 3.53309,
    "share": 2.09736,
    "cosine": 4.804,
    "nearest": 4.74526,
    "stand_out": 3.68209,
    "unknown": -0.691843,
    "agree": 0.483155,
    "chinese": 0.495156,
    "words": 1.77822,
}


def confidence(evidence: Evidence) -> float:
    """The shipped model's confidence that the knowledge base answers the question."""
    z = INTERCEPT + sum(
        COEFFICIENTS[name] * value for name, value in zip(FEATURES, evidence.as_row(), strict=True)
    )
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
