"""Intent detection: accuracy on the labelled sets, and speed.

Run: .venv/bin/python bench/intents.py [--smoke]
Prints accuracy overall and per language per set (the labelled and hold-out sets in
tests/data, and the unseen set bench/data/intents_unseen.jsonl, written blind by a separate
writer and never used to choose anything), per-intent recall, how often the bot would ask
a clarifying question, the classifier build time, and p50/p95 classify latency.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.intents import INTENTS, IntentClassifier

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SETS = (
    DATA / "intents_labelled.jsonl",
    DATA / "intents_holdout.jsonl",
    ROOT / "bench" / "data" / "intents_unseen.jsonl",
)


def main() -> None:
    smoke = "--smoke" in sys.argv
    started = time.perf_counter()
    classifier = IntentClassifier()
    build_ms = (time.perf_counter() - started) * 1000
    print(f"classifier build: {build_ms:.1f} ms ({classifier.example_count} examples)")
    latencies: list[float] = []
    for path in SETS:
        name = path.name
        rows = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x]
        asked = 0
        right: Counter[str] = Counter()
        total: Counter[str] = Counter()
        per_intent: Counter[str] = Counter()
        per_intent_right: Counter[str] = Counter()
        for row in rows:
            t0 = time.perf_counter()
            result = classifier.classify(row["text"])
            latencies.append((time.perf_counter() - t0) * 1000)
            got = result.intent
            asked += result.close
            ok = got == row["intent"]
            for key in ("all", row["lang"]):
                total[key] += 1
                right[key] += ok
            per_intent[row["intent"]] += 1
            per_intent_right[row["intent"]] += ok
        cells = ", ".join(f"{k} {right[k] / total[k]:.3f} (n={total[k]})" for k in total)
        print(f"{name}: {cells}; a question asked for {asked / len(rows):.3f}")
        recall = ", ".join(
            f"{i} {per_intent_right[i] / per_intent[i]:.2f} (n={per_intent[i]})"
            for i in INTENTS
            if per_intent[i]
        )
        print(f"  recall: {recall}")
    repeat = 1 if smoke else 20
    sample = [
        json.loads(x)["text"]
        for x in (DATA / "intents_holdout.jsonl").read_text("utf-8").splitlines()
        if x
    ]
    timings = []
    for _ in range(repeat):
        for text in sample:
            t0 = time.perf_counter()
            classifier.classify(text)
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    p50 = statistics.median(timings)
    print(f"classify latency: p50 {p50:.3f} ms, p95 {p95:.3f} ms ({len(timings)} calls)")


if __name__ == "__main__":
    main()
