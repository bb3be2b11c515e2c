"""Intent detection: accuracy on the labelled sets, and speed.

Run: .venv/bin/python bench/intents.py [--smoke]
Prints accuracy overall / English / Chinese per set, per-intent recall, the
classifier build time, and p50/p95 classify latency (single thread).
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

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def main() -> None:
    smoke = "--smoke" in sys.argv
    started = time.perf_counter()
    classifier = IntentClassifier()
    build_ms = (time.perf_counter() - started) * 1000
    print(f"classifier build: {build_ms:.1f} ms ({classifier.example_count} examples)")
    print(f"{'set':<24} {'n':>4} {'all':>6} {'en':>6} {'zh':>6}")
    latencies: list[float] = []
    for name in ("intents_labelled.jsonl", "intents_holdout.jsonl"):
        rows = [json.loads(x) for x in (DATA / name).read_text("utf-8").splitlines() if x]
        right: Counter[str] = Counter()
        total: Counter[str] = Counter()
        per_intent: Counter[str] = Counter()
        per_intent_right: Counter[str] = Counter()
        for row in rows:
            t0 = time.perf_counter()
            got = classifier.classify(row["text"]).intent
            latencies.append((time.perf_counter() - t0) * 1000)
            ok = got == row["intent"]
            for key in ("all", row["lang"]):
                total[key] += 1
                right[key] += ok
            per_intent[row["intent"]] += 1
            per_intent_right[row["intent"]] += ok
        cells = " ".join(f"{right[k] / total[k]:>6.3f}" for k in ("all", "en", "zh"))
        print(f"{name:<24} {len(rows):>4} {cells}")
        recall = ", ".join(f"{i} {per_intent_right[i] / per_intent[i]:.2f}" for i in INTENTS)
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
