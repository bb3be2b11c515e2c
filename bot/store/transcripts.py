"""The recent messages of each conversation, so a new ticket carries what was said.

Texts arrive here already cleaned by the engine (secrets redacted, rule 8). Only
the last `keep` lines per conversation are kept; older ones are deleted as new
ones arrive, and `forget_before` drops whole old conversations.
"""

from __future__ import annotations

from bot.clock import Clock, iso, utcnow
from bot.store.database import Database, bookkeeping


class Transcripts:
    def __init__(self, db: Database, keep: int, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._keep = keep
        self._clock = clock

    def record(self, key: str, lines: list[tuple[str, str]]) -> None:
        """Append (speaker, text) lines to a conversation and trim it to the last `keep`."""
        if self._keep == 0 or not lines:
            return
        now = iso(self._clock())
        with bookkeeping(self._conn) as conn:
            conn.executemany(
                "INSERT INTO transcripts (conversation_key, at, speaker, text) VALUES (?, ?, ?, ?)",
                [(key, now, speaker, text) for speaker, text in lines if text],
            )
            conn.execute(
                "DELETE FROM transcripts WHERE conversation_key = ? AND id <= ("
                " SELECT id FROM transcripts WHERE conversation_key = ?"
                " ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (key, key, self._keep),
            )

    def recent(self, key: str) -> list[tuple[str, str]]:
        rows = self._conn.execute(
            "SELECT speaker, text FROM transcripts WHERE conversation_key = ?"
            " ORDER BY id DESC LIMIT ?",
            (key, self._keep),
        ).fetchall()
        return [(speaker, text) for speaker, text in reversed(rows)]
