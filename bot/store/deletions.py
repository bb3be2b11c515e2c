"""Messages to delete when their time is up (replies that carried a secret, rule 5): kept
in the store so a restart does not forget them. The outbox schedules one when it delivers
such a reply; the server's deletion job asks each platform's transport to delete what is
due and then forgets it."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso
from bot.messages import MessageRef
from bot.store.connection import Connection, transaction

DUE_BATCH = 100


class Deletions:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def schedule(self, platform: str, ref: MessageRef, at: datetime) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO scheduled_deletions (platform, message_ref, delete_at)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (platform, str(ref), iso(at)),
            )

    def due(self, platform: str, now: datetime) -> list[MessageRef]:
        rows = self._conn.execute(
            "SELECT message_ref FROM scheduled_deletions WHERE platform = ?"
            " AND delete_at <= ? ORDER BY delete_at LIMIT ?",
            (platform, iso(now), DUE_BATCH),
        ).fetchall()
        return [MessageRef.parse(str(row[0])) for row in rows]

    def done(self, platform: str, ref: MessageRef) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "DELETE FROM scheduled_deletions WHERE platform = ? AND message_ref = ?",
                (platform, str(ref)),
            )
