"""One message through the engine, in process: where the time of a chat answer goes.

Run: .venv/bin/python bench/engine.py [-n N] [--smoke]
Builds the services on the embedded defaults (shipped KB, a fresh SQLite store in a
temporary directory, the demo directory) and sends N KB questions from 50 users through
`Engine.handle`, one at a time, each with its own event id (as Slack delivers them). It
prints p50/p95 wall and CPU ms per message, the rows written per message, and, for
comparison, the classifier and the KB search alone on the same questions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from slack_serve import QUESTIONS as SLACK_QUESTIONS

from bot.config import load_settings
from bot.engine import Engine
from bot.handlers import default_handlers
from bot.messages import Actor, Incoming
from bot.services import build_services

# The Slack benchmark's questions, plus a Cantonese one and a misspelt one.
QUESTIONS = [*SLACK_QUESTIONS, "我部電腦上唔到網", "outlok mailbox ful"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "HELPDESK_DATA_DIR": data}
        env.pop("HELPDESK_CONFIG", None)
        services = build_services(load_settings(env))
        engine = Engine(services, default_handlers())
        users = [
            Actor("slack", f"UB{i:04d}", f"user{i}@corp.example.com", f"User {i}")
            for i in range(50)
        ]
        wall: list[float] = []
        cpu: list[float] = []
        conn = services.db.conn.raw  # type: ignore[attr-defined]  # the SQLite store
        before = conn.total_changes
        for i in range(n):
            msg = Incoming(
                actor=users[i % len(users)],
                conversation_id=f"D{i}",
                text=QUESTIONS[i % len(QUESTIONS)],
                event_id=f"Ev{i}",
            )
            c0, t0 = time.process_time(), time.perf_counter()
            replies = await engine.handle(msg)
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            if not replies:
                raise SystemExit(f"no reply to {msg.text!r}")
        rows = (conn.total_changes - before) / n
        classify, search = [], []
        for i in range(n):
            text = QUESTIONS[i % len(QUESTIONS)]
            t0 = time.perf_counter()
            services.classifier.classify(text)
            t1 = time.perf_counter()
            services.kb.search(text, "zh-Hant" if not text.isascii() else "en")
            t2 = time.perf_counter()
            classify.append((t1 - t0) * 1000)
            search.append((t2 - t1) * 1000)
        print(f"{n} KB questions through Engine.handle (shipped KB, fresh store, demo directory)")
        print("| part | p50 ms | p95 ms | mean ms |")
        print("|---|---|---|---|")
        for label, values in (
            ("Engine.handle, wall", wall),
            ("Engine.handle, CPU", cpu),
            ("intent classifier alone", classify),
            ("KB search alone", search),
        ):
            print(
                f"| {label} | {pct(values, 0.5):.2f} | {pct(values, 0.95):.2f}"
                f" | {statistics.fmean(values):.2f} |"
            )
        print(f"rows written per message: {rows:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="messages")
    parser.add_argument("--smoke", action="store_true", help="a few messages, to check it runs")
    args = parser.parse_args()
    asyncio.run(run(20 if args.smoke else args.n))


if __name__ == "__main__":
    main()
