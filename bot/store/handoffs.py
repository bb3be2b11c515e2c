"""Shift handoffs in the store: engineers' notes for the next shift, and which shifts'
summaries were queued (a shift's key is its primary key, so a summary is queued once,
whatever restarts or overlapping scans happen)."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock, iso, utcnow
from bot.store.database import Database, transaction


class Handoffs:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def add_note(self, team: str, shift_key: str, author: str, text: str) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO handoff_notes (team, shift_key, author, at, text)"
                " VALUES (?, ?, ?, ?, ?)",
                (team, shift_key, author, iso(self._clock()), text),
            )

    def notes(self, shift_key: str) -> list[tuple[str, str]]:
        """(author, text) of the notes left during a shift, oldest first."""
        rows = self._conn.execute(
            "SELECT author, text FROM handoff_notes WHERE shift_key = ? ORDER BY id",
            (shift_key,),
        ).fetchall()
        return [(str(a), str(t)) for a, t in rows]

    def claim(self, shift_key: str, team: str, shift_end: datetime, late: bool) -> bool:
        """Record that this shift's summary is being queued; False if it already was."""
        with transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO handoff_posts (shift_key, team, shift_end, queued_at, late)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (shift_key) DO NOTHING",
                (shift_key, team, iso(shift_end), iso(self._clock()), int(late)),
            )
        return cursor.rowcount == 1

    def last_posted_end(self, team: str) -> datetime | None:
        from bot.clock import parse_iso

        row = self._conn.execute(
            "SELECT max(shift_end) FROM handoff_posts WHERE team = ?", (team,)
        ).fetchone()
        return parse_iso(str(row[0])) if row and row[0] else None
