"""The blind conversation suite: how many scripted conversations go right, and why not.

Run: .venv/bin/python bench/conversations.py [--file FILE] [--smoke] [--failures]

Each line of `tests/data/conversations.jsonl` (written from the README and the issue by
someone who saw no code) is a conversation with a demo user and what must hold after it;
`tests/conversation_suite.py` runs one on the real engine with a fresh store and says
which expectations failed (the same code `tests/test_conversations.py` runs under pytest).

Prints the share of conversations with every expectation met, overall, per language and
for the "documented" (the README says so) and "expected" (a mature product would) ones;
`--failures` lists each failed expectation.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conversation_suite import SUITE, run, scenarios  # noqa: E402


def main() -> None:
    suite = Path(sys.argv[sys.argv.index("--file") + 1]) if "--file" in sys.argv else SUITE
    rows = scenarios(suite)
    if "--smoke" in sys.argv:
        rows = rows[:10]
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    report: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, scenario in enumerate(rows):
            failures = run(scenario, Path(tmp) / str(n))
            for key in ("all", scenario["lang"], scenario.get("spec", "documented")):
                total[key] += 1
                right[key] += not failures
            report += [f"{scenario['id']}: {f}" for f in failures]
    print(f"conversations: {len(rows)} from {suite.name}")
    for key in ("all", "en", "zh", "mixed", "documented", "expected"):
        if total[key]:
            share = right[key] / total[key]
            print(f"  {key:<11} {right[key]:>4} of {total[key]:<4} right ({share:.0%})")
    if "--failures" in sys.argv:
        print("\n".join(report))


if __name__ == "__main__":
    main()
