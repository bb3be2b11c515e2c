"""Grouping: on every new ticket, in the transaction that opens it.

1. Its signature (`bot.incidents.signature`) is stored in `incident_reports`.
2. If an open incident is similar to it, the ticket is linked to that incident and its
   requester told it is known (the first similar one, oldest incident first).
3. Otherwise the similar reports not yet in an incident from the last
   `incidents.window_minutes` are gathered; when they and the new one come from
   `incidents.threshold` different people, an incident opens (declared by `helpdesk`),
   all of them are linked, each requester is told, and the triage channel gets a status post.

Candidates are read by index: the same service in the window, or — for reports naming no
service — the same category in the window, the newest 200 (a cap that keeps a flood of
unrelated reports from making each new ticket slower; bench/incidents.py).
Nothing here runs when `incidents.enabled` is false, except storing the signature.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import iso
from bot.config import Settings
from bot.incidents.model import AUTOMATIC, OPEN, Incident, load, open_incidents
from bot.incidents.notices import status_post, tell_known
from bot.incidents.signature import Signature, signature
from bot.store.connection import Connection
from bot.store.outbox import Outbox
from bot.tickets.model import COLUMNS as TICKET_COLUMNS
from bot.tickets.model import Ticket

CANDIDATES = 200


def report_signature(settings: Settings, ticket: Ticket) -> Signature:
    config = settings.incidents
    return signature(ticket.summary, config.services, config.sites)


def link(
    conn: Connection, outbox: Outbox, incident: Incident, ticket: Ticket, by: str, now: str
) -> bool:
    """Link one ticket; tell its requester it is known. False when it was linked already."""
    cursor = conn.execute(
        "INSERT INTO incident_tickets (incident_id, ticket_id, linked_at, linked_by)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (incident.number, ticket.number, now, by),
    )
    if cursor.rowcount != 1:
        return False
    conn.execute(
        "UPDATE incident_reports SET incident_id = ? WHERE ticket_id = ?",
        (incident.number, ticket.number),
    )
    conn.execute("UPDATE incidents SET updated_at = ? WHERE id = ?", (now, incident.number))
    tell_known(outbox, incident, ticket)
    return True


def _ticket(conn: Connection, number: int) -> Ticket:
    return Ticket(
        *conn.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", (number,)).fetchone()
    )


def _candidates(
    conn: Connection, ticket: Ticket, sig: Signature, since: str
) -> list[tuple[int, str, Signature]]:
    """(ticket, requester, signature) of the unlinked reports in the window that may match."""
    if sig.service:
        rows = conn.execute(
            "SELECT r.ticket_id, t.requester_email, r.site, r.words FROM incident_reports r"
            " JOIN tickets t ON t.id = r.ticket_id"
            " WHERE r.service = ? AND r.at >= ? AND r.incident_id IS NULL AND r.ticket_id != ?",
            (sig.service, since, ticket.number),
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT r.ticket_id, t.requester_email, r.site, r.words FROM incident_reports r"
            " JOIN tickets t ON t.id = r.ticket_id"
            " WHERE r.service = '' AND r.category = ? AND r.at >= ? AND r.incident_id IS NULL"
            " AND r.ticket_id != ? ORDER BY r.at DESC LIMIT ?",
            (ticket.category, since, ticket.number, CANDIDATES),
        ).fetchall()
    return [
        (int(n), str(who).lower(), Signature(sig.service, site, frozenset(words.split())))
        for n, who, site, words in rows
    ]


def group_report(
    conn: Connection, settings: Settings, outbox: Outbox, ticket: Ticket, now: datetime
) -> int | None:
    """Record a new ticket's report and group it; the incident it joined or opened, if any."""
    config = settings.incidents
    sig = report_signature(settings, ticket)
    at = iso(now)
    conn.execute(
        "INSERT INTO incident_reports (ticket_id, at, category, service, site, words)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (ticket.number, at, ticket.category, sig.service, sig.site, " ".join(sorted(sig.words))),
    )
    if not config.enabled:
        return None
    for incident in open_incidents(conn):
        if sig.similar(incident.signature, config.similarity):
            link(conn, outbox, incident, ticket, AUTOMATIC, at)
            status_post(
                outbox,
                settings,
                f"incident:{incident.number}:linked:{ticket.number}",
                "linked",
                incident=incident.ref,
                ref=ticket.ref,
                summary=ticket.summary,
            )
            return incident.number
    since = iso(now - timedelta(minutes=config.window_minutes))
    found = [
        (n, who)
        for n, who, other in _candidates(conn, ticket, sig, since)
        if sig.similar(other, config.similarity)
    ]
    similar = [n for n, _ in found]
    people = {who for _, who in found} | {ticket.requester_email.lower()}
    if len(people) < config.threshold:  # one person reporting five times is not an outage
        return None
    first = _ticket(conn, min(similar)) if similar else ticket  # the title: the first report
    number = open_incident(conn, first.summary, sig, AUTOMATIC, at)
    incident = load(conn, number)
    for other in sorted(similar):
        link(conn, outbox, incident, _ticket(conn, other), AUTOMATIC, at)
    link(conn, outbox, incident, ticket, AUTOMATIC, at)
    status_post(
        outbox,
        settings,
        f"incident:{number}:opened",
        "grouped",
        incident=incident.ref,
        title=incident.title,
        count=len(similar) + 1,
        minutes=config.window_minutes,
        refs=", ".join(f"HD-{n}" for n in [*sorted(similar), ticket.number]),
    )
    return number


def open_incident(conn: Connection, title: str, sig: Signature, by: str, at: str) -> int:
    cursor = conn.execute(
        "INSERT INTO incidents (title, service, site, words, state, declared_by, opened_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (title, sig.service, sig.site, " ".join(sorted(sig.words)), OPEN, by, at, at),
    )
    number = int(cursor.fetchone()[0])
    conn.execute(
        "INSERT INTO incident_updates (incident_id, at, actor, kind, body) VALUES (?, ?, ?, ?, ?)",
        (number, at, by, "opened", title),
    )
    return number
