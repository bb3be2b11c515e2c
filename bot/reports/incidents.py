"""Major incidents in a report's period (`bot.incidents`): read once, shown the same way
in the shift handoff and the weekly report.

An incident is *in* a period [start, end) when it opened in it, was resolved in it, or
opened before `end` and is still open. Incidents are desk-wide: a team filter does not
apply (an outage belongs to everyone it hits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.store.connection import Connection


@dataclass(frozen=True)
class IncidentLine:
    number: int
    title: str
    state: str
    tickets: int
    opened_at: datetime
    resolved_at: datetime | None

    @property
    def ref(self) -> str:
        return f"INC-{self.number}"


@dataclass(frozen=True)
class IncidentCounts:
    opened: int
    resolved: int
    still_open: int
    tickets: int
    """Tickets linked to the incidents counted."""


def incidents_in(conn: Connection, start: datetime, end: datetime) -> tuple[IncidentLine, ...]:
    s, e = iso(start), iso(end)
    rows = conn.execute(
        "SELECT i.id, i.title, i.state, i.opened_at, i.resolved_at,"
        " (SELECT count(*) FROM incident_tickets x WHERE x.incident_id = i.id)"
        " FROM incidents i WHERE (i.opened_at >= ? AND i.opened_at < ?)"
        " OR (i.resolved_at >= ? AND i.resolved_at < ?)"
        " OR (i.state = 'open' AND i.opened_at < ?) ORDER BY i.id",
        (s, e, s, e, e),
    ).fetchall()
    return tuple(
        IncidentLine(
            int(n),
            str(title),
            str(state),
            int(count),
            parse_iso(opened),
            parse_iso(resolved) if resolved else None,
        )
        for n, title, state, opened, resolved, count in rows
    )


def counts(lines: Sequence[IncidentLine], start: datetime, end: datetime) -> IncidentCounts:
    return IncidentCounts(
        opened=sum(1 for x in lines if start <= x.opened_at < end),
        resolved=sum(
            1 for x in lines if x.resolved_at is not None and start <= x.resolved_at < end
        ),
        still_open=sum(1 for x in lines if x.state == "open"),
        tickets=sum(x.tickets for x in lines),
    )


def incident_section(
    lines: Sequence[IncidentLine],
    start: datetime,
    end: datetime,
    when: Callable[[datetime], str],
    tr: Callable[..., str],
) -> tuple[str, list[str]]:
    """(heading, lines) for a report: the counts in the heading, one line per incident.
    `tr` reads the report's own labels: incidents, incidents_count, incident_line,
    incident_resolved, incident_open, incident_closed."""
    c = counts(lines, start, end)
    body = []
    for x in lines:
        line = tr(
            "incident_line",
            ref=x.ref,
            title=x.title,
            state=tr("incident_open") if x.state == "open" else tr("incident_closed"),
            tickets=x.tickets,
            opened=when(x.opened_at),
        )
        if x.resolved_at is not None:
            line += " · " + tr("incident_resolved", time=when(x.resolved_at))
        body.append(line)
    count = tr("incidents_count", opened=c.opened, resolved=c.resolved, open=c.still_open)
    return f"{tr('incidents')} ({count})", body
