"""The inbox's commits: a connection of their own that waits for SQLite's write lock
without stopping the serving event loop, and takes it within a millisecond of its release.

What a commit waited for, measured with the engine in its own process at 200 events/s
(README, "The message path"): SQLite's write lock, which the engine's process holds for
its own short transactions (`BEGIN IMMEDIATE` p90 9 ms, p99 65 ms), more than the `fsync`
(p50 2.7 ms, p99 15 ms on the shared machine's disk). SQLite's busy handler sleeps 1, 2,
5, 10, 15, 20, 25 … 100 ms between its tries, so a writer that just missed a free moment
waited far longer than the engine's transaction lasted, and it slept on the event loop:
no request was read, verified or answered meanwhile. Here the connection has no busy
timeout: the writer tries `BEGIN IMMEDIATE` and, while another connection holds the lock,
yields to the event loop for `LOCK_RETRY_S` and tries again (at most `BUSY_TIMEOUT_MS`, as
every other connection). The engine's process keeps SQLite's handler, so under contention
the inbox, whose commits an ack waits for, gets the lock first. Decision: the serving
side's one writer polls; the engine's writers back off.

Once it holds the lock the transaction runs on the event loop, `fsync` included. The
whole transaction on a thread measured worse (ack p99 at 200 events/s 697 vs 386 ms, same
machine minutes apart): each SQLite call there gives up the GIL and must win it back from
the busy event loop, up to the 5 ms switch interval a time, and a batch makes dozens. Only
the `COMMIT` on a thread made no difference (medians of three interleaved runs 54 vs 56
ms), so it stays here, simpler.

SQLite only: on PostgreSQL writers lock rows, not the store, so the inbox's commit waits
for nobody's transaction; it is a plain durable transaction on the serving process's own
connection (`bot.server.Server.start` makes no writer then).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from bot.store.connection import BUSY_TIMEOUT_MS, Connection, SqliteConnection

T = TypeVar("T")

LOCK_RETRY_S = 0.0005
"""How long the writer yields to the event loop between two tries for the write lock."""


class InboxWriter:
    """Durable transactions on `conn` (the writer's alone: its busy timeout is set to 0,
    and it never checkpoints the write-ahead log: a checkpoint copies pages into the
    database and syncs it, which the commit that crosses the threshold would do on the
    event loop; the engine's connections, which checkpoint as usual, do it instead)."""

    def __init__(self, conn: SqliteConnection) -> None:
        conn.raw.execute("PRAGMA busy_timeout = 0")
        conn.raw.execute("PRAGMA wal_autocheckpoint = 0")
        self._store = conn
        self._conn = conn.raw

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work` inside one `synchronous=FULL` transaction; rolled back if it raises
        (the exception is raised here). Raises `sqlite3.OperationalError` (database is
        locked) if the lock stayed taken for `BUSY_TIMEOUT_MS`."""
        conn = self._conn
        conn.execute("PRAGMA synchronous = FULL")
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while not try_begin(conn):
            if time.monotonic() >= deadline:
                raise sqlite3.OperationalError("database is locked")
            await asyncio.sleep(LOCK_RETRY_S)
        try:
            result = work(self._store)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def close(self) -> None:
        self._conn.close()


def try_begin(conn: sqlite3.Connection) -> bool:
    """`BEGIN IMMEDIATE`, or False at once if another connection holds the write lock."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
            raise
        return False
    return True
