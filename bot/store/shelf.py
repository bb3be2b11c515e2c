"""What an adapter keeps from one request to a later one, in the store (`shelf`): a form
waiting behind a button, a Teams card's text to redraw it with a choice, the connector URL
Teams last named. The later request may reach another replica (or this one after a
restart), so it cannot stay in one process's memory (`bot.adapters.base.Shelf`).

Used from the serving loop (a click) and the outbox's thread (a reply), so it has its own
connection, used under a lock. A value kept more than `KEEP` ago is forgotten (a form's
button then says the form expired); forgotten rows go as new ones are put.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from bot.clock import Clock, iso, utcnow
from bot.store.connection import Connection
from bot.store.database import open_store, transaction

KEEP = timedelta(days=7)


class StoreShelf:
    def __init__(self, store: Path | str, clock: Clock = utcnow) -> None:
        """On the store `store` names (an SQLite file or a PostgreSQL URL, as
        `Settings.store`), with a connection of its own."""
        self._conn: Connection = open_store(store).conn
        self._lock = threading.Lock()
        self._clock = clock

    def put(self, key: str, value: str) -> None:
        now = self._clock()
        with self._lock, transaction(self._conn) as conn:
            conn.execute(
                "INSERT INTO shelf (key, value, kept_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " kept_at = excluded.kept_at",
                (key, value, iso(now)),
            )
            conn.execute("DELETE FROM shelf WHERE kept_at < ?", (iso(now - KEEP),))

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM shelf WHERE key = ? AND kept_at >= ?",
                (key, iso(self._clock() - KEEP)),
            ).fetchone()
        return None if row is None else str(row[0])

    def take(self, key: str) -> str | None:
        with self._lock, transaction(self._conn) as conn:
            row = conn.execute(
                "DELETE FROM shelf WHERE key = ? AND kept_at >= ? RETURNING value",
                (key, iso(self._clock() - KEEP)),
            ).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
