"""What the search's confidence reads of a question and its first hits.

With the sentence encoder, the confidence model (`confidence.py`) reads an `Evidence`
gathered here from what the search already computed: the first CONFIDENCE_HITS hits' (the
person sees three) IDF-weighted shares of the question's concepts (fully in the head,
partly in the body; a word found nowhere in the knowledge base, or Chinese the glossary
cannot read, counts against it), their best encoder cosine, the blend of the two (the
confidence before the model), the nearest article's cosine and how far it stands out from
the fifth nearest, the share of the question the KB does not know, whether the lexical and
the encoder's top articles agree, the question's language and its number of known words.
Without the encoder, the confidence is the top hit's concept share blended with the static
embeddings' cosine (`blend`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from bot.knowledge.confidence import Evidence
from bot.knowledge.embedding import Matrix
from bot.knowledge.question import Query
from bot.knowledge.text import HAN

BODY_CREDIT = 0.6  # a concept found only in the body counts this much towards confidence
ENC_SHARE = 0.5  # blend = (1 - share) * concept share + share * rescaled cosine
ENC_LO, ENC_HI = 0.3, 0.55  # encoder cosine rescaled linearly from [lo, hi] to [0, 1]
CONFIDENCE_HITS = 3  # with the encoder, the confidence reads the first hits
STAND_OUT_RANK = 5  # the nearest article's cosine is compared with the fifth nearest's


def concept_share(
    head: frozenset[str],
    parsed: Query,
    total: float,
    in_body: Callable[[tuple[str, ...]], bool],
) -> float:
    """The IDF-weighted share of the question's concepts (or their IT synonyms) an article
    holds: a concept in its head counts fully, one only in its body BODY_CREDIT."""
    found = 0.0
    for concept in parsed.concepts:
        if (concept.head | concept.related_head) & head:
            found += concept.weight
        elif in_body(concept.body + concept.related_body):
            found += BODY_CREDIT * concept.weight
    return min(1.0, found / total)


def blend(share: float, cosine: float, weight: float, lo: float, hi: float) -> float:
    """The concept share blended with a cosine rescaled linearly from [lo, hi] to [0, 1]."""
    scaled = min(1.0, max(0.0, (cosine - lo) / (hi - lo)))
    return (1 - weight) * share + weight * scaled


def gather(
    query: str,
    parsed: Query,
    total: float,
    shares: list[float],
    cosines: list[float],
    sims: Matrix,
    agree: bool,
) -> Evidence:
    """The evidence of a search: `shares` and `cosines` of its first hits, `sims` the
    question's cosine with every article (the best of its readings), `agree` whether the
    lexical and the encoder's top articles are one."""
    blends = [blend(s, c, ENC_SHARE, ENC_LO, ENC_HI) for s, c in zip(shares, cosines, strict=True)]
    k = min(STAND_OUT_RANK, len(sims))
    top = np.partition(sims, len(sims) - k)[len(sims) - k :]
    nearest, fifth = float(top.max()), float(top.min())
    weight = sum(c.weight for c in parsed.concepts)
    return Evidence(
        blend=max(blends),
        share=max(shares),
        cosine=max(cosines),
        nearest=nearest,
        stand_out=nearest - fifth,
        unknown=max(0.0, 1.0 - weight / total) if total else 0.0,
        agree=float(agree),
        chinese=float(HAN.search(query) is not None),
        words=math.log1p(sum(HAN.search(c.word) is None for c in parsed.concepts)),
    )
