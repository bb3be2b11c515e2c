"""One store connection, whichever backend: the interface every store module writes to.

`Connection` is what `Database.conn` is and what the store modules pass around: `execute`
(SQL with `?` placeholders, rows as tuples), `executemany`, `in_transaction`, and the
transaction steps `transaction()` and `bookkeeping()` use. `SqliteConnection` wraps the
standard library's connection as the bot always used it; `bot.store.postgres` has the
PostgreSQL one. What differs in the SQL is in `bot.store.dialect`, reached as
`conn.dialect`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from bot.store.dialect import SQLITE, Dialect

BUSY_TIMEOUT_MS = 5000

#: Positional (`?`) or named (`:name`) parameters.
Params = Sequence[object] | Mapping[str, object]


class Cursor(Protocol):
    """The result of `execute`: rows as tuples."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection to the store, used by one thread at a time."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, params: Params = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    def begin(self, durable: bool) -> None:
        """Start a write transaction; `durable=False` commits without waiting for the disk."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def lock(self, name: str) -> None:
        """Hold the named lock until the transaction ends (other writers of it wait)."""

    def close(self) -> None: ...


class SqliteConnection:
    """The standard library's SQLite connection in autocommit mode (`isolation_level=None`)
    with WAL, a busy timeout, foreign keys on and `synchronous=FULL` between transactions."""

    dialect: Dialect = SQLITE

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self._normal = False

    @classmethod
    def open(cls, path: str) -> SqliteConnection:
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if path != ":memory:":
            _wal(raw)
        raw.execute("PRAGMA synchronous = FULL")
        raw.execute("PRAGMA foreign_keys = ON")
        return cls(raw)

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self.raw.executemany(sql, rows)

    def begin(self, durable: bool) -> None:
        # Set each time: a ticket or an audit record commits under FULL whatever ran before.
        self.raw.execute("PRAGMA synchronous = FULL" if durable else "PRAGMA synchronous = NORMAL")
        self._normal = not durable
        self.raw.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.raw.execute("COMMIT")
        self._back_to_full()

    def rollback(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")
        self._back_to_full()

    def _back_to_full(self) -> None:
        if self._normal:
            self._normal = False
            self.raw.execute("PRAGMA synchronous = FULL")

    def lock(self, name: str) -> None:
        """Nothing to do: `BEGIN IMMEDIATE` already makes writers take turns."""

    def close(self) -> None:
        self.raw.close()


def _wal(raw: sqlite3.Connection) -> None:
    """Switch to WAL. Two processes opening a new file at once (replicas starting together)
    can find it locked while the other switches, and SQLite then does not wait (no busy
    handler for that lock): try again for up to the busy timeout."""
    for attempt in range(BUSY_TIMEOUT_MS // 50):
        try:
            raw.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == BUSY_TIMEOUT_MS // 50 - 1:
                raise
            time.sleep(0.05)


def store_errors() -> tuple[type[Exception], ...]:
    """The exceptions a store operation raises on either backend (for `except`)."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


def integrity_errors() -> tuple[type[Exception], ...]:
    """A broken constraint (unique, foreign key, not null) on either backend."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, psycopg.IntegrityError)


@contextmanager
def transaction(conn: Connection, durable: bool = True) -> Iterator[Connection]:
    """A write transaction, committed durably unless `durable=False`, rolled back on any
    exception -- a failed `COMMIT` too, so no transaction is left open for a later write to
    finish by accident. SQLite: `BEGIN IMMEDIATE` (one writer at a time) under
    `synchronous=FULL`; PostgreSQL: `BEGIN` (read committed), and `synchronous_commit = off`
    for the transaction when not durable."""
    conn.begin(durable)
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    try:
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


@contextmanager
def bookkeeping(conn: Connection) -> Iterator[Connection]:
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
    On PostgreSQL the same with `synchronous_commit = off`: a server crash may lose the last
    moments of bookkeeping, never a durable transaction's writes.

    Inside a caller's transaction it joins that transaction, whose commit decides. However
    it ends, the connection is left out of any transaction and back at FULL, for the
    writes that commit on their own.
    """
    if conn.in_transaction:
        yield conn
        return
    with transaction(conn, durable=False):
        yield conn
