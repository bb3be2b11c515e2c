"""Benchmark: what the durable inbox's commit costs on this disk.

Stores signed-and-translated messages the way `bot.inbox.Inbox` does (claim + row in one
`synchronous=FULL` transaction) through the real `Inbox.accept`, one at a time and in
groups (the writer commits every message that arrived meanwhile in one transaction), and
prints the p50 / p99 of one accept and the time per message.

    python bench/inbox_commit.py            # 400 messages each way
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.inbox import HeldSecrets, Inbox  # noqa: E402
from bot.messages import Actor, Incoming  # noqa: E402
from bot.services import build_services  # noqa: E402
from tests.harness import make_settings  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(n: int, group: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        services = build_services(make_settings(Path(tmp)))
        inbox = Inbox(
            services.db,
            services.conversations,
            services.tickets,
            HeldSecrets(),
            lambda _: None,
            services.clock,
        )
        inbox.start()
        actor = Actor("slack", "U1", "chan.taiman@corp.example.com")
        times: list[float] = []

        async def one(i: int) -> None:
            msg = Incoming(actor, f"D{i}", "vpn drops", event_id=f"Ev{group}-{i}")
            t0 = time.perf_counter()
            assert await inbox.accept(msg, {"channel": f"D{i}"})
            times.append(time.perf_counter() - t0)

        started = time.perf_counter()
        for start in range(0, n, group):
            await asyncio.gather(*(one(i) for i in range(start, min(n, start + group))))
        total = time.perf_counter() - started
        await inbox.close()
        services.db.conn.close()
    return pct(times, 0.5) * 1000, pct(times, 0.99) * 1000, total / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=400)
    args = parser.parse_args()
    print("| messages at once | accept p50 ms | accept p99 ms | ms per message |")
    print("|---|---|---|---|")
    for group in (1, 10, 50):
        p50, p99, each = asyncio.run(measure(args.n, group))
        print(f"| {group} | {p50:.2f} | {p99:.2f} | {each:.3f} |")


if __name__ == "__main__":
    main()
