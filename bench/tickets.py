"""Ticket store at scale: create, queue, my tickets and the SLA scan over 1M tickets.

Run: .venv/bin/python bench/tickets.py [--tickets N] [--events-per-ticket K] [--smoke]
Defaults: 1,000,000 tickets and 10 events each (10M events). The data is generated
straight into SQLite with the schema the bot migrates to (about 2 years of history:
1% of tickets still open, 5,000 requesters, 40 engineers, six teams), then measured
through the real `TicketService` with the store's production settings (WAL,
synchronous=FULL). The generated store is kept in bench/.cache/ and reused when
its size matches. --smoke: 20,000 tickets, for CI.

Prints p50/p95 of: opening a ticket (idempotency key, transcript, triage outbox
row), each `queue` view, "my tickets"; and the SLA scan's time with a few hundred
tickets due.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import iso
from bot.config import parse_settings
from bot.store import open_store
from bot.tickets.service import TicketService

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
TEAMS = ("Service Desk", "Desktop", "Network", "Messaging", "Identity", "Security")
CATEGORIES = ("account & access", "email", "Teams", "network/VPN", "hardware", "printing")
ENGINEERS = [f"eng{i}@corp.example.com" for i in range(40)]
REQUESTERS = [f"user{i}@corp.example.com" for i in range(5000)]
DUE_NOW = 300


def arg(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def generate(path: Path, n: int, per_ticket: int) -> None:
    """Fill a migrated store with `n` tickets and `n * per_ticket` events, fast."""
    open_store(path).conn.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    rng = random.Random(42)
    span = timedelta(days=730).total_seconds()
    open_states = ("new", "triaged", "in_progress", "waiting_on_user", "escalated")
    batch_t: list[tuple[object, ...]] = []
    batch_e: list[tuple[object, ...]] = []
    due_left = DUE_NOW

    def flush() -> None:
        conn.executemany(
            "INSERT INTO tickets (id, idempotency_key, requester_email, requester_platform,"
            " requester_user_id, requester_conversation, summary, description, category,"
            " priority, state, assignee, team, created_at, updated_at, resolved_at,"
            " first_response_at, response_due_at, resolution_due_at, sla_next_at)"
            " VALUES (?, ?, ?, 'slack', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch_t,
        )
        conn.executemany(
            "INSERT INTO ticket_events (ticket_id, at, kind, actor, body, public, data_json)"
            " VALUES (?, ?, ?, ?, ?, ?, '{}')",
            batch_e,
        )
        batch_t.clear()
        batch_e.clear()

    for i in range(n):
        number = 1001 + i
        age = span * (1 - i / n) + rng.random() * 600
        created = NOW - timedelta(seconds=age)
        recent = i >= n * 0.99
        state = rng.choice(open_states) if recent else rng.choice(("closed",) * 9 + ("cancelled",))
        requester = rng.choice(REQUESTERS)
        assignee = rng.choice(ENGINEERS) if state != "new" else None
        priority = rng.choice(("P1", "P2", "P3", "P3", "P4"))
        next_at = None
        if recent and state != "waiting_on_user":
            if due_left > 0 and rng.random() < 0.05:
                next_at, due_left = iso(NOW - timedelta(minutes=1)), due_left - 1
            else:
                next_at = iso(NOW + timedelta(minutes=rng.randrange(5, 5000)))
        at = iso(created)
        batch_t.append(
            (
                number,
                f"slack:Ev{number}",
                requester,
                "U" + requester[4:8],
                "D" + requester[4:8],
                f"Problem {number}: outlook keeps asking for my password",
                "The requester said: outlook keeps asking for my password since this morning",
                rng.choice(CATEGORIES),
                priority,
                state,
                assignee,
                rng.choice(TEAMS),
                at,
                at,
                None if recent else iso(created + timedelta(hours=5)),
                iso(created + timedelta(minutes=20)) if assignee else None,
                iso(created + timedelta(hours=1)) if recent else None,
                iso(created + timedelta(days=3)) if recent else None,
                next_at,
            )
        )
        kinds = ("created", "transcript", "assignment", "comment", "note", "contact", "state")
        for k in range(per_ticket):
            batch_e.append(
                (
                    number,
                    iso(created + timedelta(minutes=7 * k)),
                    kinds[k % len(kinds)] if k else "created",
                    assignee or requester,
                    "checked the mailbox rules and the credential manager",
                    k % 2,
                )
            )
        if len(batch_t) >= 20_000:
            flush()
    flush()
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def timed(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def cached_store(n: int, per_ticket: int) -> Path:
    """bench/.cache/tickets-N-K.db, generated the first time (the other benches use it too)."""
    cache = ROOT / "bench" / ".cache"
    cache.mkdir(exist_ok=True)
    path = cache / f"tickets-{n}-{per_ticket}.db"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path.with_suffix(".tmp"), n, per_ticket)
        path.with_suffix(".tmp").rename(path)
        took = time.perf_counter() - t0
        print(f"generated {n:,} tickets, {n * per_ticket:,} events in {took:.0f} s")
    return path


def main() -> None:
    smoke = "--smoke" in sys.argv
    n = arg("--tickets", 20_000 if smoke else 1_000_000)
    per_ticket = arg("--events-per-ticket", 10)
    path = cached_store(n, per_ticket)
    work = path.parent / "work.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    work.write_bytes(path.read_bytes())
    clock_now = [NOW]
    settings = parse_settings("", "bench", {})
    db = open_store(work)
    service = TicketService(db, settings, lambda: clock_now[0])
    rng = random.Random(7)
    size_mb = work.stat().st_size / 1e6
    print(f"store: {n:,} tickets, {n * per_ticket:,} events, {size_mb:,.0f} MB")

    transcript = [("user", "outlook keeps asking for my password"), ("bot", "I can open a ticket")]

    def create(i: int) -> None:
        service.open(
            requester_email=rng.choice(REQUESTERS),
            requester_platform="slack",
            requester_user_id="U1",
            summary="outlook keeps asking for my password",
            description="outlook keeps asking for my password since this morning",
            transcript=transcript,
            idempotency_key=f"bench:{i}",
        )

    rows = [("create a ticket", *timed(create, 200))]
    for view in ("open", "mine", "unassigned", "team", "breaching"):
        rows.append(
            (
                f"queue {view}",
                *timed(
                    lambda i, v=view: service.queue(
                        v, engineer=ENGINEERS[i % 40], team=TEAMS[i % 6]
                    ),
                    200,
                ),
            )
        )
    rows.append(
        ("my tickets", *timed(lambda i: service.for_requester(rng.choice(REQUESTERS)), 200))
    )
    t0 = time.perf_counter()
    counts = service.scan()
    scan_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    service.scan()
    idle_ms = (time.perf_counter() - t0) * 1000
    print("| operation | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name, p50, p95 in rows:
        print(f"| {name} | {p50:.2f} | {p95:.2f} |")
    print(
        f"SLA scan: {scan_ms:.0f} ms raising {counts['at_risk'] + counts['breached']} alerts"
        f" ({counts}); a scan with nothing due: {idle_ms:.1f} ms"
    )
    db.conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
