"""Opening the store -- an SQLite file (the embedded default) or a PostgreSQL database
(`HELPDESK_STORE_URL`, for more than one replica) -- then its migrations.

Every store module writes to `Database.conn`, a `bot.store.connection.Connection`: the same
SQL with `?` placeholders on both backends, what differs in `bot.store.dialect`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.errors import ConfigError
from bot.store.connection import (
    BUSY_TIMEOUT_MS,
    Connection,
    Cursor,
    Params,
    SqliteConnection,
    bookkeeping,
    integrity_errors,
    store_errors,
    transaction,
)
from bot.store.dialect import Dialect
from bot.store.migrations import MIGRATIONS, for_sqlite

SCHEMA_VERSION = len(MIGRATIONS)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SCHEMA_VERSION",
    "Connection",
    "Database",
    "bookkeeping",
    "connect",
    "integrity_errors",
    "is_store_url",
    "open_store",
    "store_errors",
    "transaction",
]


def is_store_url(target: Path | str) -> bool:
    """Whether `target` names a PostgreSQL database rather than an SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def connect(path: Path | str) -> sqlite3.Connection:
    """A raw SQLite connection with the store's settings (WAL, `synchronous=FULL`, a busy
    timeout, foreign keys on), in autocommit mode."""
    return SqliteConnection.open(str(path)).raw


def migrate(conn: SqliteConnection) -> int:
    """Apply every migration newer than the store's version; return the new version.

    The version is SQLite's `PRAGMA user_version`; each migration commits with its bump.
    Replicas starting at once: each re-reads the version under `BEGIN IMMEDIATE`, so a
    migration another one applied first is skipped, not applied twice."""
    raw = conn.raw
    version: int = raw.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ConfigError(
            "HELPDESK_DATA_DIR",
            f"the store is at schema version {version}, newer than this bot ({SCHEMA_VERSION}); "
            "upgrade the bot or point HELPDESK_DATA_DIR elsewhere",
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        script = for_sqlite(MIGRATIONS[number - 1])
        statements = [s for s in _split(script) if s.strip()]
        raw.execute("BEGIN IMMEDIATE")
        if raw.execute("PRAGMA user_version").fetchone()[0] >= number:
            raw.execute("COMMIT")  # another replica starting at once applied it first
            continue
        try:
            for statement in statements:
                raw.execute(statement)
            raw.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")
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
    """The open store: one connection (`conn`), shared by every store class of a thread.

    It replaces `sqlite_utils.Database`, of which the bot used only `.conn` (17 MiB
    installed with what it pulls in, and ~200 ms of every command's start; see README,
    "Operations"). `path` is where the SQLite file is (None for `:memory:` and for
    PostgreSQL); `url` the PostgreSQL database's address (None for SQLite)."""

    def __init__(self, conn: Connection, path: Path | None = None, url: str | None = None):
        self.conn = conn
        self.path = path
        self.url = url

    @property
    def dialect(self) -> Dialect:
        return self.conn.dialect

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self.conn.execute(sql, params)

    def table_names(self) -> list[str]:
        rows = self.conn.execute(self.dialect.statement("table_names"))
        return [r[0] for r in rows]

    def schema_version(self) -> int:
        """The version of the schema the store is at (the number of migrations applied)."""
        if isinstance(self.conn, SqliteConnection):
            return int(self.conn.raw.execute("PRAGMA user_version").fetchone()[0])
        return int(self.conn.execute("SELECT version FROM schema_version").fetchone()[0])

    def close(self) -> None:
        self.conn.close()


def open_store(target: Path | str) -> Database:
    """Open (creating if need be) and migrate the store: an SQLite file at `target`, or the
    PostgreSQL database `target` names when it is a `postgresql://` URL.

    A file that is not an SQLite database is reported as a `ConfigError` naming
    `HELPDESK_DATA_DIR`, not a traceback; an unreachable PostgreSQL as one naming
    `HELPDESK_STORE_URL`.
    """
    if is_store_url(target):
        from bot.store.postgres import open_postgres

        return Database(open_postgres(str(target)), None, str(target))
    conn: SqliteConnection | None = None
    try:
        conn = SqliteConnection.open(str(target))
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        raise ConfigError("HELPDESK_DATA_DIR", f"cannot use the store {target} ({exc})") from None
    return Database(conn, None if str(target) == ":memory:" else Path(target))
