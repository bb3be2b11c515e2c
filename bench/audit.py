"""The audit trail: appends per second (chain + anchor, synchronous=FULL), and the time
`helpdesk audit verify` and `helpdesk audit export` take over a large trail.

Run: .venv/bin/python bench/audit.py [--records N] [--appends K] [--smoke]
Defaults: a trail of 200,000 records (generated through the real `AuditLog.append`, so
every hash is real; kept in bench/.cache/ and reused), 500 timed appends. --smoke: 2,000
records and 50 appends, for CI.

Prints: append p50/p95 (ms) and appends/s; verify time and records/s; JSONL export time.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store import open_store
from bot.store.audit import AuditEntry, AuditLog

CACHE = Path(__file__).resolve().parent / ".cache"


def arg(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        actor_platform="slack",
        actor_id=f"U{i % 5000:05d}",
        actor_directory_id=f"{i % 5000:08d}-0000-0000-0000-000000000000",
        target=f"{i % 5000:08d}-0000-0000-0000-000000000000",
        action=("unlock", "password_reset", "lookup", "group_check")[i % 4],
        verification=("none", "approval")[i % 2],
        outcome=("done", "refused", "failed")[i % 3],
        reason="",
        request_id=f"Ev{i:08d}",
    )


def main() -> None:
    smoke = "--smoke" in sys.argv
    records = arg("--records", 2_000 if smoke else 200_000)
    appends = arg("--appends", 50 if smoke else 500)
    folder = CACHE / f"audit-{records}"
    folder.mkdir(parents=True, exist_ok=True)
    db = open_store(folder / "helpdesk.db")
    audit = AuditLog(db)
    have = db.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    if have < records:
        started = time.perf_counter()
        for i in range(have, records):
            audit.append(entry(i))
        print(f"generated {records - have:,} records in {time.perf_counter() - started:.1f} s")
    times = []
    for i in range(appends):
        started = time.perf_counter()
        audit.append(entry(records + i))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"append (chain + anchor, synchronous=FULL): p50 {statistics.median(times):.2f} ms,"
        f" p95 {p95:.2f} ms, {1000 / statistics.mean(times):,.0f} appends/s"
    )
    started = time.perf_counter()
    checked, problem = audit.verify()
    took = time.perf_counter() - started
    assert problem is None, problem
    print(f"verify: {checked:,} records in {took:.2f} s ({checked / took:,.0f} records/s)")
    started = time.perf_counter()
    out = io.StringIO()
    for row in audit.export():
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"export (JSONL): {checked:,} records in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
