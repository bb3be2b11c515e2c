"""Secret redaction: what it misses and what it changes that it should not.

Run: .venv/bin/python bench/redaction.py [--holdout | --queries PATH] [--smoke] [--show]
Default: the labelled corpus tests/data/secret_lines.jsonl ({"text", "secret": [substrings],
"lang", "context"}). --holdout: bench/data/secret_lines_holdout.jsonl, written by someone
who never saw the code; never tuned on (--show is refused for it). --queries PATH: a file of
innocent lines ("q" or "text" per JSON line, e.g. bench/data/queries_holdout.jsonl): only
the changed count means anything. --smoke: the first 60 lines, as CI's smoke run. --show:
print each miss and each changed innocent line.

A secret line counts as missed when any of its labelled substrings, or any word of one that
the rest of the line does not also contain, is still in the output (a passphrase with only its
first word masked is missed).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.redact import SecretContext, redact

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "secret_lines.jsonl"
HOLDOUT = ROOT / "bench" / "data" / "secret_lines_holdout.jsonl"


def _rows(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    for row in rows:
        row.setdefault("text", row.get("q", ""))
        row.setdefault("secret", [])
        row.setdefault("lang", "?")
        row.setdefault("context", "none")
    return rows


def leaked(text: str, secrets: list[str], redacted: str) -> bool:
    """Whether any of `secrets` (substrings of `text`) survives in `redacted`, whole or in part."""
    for secret in secrets:
        rest = text.replace(secret, " ")
        words = [w for w in secret.split() if len(w) >= 3 and w not in rest]
        if secret in redacted or any(w in redacted for w in words):
            return True
    return False


def main() -> None:
    args = sys.argv[1:]
    show = "--show" in args
    if "--holdout" in args:
        if show:
            sys.exit("--show is refused on the held-out set: it is never tuned on")
        path = HOLDOUT
    elif "--queries" in args:
        path = Path(args[args.index("--queries") + 1])
    else:
        path = DEV
    rows = _rows(path)
    if "--smoke" in args:
        rows = rows[:60]
    missed: Counter[str] = Counter()
    secret: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    innocent: Counter[str] = Counter()
    started = time.perf_counter()
    for row in rows:
        text = str(row["text"])
        context = SecretContext(str(row["context"]))
        out = redact(text, context).text
        secrets = [str(s) for s in row["secret"]]  # type: ignore[attr-defined]
        groups = ("all", str(row["lang"]), f"context:{context.value}")
        if secrets:
            miss = leaked(text, secrets, out)
            for group in groups:
                secret[group] += 1
                missed[group] += miss
            if miss and show:
                print(f"MISSED  [{context.value}] {text!r} -> {out!r}")
        else:
            change = out != text
            for group in groups:
                innocent[group] += 1
                changed[group] += change
            if change and show:
                print(f"CHANGED [{context.value}] {text!r} -> {out!r}")
    per_line_us = (time.perf_counter() - started) / max(len(rows), 1) * 1e6
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(rows)} lines")
    print(f"{'group':<22} {'secrets missed':>18} {'innocent lines changed':>26}")
    for group in sorted(set(secret) | set(innocent), key=lambda g: (g != "all", g)):
        s, i = secret[group], innocent[group]
        rate = f"{changed[group] / i:.1%}" if i else "-"
        print(f"{group:<22} {missed[group]:>8} of {s:<7} {changed[group]:>8} of {i:<5} ({rate})")
    print(f"redact(): {per_line_us:.0f} µs per line")


if __name__ == "__main__":
    main()
