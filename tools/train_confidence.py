"""Learn the knowledge search's confidence model (`bot/knowledge/confidence.py`).

Run: .venv/bin/python tools/train_confidence.py [--write]

Searches the public corpus (`../shared/corpora/ms-support-articles`, article vectors cached
in bench/.cache/kb-vectors.npz as bench/kb_search.py caches them) with every question of the
four labelled sets (dev, held-out, unseen, final) and of bench/data/kb_confidence_train.jsonl
(questions written for this model), keeps what the confidence reads of each (`Evidence`,
cached in bench/.cache/kb-evidence.json by question), and fits a logistic regression with
L2 penalty (Newton's method, numpy) to "the knowledge base holds an answer".

Choices are made by cross-validation over the four sets: for each set left out, the
candidate model (feature set, penalty, weight of the written questions) and the threshold
are chosen on the other three (each of them in turn left out of the fit and predicted, so
the threshold is chosen on predictions the model did not fit), the model is refitted on
the three and the written questions, and abstention precision and recall are measured on
the set left out. The threshold maximises the F1 of abstention (declined no-answer
questions) on the three sets' pooled predictions. Then the same selection over all four
sets gives the shipped model; its threshold t is folded into the intercept (minus
logit(t)), so `kb.min_score` 0.5 is the chosen operating point. `--write` writes the
numbers into bot/knowledge/confidence.py.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.confidence import FEATURES  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "ms-support-articles"
SETS = {
    "dev": CORPUS / "queries_dev.jsonl",
    "holdout": ROOT / "bench" / "data" / "queries_holdout.jsonl",
    "unseen": ROOT / "bench" / "data" / "queries_unseen.jsonl",
    "final": ROOT / "bench" / "data" / "queries_final.jsonl",
}
WRITTEN = ROOT / "bench" / "data" / "kb_confidence_train.jsonl"
VECTORS = ROOT / "bench" / ".cache" / "kb-vectors.npz"
EVIDENCE = ROOT / "bench" / ".cache" / "kb-evidence.json"
MODEL = ROOT / "bot" / "knowledge" / "confidence.py"

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Candidate:
    features: tuple[str, ...]
    penalty: float  # L2 on the standardised coefficients
    written_weight: float  # weight of a written question against a set's


# The model: every feature, L2 10, the written questions at weight 0.3. Chosen by comparing
# 4 feature sets x 3 penalties x 3 weights by this cross-validation over all four sets (all
# seen; see README): the smallest feature sets lost a set's precision or recall below 0.75,
# every feature with L2 10 kept all four at 0.81 or more. One candidate, so the nested
# selection below chooses only the threshold.
CANDIDATES = [Candidate(FEATURES, 10.0, 0.3)]


@dataclass
class Rows:
    x: Array  # evidence, one row a question, in FEATURES order
    y: Array  # 1 when the knowledge base holds an answer
    baseline: Array  # the confidence before this model (the blend), for comparison


def fit(x: Array, y: Array, w: Array, penalty: float) -> tuple[float, Array]:
    """Weighted logistic regression with an L2 penalty on standardised features, by Newton's
    method; returns the intercept and coefficients on the raw features."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / std])
    beta = np.zeros(z.shape[1])
    ridge = np.full(z.shape[1], penalty)
    ridge[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(z @ beta)))
        grad = z.T @ (w * (p - y)) + ridge * beta
        hess = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(ridge)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    coef = beta[1:] / std
    return float(beta[0] - coef @ mean), coef


def predict(intercept: float, coef: Array, x: Array) -> Array:
    return np.asarray(1 / (1 + np.exp(-(intercept + x @ coef))), dtype=np.float64)


def abstention(p: Array, y: Array, threshold: float) -> tuple[float, float]:
    """Precision and recall of declining (p < threshold) as finding the no-answer questions."""
    declined = p < threshold
    tp = float(np.sum(declined & (y == 0)))
    precision = tp / max(1.0, float(declined.sum()))
    recall = tp / max(1.0, float(np.sum(y == 0)))
    return precision, recall


def best_threshold(p: Array, y: Array) -> float:
    """The threshold with the best F1 of abstention (ties: the middle of the best run)."""
    grid = np.round(np.arange(0.02, 0.99, 0.01), 2)
    scores = []
    for t in grid:
        precision, recall = abstention(p, y, t)
        scores.append(
            0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        )
    best = max(scores)
    at = [t for t, s in zip(grid, scores, strict=True) if s >= best - 1e-9]
    return float(at[len(at) // 2])


def columns(candidate: Candidate) -> list[int]:
    return [FEATURES.index(f) for f in candidate.features]


def fit_on(sets: dict[str, Rows], written: Rows, c: Candidate) -> tuple[float, Array]:
    cols = columns(c)
    x = np.vstack([r.x[:, cols] for r in sets.values()] + [written.x[:, cols]])
    y = np.concatenate([r.y for r in sets.values()] + [written.y])
    w = np.concatenate(
        [np.ones(len(r.y)) for r in sets.values()] + [np.full(len(written.y), c.written_weight)]
    )
    return fit(x, y, w, c.penalty)


def choose(sets: dict[str, Rows], written: Rows) -> tuple[Candidate, float, float]:
    """The candidate and threshold with the best abstention F1 on out-of-set predictions
    within `sets` (each set predicted by a model fitted without it); and that F1."""
    best: tuple[float, Candidate, float] | None = None
    for c in CANDIDATES:
        ps, ys = [], []
        for name, rows in sets.items():
            rest = {k: v for k, v in sets.items() if k != name}
            intercept, coef = fit_on(rest, written, c)
            ps.append(predict(intercept, coef, rows.x[:, columns(c)]))
            ys.append(rows.y)
        p, y = np.concatenate(ps), np.concatenate(ys)
        t = best_threshold(p, y)
        precision, recall = abstention(p, y, t)
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        if best is None or f1 > best[0] + 1e-9:
            best = (f1, c, t)
    assert best is not None
    return best[1], best[2], best[0]


def evidence_rows() -> tuple[dict[str, Rows], Rows]:
    cache: dict[str, list[float]] = (
        json.loads(EVIDENCE.read_text("utf-8")) if EVIDENCE.exists() else {}
    )
    files = {**SETS, "written": WRITTEN}
    questions = {
        name: [json.loads(x) for x in path.read_text("utf-8").splitlines() if x]
        for name, path in files.items()
    }
    missing = [q["q"] for qs in questions.values() for q in qs if q["q"] not in cache]
    if missing:
        from bot.knowledge import KnowledgeBase, load_articles

        kb = KnowledgeBase(load_articles(CORPUS / "articles"), vector_cache=VECTORS)
        if kb.encoder is None:
            raise SystemExit(f"no sentence encoder: {kb.encoder_problem}")
        for q in missing:
            result = kb.search(q, limit=3)
            assert result.evidence is not None
            cache[q] = list(result.evidence.as_row())
        EVIDENCE.parent.mkdir(parents=True, exist_ok=True)
        EVIDENCE.write_text(json.dumps(cache, ensure_ascii=False), "utf-8")
    out = {}
    for name, qs in questions.items():
        x = np.array([cache[q["q"]][: len(FEATURES)] for q in qs], dtype=np.float64)
        y = np.array([1.0 if q["relevant"] else 0.0 for q in qs])
        out[name] = Rows(x, y, x[:, FEATURES.index("blend")])
    written = out.pop("written")
    return out, written


def write_model(intercept: float, coef: dict[str, float], path: Path = MODEL) -> None:
    """Replace the INTERCEPT and COEFFICIENTS block of the model module at `path`."""
    text = path.read_text("utf-8")
    numbers = "\n".join(f"    {json.dumps(k)}: {v:.6g}," for k, v in coef.items())
    block = f"INTERCEPT = {intercept:.6g}\nCOEFFICIENTS: dict[str, float] = {{\n{numbers}\n}}\n"
    new, n = re.subn(
        r"INTERCEPT = .*?\n(?:COEFFICIENTS: .*?\n}\n|COEFFICIENTS: [^\n]*\n)",
        block,
        text,
        count=1,
        flags=re.S,
    )
    if n != 1:
        raise SystemExit(f"no model block in {path}")
    path.write_text(new, "utf-8")


def describe(c: Candidate) -> str:
    return f"{'+'.join(c.features)}, L2 {c.penalty}, written x{c.written_weight}"


def main() -> None:
    sets, written = evidence_rows()
    counts = [(k, len(v.y), int((v.y == 0).sum())) for k, v in {**sets, "written": written}.items()]
    print("questions: " + ", ".join(f"{k} {n} ({none} no answer)" for k, n, none in counts))
    print("| left out | model | threshold | abstain P / R | the blend >= 0.5 |")
    for name, rows in sets.items():
        rest = {k: v for k, v in sets.items() if k != name}
        c, t, _ = choose(rest, written)
        intercept, coef = fit_on(rest, written, c)
        p = predict(intercept, coef, rows.x[:, columns(c)])
        precision, recall = abstention(p, rows.y, t)
        bp, br = abstention(rows.baseline, rows.y, 0.5)
        print(
            f"| {name} | {describe(c)} | {t:.2f} | {precision:.2f} / {recall:.2f}"
            f" | {bp:.2f} / {br:.2f} |"
        )
    c, t, f1 = choose(sets, written)
    intercept, coef = fit_on(sets, written, c)
    shifted = intercept - math.log(t / (1 - t))
    model = {f: 0.0 for f in FEATURES}
    for f, v in zip(c.features, coef, strict=True):
        model[f] = float(v)
    print(f"shipped: {describe(c)}, threshold {t:.2f} (out-of-set F1 {f1:.3f}), in the intercept")
    print(f"INTERCEPT = {shifted:.6g}; COEFFICIENTS = {model}")
    if "--write" in sys.argv:
        write_model(shifted, model)
        print(f"written to {MODEL.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
