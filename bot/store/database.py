"""Opening the store: pragmas for durability and concurrency, then migrations."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from bot.errors import ConfigError
from bot.store.migrations import MIGRATIONS

SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT_MS = 5000


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection with WAL, `synchronous=FULL`, a busy timeout and foreign keys on.

    Autocommit mode (`isolation_level=None`): every write that must be atomic runs
    inside an explicit `with transaction(conn)` block; the per-message bookkeeping
    inside `with bookkeeping(conn)`.
    """
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if str(path) != ":memory:":
        _wal(conn)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. Two processes opening a new file at once (replicas starting together)
    can find it locked while the other switches, and SQLite then does not wait (no busy
    handler for that lock): try again for up to the busy timeout."""
    for attempt in range(BUSY_TIMEOUT_MS // 50):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == BUSY_TIMEOUT_MS // 50 - 1:
                raise
            time.sleep(0.05)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the store's version; return the new version."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ConfigError(
            "HELPDESK_DATA_DIR",
            f"the store is at schema version {version}, newer than this bot ({SCHEMA_VERSION}); "
            "upgrade the bot or point HELPDESK_DATA_DIR elsewhere",
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        script = MIGRATIONS[number - 1]
        statements = [s for s in _split(script) if s.strip()]
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
            conn.execute("COMMIT")  # another replica starting at once applied it first
            continue
        try:
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return SCHEMA_VERSION


def _split(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current)
            current = ""
    if current.strip():
        statements.append(current)
    return statements


class Database:
    """The open store: one SQLite connection (`conn`), shared by every store class.

    It replaces `sqlite_utils.Database`, of which the bot used only `.conn` (17 MiB
    installed with what it pulls in, and ~200 ms of every command's start; see README,
    "Operations"). `path` is where the file is (None for `:memory:`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None) -> None:
        self.conn = conn
        self.path = path

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def table_names(self) -> list[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [r[0] for r in rows]

    def close(self) -> None:
        self.conn.close()


def open_store(path: Path | str) -> Database:
    """Open (creating if need be) and migrate the store at `path`.

    A file that is not an SQLite database is reported as a `ConfigError` naming
    `HELPDESK_DATA_DIR`, not a traceback.
    """
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(path)
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        raise ConfigError("HELPDESK_DATA_DIR", f"cannot use the store {path} ({exc})") from None
    return Database(conn, None if str(path) == ":memory:" else Path(path))


@contextmanager
def transaction(
    conn: sqlite3.Connection, synchronous: Literal["FULL", "NORMAL"] = "FULL"
) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` … `COMMIT` under `synchronous` (FULL unless said otherwise), rolled
    back on any exception -- a failed `COMMIT` too, so no transaction is left open for a
    later write to finish by accident. Setting the level each time means a ticket or an
    audit record commits under FULL whatever ran on the connection before."""
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@contextmanager
def bookkeeping(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One transaction for per-message bookkeeping, committed without waiting for `fsync`.

    The dedupe claim, the search log and its feedback, the transcript and the pending
    conversation state are written for every message. Each such write is one transaction
    (atomic, as any other) committed under `synchronous=NORMAL`: in WAL mode that is safe
    against a crash of the bot process (the commit is in the OS's cache) and may lose the
    last seconds of bookkeeping on a power cut or an OS crash -- never a ticket, an audit
    record, an approval or a queued message, which commit under `FULL` as before, and each
    `FULL` commit syncs the whole write-ahead log, so the bookkeeping before it too.
    Decision and measurement: README, "Decisions" (the Slack throughput figures) --
    waiting for `fsync` 4-9 times per chat message made the disk, not the bot, the limit.

    Inside a caller's transaction it joins that transaction, whose commit decides. However
    it ends, the connection is left out of any transaction and back at FULL, for the
    writes that commit on their own.
    """
    if conn.in_transaction:
        yield conn
        return
    try:
        with transaction(conn, "NORMAL"):
            yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("PRAGMA synchronous = FULL")
