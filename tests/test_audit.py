"""The audit trail on real SQLite files, through `helpdesk audit …`: tampering of every kind
is found and named, the anchor catches a cut-off end, export round-trips."""

from __future__ import annotations

import csv
import json
import logging
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.store import open_store
from bot.store.audit import (
    EXPORT_FIELDS,
    Anchor,
    AuditEntry,
    AuditLog,
    anchor_path_for,
    read_anchor,
    write_anchor,
)
from tests.harness import FakeClock

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        actor_platform="slack",
        actor_id=f"U{n}",
        actor_directory_id=f"dir-{n}",
        target=f"dir-{n}",
        action="unlock" if n % 2 else "password_status",
        verification="none",
        outcome="done" if n % 3 else "refused",
        reason="" if n % 3 else 'privileged, "Domain Admins"\nsecond line',
        ticket=f"HD-{1000 + n}" if n % 4 == 0 else None,
        request_id=f"req-{n}",
    )


def _db(data: Path) -> Path:
    return data / "helpdesk.db"


def _anchor(data: Path) -> Path:
    return anchor_path_for(_db(data))


def _fill(data: Path, n: int, hours: float = 6) -> AuditLog:
    """A store with n records, `hours` apart from START (midnight UTC, 21 November)."""
    clock = FakeClock(START)
    log = AuditLog(open_store(_db(data)), clock)
    for i in range(1, n + 1):
        log.append(_entry(i))
        clock.advance(hours=hours)
    return log


def _cli(data: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["audit", *args], env={"HELPDESK_DATA_DIR": str(data)})


def _tamper(data: Path, *statements: str) -> None:
    """What an attacker with write access to the file does: drop the triggers, then edit."""
    conn = sqlite3.connect(_db(data), isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.close()


def _rows(data: Path) -> list[dict[str, object]]:
    conn = sqlite3.connect(_db(data))
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY seq")]
    conn.close()
    return rows


def _broken(result: Result, problem: str) -> None:
    assert result.exit_code == 1, result.output
    assert "audit trail BROKEN" in result.output and problem in result.output, result.output


def test_a_clean_chain_passes_and_is_anchored_at_its_head(tmp_path: Path) -> None:
    _fill(tmp_path, 5)
    result = _cli(tmp_path, "verify")
    assert result.exit_code == 0, result.output
    assert "audit trail OK: 5 records; anchored at record 5" in result.output
    head = _rows(tmp_path)[-1]
    assert json.loads(_anchor(tmp_path).read_text("utf-8")) == {"seq": 5, "hash": head["hash"]}
    assert not list(tmp_path.glob("*.tmp"))


def test_an_empty_store_passes_without_an_anchor(tmp_path: Path) -> None:
    open_store(_db(tmp_path)).conn.close()
    result = _cli(tmp_path, "verify")
    assert result.exit_code == 0 and "audit trail OK: 0 records" in result.output
    assert not _anchor(tmp_path).exists()


def test_the_triggers_still_refuse_update_and_delete(tmp_path: Path) -> None:
    _fill(tmp_path, 3)
    conn = sqlite3.connect(_db(tmp_path))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit_log SET outcome = 'done' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit_log WHERE seq = 3")
    conn.close()
    assert _cli(tmp_path, "verify").exit_code == 0


_SWAP_2_AND_3 = [
    "CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE seq IN (2, 3)",
    "DELETE FROM audit_log WHERE seq IN (2, 3)",
    f"INSERT INTO audit_log SELECT 5 - seq, {', '.join(EXPORT_FIELDS[1:])} FROM t",
]


@pytest.mark.parametrize(
    ("statements", "problem"),
    [
        (
            ["UPDATE audit_log SET outcome = 'done', reason = '' WHERE seq = 3"],
            "record 3 was altered",
        ),
        (["UPDATE audit_log SET at = '2026-11-01T00:00:00.000000Z' WHERE seq = 1"], "record 1 was"),
        (["DELETE FROM audit_log WHERE seq = 3"], "record 3 is missing (next is 4)"),
        (_SWAP_2_AND_3, "record 2 does not follow record 1"),
        (["DELETE FROM audit_log WHERE seq >= 4"], "truncated: records 4..5 are missing"),
        (["DELETE FROM audit_log WHERE seq = 5"], "truncated: record 5 is missing"),
        (["DELETE FROM audit_log"], "truncated: records 1..5 are missing"),
    ],
    ids=["edited", "edited-time", "deleted", "reordered", "cut-2", "cut-1", "emptied"],
)
def test_verify_names_the_tampered_record_and_exits_1(
    tmp_path: Path, statements: list[str], problem: str
) -> None:
    _fill(tmp_path, 5)
    _tamper(tmp_path, *statements)
    _broken(_cli(tmp_path, "verify"), problem)


def test_a_chain_rewritten_to_its_old_length_does_not_match_the_anchor(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(tmp_path, 5)
    _tamper(tmp_path, "DELETE FROM audit_log WHERE seq >= 4")
    log = AuditLog(open_store(_db(tmp_path)))
    with caplog.at_level(logging.WARNING, "bot.store.audit"):
        log.append(_entry(40))  # re-chained: the chain itself is valid again
        log.append(_entry(50))
    assert "past the table's 4" in caplog.text  # the appends leave the evidence alone
    _broken(_cli(tmp_path, "verify"), "record 5 does not match the anchor")
    # …and it stays that way however long the table grows
    log.append(_entry(60))
    _broken(_cli(tmp_path, "verify"), "record 5 does not match the anchor")


def test_a_deleted_anchor_fails_until_an_admin_anchors_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = _fill(tmp_path, 3)
    _anchor(tmp_path).unlink()
    _broken(_cli(tmp_path, "verify"), "is missing but the table has 3 records")
    with caplog.at_level(logging.WARNING, "bot.store.audit"):
        log.append(_entry(4))  # appends do not bring a missing anchor back
    assert "run `helpdesk audit verify`, then `helpdesk audit anchor`" in caplog.text
    assert not _anchor(tmp_path).exists()
    _broken(_cli(tmp_path, "verify"), "is missing but the table has 4 records")

    result = _cli(tmp_path, "anchor")
    assert result.exit_code == 0, result.output
    assert "anchored at record 4" in result.output and "there was none" in result.output
    assert _cli(tmp_path, "verify").exit_code == 0
    log.append(_entry(5))
    assert read_anchor(_anchor(tmp_path)) == Anchor(5, str(_rows(tmp_path)[-1]["hash"]))


def test_an_unreadable_anchor_fails_and_anchor_replaces_it(tmp_path: Path) -> None:
    log = _fill(tmp_path, 2)
    _anchor(tmp_path).write_text('{"seq": 2, "hash": "nope"}', "utf-8")
    _broken(_cli(tmp_path, "verify"), "is unreadable")
    log.append(_entry(3))  # an unreadable anchor is left for a person to look at
    assert "nope" in _anchor(tmp_path).read_text("utf-8")
    result = _cli(tmp_path, "anchor")
    assert result.exit_code == 0 and "replaced an unreadable one" in result.output
    assert _cli(tmp_path, "verify").exit_code == 0


def test_anchor_refuses_to_paper_over_a_truncation_or_a_broken_chain(tmp_path: Path) -> None:
    _fill(tmp_path, 5)
    before = _anchor(tmp_path).read_text("utf-8")
    _tamper(tmp_path, "DELETE FROM audit_log WHERE seq = 5")
    result = _cli(tmp_path, "anchor")
    assert result.exit_code == 1 and "truncated: record 5 is missing" in result.output
    assert _anchor(tmp_path).read_text("utf-8") == before
    _tamper(tmp_path, "UPDATE audit_log SET reason = 'x' WHERE seq = 2")
    _anchor(tmp_path).unlink()
    result = _cli(tmp_path, "anchor")
    assert result.exit_code == 1 and "record 2 was altered" in result.output
    assert not _anchor(tmp_path).exists()


def test_an_anchor_one_record_behind_a_crash_is_not_tampering(tmp_path: Path) -> None:
    log = _fill(tmp_path, 5)
    rows = _rows(tmp_path)
    # the process died after record 5's COMMIT, before its anchor write
    write_anchor(_anchor(tmp_path), Anchor(4, str(rows[3]["hash"])))
    result = _cli(tmp_path, "verify")
    assert result.exit_code == 0, result.output
    assert "audit trail OK: 5 records; anchored at record 4 (behind" in result.output
    log.append(_entry(6))  # the next append moves it to the head
    assert read_anchor(_anchor(tmp_path)) == Anchor(6, str(_rows(tmp_path)[-1]["hash"]))
    assert _cli(tmp_path, "verify").exit_code == 0


def test_a_failed_anchor_write_never_fails_the_append(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = _fill(tmp_path, 2)
    blocker = _anchor(tmp_path).with_name(f"{_anchor(tmp_path).name}.{os.getpid()}.tmp")
    blocker.mkdir()  # the temporary file cannot be created
    with caplog.at_level(logging.ERROR, "bot.store.audit"):
        assert log.append(_entry(3)) == 3
    assert "record 3 is stored but the anchor" in caplog.text
    assert read_anchor(_anchor(tmp_path)) == Anchor(2, str(_rows(tmp_path)[1]["hash"]))
    assert _cli(tmp_path, "verify").exit_code == 0  # behind, not broken


def test_an_in_memory_store_keeps_no_anchor() -> None:
    log = AuditLog(open_store(":memory:"))
    assert log.anchor_path is None
    log.append(_entry(1))
    assert log.verify() == (1, None)


def test_export_jsonl_round_trips_every_field(tmp_path: Path) -> None:
    _fill(tmp_path, 6)
    result = _cli(tmp_path, "export")
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in result.stdout.splitlines()]
    assert exported == _rows(tmp_path)
    assert list(exported[0]) == list(EXPORT_FIELDS)
    assert "6 audit records" in result.stderr


def test_export_csv_to_a_file_round_trips_every_field(tmp_path: Path) -> None:
    _fill(tmp_path, 6)
    out = tmp_path / "audit.csv"
    result = _cli(tmp_path, "export", "--format", "csv", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    with out.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == list(EXPORT_FIELDS)
        exported = list(reader)
    expected = [{k: "" if v is None else str(v) for k, v in row.items()} for row in _rows(tmp_path)]
    assert exported == expected
    assert any("\n" in row["reason"] for row in exported)  # quoting survived


def test_exported_hashes_recompute(tmp_path: Path) -> None:
    from bot.store.audit import GENESIS, record_hash

    _fill(tmp_path, 4)
    prev = GENESIS
    for line in _cli(tmp_path, "export").stdout.splitlines():
        row = json.loads(line)
        assert row["prev_hash"] == prev and record_hash(prev, row) == row["hash"]
        prev = row["hash"]


@pytest.mark.parametrize(
    ("since", "first_seq"),
    [
        ("2026-11-22", 5),  # every 6 h from 2026-11-21T00:00Z: #5 is 22T00:00Z
        ("2026-11-22T00:00:00", 5),  # no offset: UTC
        ("2026-11-22T00:00:00.000001Z", 6),
        ("2026-11-22T08:00:00+08:00", 5),  # = 00:00 UTC
        ("2026-11-22T09:00:00+08:00", 6),
        ("2026-12-01", None),
    ],
)
def test_export_since_filters(tmp_path: Path, since: str, first_seq: int | None) -> None:
    _fill(tmp_path, 8)
    for fmt in ("jsonl", "csv"):
        result = _cli(tmp_path, "export", "--since", since, "--format", fmt)
        assert result.exit_code == 0, result.output
        if fmt == "jsonl":
            seqs = [json.loads(line)["seq"] for line in result.stdout.splitlines()]
        else:
            seqs = [int(r["seq"]) for r in csv.DictReader(result.stdout.splitlines())]
        assert seqs == ([] if first_seq is None else list(range(first_seq, 9)))


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "2026-11-31", "1/11/2026", ""])
def test_export_bad_since_exits_2_with_a_message(tmp_path: Path, since: str) -> None:
    _fill(tmp_path, 1)
    out = tmp_path / "out.jsonl"
    result = _cli(tmp_path, "export", "--since", since, "--output", str(out))
    assert result.exit_code == 2
    assert "Invalid value for --since" in result.output
    assert "is not a date (2026-11-01) or an ISO time" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("name", ["verify", "export", "anchor"])
def test_the_audit_commands_and_their_options_have_help(name: str) -> None:
    group = main.commands["audit"]
    assert isinstance(group, click.Group)
    command = group.commands[name]
    assert (command.help or "").strip()
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert (param.help or "").strip(), f"{name} {param.opts} has no help"
    result = CliRunner().invoke(main, ["audit", name, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_verify_through_the_installed_entry_point(tmp_path: Path) -> None:
    _fill(tmp_path, 3)
    _tamper(tmp_path, "DELETE FROM audit_log WHERE seq = 3")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["HELPDESK_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert "truncated: record 3 is missing" in done.stderr
    assert "Traceback" not in done.stderr
