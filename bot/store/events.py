"""Deduplication of platform deliveries by event id, persisted so a restart remembers.

Slack redelivers events it thinks were not acknowledged, Socket Mode drops the
retry headers, and Teams retries a slow turn: the engine claims each event id
once, atomically (`INSERT` on a primary key), and ignores the repeats.
"""

from __future__ import annotations

from bot.clock import Clock, iso, utcnow
from bot.store.connection import Connection
from bot.store.database import Database, bookkeeping


class ProcessedEvents:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def claim(self, platform: str, event_id: str) -> bool:
        """True the first time `event_id` is seen on `platform`; False for every repeat."""
        with bookkeeping(self._conn) as conn:
            return claim_in(conn, platform, event_id, iso(self._clock()))


def claim_in(conn: Connection, platform: str, event_id: str, at: str) -> bool:
    """Claim `event_id` inside the caller's transaction (the inbox stores the message in
    the same one); True the first time, False for a repeat."""
    cursor = conn.execute(
        "INSERT INTO processed_events (event_id, platform, received_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (f"{platform}:{event_id}", platform, at),
    )
    return cursor.rowcount == 1
