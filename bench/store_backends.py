"""The store's writes on SQLite and on PostgreSQL, back to back: ticket opens (with their
event and transcript), audit appends (chain + lock), per-message bookkeeping (dedupe claim,
committed without waiting for the disk), and one indexed read.

Run: .venv/bin/python bench/store_backends.py [--n N] [--url postgresql://...] [--smoke]
Without --url it starts a throwaway PostgreSQL cluster (tests/postgres_cluster.py, unix
socket, `fsync=on` as a real server would run) and removes it afterwards. Both stores are
on this machine's disk; PostgreSQL is reached over a unix socket, one connection, one
thread (a replica's serving thread). --smoke: 30 of each, for CI.

Prints per operation: p50 ms on each backend and the ratio PostgreSQL / SQLite.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import parse_settings
from bot.store import open_store
from bot.store.audit import AuditEntry, AuditLog
from bot.store.database import Database
from bot.store.events import ProcessedEvents
from bot.tickets.service import TicketService


def arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def timed(n: int, work: Callable[[int], object]) -> float:
    """p50 of `work(i)` in ms over n calls (after 5 warm-up calls)."""
    for i in range(5):
        work(-1 - i)
    times = []
    for i in range(n):
        started = time.perf_counter()
        work(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(db: Database, n: int) -> dict[str, float]:
    settings = parse_settings("", "bench", {})
    tickets = TicketService(db, settings)
    audit = AuditLog(db)
    events = ProcessedEvents(db)

    def open_ticket(i: int) -> object:
        return tickets.open(
            requester_email=f"user{i}@corp.example.com",
            requester_platform="slack",
            requester_user_id=f"U{i}",
            summary="printer on 5/F jams",
            description="the printer on 5/F jams on every page",
            transcript=[("user", "printer jams"), ("bot", "sorry to hear that")],
            idempotency_key=f"bench-{i}",
        )

    def append(i: int) -> object:
        return audit.append(
            AuditEntry("slack", f"U{i}", f"d{i}", f"t{i}", "unlock", "none", "done")
        )

    def claim(i: int) -> object:
        return events.claim("slack", f"Ev{i}")

    def read(i: int) -> object:
        return tickets.get(1001 + abs(i) % n)

    return {
        "ticket open": timed(n, open_ticket),
        "audit append": timed(n, append),
        "dedupe claim (bookkeeping)": timed(n, claim),
        "ticket read": timed(n, read),
    }


def main() -> None:
    smoke = "--smoke" in sys.argv
    n = int(arg("--n", "30" if smoke else "500"))
    url = arg("--url", "")
    cluster = None
    if not url:
        from tests.postgres_cluster import postgres_available, start_cluster

        reason = postgres_available()
        if reason:
            print(f"PostgreSQL part skipped: {reason}")
        else:
            cluster = start_cluster(fsync=True)
            url = cluster.new_database()
    try:
        with tempfile.TemporaryDirectory() as folder:
            results = {"sqlite": measure(open_store(Path(folder) / "helpdesk.db"), n)}
            if url:
                results["postgres"] = measure(open_store(url), n)
        print(f"{n} operations each, p50 ms")
        print(f"{'operation':28} {'SQLite':>8} {'PostgreSQL':>11} {'ratio':>6}")
        for name, ms in results["sqlite"].items():
            pg = results.get("postgres", {}).get(name)
            shown = f"{pg:11.2f} {pg / ms:6.1f}" if pg is not None else f"{'-':>11} {'-':>6}"
            print(f"{name:28} {ms:8.2f} {shown}")
    finally:
        if cluster is not None:
            from bot.store.postgres import close_pools

            close_pools()
            cluster.stop()


if __name__ == "__main__":
    main()
