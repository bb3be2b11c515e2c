"""Forms shown behind a button, kept in the store (`stashed_forms`) by the token the button
carries: the click that opens one may reach another replica than the one that showed it,
or the same one after a restart.

Slack opens a form (a modal) only with a fresh trigger id, so a reply whose form could
not be opened at once shows a button instead (`bot.adapters.slack.outbound.Forms`); the
form waits here. It is used from the serving loop (a click) and the outbox's thread (a
reply), so it has its own connection, used under a lock. A form stashed more than
`KEEP` ago is forgotten (its button then says the form expired).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from bot.clock import Clock, iso, utcnow
from bot.messages import Form, form_of
from bot.store.database import connect, transaction

KEEP = timedelta(days=7)


class StashedForms:
    def __init__(self, path: Path | str, clock: Clock = utcnow) -> None:
        """On the (already migrated) store at `path`."""
        self._conn = connect(path)
        self._lock = threading.Lock()
        self._clock = clock

    def put(self, token: str, form: Form) -> None:
        now = self._clock()
        with self._lock, transaction(self._conn) as conn:
            conn.execute(
                "INSERT INTO stashed_forms (token, form_json, stashed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (token) DO UPDATE SET form_json = excluded.form_json,"
                " stashed_at = excluded.stashed_at",
                (token, json.dumps(asdict(form)), iso(now)),
            )
            conn.execute("DELETE FROM stashed_forms WHERE stashed_at < ?", (iso(now - KEEP),))

    def get(self, token: str) -> Form | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT form_json FROM stashed_forms WHERE token = ? AND stashed_at >= ?",
                (token, iso(self._clock() - KEEP)),
            ).fetchone()
        return None if row is None else form_of(json.loads(row[0]))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
