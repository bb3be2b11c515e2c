"""What the search's confidence reads of a question and its first hits.

With the sentence encoder, the confidence model (`confidence.py`) reads an `Evidence`
gathered here from what the search already computed: the first CONFIDENCE_HITS hits' (the
person sees three) IDF-weighted shares of the question's concepts (fully in the head,
partly in the body; a word found nowhere in the knowledge base, or Chinese the glossary
cannot read, counts against it), their best encoder cosine, the blend of the two (the
confidence before the model), the nearest article's cosine and how far it stands out from
the fifth nearest, the question's language, its number of known words, and how close it
comes to a question known to have no answer (`no_answer_examples`: the encoder's best
cosine of the question's readings with those questions).
Without the encoder, the confidence is the top hit's concept share blended with the static
embeddings' cosine (`blend`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from functools import cache
from importlib import resources

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


@cache
def no_answer_examples() -> tuple[str, ...]:
    """Questions the knowledge base is known not to answer (`no_answer.toml`): HR, payroll,
    facilities, broken hardware, brokerage systems, other vendors' products. A question
    much like one of them is less likely to be answered. Edit the file to fit a KB: take
    out a question your articles now answer, add ones `helpdesk kb gaps` shows it should
    decline."""
    raw = resources.files("bot.knowledge").joinpath("no_answer.toml").read_text("utf-8")
    groups = tomllib.loads(raw)
    return tuple(dict.fromkeys(str(q) for group in groups.values() for q in group["questions"]))


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
    shares: list[float],
    cosines: list[float],
    sims: Matrix,
    like_no_answer: float,
) -> Evidence:
    """The evidence of a search: `shares` and `cosines` of its first hits, `sims` the
    question's cosine with every article (the best of its readings), `like_no_answer` its
    best cosine with a question known to have no answer."""
    blends = [blend(s, c, ENC_SHARE, ENC_LO, ENC_HI) for s, c in zip(shares, cosines, strict=True)]
    k = min(STAND_OUT_RANK, len(sims))
    top = np.partition(sims, len(sims) - k)[len(sims) - k :]
    nearest, fifth = float(top.max()), float(top.min())
    return Evidence(
        blend=max(blends),
        share=max(shares),
        cosine=max(cosines),
        nearest=nearest,
        stand_out=nearest - fifth,
        chinese=float(HAN.search(query) is not None),
        words=math.log1p(sum(HAN.search(c.word) is None for c in parsed.concepts)),
        like_no_answer=like_no_answer,
    )
