"""An incident as stored, and how it is written (`INC-12`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import UserFacingError
from bot.incidents.signature import Signature
from bot.store.connection import Connection

OPEN = "open"
RESOLVED = "resolved"
AUTOMATIC = "helpdesk"
"""`declared_by` of an incident the grouping opened (no engineer declared it)."""

COLUMNS = (
    "id, title, service, site, words, state, declared_by, opened_at, updated_at,"
    " resolved_at, resolved_by, resolution"
)
_REF = re.compile(r"^(?:inc-?|#)?(\d+)$", re.IGNORECASE)


class IncidentError(UserFacingError):
    """An incident action that cannot be done (unknown incident, already resolved)."""


@dataclass(frozen=True)
class Incident:
    number: int
    title: str
    service: str
    site: str
    words: str
    state: str
    declared_by: str
    opened_at: str
    updated_at: str
    resolved_at: str | None
    resolved_by: str | None
    resolution: str | None

    @property
    def ref(self) -> str:
        return ref(self.number)

    @property
    def signature(self) -> Signature:
        return Signature(self.service, self.site, frozenset(self.words.split()))


def ref(number: int) -> str:
    return f"INC-{number}"


def parse_incident_ref(text: str) -> int | None:
    match = _REF.match(text.strip())
    return int(match.group(1)) if match else None


def load(conn: Connection, number: int) -> Incident:
    row = conn.execute(f"SELECT {COLUMNS} FROM incidents WHERE id = ?", (number,)).fetchone()
    if row is None:
        raise IncidentError("incident.unknown", ref=ref(number))
    return Incident(*row)


def open_incidents(conn: Connection) -> list[Incident]:
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM incidents WHERE state = ? ORDER BY id", (OPEN,)
    ).fetchall()
    return [Incident(*row) for row in rows]


def linked_tickets(conn: Connection, number: int) -> list[int]:
    rows = conn.execute(
        "SELECT ticket_id FROM incident_tickets WHERE incident_id = ? ORDER BY ticket_id",
        (number,),
    ).fetchall()
    return [int(r[0]) for r in rows]
