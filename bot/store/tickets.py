"""Tickets, as far as the foundation needs them: open one, list a requester's, show one.

Ids are shown as `HD-<n>` (numbers start at 1001). Creation is idempotent on the
platform event id, so a redelivered "yes, open it" never opens two tickets. The
ticket issue adds SLA, triage, assignment and the rest on this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlite_utils

from bot.clock import Clock, iso, utcnow
from bot.store.database import transaction

FIRST_TICKET_NUMBER = 1001
_ID_RE = re.compile(r"^\s*(?:hd)?[-_ #]?(\d{1,9})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Ticket:
    number: int
    requester_email: str
    summary: str
    description: str
    category: str
    priority: str
    state: str
    created_at: str
    updated_at: str

    @property
    def ref(self) -> str:
        return f"HD-{self.number}"


def parse_ticket_ref(text: str) -> int | None:
    """`HD-1042`, `hd1042`, `#1042` or `1042` → 1042; anything else → None."""
    match = _ID_RE.match(text)
    return int(match.group(1)) if match else None


_COLUMNS = (
    "id, requester_email, summary, description, category, priority, state, created_at, updated_at"
)


class TicketStore:
    def __init__(self, db: sqlite_utils.Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def open(
        self,
        *,
        requester_email: str,
        requester_platform: str,
        requester_user_id: str,
        summary: str,
        description: str,
        category: str = "other",
        priority: str = "P3",
        idempotency_key: str | None = None,
    ) -> tuple[Ticket, bool]:
        """Open a ticket; return it and whether it is new (False: the key was seen before)."""
        now = iso(self._clock())
        with transaction(self._conn) as conn:
            if idempotency_key is not None:
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM tickets WHERE idempotency_key = ?",
                    (idempotency_key,),
                ).fetchone()
                if row is not None:
                    return Ticket(*row), False
            top = conn.execute("SELECT max(id) FROM tickets").fetchone()[0]
            number = max(FIRST_TICKET_NUMBER, (top or 0) + 1)
            conn.execute(
                "INSERT INTO tickets (id, idempotency_key, requester_email, requester_platform,"
                " requester_user_id, summary, description, category, priority, state, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?)",
                (
                    number,
                    idempotency_key,
                    requester_email,
                    requester_platform,
                    requester_user_id,
                    summary,
                    description,
                    category,
                    priority,
                    now,
                    now,
                ),
            )
            conn.execute(
                "INSERT INTO ticket_events (ticket_id, at, kind, actor, body)"
                " VALUES (?, ?, 'created', ?, '')",
                (number, now, requester_email),
            )
        ticket = self.get(number)
        assert ticket is not None
        return ticket, True

    def get(self, number: int) -> Ticket | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM tickets WHERE id = ?", (number,)
        ).fetchone()
        return None if row is None else Ticket(*row)

    def for_requester(self, email: str, limit: int = 10) -> list[Ticket]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM tickets WHERE requester_email = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (email, limit),
        ).fetchall()
        return [Ticket(*row) for row in rows]
