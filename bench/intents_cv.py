"""Intent model: cross-validation on the training utterances, and how its constants were chosen.

Run: .venv/bin/python bench/intents_cv.py [--folds 5]
Prints k-fold accuracy per language, the expected calibration error (ECE, 10 bins) of the
out-of-fold confidence before and after the temperature, the temperature that minimises the
out-of-fold log loss, and for each clarifying margin the share of messages that would get a
question and the resulting utility (1 answered right, 0.5 or 0.75 asked with the right intent
among the two buttons, 0 otherwise), and accuracy for each fallback threshold. Only the
shipped training utterances are used: never the unseen set.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.intents.logistic import softmax
from bot.intents.model import train_model
from bot.intents.training_data import INTENTS, shipped_utterances


def expected_calibration_error(
    confidence: npt.NDArray[np.float32], right: npt.NDArray[np.bool_], bins: int = 10
) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            gap = abs(float(right[inside].mean()) - float(confidence[inside].mean()))
            total += gap * inside.mean()
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    folds = parser.parse_args().folds
    utterances = shipped_utterances()
    labels = np.asarray([INTENTS.index(u.intent) for u in utterances])
    order = np.random.default_rng(0).permutation(len(utterances))
    fold_of = np.empty(len(utterances), int)
    fold_of[order] = np.arange(len(utterances)) % folds
    logits = np.zeros((len(utterances), len(INTENTS)), np.float32)
    for k in range(folds):
        train = [u for u, f in zip(utterances, fold_of, strict=True) if f != k]
        test = np.flatnonzero(fold_of == k)
        model = train_model(train)
        logits[test] = model.logits([utterances[i].text for i in test])
    predicted = logits.argmax(1)
    right = predicted == labels
    langs = Counter(u.lang or "examples" for u in utterances)
    print(f"{folds}-fold cross-validation over {len(utterances)} utterances")
    print(f"  accuracy all {right.mean():.3f}", end="")
    for lang in sorted(langs):
        mask = np.asarray([(u.lang or "examples") == lang for u in utterances])
        print(f", {lang} {right[mask].mean():.3f} (n={mask.sum()})", end="")
    print()
    temperatures = np.round(np.arange(0.2, 2.01, 0.05), 2)
    losses = [
        -float(np.log(softmax(logits, t)[np.arange(len(labels)), labels] + 1e-12).mean())
        for t in temperatures
    ]
    best_t = float(temperatures[int(np.argmin(losses))])
    for t in (1.0, best_t):
        p = softmax(logits, t)
        ece = expected_calibration_error(p.max(1), right)
        loss = losses[list(temperatures).index(t)]
        print(f"  temperature {t:.2f}: log loss {loss:.3f}, ECE {ece:.3f}")
    p = softmax(logits, best_t)
    top2 = np.argsort(p, axis=1)[:, -2:]
    margin = p[np.arange(len(p)), top2[:, 1]] - p[np.arange(len(p)), top2[:, 0]]
    in_two = (top2 == labels[:, None]).any(1)
    confidence = p.max(1)
    print(
        f"  mean confidence: right {confidence[right].mean():.3f},"
        f" wrong {confidence[~right].mean():.3f}"
    )
    print("  margin  asked  utility(question=0.5)  utility(question=0.75)")
    for m in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4):
        asked = margin < m
        low = np.where(asked, 0.5 * in_two, right.astype(float)).mean()
        high = np.where(asked, 0.75 * in_two, right.astype(float)).mean()
        print(f"  {m:>6.2f} {asked.mean():>6.3f} {low:>22.4f} {high:>22.4f}")
    fallback = INTENTS.index("kb_question")
    print("  threshold  accuracy (below it: kb_question)")
    for threshold in (0.0, 0.2, 0.3, 0.4, 0.5, 0.66):
        chosen = np.where(confidence < threshold, fallback, p.argmax(1))
        print(f"  {threshold:>9.2f} {(chosen == labels).mean():>9.4f}")
    wrong = Counter(
        (INTENTS[a], INTENTS[b]) for a, b in zip(labels, predicted, strict=True) if a != b
    )
    print(
        "  most confused (true -> predicted):",
        ", ".join(f"{a}->{b} {n}" for (a, b), n in wrong.most_common(8)),
    )


if __name__ == "__main__":
    main()
