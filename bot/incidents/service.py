"""What engineers do with incidents: declare, link, update, resolve, list.

Each action is one transaction with its status post and its notices (`notices`).
Resolving first resolves every linked ticket still open, with the incident's resolution
and without the ticket's own notice, then marks the incident resolved and tells each
linked requester once; run again after a crash in between, it finishes the job (tickets
already resolved are left as they are, people already told are not told again).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock, iso, utcnow
from bot.config import Settings
from bot.incidents.grouping import link, open_incident
from bot.incidents.model import (
    COLUMNS,
    OPEN,
    RESOLVED,
    Incident,
    IncidentError,
    linked_tickets,
    load,
    open_incidents,
)
from bot.incidents.notices import status_post, tell_resolved
from bot.incidents.signature import signature
from bot.store.database import Database, transaction
from bot.store.outbox import Outbox
from bot.tickets.model import OPEN as TICKET_OPEN
from bot.tickets.service import TicketService


@dataclass(frozen=True)
class Resolution:
    incident: Incident
    tickets_resolved: int
    people_told: int


class IncidentService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        tickets: TicketService,
        clock: Clock = utcnow,
    ) -> None:
        self._conn = db.conn
        self._settings = settings
        self._tickets = tickets
        self._clock = clock
        self._outbox = Outbox(db, clock)

    # `shown_as`: how status posts name the engineer (their directory display name).

    def get(self, number: int) -> Incident:
        return load(self._conn, number)

    def tickets(self, number: int) -> list[int]:
        return linked_tickets(self._conn, number)

    def open_ones(self) -> list[Incident]:
        return open_incidents(self._conn)

    def recent(self, limit: int = 10) -> list[Incident]:
        rows = self._conn.execute(
            f"SELECT {COLUMNS} FROM incidents ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [Incident(*row) for row in rows]

    def _update(self, number: int, actor: str, kind: str, body: str, at: str) -> int:
        """Record an update on incident `number`; return its id (`RETURNING`: on PostgreSQL
        another replica's update may commit between an insert and a `max(id)` read)."""
        (update_id,) = self._conn.execute(
            "INSERT INTO incident_updates (incident_id, at, actor, kind, body)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (number, at, actor, kind, body),
        ).fetchone()
        self._conn.execute("UPDATE incidents SET updated_at = ? WHERE id = ?", (at, number))
        return int(update_id)

    def declare(
        self, engineer: str, title: str, tickets: list[int], shown_as: str = ""
    ) -> Incident:
        """Open an incident by hand; the tickets named are linked (their requesters told)."""
        config = self._settings.incidents
        at = iso(self._clock())
        for number in tickets:
            self._tickets.require(number)
        with transaction(self._conn) as conn:
            number = open_incident(
                conn, title, signature(title, config.services, config.sites), engineer, at
            )
            incident = load(conn, number)
            for ticket in tickets:
                link(conn, self._outbox, incident, self._tickets.require(ticket), engineer, at)
            status_post(
                self._outbox,
                self._settings,
                f"incident:{number}:opened",
                "declared",
                incident=incident.ref,
                title=title,
                engineer=shown_as or engineer,
                count=len(tickets),
            )
        return incident

    def link(self, number: int, engineer: str, tickets: list[int], shown_as: str = "") -> Incident:
        at = iso(self._clock())
        with transaction(self._conn) as conn:
            incident = self._open(number)
            added = [
                n
                for n in tickets
                if link(conn, self._outbox, incident, self._tickets.require(n), engineer, at)
            ]
            if added:
                refs = ", ".join(f"HD-{n}" for n in added)
                self._update(number, engineer, "linked", refs, at)
                status_post(
                    self._outbox,
                    self._settings,
                    f"incident:{number}:link:{at}:{refs}",
                    "linked_by",
                    incident=incident.ref,
                    refs=refs,
                    engineer=shown_as or engineer,
                )
        return incident

    def update(self, number: int, engineer: str, text: str, shown_as: str = "") -> Incident:
        at = iso(self._clock())
        with transaction(self._conn):
            incident = self._open(number)
            update_id = self._update(number, engineer, "update", text, at)
            status_post(
                self._outbox,
                self._settings,
                f"incident:{number}:update:{update_id}",
                "update",
                incident=incident.ref,
                title=incident.title,
                text=text,
                engineer=shown_as or engineer,
            )
        return incident

    def resolve(self, number: int, engineer: str, resolution: str) -> Resolution:
        incident = self.get(number)
        if incident.state != OPEN:
            raise IncidentError("incident.not_open", incident=incident.ref)
        resolved = 0
        for ticket_number in self.tickets(number):
            if self._tickets.require(ticket_number).state in TICKET_OPEN:
                self._tickets.resolve(ticket_number, engineer, resolution, tell=False)
                resolved += 1
        at = iso(self._clock())
        told = 0
        with transaction(self._conn) as conn:
            self._open(number)  # someone else resolved it meanwhile: say so
            conn.execute(
                "UPDATE incidents SET state = ?, resolved_at = ?, resolved_by = ?,"
                " resolution = ?, updated_at = ? WHERE id = ?",
                (RESOLVED, at, engineer, resolution, at, number),
            )
            self._update(number, engineer, "resolved", resolution, at)
            incident = load(conn, number)
            for ticket_number in linked_tickets(conn, number):
                told += tell_resolved(self._outbox, incident, self._tickets.require(ticket_number))
            status_post(
                self._outbox,
                self._settings,
                f"incident:{number}:resolved",
                "resolved",
                incident=incident.ref,
                title=incident.title,
                resolution=resolution,
                tickets=len(linked_tickets(conn, number)),
                people=told,
            )
        return Resolution(incident, resolved, told)

    def _open(self, number: int) -> Incident:
        incident = load(self._conn, number)
        if incident.state != OPEN:
            raise IncidentError("incident.not_open", incident=incident.ref)
        return incident
