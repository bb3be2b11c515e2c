"""Major-incident grouping at scale: 10,000 reports in one hour.

Run: .venv/bin/python bench/incidents.py [--reports N] [--smoke]
A migrated store in a temporary folder gets N tickets spread over one hour (defaults:
10,000): three outbreaks (VPN down everywhere, Outlook in Hong Kong, the 12/F printer)
inside noise: 800 everyday complaints (40 things naming no service × 20 ways they
fail) with varied wording and sites — at 10,000 an hour the same complaint still comes
about three times in a window, below the threshold of five. Each report is grouped
exactly as `TicketService.open` does it (`bot.incidents.grouping.group_report`:
signature, open incidents, candidates by index, links, outbox notices). In the bot it
runs inside the ticket's own transaction, whose fsync the ticket pays anyway; here the
ticket rows are inserted beforehand and each report's grouping commits on its own under
WAL with synchronous=NORMAL, so the time measured is the grouping's, not the disk's.

Prints the total time and reports per second, p50/p95/max per report, the incidents
formed and tickets linked, the Python heap's peak (tracemalloc) and the process's peak
resident memory. --smoke: 1,000 reports, for CI.
"""

from __future__ import annotations

import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import iso
from bot.config import parse_settings
from bot.incidents.grouping import group_report
from bot.store import open_store
from bot.store.database import transaction
from bot.store.outbox import Outbox
from bot.tickets.model import COLUMNS, Ticket

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
OUTBREAKS = (  # (first minute, minutes, share of all reports, phrasings)
    (10, 12, 0.04, ("VPN down", "VPN is not connecting", "can't get on the VPN", "VPN 上唔到")),
    (25, 8, 0.03, ("Outlook not loading in Hong Kong", "Hong Kong: Outlook keeps crashing")),
    (40, 20, 0.005, ("printer on 12/F jammed", "12/F printer shows an error")),
)
SUBJECTS = (
    "monitor",
    "keyboard",
    "mouse",
    "laptop battery",
    "docking station",
    "headset",
    "excel",
    "shared drive",
    "password",
    "badge reader",
    "webcam",
    "speakers",
    "spreadsheet macro",
    "adobe reader",
    "desk handset",
    "python install",
    "second screen",
    "pdf export",
    "usb port",
    "desktop icons",
    "timesheet app",
    "browser",
    "java updater",
    "screen brightness",
    "caps lock",
    "network drive",
    "laptop fan",
    "calendar",
    "scanner",
    "power bi",
    "word template",
    "visio",
    "sound card",
    "touchpad",
    "hdmi cable",
    "charger",
    "bitlocker prompt",
    "vdi session",
    "expense app",
    "crm screen",
)
PROBLEMS = (
    "stopped working",
    "is very slow",
    "keeps freezing",
    "shows an error",
    "will not start",
    "is missing",
    "flickers",
    "crashes on save",
    "asks for a licence",
    "makes a noise",
    "is upside down",
    "went blank",
    "needs replacing",
    "lost my settings",
    "is greyed out",
    "logs me out",
    "cannot be found",
    "runs hot",
    "is stuck",
    "does nothing",
)
WORDS = ("again", "today", "since this morning", "urgent", "please help", "still", "badly")
SITES = ("", "", "", " in London", " in Hong Kong", " on 3/F", " on 7/F")


def arg(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def reports(n: int) -> list[tuple[datetime, str]]:
    """`n` (time, summary) pairs over one hour, in time order."""
    rng = random.Random(7)
    out: list[tuple[datetime, str]] = []
    for first, minutes, share, phrasings in OUTBREAKS:
        for _ in range(int(n * share)):
            at = START + timedelta(minutes=first + rng.random() * minutes)
            out.append((at, rng.choice(phrasings)))
    while len(out) < n:
        text = f"{rng.choice(SUBJECTS)} {rng.choice(PROBLEMS)} {rng.choice(WORDS)}"
        text += rng.choice(SITES)
        out.append((START + timedelta(seconds=rng.random() * 3600), text))
    return sorted(out)


def main() -> None:
    n = 1000 if "--smoke" in sys.argv else arg("--reports", 10_000)
    settings = parse_settings("", "bench", {})
    rows = reports(n)
    with tempfile.TemporaryDirectory() as folder:
        db = open_store(Path(folder) / "helpdesk.db")
        conn = db.conn
        with transaction(conn, durable=False):
            conn.executemany(
                "INSERT INTO tickets (id, requester_email, requester_platform, requester_user_id,"
                " requester_lang, summary, description, category, priority, impact, urgency,"
                " state, team, created_at, updated_at)"
                " VALUES (?, ?, 'slack', ?, 'en', ?, ?, 'other', 'P3', 'single', 'medium',"
                " 'new', 'Service Desk', ?, ?)",
                [
                    (1001 + i, f"user{i}@corp.example.com", f"U{i}", text, text, iso(at), iso(at))
                    for i, (at, text) in enumerate(rows)
                ],
            )
        tickets = [
            Ticket(*row)
            for row in conn.execute(f"SELECT {COLUMNS} FROM tickets ORDER BY id").fetchall()
        ]
        outbox = Outbox(db)
        tracemalloc.start()
        each: list[float] = []
        began = time.perf_counter()
        for ticket, (at, _) in zip(tickets, rows, strict=True):
            t0 = time.perf_counter()
            with transaction(conn, durable=False):
                group_report(conn, settings, outbox, ticket, at)
            each.append(time.perf_counter() - t0)
        total = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        incidents = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
        linked = conn.execute("SELECT count(*) FROM incident_tickets").fetchone()[0]
        titles = [r[0] for r in conn.execute("SELECT title FROM incidents ORDER BY id")]
        db.conn.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ms = sorted(x * 1000 for x in each)
    print(
        f"reports: {n} over one hour (window {settings.incidents.window_minutes} min,"
        f" threshold {settings.incidents.threshold})"
    )
    print(f"grouping total: {total:.2f} s ({n / total:,.0f} reports/s)")
    print(
        f"per report: p50 {statistics.median(ms):.2f} ms, p95 {ms[int(len(ms) * 0.95)]:.2f} ms,"
        f" max {ms[-1]:.2f} ms"
    )
    print(f"incidents formed: {incidents}; tickets linked: {linked}")
    print(f"incident titles: {'; '.join(titles[:6])}{' …' if len(titles) > 6 else ''}")
    print(f"peak Python heap while grouping (tracemalloc): {peak / 1024 / 1024:.1f} MiB")
    print(f"peak resident memory of the process: {rss_mb:.0f} MiB")


if __name__ == "__main__":
    main()
