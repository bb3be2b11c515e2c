"""How sure the search is that the knowledge base answers a question: a small logistic model.

With the sentence encoder, a search describes its question and first hits by a few numbers
(`Evidence`) and the model turns them into a confidence in [0, 1]:

    confidence = sigmoid(INTERCEPT + sum(COEFFICIENTS[k] * evidence[k]))

The coefficients were learnt by `tools/train_confidence.py` on the five labelled query
sets over the public corpus (dev, held-out, unseen, final, blind2), with the questions of
`bench/data/kb_confidence_train.jsonl` (written for this model; no-answer brokerage, HR,
facilities, hardware and other-vendor questions and answerable ones, English and Chinese)
offered at a weight the cross-validation chooses. The label is "the knowledge base holds
an answer". The penalty, that weight and the operating point were chosen by nested
leave-one-set-out cross-validation and the threshold folded into the intercept, so
`kb.min_score` 0.5 is that point: the search abstains below it. The evidence is gathered
in `evidence.py`. See README, "Knowledge search".

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
    chinese: float  # 1 for a question with Chinese characters
    words: float  # log(1 + the question's words the KB knows), Chinese bigrams aside
    like_no_answer: float  # best cosine with a question known to have no answer

    def as_row(self) -> tuple[float, ...]:
        return astuple(self)


FEATURES = tuple(Evidence.__dataclass_fields__)

# Written by tools/train_confidence.py (`--write`); see the module docstring.
INTERCEPT = -8.63284
COEFFICIENTS: dict[str, float] = {
    "blend": 4.46682,
    "share": 3.52751,
    "cosine": 5.42489,
    "nearest": 5.19035,
    "stand_out": 4.36854,
    "chinese": 1.7261,
    "words": 2.00219,
    "like_no_answer": -7.47691,
}


def confidence(evidence: Evidence) -> float:
    """The shipped model's confidence that the knowledge base answers the question."""
    z = INTERCEPT + sum(
        COEFFICIENTS[name] * value for name, value in zip(FEATURES, evidence.as_row(), strict=True)
    )
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
