"""Knowledge-base search on the public corpus: quality, abstention, speed, scale.

Run: .venv/bin/python bench/kb_search.py [--corpus DIR] [--queries FILE] [--smoke]
                                          [--no-semantic | --vectors FILE] [--no-encoder]
Defaults to ../shared/corpora/ms-support-articles (3,431 Microsoft support articles
with 151 labelled dev queries). Prints hit@1, hit@3, MRR@10, hit@3 on the Chinese
queries, abstention precision/recall on the no-answer queries, p50/p95 latency per
query (single thread), index build time and memory; then build time and latency at
10k and 100k articles made by perturbing copies of the corpus (--smoke: 10k only).
A query is a hit@k when any relevant id is among the first k results, answered or not.
--queries FILE measures on another set: bench/data/queries_holdout.jsonl and
queries_unseen.jsonl (160 each, written blind, since used for tuning: see README,
"Knowledge search"), queries_final.jsonl (written blind, run once, since used to learn
the confidence) and queries_blind2.jsonl (written blind, run once after the confidence
model was frozen).
--no-semantic searches without the static-embedding signal (the retriever before it);
--vectors FILE uses another vector file (see tools/distill_vectors.py);
--no-encoder searches without the sentence encoder (the retriever before it).

The corpus's article vectors are cached in bench/.cache/kb-vectors.npz (ignored by git),
as the bot caches its own: the first run encodes all 3,431 articles (minutes), later runs
read them back. --smoke (CI) searches a subset (the queries' relevant articles first, 200
in all, cached in their own file), so a fresh checkout encodes little; its figures are
not comparable.
At 10k and 100k articles a perturbed copy is given its source article's vector (encoding
100,000 articles would take hours here; the scale rows measure time, not quality), and
each question is still encoded by the real encoder.
"""

from __future__ import annotations

import dataclasses
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collections.abc import Sequence

import numpy as np

from bot.knowledge import Article, KnowledgeBase, load_articles
from bot.knowledge.embedding import VECTORS, StaticEmbedder, default_embedder
from bot.knowledge.encoder import Matrix, SentenceEncoder, default_encoder
from bot.knowledge.vector_cache import article_vectors

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpora" / "ms-support-articles"
CACHE = ROOT / "bench" / ".cache" / "kb-vectors.npz"
SMOKE_CACHE = ROOT / "bench" / ".cache" / "kb-vectors-smoke.npz"  # the subset's own
SMOKE_ARTICLES = 200


class CopiedVectors:
    """A SentenceEncoder for the scale rows: a perturbed copy's text gets its source's vector,
    anything else (the questions) is encoded by the real encoder."""

    def __init__(self, real: SentenceEncoder, sources: dict[str, Matrix]) -> None:
        self.real = real
        self.sources = sources
        self.model_id = real.model_id + "/copies"
        self.dims = real.dims

    def encode(self, texts: Sequence[str]) -> Matrix:
        if all(t in self.sources for t in texts):
            return np.stack([self.sources[t] for t in texts]) if texts else self.real.encode(texts)
        return self.real.encode(texts)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latencies(kb: KnowledgeBase, queries: list[str], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        for q in queries:
            t0 = time.perf_counter()
            kb.search(q, limit=10)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def perturbed(
    articles: list[Article], n: int, seed: int = 7
) -> tuple[list[Article], dict[str, Article]]:
    """`n` articles: the corpus, then copies with shuffled and misspelt words and new ids;
    and each copy's source article, by the copy's id."""
    rng = random.Random(seed)
    out = list(articles)
    source: dict[str, Article] = {}
    copy = 0
    while len(out) < n:
        copy += 1
        for a in articles:
            if len(out) >= n:
                break
            words = a.body.split()
            for _ in range(max(1, len(words) // 20)):
                i = rng.randrange(len(words))
                w = words[i]
                if len(w) > 4:
                    j = rng.randrange(1, len(w) - 1)
                    words[i] = w[:j] + w[j + 1 :]
            title = a.title.split()
            rng.shuffle(title)
            out.append(
                dataclasses.replace(
                    a,
                    article_id=f"{a.article_id}-copy{copy}",
                    title=" ".join(title),
                    body=" ".join(words),
                    translation_of=None,
                )
            )
            source[out[-1].article_id] = a
    return out, source


def main() -> None:
    embedder: StaticEmbedder | Literal["default"] | None = "default"
    if "--no-semantic" in sys.argv:
        embedder = None
    elif "--vectors" in sys.argv:
        embedder = StaticEmbedder.from_file(Path(sys.argv[sys.argv.index("--vectors") + 1]))
    else:  # read once per process, as the bot does at start; not part of an index build
        t0 = time.perf_counter()
        embedder = default_embedder()
        print(f"vectors: {VECTORS.name}, read in {time.perf_counter() - t0:.2f} s")
    encoder: SentenceEncoder | None = None
    if "--no-encoder" not in sys.argv:
        t0 = time.perf_counter()
        loaded = default_encoder()
        if isinstance(loaded, Exception):
            raise SystemExit(f"no sentence encoder: {loaded}")
        encoder = loaded
        print(f"encoder: {encoder.model_id}, loaded in {time.perf_counter() - t0:.2f} s")
    corpus = CORPUS
    if "--corpus" in sys.argv:
        corpus = Path(sys.argv[sys.argv.index("--corpus") + 1])
    smoke = "--smoke" in sys.argv
    queries = corpus / "queries_dev.jsonl"
    if "--queries" in sys.argv:
        queries = Path(sys.argv[sys.argv.index("--queries") + 1])
    rows = [json.loads(x) for x in queries.read_text("utf-8").splitlines() if x]
    t0 = time.perf_counter()
    articles = load_articles(corpus / "articles")
    load_s = time.perf_counter() - t0
    if smoke:
        relevant = {i for r in rows for i in r["relevant"]}
        articles = sorted(articles, key=lambda a: a.article_id not in relevant)[:SMOKE_ARTICLES]
    cache = SMOKE_CACHE if smoke else CACHE
    rss0 = rss_mb()
    t0 = time.perf_counter()
    kb = KnowledgeBase(articles, embedder=embedder, encoder=encoder, vector_cache=cache)
    build_s = time.perf_counter() - t0
    print(
        f"corpus: {len(articles)} articles; load {load_s:.2f} s; index build {build_s:.2f} s"
        f" (article vectors from {cache.relative_to(ROOT)} or encoded);"
        f" memory +{rss_mb() - rss0:.0f} MB (max RSS {rss_mb():.0f} MB)"
    )
    print(f"queries from {queries.name}")
    hit1 = hit3 = mrr = zh_hit3 = zh_n = n = 0.0
    abstain_tp = abstain_fp = abstain_fn = 0
    misses = []
    for row in rows:
        result = kb.search(row["q"], limit=10)
        ids = [h.article.article_id for h in result.hits]
        relevant = set(row["relevant"])
        if not relevant:
            abstain_tp += not result.answered
            abstain_fn += result.answered
            continue
        abstain_fp += not result.answered
        n += 1
        rank = next((i for i, a in enumerate(ids) if a in relevant), None)
        hit1 += rank == 0
        hit3 += rank is not None and rank < 3
        mrr += 1 / (rank + 1) if rank is not None else 0
        if row["lang"] == "zh":
            zh_n += 1
            zh_hit3 += rank is not None and rank < 3
        if rank is None or rank >= 3:
            misses.append(row["q"])
    precision = abstain_tp / max(1, abstain_tp + abstain_fp)
    recall = abstain_tp / max(1, abstain_tp + abstain_fn)
    p50, p95 = latencies(kb, [r["q"] for r in rows], 1 if smoke else 5)
    print(f"queries: {len(rows)} ({int(n)} answerable, {int(zh_n)} Chinese answerable)")
    print("| hit@1 | hit@3 | MRR@10 | zh hit@3 | abstain P | abstain R | p50 ms | p95 ms |")
    print(
        f"| {hit1 / n:.3f} | {hit3 / n:.3f} | {mrr / n:.3f} | {zh_hit3 / max(1, zh_n):.3f}"
        f" | {precision:.2f} | {recall:.2f} | {p50:.2f} | {p95:.2f} |"
    )
    if "--misses" in sys.argv:
        print("\n".join(misses))
    sizes = (10_000,) if smoke else (10_000, 100_000)
    for size in sizes:
        big, source = perturbed(articles, size)
        copied: SentenceEncoder | None = None
        if encoder is not None:  # the corpus's vectors, read back from memory
            own = article_vectors(encoder, [kb.encoder_text(a) for a in articles], cache)
            row = {a.article_id: v for a, v in zip(articles, own, strict=True)}
            copied = CopiedVectors(
                encoder,
                {kb.encoder_text(a): row[source.get(a.article_id, a).article_id] for a in big},
            )
        rss0 = rss_mb()
        t0 = time.perf_counter()
        big_kb = KnowledgeBase(big, embedder=embedder, encoder=copied)
        build = time.perf_counter() - t0
        p50, p95 = latencies(big_kb, [r["q"] for r in rows], 1 if smoke else 2)
        print(
            f"{size:>7,} articles: build {build:.2f} s, memory +{rss_mb() - rss0:.0f} MB,"
            f" latency p50 {p50:.2f} ms, p95 {p95:.2f} ms"
        )
        del big_kb, big


if __name__ == "__main__":
    main()
