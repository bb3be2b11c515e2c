"""The shift handoff: what the next shift must know, from the store, in one call.

`handoff(conn, start, end, trend_windows=..., now=...)` reads the store and returns a
frozen `Handoff`; `render_text`, `render_markdown` (en / zh-Hant) and `to_json` present
it, and `bot.reports.chart.handoff_chart` draws it. Times are UTC; the store holds them
as fixed-width ISO text, so every "in [a, b)" below is an indexed text range.

How each number is defined (the shift is [start, end); `team`, when given, keeps only
tickets whose *current* `tickets.team` is that team):

- opened: tickets with created_at in [start, end).
- resolved: tickets with resolved_at in [start, end). A reopened ticket has its
  resolved_at cleared, so it counts only if it was resolved again; a closed ticket keeps
  its resolved_at and still counts.
- per-hour by priority: the opened tickets bucketed by whole hours from `start`
  (bucket i = [start + i h, start + (i+1) h), the last one cut at `end`), per P1..P4.
- The *snapshot* figures are the tickets' current state (as of the report, `now`,
  normally = `end`) among tickets created before `end`:
  - still open: state in new, triaged, in_progress, waiting_on_user, escalated;
  - open P1/P2: those open with priority P1 or P2, each with owner (assignee, None =
    unassigned) and age = now - created_at; oldest first within priority;
  - unassigned: open with no assignee; waiting on user: state waiting_on_user.
- SLA breached in the shift, one item per (ticket, clock): an `sla_breach` event with
  `at` in [start, end) (the SLA scan records it when a due moment passes), plus a ticket
  still open and not waiting whose response_due_at is in [start, cut) with no first
  response by then, or whose resolution_due_at is in [start, cut) (this catches a breach
  the scan has not recorded yet), where cut = min(end, now): a due moment still in the
  future (the current shift) has not been breached. The heading counts distinct tickets
  and clocks, both labelled.
- SLA at risk: tickets still open and not waiting_on_user (waiting pauses the clocks)
  whose response_due_at (only while there is no first response) or resolution_due_at
  falls in [cut, cut + 2 h): due within the next two hours, not yet breached.
- escalations: tickets with an `escalation` event in [start, end) ("new this shift"),
  plus tickets whose state is escalated now ("still escalated"); each with the team it
  sits with now (`tickets.team`, which the escalation set), owner, and the time of its
  latest escalation.
- top categories: the 5 most frequent categories among the opened tickets (ties by
  name), each with trend_avg = mean count of that category over `trend_windows` (a
  window without one counts 0), delta = count - trend_avg and change = delta /
  trend_avg (None when trend_avg is 0 or no windows were given).
- self-service without a ticket (desk-wide: it belongs to no team, so `team` does not
  filter it):
  - kb_solved: knowledge searches made in [start, end) whose user then pressed
    "solved it" (kb_searches.feedback = 'solved'). Searches without feedback and "not
    quite" are NOT solved; their counts are reported beside it (`kb_unrated`).
  - unlocks / resets: audit_log records with `at` in [start, end), action unlock /
    password_reset, outcome done, done by the user themself (verification is not
    engineer_role) and not tied to a ticket (ticket is NULL).
  - solved = kb_solved + unlocks + resets; deflection = solved / (solved + tickets
    opened desk-wide in the shift); None when both are 0.
- CSAT: `csat` events with a score and `at` in [start, end): count and mean score.
- unusual events:
  - lockout_burst: audit_log records in [start, end) with outcome refused and reason
    lockout_burst (self-service paused by the burst check): count, first and last time;
  - category_spike: a category whose opened count is >= 3 x its trend average and
    >= 5 tickets (needs at least one trend window).
- major incidents (desk-wide, like self-service: `team` does not filter them): incidents
  opened in [start, end), resolved in [start, end), or opened before `end` and still open
  now; each with its state, the tickets linked to it and when it opened (and resolved).
- notes and on-call: passed through as given.

Indexes this reads best with (beside the existing tickets_created, tickets_state,
tickets_team, ticket_events_ticket, kb_searches_at):
    CREATE INDEX tickets_resolved ON tickets (resolved_at);
    CREATE INDEX ticket_events_kind_at ON ticket_events (kind, at);
    CREATE INDEX audit_action_outcome_at ON audit_log (action, outcome, at);
Without them every query still answers correctly, by scanning.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import iso, parse_iso
from bot.i18n import LANGUAGES, section
from bot.reports.incidents import IncidentLine, incident_section, incidents_in
from bot.store.connection import Connection
from bot.tickets.model import ESCALATED, OPEN, PRIORITIES, WAITING, ref

AT_RISK_WINDOW = timedelta(hours=2)
TOP_CATEGORIES = 5
SPIKE_FACTOR = 3.0
SPIKE_MIN = 5
LIST_LIMIT = 10
"""Renderers list at most this many items per section, then "… and N more"."""

_OPEN_STATES = tuple(sorted(OPEN))


# -- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Numbered:
    """A row about one ticket: its number, and the reference people read (HD-1042)."""

    number: int

    @property
    def ref(self) -> str:
        return ref(self.number)


@dataclass(frozen=True)
class TicketLine(_Numbered):
    """An open P1/P2 ticket."""

    priority: str
    state: str
    owner: str | None
    team: str
    category: str
    created_at: datetime
    age: timedelta


@dataclass(frozen=True)
class SlaItem(_Numbered):
    """One SLA clock of one ticket: breached (at = when) or at risk (at = due)."""

    priority: str
    clock: str  # response | resolution
    at: datetime
    owner: str | None
    team: str


@dataclass(frozen=True)
class Escalation(_Numbered):
    priority: str
    team: str
    owner: str | None
    state: str
    escalated_at: datetime | None
    in_shift: bool
    still_escalated: bool


@dataclass(frozen=True)
class CategoryCount:
    category: str
    count: int
    trend_avg: float | None
    delta: float | None
    change: float | None


@dataclass(frozen=True)
class SelfService:
    kb_solved: int
    kb_searches: int
    kb_unrated: int
    kb_not_quite: int
    unlocks: int
    resets: int
    opened_all: int

    @property
    def solved(self) -> int:
        return self.kb_solved + self.unlocks + self.resets

    @property
    def deflection(self) -> float | None:
        total = self.solved + self.opened_all
        return None if total == 0 else self.solved / total


@dataclass(frozen=True)
class Csat:
    count: int
    average: float | None


@dataclass(frozen=True)
class Unusual:
    kind: str  # lockout_burst | category_spike
    count: int
    category: str | None = None
    trend_avg: float | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None


@dataclass(frozen=True)
class HourCount:
    start: datetime
    counts: tuple[int, ...]  # per priority, in PRIORITIES order

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Handoff:
    start: datetime
    end: datetime
    now: datetime
    team: str | None
    opened: int
    resolved: int
    open_at_end: int
    unassigned: int
    waiting: int
    open_high: tuple[TicketLine, ...]
    breached: tuple[SlaItem, ...]
    at_risk: tuple[SlaItem, ...]
    escalations: tuple[Escalation, ...]
    categories: tuple[CategoryCount, ...]
    hourly: tuple[HourCount, ...]
    self_service: SelfService
    csat: Csat
    unusual: tuple[Unusual, ...]
    trend_windows: int
    notes: tuple[tuple[str, str], ...] = ()
    oncall_now: str | None = None
    oncall_next: str | None = None
    zone: str = "UTC"
    """The IANA zone times are shown in (the rotation team's)."""
    desk: str | None = None
    """The rotation team the report is for when `team` is None (a rotation of one team
    covers every ticket): named in the heading with "all teams" beside it."""
    incidents: tuple[IncidentLine, ...] = ()
    """Major incidents opened, resolved or open in the shift (desk-wide)."""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def breached_tickets(self) -> int:
        return len({item.number for item in self.breached})

    @property
    def quiet(self) -> bool:
        """Nothing opened, nothing resolved, nothing open."""
        return self.opened == 0 and self.resolved == 0 and self.open_at_end == 0


# -- reading the store ---------------------------------------------------------------------


def _team(conn: Connection, team: str | None, column: str) -> tuple[str, list[str]]:
    """A team filter. SQLite's unary + (`Dialect.unindexed`) keeps it from driving a range
    query by tickets_team."""
    return (f" AND {conn.dialect.unindexed(column)} = ?", [team]) if team else ("", [])


def _category_counts(conn: Connection, start: str, end: str, team: str | None) -> Counter[str]:
    sql, params = _team(conn, team, "team")
    rows = conn.execute(
        "SELECT category, count(*) FROM tickets WHERE created_at >= ? AND created_at < ?"
        f"{sql} GROUP BY category",
        (start, end, *params),
    ).fetchall()
    return Counter({str(c): int(n) for c, n in rows})


def _events(
    conn: Connection, kind: str, start: str, end: str, team: str | None
) -> list[tuple[Any, ...]]:
    """Events of one kind in [start, end) with their ticket's priority, owner and team."""
    sql, params = _team(conn, team, "t.team")
    return conn.execute(
        "SELECT e.ticket_id, e.at, e.data_json, t.priority, t.assignee, t.team, t.state"
        f" FROM ticket_events e {conn.dialect.join_in_order} tickets t ON t.id = e.ticket_id"
        f" WHERE e.kind = ? AND e.at >= ? AND e.at < ?{sql} ORDER BY e.at, e.id",
        (kind, start, end, *params),
    ).fetchall()


def _clock_of(data_json: str) -> str:
    try:
        data = json.loads(data_json)
    except ValueError:
        return "resolution"
    clock = data.get("clock") if isinstance(data, dict) else None
    return clock if clock in ("response", "resolution") else "resolution"


def handoff(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    trend_windows: Sequence[tuple[datetime, datetime]],
    now: datetime,
    notes: Sequence[tuple[str, str]] = (),
    oncall_now: str | None = None,
    oncall_next: str | None = None,
    team: str | None = None,
    zone: str = "UTC",
    desk: str | None = None,
) -> Handoff:
    """The handoff of the shift [start, end) (definitions in the module docstring)."""
    s, e = iso(start), iso(end)
    tsql, tparams = _team(conn, team, "team")

    # Opened in the shift, by hour and priority, and by category.
    opened_rows = conn.execute(
        f"SELECT priority, category, created_at FROM tickets"
        f" WHERE created_at >= ? AND created_at < ?{tsql}",
        (s, e, *tparams),
    ).fetchall()
    hours = max(1, -(-int((end - start).total_seconds()) // 3600))
    buckets = [[0] * len(PRIORITIES) for _ in range(hours)]
    categories: Counter[str] = Counter()
    for priority, category, created_at in opened_rows:
        categories[str(category)] += 1
        if priority in PRIORITIES:
            index = int((parse_iso(created_at) - start).total_seconds() // 3600)
            buckets[min(max(index, 0), hours - 1)][PRIORITIES.index(priority)] += 1
    hourly = tuple(
        HourCount(start + timedelta(hours=i), tuple(counts)) for i, counts in enumerate(buckets)
    )
    opened = len(opened_rows)
    opened_all = (
        opened
        if team is None
        else int(
            conn.execute(
                "SELECT count(*) FROM tickets WHERE created_at >= ? AND created_at < ?", (s, e)
            ).fetchone()[0]
        )
    )

    resolved = int(
        conn.execute(
            f"SELECT count(*) FROM tickets WHERE resolved_at >= ? AND resolved_at < ?{tsql}",
            (s, e, *tparams),
        ).fetchone()[0]
    )

    # The open snapshot: one pass over the open tickets. INDEXED BY: the planner's
    # statistics cannot tell that open tickets are a sliver of the table (no STAT4), and
    # would scan it, or walk tickets_created over all tickets created before `end`.
    # (SQLite's hints come from the dialect; PostgreSQL's planner needs none.)
    marks = ", ".join("?" * len(_OPEN_STATES))
    team_open = " AND t.team = ?" if team else ""
    dialect = conn.dialect
    open_rows = conn.execute(
        "SELECT t.id, t.priority, t.state, t.assignee, t.team, t.category, t.created_at,"
        " t.first_response_at, t.response_due_at, t.resolution_due_at,"
        " CASE WHEN t.state = ? THEN (SELECT max(x.at) FROM ticket_events x"
        f"  WHERE x.ticket_id = t.id AND {dialect.unindexed('x.kind')} = 'escalation') END"
        f" FROM tickets t{dialect.indexed_by('tickets_team' if team else 'tickets_state')}"
        f" WHERE t.state IN ({marks}) AND {dialect.unindexed('t.created_at')} < ?{team_open}",
        (ESCALATED, *_OPEN_STATES, e, *tparams),
    ).fetchall()
    cut_at = min(end, now)  # a due moment after `now` has not been breached yet
    cut, risk_end = iso(cut_at), iso(cut_at + AT_RISK_WINDOW)
    open_high: list[TicketLine] = []
    at_risk: list[SlaItem] = []
    breached: dict[tuple[int, str], SlaItem] = {}
    escalations: dict[int, Escalation] = {}
    unassigned = waiting = 0
    for row in open_rows:
        number, priority, state, owner, tteam, category, created_at = row[:7]
        first_response, response_due, resolution_due, escalated_at = row[7:]
        created = parse_iso(created_at)
        unassigned += owner is None
        waiting += state == WAITING
        if priority in ("P1", "P2"):
            line = TicketLine(
                number, priority, state, owner, tteam, category, created, now - created
            )
            open_high.append(line)
        if state == ESCALATED:
            escalations[number] = Escalation(
                number,
                priority,
                tteam,
                owner,
                state,
                parse_iso(escalated_at) if escalated_at else None,
                in_shift=False,
                still_escalated=True,
            )
        if state == WAITING:
            continue
        if response_due and (first_response is None or first_response > response_due):
            item = SlaItem(number, priority, "response", parse_iso(response_due), owner, tteam)
            if s <= response_due < cut:
                breached[(number, "response")] = item
            elif cut <= response_due < risk_end and first_response is None:
                at_risk.append(item)
        if resolution_due:
            item = SlaItem(number, priority, "resolution", parse_iso(resolution_due), owner, tteam)
            if s <= resolution_due < cut:
                breached[(number, "resolution")] = item
            elif cut <= resolution_due < risk_end:
                at_risk.append(item)

    # Breaches the SLA scan recorded in the shift (the recorded time wins).
    for number, at, data_json, priority, owner, tteam, _state in _events(
        conn, "sla_breach", s, e, team
    ):
        clock = _clock_of(data_json)
        breached[(number, clock)] = SlaItem(number, priority, clock, parse_iso(at), owner, tteam)

    # Escalations raised in the shift.
    for number, at, _data, priority, owner, tteam, state in _events(conn, "escalation", s, e, team):
        escalations[number] = Escalation(
            number,
            priority,
            tteam,
            owner,
            state,
            parse_iso(at),
            in_shift=True,
            still_escalated=state == ESCALATED,
        )

    # CSAT given in the shift.
    scores: list[int] = []
    for _n, _at, data_json, *_rest in _events(conn, "csat", s, e, team):
        score = json.loads(data_json).get("score")
        if isinstance(score, int):
            scores.append(score)
    csat = Csat(len(scores), sum(scores) / len(scores) if scores else None)

    # Categories against the trend.
    trend: Counter[str] = Counter()
    for window_start, window_end in trend_windows:
        trend.update(_category_counts(conn, iso(window_start), iso(window_end), team))
    n_windows = len(trend_windows)

    def category_count(category: str, count: int) -> CategoryCount:
        if not n_windows:
            return CategoryCount(category, count, None, None, None)
        avg = trend[category] / n_windows
        delta = count - avg
        return CategoryCount(category, count, avg, delta, delta / avg if avg else None)

    ranked = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
    top = tuple(category_count(c, n) for c, n in ranked[:TOP_CATEGORIES])
    unusual: list[Unusual] = []

    # Self-service (desk-wide).
    kb = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE feedback = 'solved'),"
        " count(*) FILTER (WHERE feedback IS NULL),"
        " count(*) FILTER (WHERE feedback = 'not_quite')"
        " FROM kb_searches WHERE at >= ? AND at < ?",
        (s, e),
    ).fetchone()
    unlocks = resets = 0
    burst: list[str] = []
    for action, outcome, reason, verification, ticket, at in conn.execute(
        "SELECT action, outcome, reason, verification, ticket, at FROM audit_log"
        " WHERE action IN ('unlock', 'password_reset') AND outcome IN ('done', 'refused')"
        " AND at >= ? AND at < ? ORDER BY at",
        (s, e),
    ):
        if outcome == "done" and verification != "engineer_role" and ticket is None:
            unlocks += action == "unlock"
            resets += action == "password_reset"
        elif outcome == "refused" and reason == "lockout_burst":
            burst.append(at)
    self_service = SelfService(
        int(kb[1]), int(kb[0]), int(kb[2]), int(kb[3]), unlocks, resets, opened_all
    )
    if burst:
        unusual.append(
            Unusual(
                "lockout_burst",
                len(burst),
                first_at=parse_iso(burst[0]),
                last_at=parse_iso(burst[-1]),
            )
        )
    if n_windows:
        for category, count in ranked:
            avg = trend[category] / n_windows
            if count >= SPIKE_MIN and count >= SPIKE_FACTOR * avg:
                unusual.append(Unusual("category_spike", count, category, avg))

    incidents = incidents_in(conn, start, end)

    def by_priority(item: SlaItem) -> tuple[str, datetime, int]:
        return (item.priority, item.at, item.number)

    return Handoff(
        start=start,
        end=end,
        now=now,
        team=team,
        opened=opened,
        resolved=resolved,
        open_at_end=len(open_rows),
        unassigned=unassigned,
        waiting=waiting,
        open_high=tuple(sorted(open_high, key=lambda t: (t.priority, t.created_at, t.number))),
        breached=tuple(sorted(breached.values(), key=by_priority)),
        at_risk=tuple(sorted(at_risk, key=lambda i: (i.at, i.priority, i.number))),
        escalations=tuple(
            sorted(
                escalations.values(),
                key=lambda x: (x.priority, -(x.escalated_at or start).timestamp(), x.number),
            )
        ),
        categories=top,
        hourly=hourly,
        self_service=self_service,
        csat=csat,
        unusual=tuple(unusual),
        trend_windows=n_windows,
        notes=tuple((str(a), str(b)) for a, b in notes),
        oncall_now=oncall_now,
        oncall_next=oncall_next,
        zone=zone,
        desk=desk,
        incidents=incidents,
    )


def same_shift(start: datetime, end: datetime, days: int = 7) -> list[tuple[datetime, datetime]]:
    """The same shift on each of the previous `days` days: the usual `trend_windows`."""
    return [(start - timedelta(days=d), end - timedelta(days=d)) for d in range(1, days + 1)]


# -- labels (to move into bot/locales/*.toml under [handoff]) --------------------------------

LABELS: dict[str, dict[str, str]] = {lang: section(lang, "report.handoff") for lang in LANGUAGES}
"""Labels for the rendering, from the message catalogue's `[report.handoff]` (bot/locales)."""


def label(lang: str, key: str, /, **params: object) -> str:
    entries = LABELS.get(lang, LABELS["en"])
    template = entries.get(key) or LABELS["en"][key]
    return template.format(**params)


# -- rendering -----------------------------------------------------------------------------


def _age(lang: str, age: timedelta) -> str:
    minutes = max(0, int(age.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return label(lang, "days_hours", d=days, h=hours)
    if hours:
        return label(lang, "hours_minutes", h=hours, m=mins)
    return label(lang, "minutes", m=mins)


def _when(h: Handoff, moment: datetime) -> str:
    """HH:MM within the shift's day, with the date otherwise (the team's zone)."""
    moment = moment.astimezone(h.tz)
    if moment.date() in (h.start.astimezone(h.tz).date(), h.end.astimezone(h.tz).date()):
        return moment.strftime("%H:%M")
    return moment.strftime("%m-%d %H:%M")


def _span(h: Handoff) -> str:
    a, b = h.start.astimezone(h.tz), h.end.astimezone(h.tz)
    if a.date() == b.date():
        return f"{a:%Y-%m-%d %H:%M}–{b:%H:%M} {b:%Z}"
    return f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M} {b:%Z}"


def _num(value: float) -> str:
    return f"{value:.1f}"


def _signed(value: float) -> str:
    return f"{value:+.1f}"


def _state(lang: str, state: str) -> str:
    return label(lang, "resolved_state" if state == "resolved" else state)


def _owner(lang: str, owner: str | None) -> str:
    return owner if owner else label(lang, "nobody")


def _sections(h: Handoff, lang: str) -> list[tuple[str | None, list[str]]]:
    """The report as (heading, lines) pairs, shared by the text and Markdown renderers."""

    def tr(key: str, /, **params: object) -> str:
        return label(lang, key, **params)

    out: list[tuple[str | None, list[str]]] = []
    who = h.team or (f"{h.desk} ({tr('all_teams')})" if h.desk else tr("all_teams"))
    header = [f"{tr('title')} — {who} — {_span(h)}"]
    if h.quiet:
        header.append(tr("quiet"))
    else:
        header.append(
            f"{tr('opened', n=h.opened)} · {tr('resolved', n=h.resolved)} · "
            f"{tr('open', n=h.open_at_end)} "
            + tr(
                "open_detail",
                unassigned=tr("unassigned", n=h.unassigned),
                waiting=tr("waiting", n=h.waiting),
            )
        )
    out.append((None, header))

    def capped(items: list[str]) -> list[str]:
        if len(items) <= LIST_LIMIT:
            return items
        return [*items[:LIST_LIMIT], tr("more", n=len(items) - LIST_LIMIT)]

    if h.open_high:
        out.append(
            (
                f"{tr('high')} ({len(h.open_high)})",
                capped(
                    [
                        f"{t.ref} {t.priority} {_state(lang, t.state)} · {_owner(lang, t.owner)}"
                        f" · {tr('age', age=_age(lang, t.age))} · {t.category}"
                        for t in h.open_high
                    ]
                ),
            )
        )
    if h.breached:
        out.append(
            (
                f"{tr('breached')} ("
                + tr("breached_count", tickets=h.breached_tickets, clocks=len(h.breached))
                + ")",
                capped(
                    [
                        f"{i.ref} {i.priority} {tr(i.clock)} · {tr('at', time=_when(h, i.at))}"
                        f" · {_owner(lang, i.owner)}"
                        for i in h.breached
                    ]
                ),
            )
        )
    if h.at_risk:
        out.append(
            (
                f"{tr('at_risk')} ({len(h.at_risk)})",
                capped(
                    [
                        f"{i.ref} {i.priority} {tr(i.clock)} · {tr('due', time=_when(h, i.at))}"
                        f" · {_owner(lang, i.owner)}"
                        for i in h.at_risk
                    ]
                ),
            )
        )
    if h.escalations:
        lines = []
        for x in h.escalations:
            status = (
                tr("still_escalated")
                if x.still_escalated
                else tr("no_longer", state=_state(lang, x.state))
            )
            tags = [tr("with_team", team=x.team), status]
            if x.in_shift:
                tags.append(tr("new_in_shift"))
            if x.escalated_at is not None:
                tags.append(_when(h, x.escalated_at))
            lines.append(f"{x.ref} {x.priority} · " + " · ".join(tags))
        out.append((f"{tr('escalations')} ({len(h.escalations)})", capped(lines)))
    if h.categories:
        lines = []
        for c in h.categories:
            text = f"{c.category} {c.count}"
            if c.trend_avg is not None and c.delta is not None:
                text += f" ({_signed(c.delta)}, {tr('vs_avg', avg=_num(c.trend_avg))})"
            lines.append(text)
        out.append((tr("categories"), lines))
    if h.incidents:
        out.append(incident_section(h.incidents, h.start, h.end, lambda m: _when(h, m), tr))
    ss = h.self_service
    rate = tr("na") if ss.deflection is None else f"{ss.deflection:.0%}"
    ss_lines = [
        f"{ss.solved}: {tr('kb_solved', n=ss.kb_solved)} · {tr('unlocks', n=ss.unlocks)}"
        f" · {tr('resets', n=ss.resets)} · {tr('deflection', rate=rate)}"
    ]
    if ss.kb_unrated:
        ss_lines.append(tr("kb_unrated", n=ss.kb_unrated))
    out.append((tr("self_service"), ss_lines))
    out.append(
        (
            tr("csat"),
            [
                tr("csat_none")
                if h.csat.average is None
                else tr(
                    "csat_line_one" if h.csat.count == 1 else "csat_line",
                    n=h.csat.count,
                    avg=f"{h.csat.average:.1f}",
                )
            ],
        )
    )
    if h.unusual:
        lines = []
        for u in h.unusual:
            if u.kind == "lockout_burst":
                first = _when(h, u.first_at) if u.first_at else "?"
                last = _when(h, u.last_at) if u.last_at else "?"
                lines.append(tr("lockout_burst", n=u.count, first=first, last=last))
            else:
                avg = _num(u.trend_avg) if u.trend_avg is not None else tr("na")
                lines.append(tr("category_spike", category=u.category, n=u.count, avg=avg))
        out.append((tr("unusual"), lines))
    if h.notes:
        out.append((tr("notes"), [f"{who}: {text}" for who, text in h.notes]))
    out.append(
        (
            None,
            [
                tr(
                    "oncall",
                    now=h.oncall_now or tr("unset"),
                    next=h.oncall_next or tr("unset"),
                )
            ],
        )
    )
    return out


def render_text(h: Handoff, lang: str = "en") -> str:
    """Plain text for a terminal or a chat message without formatting."""
    lines: list[str] = []
    for heading, body in _sections(h, lang):
        if heading is None:
            lines.extend(body)
            continue
        lines.append(heading + label(lang, "colon"))
        lines.extend(f"  {line}" for line in body)
    return "\n".join(lines) + "\n"


def render_markdown(h: Handoff, lang: str = "en") -> str:
    """Markdown: a heading, then one section per part, lists as bullets."""
    sections = _sections(h, lang)
    head = sections[0][1]
    lines = [f"## {head[0]}", "", f"**{head[1]}**"]
    for heading, body in sections[1:]:
        lines.append("")
        if heading is None:
            lines.extend(f"_{line}_" for line in body)
            continue
        lines.append(f"### {heading}")
        lines.extend(f"- {line}" for line in body)
    return "\n".join(lines) + "\n"


def _t(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def to_json(h: Handoff) -> dict[str, Any]:
    """Everything, JSON-ready: ISO-8601 UTC times, ages in seconds, all list items."""
    ss = h.self_service
    return {
        "start": iso(h.start),
        "end": iso(h.end),
        "now": iso(h.now),
        "team": h.team,
        "desk": h.desk,
        "quiet": h.quiet,
        "opened": h.opened,
        "resolved": h.resolved,
        "open_at_end": h.open_at_end,
        "unassigned": h.unassigned,
        "waiting_on_user": h.waiting,
        "open_high": [
            {
                "ref": t.ref,
                "priority": t.priority,
                "state": t.state,
                "owner": t.owner,
                "team": t.team,
                "category": t.category,
                "created_at": iso(t.created_at),
                "age_seconds": int(t.age.total_seconds()),
            }
            for t in h.open_high
        ],
        "sla_breached_tickets": h.breached_tickets,
        "sla_breached": [_sla_json(i) for i in h.breached],
        "sla_at_risk": [_sla_json(i) for i in h.at_risk],
        "escalations": [
            {
                "ref": x.ref,
                "priority": x.priority,
                "team": x.team,
                "owner": x.owner,
                "state": x.state,
                "escalated_at": _t(x.escalated_at),
                "in_shift": x.in_shift,
                "still_escalated": x.still_escalated,
            }
            for x in h.escalations
        ],
        "top_categories": [
            {
                "category": c.category,
                "count": c.count,
                "trend_avg": c.trend_avg,
                "delta": c.delta,
                "change": c.change,
            }
            for c in h.categories
        ],
        "trend_windows": h.trend_windows,
        "hourly": [
            {"start": iso(b.start), **dict(zip(PRIORITIES, b.counts, strict=True))}
            for b in h.hourly
        ],
        "self_service": {
            "kb_solved": ss.kb_solved,
            "kb_searches": ss.kb_searches,
            "kb_unrated": ss.kb_unrated,
            "kb_not_quite": ss.kb_not_quite,
            "unlocks": ss.unlocks,
            "resets": ss.resets,
            "solved": ss.solved,
            "tickets_opened_all_teams": ss.opened_all,
            "deflection": ss.deflection,
        },
        "csat": {"count": h.csat.count, "average": h.csat.average},
        "unusual": [
            {
                "kind": u.kind,
                "count": u.count,
                "category": u.category,
                "trend_avg": u.trend_avg,
                "first_at": _t(u.first_at),
                "last_at": _t(u.last_at),
            }
            for u in h.unusual
        ],
        "incidents": [
            {
                "id": x.ref,
                "title": x.title,
                "state": x.state,
                "tickets": x.tickets,
                "opened_at": iso(x.opened_at),
                "resolved_at": _t(x.resolved_at),
            }
            for x in h.incidents
        ],
        "notes": [{"author": a, "text": b} for a, b in h.notes],
        "oncall_now": h.oncall_now,
        "oncall_next": h.oncall_next,
    }


def _sla_json(i: SlaItem) -> dict[str, Any]:
    return {
        "ref": i.ref,
        "priority": i.priority,
        "clock": i.clock,
        "at": iso(i.at),
        "owner": i.owner,
        "team": i.team,
    }
