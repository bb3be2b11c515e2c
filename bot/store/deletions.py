"""Messages to delete later (a reply carrying a secret), kept across a restart.

A transport schedules the message it posted; a background job deletes it when its time is
up and then forgets it. `message_ref` is the platform's own reference, opaque here.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.clock import iso


class Deletions:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self._conn = db.conn

    def schedule(self, platform: str, message_ref: str, at: datetime) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT INTO scheduled_deletions (platform, message_ref, delete_at)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (platform, message_ref, iso(at)),
            )

    def due(self, platform: str, now: datetime, limit: int = 100) -> list[str]:
        rows = self._conn.execute(
            "SELECT message_ref FROM scheduled_deletions WHERE platform = ? AND delete_at <= ?"
            " ORDER BY delete_at LIMIT ?",
            (platform, iso(now), limit),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def done(self, platform: str, message_ref: str) -> None:
        with self._conn:
            self._conn.execute(
                "DELETE FROM scheduled_deletions WHERE platform = ? AND message_ref = ?",
                (platform, message_ref),
            )
