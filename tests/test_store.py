"""The store: pragmas (SQLite), migrations, deduplication, audit chain, outbox.

Tests taking `store_target` run twice: on an SQLite file and on a new PostgreSQL database
(tests/postgres_cluster.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.config import parse_settings
from bot.errors import ConfigError
from bot.messages import Recipient
from bot.store import SCHEMA_VERSION, open_store
from bot.store.audit import AuditEntry, AuditLog
from bot.store.connection import SqliteConnection
from bot.store.database import bookkeeping, integrity_errors, is_store_url, transaction
from bot.store.events import ProcessedEvents
from bot.store.outbox import Outbox
from bot.tickets.model import parse_ticket_ref
from bot.tickets.service import TicketService


def test_store_uses_wal_full_sync_and_a_busy_timeout(tmp_path: Path) -> None:
    db = open_store(tmp_path / "h.db")
    conn = db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_migrations_are_applied_once(store_target: Path | str) -> None:
    open_store(store_target).close()
    db = open_store(store_target)
    tables = set(db.table_names())
    assert {"conversations", "processed_events", "outbox", "tickets", "audit_log"} <= tables
    assert db.schema_version() == SCHEMA_VERSION


def test_a_store_from_a_newer_bot_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "h.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigError, match="newer than this bot"):
        open_store(tmp_path / "h.db")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "h.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="HELPDESK_DATA_DIR"):
        open_store(tmp_path / "h.db")


def test_event_ids_are_claimed_once_and_remembered_across_restart(
    store_target: Path | str,
) -> None:
    events = ProcessedEvents(open_store(store_target))
    assert events.claim("slack", "Ev1") is True
    assert events.claim("slack", "Ev1") is False
    assert events.claim("teams", "Ev1") is True
    again = ProcessedEvents(open_store(store_target))
    assert again.claim("slack", "Ev1") is False


_TICKET = dict(
    requester_email="a@x",
    requester_platform="t",
    requester_user_id="U",
    summary="s",
    description="d",
)


def _statements(conn: Any) -> list[str]:
    assert isinstance(conn, SqliteConnection)
    seen: list[str] = []
    conn.raw.set_trace_callback(lambda sql: seen.append(" ".join(sql.split()[:4]).upper()))
    return seen


def test_per_message_bookkeeping_commits_once_without_waiting_for_fsync(tmp_path: Path) -> None:
    db = open_store(tmp_path / "h.db")
    seen = _statements(db.conn)
    ProcessedEvents(db).claim("slack", "Ev1")
    assert seen == [
        "PRAGMA SYNCHRONOUS = NORMAL",
        "BEGIN IMMEDIATE",
        "INSERT INTO PROCESSED_EVENTS (EVENT_ID,",
        "COMMIT",
        "PRAGMA SYNCHRONOUS = FULL",
    ]
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # back to FULL
    db.conn.raw.set_trace_callback(None)  # type: ignore[attr-defined]
    with bookkeeping(db.conn) as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL inside


def test_tickets_commit_under_full_sync_whatever_bookkeeping_ran_before(
    tmp_path: Path,
) -> None:
    db = open_store(tmp_path / "h.db")
    ProcessedEvents(db).claim("slack", "Ev1")
    with pytest.raises(integrity_errors()), bookkeeping(db.conn) as conn:
        conn.execute(
            "INSERT INTO processed_events (event_id, platform, received_at) VALUES ('x', 'y', 'z')"
        )
        conn.execute(
            "INSERT INTO processed_events (event_id, platform, received_at) VALUES ('x', 'y', 'z')"
        )
    level_at_commit: list[str] = []
    level = ["?"]

    def trace(sql: str) -> None:
        words = sql.upper().split()
        if words[:2] == ["PRAGMA", "SYNCHRONOUS"] and len(words) == 4:
            level[0] = words[3]
        elif words[:1] == ["COMMIT"]:
            level_at_commit.append(level[0])

    raw = db.conn.raw  # type: ignore[attr-defined]
    raw.set_trace_callback(trace)
    TicketService(db, parse_settings("", "defaults", {})).open(**_TICKET, idempotency_key="ev-1")
    raw.set_trace_callback(None)
    assert level_at_commit and set(level_at_commit) == {"FULL"}


def test_a_bookkeeping_commit_that_fails_is_rolled_back_and_reported(
    store_target: Path | str,
) -> None:
    db = open_store(store_target)
    conn = db.conn
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id)"
        " DEFERRABLE INITIALLY DEFERRED)"
    )
    # a deferred foreign key is checked at COMMIT, so the COMMIT itself fails
    with pytest.raises(integrity_errors(), match=r"(?i)FOREIGN KEY"), bookkeeping(conn):
        conn.execute("INSERT INTO child (parent_id) VALUES (99)")
    assert not conn.in_transaction
    if not is_store_url(store_target):
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0
    with transaction(conn):  # a later write on its own commits only itself
        conn.execute("INSERT INTO parent (id) VALUES (1)")
    assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0


def test_bookkeeping_that_fails_is_rolled_back_and_full_sync_restored(
    store_target: Path | str,
) -> None:
    db = open_store(store_target)
    with pytest.raises(integrity_errors()), bookkeeping(db.conn) as conn:
        conn.execute(
            "INSERT INTO processed_events (event_id, platform, received_at) VALUES ('a', 'x', 'y')"
        )
        conn.execute(
            "INSERT INTO processed_events (event_id, platform, received_at) VALUES ('a', 'x', 'y')"
        )
    assert db.conn.execute("SELECT count(*) FROM processed_events").fetchone()[0] == 0
    if is_store_url(store_target):
        assert db.conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    else:
        assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert not db.conn.in_transaction


def test_bookkeeping_inside_a_transaction_joins_it(store_target: Path | str) -> None:
    db = open_store(store_target)
    with pytest.raises(RuntimeError), transaction(db.conn):
        assert ProcessedEvents(db).claim("slack", "Ev1") is True
        if is_store_url(store_target):
            assert db.conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        else:
            assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # not switched
        raise RuntimeError("the outer work failed")
    assert ProcessedEvents(db).claim("slack", "Ev1") is True  # the claim went with it


def test_outbox_keeps_one_message_per_key(store_target: Path | str) -> None:
    outbox = Outbox(open_store(store_target))
    assert outbox.put("k1", "notice", Recipient.person("slack", "U1"), {"text": "hi"}) is True
    assert outbox.put("k1", "notice", Recipient.person("slack", "U1"), {"text": "hi"}) is False
    assert [m["payload"] for m in outbox.pending()] == [{"text": "hi"}]


def test_ticket_open_is_idempotent_on_its_key(store_target: Path | str) -> None:
    tickets = TicketService(open_store(store_target), parse_settings("", "defaults", {}))
    args = _TICKET
    first, new1 = tickets.open(**args, idempotency_key="ev-1")
    second, new2 = tickets.open(**args, idempotency_key="ev-1")
    third, _ = tickets.open(**args, idempotency_key="ev-2")
    assert (first.ref, new1, second.ref, new2, third.ref) == (
        "HD-1001",
        True,
        "HD-1001",
        False,
        "HD-1002",
    )


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("HD-1042", 1042),
        ("hd1042", 1042),
        ("#1042", 1042),
        ("1042", 1042),
        ("HD-", None),
        ("abc", None),
    ],
)
def test_ticket_refs_parse(text: str, number: int | None) -> None:
    assert parse_ticket_ref(text) == number


def _entry(n: int) -> AuditEntry:
    return AuditEntry("test", f"U{n}", f"dir-{n}", f"dir-{n}", "unlock", "none", "done")


def _outside(target: Path | str, sql: str) -> None:
    """Run `sql` on its own connection, as someone going around the bot would."""
    if is_store_url(target):
        import psycopg

        with psycopg.connect(str(target), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]
        return
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute(sql)
    finally:
        conn.close()


def test_audit_chain_verifies_and_rejects_update_and_delete(store_target: Path | str) -> None:
    log = AuditLog(open_store(store_target))
    for n in range(3):
        log.append(_entry(n))
    assert log.verify() == (3, None)
    attempts = [
        "UPDATE audit_log SET outcome = 'refused' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ]
    if is_store_url(store_target):
        attempts.append("TRUNCATE audit_log")
    for sql in attempts:
        with pytest.raises(Exception, match="append-only"):
            _outside(store_target, sql)
    assert log.verify() == (3, None)


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE audit_log SET outcome = 'refused' WHERE seq = 2", "record 2 was altered"),
        ("DELETE FROM audit_log WHERE seq = 2", "record 2 is missing"),
        ("UPDATE audit_log SET seq = 9 WHERE seq = 1", "record 1 is missing"),
    ],
)
def test_audit_verify_finds_tampering_past_the_triggers(
    store_target: Path | str, tamper: str, problem: str
) -> None:
    log = AuditLog(open_store(store_target))
    for n in range(4):
        log.append(_entry(n))
    if is_store_url(store_target):
        _outside(store_target, "DROP TRIGGER audit_log_no_change ON audit_log")
    else:
        _outside(store_target, "DROP TRIGGER audit_log_no_update")
        _outside(store_target, "DROP TRIGGER audit_log_no_delete")
    _outside(store_target, tamper)
    _, found = AuditLog(open_store(store_target)).verify()
    assert found is not None and problem in found
