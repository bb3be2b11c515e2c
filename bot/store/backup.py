"""Backing up and restoring the SQLite store, with its audit anchor.

`backup` is online: the bot keeps running. It copies the audit anchor first, then the
database through SQLite's backup API in one step (one read transaction: a consistent
snapshot of every committed transaction, none of a transaction under way; WAL readers do
not block writers, so the bot is not held up). In that order the anchor copy can only be
behind the snapshot, never ahead of it (an anchor is written after its record commits),
and an anchor behind the table is what `helpdesk audit verify` accepts. The copy is then
checked (`PRAGMA quick_check`, and the audit chain against the copied anchor) before it
is renamed into place, so a file named FILE is always a whole, verified backup:

    FILE              the database (rollback-journal mode: one self-contained file)
    FILE.audit-head   the audit anchor as it was (absent when the store had none)

`restore` (with the bot stopped) checks the backup the same way, moves the current store
aside (its database, its `-wal` and `-shm` files and its anchor, renamed with
`.replaced-<UTC time>`, never deleted: the audit records written after the backup are in
there), and puts the backup and its anchor in place. The audit trail then verifies as of
the backup; the replaced anchor is the record of what was lost.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.store.audit import AuditLog, anchor_path_for
from bot.store.connection import SqliteConnection
from bot.store.database import Database


class BackupError(Exception):
    """The backup could not be made, or a file is not a usable backup (the message says why)."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup or restore wrote: its files, the size, the audit records it holds."""

    database: Path
    anchor: Path | None
    size_bytes: int
    audit_records: int
    replaced: tuple[Path, ...] = ()


def backup(store: Database, target: Path) -> BackupReport:
    """Copy the open store `store` to `target` (and its anchor to `target`.audit-head)."""
    if store.path is None:
        raise BackupError("an in-memory store has nothing to back up")
    target = target.resolve()
    if target == store.path.resolve():
        raise BackupError("the backup cannot be the store itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    source_anchor = anchor_path_for(store.path)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.partial")
    tmp_anchor = anchor_path_for(tmp)
    try:
        if source_anchor.exists():  # first: an anchor can then only lag the snapshot
            shutil.copyfile(source_anchor, tmp_anchor)
        tmp.unlink(missing_ok=True)
        copy = sqlite3.connect(str(tmp))
        try:
            if not isinstance(store.conn, SqliteConnection):
                raise BackupError("backup copies an SQLite store; PostgreSQL has pg_dump")
            store.conn.raw.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
        records = _check(tmp)
        if tmp_anchor.exists():
            tmp_anchor.replace(anchor_path_for(target))
        else:
            anchor_path_for(target).unlink(missing_ok=True)
        tmp.replace(target)
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"cannot write {target} ({type(exc).__name__}: {exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
        tmp_anchor.unlink(missing_ok=True)
    anchor = anchor_path_for(target)
    return BackupReport(target, anchor if anchor.exists() else None, target.stat().st_size, records)


def restore(source: Path, store_path: Path, now: datetime | None = None) -> BackupReport:
    """Put the backup `source` in place of the store at `store_path` (the bot stopped).

    The current store's files are moved aside, never deleted."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    records = _check(source)  # before anything is moved
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    store_path.parent.mkdir(parents=True, exist_ok=True)
    replaced: list[Path] = []
    anchor = anchor_path_for(store_path)
    for path in (store_path, Path(f"{store_path}-wal"), Path(f"{store_path}-shm"), anchor):
        if path.exists():
            aside = path.with_name(f"{path.name}.replaced-{stamp}")
            path.replace(aside)
            replaced.append(aside)
    partial = store_path.with_name(f"{store_path.name}.restoring")
    shutil.copyfile(source, partial)
    partial.replace(store_path)
    source_anchor = anchor_path_for(source)
    if source_anchor.exists():
        shutil.copyfile(source_anchor, anchor)
    return BackupReport(
        store_path,
        anchor if anchor.exists() else None,
        store_path.stat().st_size,
        records,
        tuple(replaced),
    )


def _check(path: Path) -> int:
    """The file is a whole SQLite store whose audit trail verifies against the anchor
    beside it; return its number of audit records. Raises `BackupError`."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        try:
            (result,) = conn.execute("PRAGMA quick_check").fetchone()
            if result != "ok":
                raise BackupError(f"{path} is damaged: {result}")
            checked, problem = AuditLog(Database(SqliteConnection(conn), path)).verify()
        except sqlite3.Error as exc:
            raise BackupError(f"{path} is not a helpdesk store ({exc})") from None
        if problem:
            raise BackupError(f"the audit trail in {path} does not verify: {problem}")
        return checked
    finally:
        conn.close()
