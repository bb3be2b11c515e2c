"""The outbox: messages to deliver (alerts, notices), written in the same transaction as
the change that causes them and delivered by the platform adapter's worker.

`dedupe_key` is unique, so writing the same notice twice stores it once; a
delivery worker marks each row delivered, so a restart never sends it twice.
"""

from __future__ import annotations

import json
from typing import Any

from bot.clock import Clock, iso, utcnow
from bot.messages import Recipient
from bot.store.database import Database


class Outbox:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def put(
        self,
        dedupe_key: str,
        kind: str,
        recipient: Recipient,
        payload: dict[str, Any],
        conversation: str | None = None,
        held_by: str | None = None,
    ) -> bool:
        """Queue one message; False when a message with that key was already queued.
        Messages of one `conversation` are delivered in order (`bot.outbox.worker`).
        `held_by`: the lease of the replica whose memory holds the message's secret
        (`bot.outbox.claim`)."""
        now = iso(self._clock())
        cursor = self._conn.execute(
            "INSERT INTO outbox (dedupe_key, kind, recipient, payload_json, created_at,"
            " available_at, conversation, held_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (dedupe_key) DO NOTHING",
            (
                dedupe_key,
                kind,
                str(recipient),
                json.dumps(payload, ensure_ascii=False),
                now,
                now,
                conversation,
                held_by,
            ),
        )
        return cursor.rowcount == 1

    def latest_choices(
        self, recipient: Recipient, since: str, after: str = ""
    ) -> tuple[str, list[Any]] | None:
        """The newest notice to `recipient` queued at or after `since`, and after `after`,
        that carries buttons: when it was queued, and its choices ([label, value] each);
        None if there is none."""
        rows = self._conn.execute(
            "SELECT created_at, payload_json FROM outbox WHERE kind = 'notice'"
            " AND recipient = ? AND created_at >= ? AND created_at > ?"
            " ORDER BY id DESC LIMIT 20",
            (str(recipient), since, after),
        ).fetchall()
        for created_at, payload in rows:
            choices = json.loads(payload).get("choices")
            if choices:
                return str(created_at), list(choices)
        return None

    def exists(self, dedupe_key: str) -> bool:
        """Whether a message with this key was ever queued."""
        row = self._conn.execute(
            "SELECT 1 FROM outbox WHERE dedupe_key = ?", (dedupe_key,)
        ).fetchone()
        return row is not None

    def exists_like(self, pattern: str) -> bool:
        """Whether any message whose key matches this SQL LIKE pattern was ever queued."""
        row = self._conn.execute(
            "SELECT 1 FROM outbox WHERE dedupe_key LIKE ? LIMIT 1", (pattern,)
        ).fetchone()
        return row is not None

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT id, kind, recipient, payload_json FROM outbox WHERE delivered_at IS NULL"
            " ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            {"id": r[0], "kind": r[1], "recipient": r[2], "payload": json.loads(r[3])} for r in rows
        ]
