"""Data care with the real commands: `store backup` while a writer holds a transaction,
`store restore`, then `audit verify`; a damaged backup refused; `store prune` per table
with the retention settings, the audit trail and tickets untouched."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import iso
from bot.store import open_store
from bot.store.audit import AuditEntry, AuditLog
from bot.store.database import connect
from tests.harness import ROOT


def _helpdesk(
    tmp: Path, *args: str, config: str = "", stdin: str = "", store_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp / "helpdesk.toml").write_text(
        f'[directory]\ndemo_file = "{(ROOT / "data" / "demo-directory.json").as_posix()}"\n'
        f'[kb]\npath = "{(ROOT / "kb").as_posix()}"\n' + config,
        "utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env |= {"HELPDESK_CONFIG": str(tmp / "helpdesk.toml"), "HELPDESK_DATA_DIR": str(tmp / "data")}
    if store_url:
        env["HELPDESK_STORE_URL"] = store_url
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def _append(log: AuditLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append(
            AuditEntry(
                "slack", f"U{i}", f"guid-{i}", f"user{i}@corp.example.com", "unlock", "none", "done"
            )
        )


def test_backup_while_writing_then_restore_and_the_audit_trail_verifies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = open_store(data / "helpdesk.db")
    log = AuditLog(db)
    _append(log, 5)
    writer = connect(data / "helpdesk.db")
    writer.execute("BEGIN IMMEDIATE")  # a write under way while the backup runs
    writer.execute(
        "INSERT INTO transcripts (conversation_key, at, speaker, text)"
        " VALUES ('k', '2026-12-01T00:00:00.000000Z', 'user', 'not committed')"
    )
    target = tmp_path / "backups" / "helpdesk-backup.db"
    done = _helpdesk(tmp_path, "store", "backup", str(target))
    writer.execute("ROLLBACK")
    writer.close()
    assert done.returncode == 0, done.stderr
    assert "5 audit records verified" in done.stdout
    assert target.is_file() and Path(f"{target}.audit-head").is_file()
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT count(*) FROM audit_log").fetchone() == (5,)
    assert copy.execute("SELECT count(*) FROM transcripts").fetchone() == (0,)
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy.close()
    assert not list(target.parent.glob("*.partial*"))

    _append(log, 3, start=5)  # after the backup: these are lost by the restore
    db.close()
    done = _helpdesk(tmp_path, "store", "restore", str(target), stdin="y\n")
    assert done.returncode == 0, done.stderr
    assert "5 audit records verified" in done.stdout
    replaced = sorted(p.name for p in data.glob("*.replaced-*"))
    assert any(name.startswith("helpdesk.db.replaced-") for name in replaced)
    assert any(name.startswith("helpdesk.db.audit-head.replaced-") for name in replaced)
    old_anchor = next(data.glob("helpdesk.db.audit-head.replaced-*"))
    assert json.loads(old_anchor.read_text())["seq"] == 8  # the record of what was lost

    verify = _helpdesk(tmp_path, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert "audit trail OK: 5 records" in verify.stdout and "anchored at record 5" in verify.stdout
    # The restored store works: the next append continues the chain.
    db = open_store(data / "helpdesk.db")
    _append(AuditLog(db), 1, start=100)
    db.close()
    assert "audit trail OK: 6 records" in _helpdesk(tmp_path, "audit", "verify").stdout


def test_a_backup_whose_audit_trail_was_edited_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = open_store(data / "helpdesk.db")
    _append(AuditLog(db), 3)
    db.close()
    target = tmp_path / "b.db"
    assert _helpdesk(tmp_path, "store", "backup", str(target)).returncode == 0
    bad = sqlite3.connect(target)
    bad.execute("DROP TRIGGER audit_log_no_update")
    bad.execute("UPDATE audit_log SET outcome = 'refused' WHERE seq = 2")
    bad.commit()
    bad.close()
    done = _helpdesk(tmp_path, "store", "restore", "--yes", str(target))
    assert done.returncode == 1 and "does not verify" in done.stderr, done.stderr
    assert not list(data.glob("*.replaced-*"))  # nothing was moved
    assert _helpdesk(tmp_path, "audit", "verify").returncode == 0
    not_a_store = tmp_path / "x.db"
    not_a_store.write_text("hello " * 1000)
    done = _helpdesk(tmp_path, "store", "restore", "--yes", str(not_a_store))
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_prune_deletes_per_table_by_retention_and_never_the_audit_trail(
    tmp_path: Path, store_target: Path | str
) -> None:
    """On both backends (PostgreSQL: batches by `ctid`, the anchor by `audit anchor`)."""
    data = tmp_path / "data"
    data.mkdir()
    url = store_target if isinstance(store_target, str) else None
    store = url or data / "helpdesk.db"
    db = open_store(store)
    now = datetime.now(UTC)

    def ago(days: float) -> str:
        return iso(now - timedelta(days=days))

    conn = db.conn
    for n, days in enumerate((1, 10, 40)):
        conn.execute(
            "INSERT INTO processed_events (event_id, platform, received_at) VALUES (?, 'slack', ?)",
            (f"Ev{n}", ago(days)),
        )
        conn.execute(
            "INSERT INTO transcripts (conversation_key, at, speaker, text)"
            " VALUES ('k', ?, 'u', 'x')",
            (ago(days * 3),),  # 3, 30, 120 days
        )
        cursor = conn.execute(
            "INSERT INTO kb_searches (at, platform, lang, query, answered, confidence,"
            " results_json) VALUES (?, 'slack', 'en', 'q', 1, 0.9, '[]') RETURNING id",
            (ago(days * 10),),  # 10, 100, 400 days
        )
        conn.execute(
            "INSERT INTO kb_events (search_id, at, article_id, kind) VALUES (?, ?, 'a', 'shown')",
            (cursor.fetchone()[0], ago(days * 10)),
        )
        conn.execute(
            "INSERT INTO outbox (dedupe_key, kind, recipient, payload_json, created_at,"
            " available_at, delivered_at) VALUES (?, 'notice', 'channel:x', '{}', ?, ?, ?)",
            (f"n{n}", ago(days), ago(days), ago(days)),
        )
    # Kept whatever their age: an undelivered row, a weekly report's row, the claim of a
    # message still in the inbox, the audit trail, tickets.
    conn.execute(
        "INSERT INTO outbox (dedupe_key, kind, recipient, payload_json, created_at,"
        " available_at) VALUES ('stuck', 'notice', 'channel:x', '{}', ?, ?)",
        (ago(90), ago(90)),
    )
    conn.execute(
        "INSERT INTO outbox (dedupe_key, kind, recipient, payload_json, created_at,"
        " available_at, delivered_at) VALUES ('weekly:2026-01-05', 'notice', 'c', '{}', ?, ?, ?)",
        (ago(300), ago(300), ago(300)),
    )
    conn.execute(
        "INSERT INTO processed_events (event_id, platform, received_at)"
        " VALUES ('EvIn', 'slack', ?)",
        (ago(400),),
    )
    conn.execute(
        "INSERT INTO inbox (platform, event_id, conversation, incoming_json, route_json,"
        " received_at) VALUES ('slack', 'EvIn', 'c', '{}', '{}', ?)",
        (ago(400),),
    )
    conn.execute(
        "INSERT INTO conversations (conversation_key, flow, state_json, lang, updated_at,"
        " expires_at) VALUES ('old', 'f', '{}', 'en', ?, ?), ('live', 'f', '{}', 'en', ?, ?)",
        (ago(2), ago(1), ago(0), iso(now + timedelta(minutes=20))),
    )
    db.execute(
        "INSERT INTO scheduled_runs (job, due_at, ran_by, started_at)"
        " VALUES ('sla_scan', ?, 'a', ?), ('sla_scan', ?, 'b', ?)",
        (ago(10), ago(10), ago(1), ago(1)),
    )
    _append(AuditLog(db), 2)
    db.close()
    if url:  # on PostgreSQL the scheduled anchor command keeps the anchor
        assert _helpdesk(tmp_path, "audit", "anchor", store_url=url).returncode == 0
    retention = "[retention]\ndedupe_days = 7\ntranscripts_days = 60\nkb_searches_days = 365\n"

    dry = _helpdesk(tmp_path, "store", "prune", "--dry-run", config=retention, store_url=url)
    assert dry.returncode == 0, dry.stderr
    assert "processed_events: would delete 2" in dry.stdout

    done = _helpdesk(tmp_path, "store", "prune", config=retention, store_url=url)
    assert done.returncode == 0, done.stderr
    said = dict(line.split(": deleted ") for line in done.stdout.splitlines())
    assert said == {
        "processed_events": "2",  # 10 and 40 days; 1 day kept, the inbox's claim kept
        "scheduled_runs": "1",  # due 10 days ago (dedupe_days 7)
        "transcripts": "1",  # 120 days
        "kb_events": "1",  # 400 days
        "kb_searches": "1",
        "outbox": "1",  # delivered 40 days ago (outbox_days 30)
        "conversations": "1",
    }
    check = open_store(store).conn
    assert {r[0] for r in check.execute("SELECT event_id FROM processed_events")} == {"Ev0", "EvIn"}
    assert {r[0] for r in check.execute("SELECT dedupe_key FROM outbox")} == {
        "n0",
        "n1",
        "stuck",
        "weekly:2026-01-05",
    }
    assert check.execute("SELECT count(*) FROM audit_log").fetchone() == (2,)
    assert [r[0] for r in check.execute("SELECT conversation_key FROM conversations")] == ["live"]
    check.close()
    keep_all = "[retention]\ntranscripts_days = 0\nkb_searches_days = 0\noutbox_days = 0\n"
    again = _helpdesk(tmp_path, "store", "prune", config=keep_all, store_url=url)
    assert "transcripts" not in again.stdout and "processed_events: deleted 0" in again.stdout
    assert _helpdesk(tmp_path, "audit", "verify", store_url=url).returncode == 0
