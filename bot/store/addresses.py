"""Conversation references: where a person or a channel can be messaged on a platform.

Teams cannot message an email address, only a conversation it has a reference for (the
Bot Connector's service URL, the conversation id, the tenant). The adapter remembers one
from each verified activity: per person (`kind` "user", keyed by their immutable platform
id, with their verified address in `email`) and per channel (`kind` "channel", keyed by the
channel id). A proactive message (a ticket update, a page) then finds it by user id or by
address. The reference itself is opaque here: the adapter's JSON.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from bot.clock import Clock, iso, utcnow
from bot.store.database import bookkeeping


class Addresses:
    def __init__(self, db: sqlite_utils.Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def remember(
        self,
        platform: str,
        kind: str,
        key: str,
        reference: dict[str, Any],
        email: str | None = None,
    ) -> None:
        """Keep the newest reference for (platform, kind, key)."""
        with bookkeeping(self._conn) as conn:
            conn.execute(
                "INSERT INTO addresses (platform, kind, key, email, reference_json, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, kind, key) DO UPDATE SET"
                " email = excluded.email, reference_json = excluded.reference_json,"
                " updated_at = excluded.updated_at",
                (
                    platform,
                    kind,
                    key,
                    email.casefold() if email else None,
                    json.dumps(reference, sort_keys=True),
                    iso(self._clock()),
                ),
            )

    def get(self, platform: str, kind: str, key: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT reference_json FROM addresses WHERE platform = ? AND kind = ? AND key = ?",
            (platform, kind, key),
        ).fetchone()
        return dict(json.loads(row[0])) if row else None

    def by_email(self, platform: str, email: str) -> dict[str, Any] | None:
        """The newest person reference with exactly this verified address (case folded)."""
        row = self._conn.execute(
            "SELECT reference_json FROM addresses WHERE platform = ? AND kind = 'user'"
            " AND email = ? ORDER BY updated_at DESC LIMIT 1",
            (platform, email.casefold()),
        ).fetchone()
        return dict(json.loads(row[0])) if row else None
