"""The weekly team report: who resolved what and how fast, SLA, CSAT, volume, KB gaps.

`weekly(conn, start, end)` reads the store once for the period `[start, end)` (any
length; a week in practice) and returns a frozen `WeeklyReport`; `to_csv` and
`to_markdown` (English or Hong Kong Cantonese) render it. Nothing is written.

Definitions (all times UTC; "the week" is `[start, end)`):

- **Resolved in the week**: a ticket with at least one move to `resolved` in the week,
  from the event log (a `state` event whose data has `"to": "resolved"`), or whose
  `resolved_at` column is in the week (rows without such events, e.g. imported ones).
  A ticket counts once however often it was resolved. It counts even if it has been
  reopened since (its `resolved_at` is then empty), so reopens cannot hide.
- **Engineer**: the ticket's assignee as the report runs (`None`: unassigned). With
  `team`, only tickets whose team is `team` count (everywhere except the KB gaps,
  which have no team).
- **First-response time**: `first_response_at − created_at` (resolving is a response,
  so a ticket without `first_response_at` uses its first resolution in the week).
- **Resolution time**: the ticket's last move to `resolved` in the week `− created_at`
  (wall-clock time, pauses included). Medians are `statistics.median` (the mean of the
  two middle values for an even count); `None` when nothing was resolved.
- **SLA met**: the response clock and the resolution clock were both met. A clock was
  missed when the SLA scan recorded its breach (`sla_flags` bit 2 for the response, 8
  for the resolution; the bits are never cleared, so a breach before a reopen still
  counts), or when the ticket row still holds that clock's due time and the response
  (as above) or the last resolution in the week came after it. The service clears due
  times once a ticket leaves the open states, so for its tickets the breach bits are
  the record: a clock that ran out less than one scan interval before the resolution
  is not seen. **SLA attainment** = met / resolved × 100.
- **CSAT**: the ratings (1–5) given so far on the tickets resolved in the week: their
  count and mean.
- **Reopened**: a ticket resolved in the week that was moved from `resolved` or
  `closed` back to an open state at or after its first resolution in the week, up to
  when the report runs. **Reopen rate** = reopened / resolved × 100.
- **Category volume**: tickets created in the week, per category, against the
  `previous` period (default: the same length just before `start`). Change % =
  (this − previous) / previous × 100, `None` when previous is 0.
- **KB gaps**: knowledge-base searches made in the week that were unanswered or got
  "not quite", grouped by their text lower-cased with runs of whitespace collapsed
  (the normalisation of `SearchLog.gaps`, without its fuzzy clustering, so different
  questions are never merged); the 10 most frequent, ties by text.

Speed: about 0.1 s for a week over 1M tickets and 10M events given the two indexes
in `INDEX_SQL` (bench/weekly.py); without them the event and `resolved_at` range
reads are full scans.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

from bot.clock import iso, parse_iso
from bot.i18n import LANGUAGES, section
from bot.reports.incidents import IncidentLine, counts, incident_section, incidents_in
from bot.store.connection import Connection
from bot.store.database import Database
from bot.store.dialect import Dialect
from bot.store.kb_log import Gap
from bot.tickets.model import CLOSED, OPEN, RESOLUTION_BREACHED, RESOLVED, RESPONSE_BREACHED

TOP_GAPS = 10

INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS ticket_events_state_at ON ticket_events (at) WHERE kind = 'state';",
    "CREATE INDEX IF NOT EXISTS tickets_resolved ON tickets (resolved_at);",
)
"""The indexes the report's range reads use (one migration; see the module docstring)."""

Lang = Literal["en", "zh-Hant"]


@dataclass(frozen=True)
class EngineerStats:
    """One engineer's week; also the whole team's (`WeeklyReport.total`, engineer None)."""

    engineer: str | None
    resolved: int
    median_first_response: timedelta | None
    median_resolution: timedelta | None
    sla_met: int
    csat_count: int
    csat_average: float | None
    reopened: int

    @property
    def sla_attainment(self) -> float | None:
        """Percent of the resolved tickets that met both SLA clocks; None if none."""
        return None if self.resolved == 0 else 100.0 * self.sla_met / self.resolved

    @property
    def reopen_rate(self) -> float | None:
        """Percent of the resolved tickets reopened since; None if none resolved."""
        return None if self.resolved == 0 else 100.0 * self.reopened / self.resolved


@dataclass(frozen=True)
class CategoryTrend:
    category: str
    opened: int
    previous: int

    @property
    def change_pct(self) -> float | None:
        """(opened − previous) / previous × 100; None when previous is 0."""
        if self.previous == 0:
            return None
        return 100.0 * (self.opened - self.previous) / self.previous


@dataclass(frozen=True)
class WeeklyReport:
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    team: str | None
    engineers: tuple[EngineerStats, ...]
    """Most resolved first, then by address; the unassigned (engineer None) last."""
    total: EngineerStats
    categories: tuple[CategoryTrend, ...]
    """Most opened this week first, then most opened before, then by name."""
    gaps: tuple[Gap, ...]
    incidents: tuple[IncidentLine, ...] = ()
    """Major incidents opened, resolved or open in the week (desk-wide, `bot.reports.incidents`)."""

    @property
    def reopen_rate(self) -> float | None:
        return self.total.reopen_rate


# -- building -----------------------------------------------------------------------------------

_OPEN_STATES = ", ".join(f"'{state}'" for state in sorted(OPEN))


# The week's resolutions (events, then the column), and per ticket whether a reopen
# (resolved/closed → an open state) came at or after the first of them. The CASE
# keeps the per-ticket event read to the tickets ever reopened. The JSON accessor and
# SQLite's index hint come from the dialect.
@lru_cache(maxsize=2)
def _resolved_sql(dialect: Dialect) -> str:
    to, came_from = dialect.json_text("data_json", "to"), dialect.json_text("e.data_json", "from")
    e_to = dialect.json_text("e.data_json", "to")
    return f"""
WITH moves AS (
    SELECT ticket_id AS id, min(at) AS first_at, max(at) AS last_at
    FROM ticket_events
    WHERE kind = 'state' AND at >= :start AND at < :end
      AND {to} = '{RESOLVED}'
    GROUP BY ticket_id
    UNION ALL
    SELECT id, resolved_at, resolved_at FROM tickets
    WHERE resolved_at >= :start AND resolved_at < :end
),
week AS (
    SELECT id, min(first_at) AS first_at, max(last_at) AS last_at FROM moves GROUP BY id
)
SELECT t.assignee, t.created_at, t.first_response_at, t.response_due_at,
    t.resolution_due_at, t.sla_flags, t.csat_score, w.first_at, w.last_at,
    CASE WHEN t.reopen_count > 0 THEN CASE WHEN EXISTS (
        SELECT 1 FROM ticket_events AS e{dialect.indexed_by("ticket_events_ticket")}
        WHERE e.ticket_id = t.id AND e.kind = 'state' AND e.at >= w.first_at
          AND {came_from} IN ('{RESOLVED}', '{CLOSED}')
          AND {e_to} IN ({_OPEN_STATES})
    ) THEN 1 ELSE 0 END ELSE 0 END
FROM week AS w JOIN tickets AS t ON t.id = w.id
WHERE CAST(:team AS TEXT) IS NULL OR t.team = :team
"""


_OPENED_SQL = (
    "SELECT category, count(*) FROM tickets WHERE created_at >= ? AND created_at < ?"
    " AND (CAST(? AS TEXT) IS NULL OR team = ?) GROUP BY category"
)

_GAPS_SQL = (
    "SELECT query, answered, feedback FROM kb_searches WHERE at >= ? AND at < ?"
    " AND (answered = 0 OR feedback = 'not_quite') ORDER BY id"
)


@dataclass
class _Acc:
    first_response: list[float]
    resolution: list[float]
    sla_met: int = 0
    csat: int = 0
    csat_sum: int = 0
    reopened: int = 0

    def stats(self, engineer: str | None) -> EngineerStats:
        def median(values: list[float]) -> timedelta | None:
            return timedelta(seconds=statistics.median(values)) if values else None

        return EngineerStats(
            engineer=engineer,
            resolved=len(self.resolution),
            median_first_response=median(self.first_response),
            median_resolution=median(self.resolution),
            sla_met=self.sla_met,
            csat_count=self.csat,
            csat_average=self.csat_sum / self.csat if self.csat else None,
            reopened=self.reopened,
        )


def _check(moment: datetime, name: str) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return iso(moment)


def weekly(
    conn: Connection | Database,
    start: datetime,
    end: datetime,
    *,
    previous: tuple[datetime, datetime] | None = None,
    team: str | None = None,
) -> WeeklyReport:
    """The report for `[start, end)`; see the module docstring for every definition."""
    if isinstance(conn, Database):
        conn = conn.conn
    if previous is None:
        previous = (start - (end - start), start)
    lo, hi = _check(start, "start"), _check(end, "end")
    prev_lo, prev_hi = _check(previous[0], "previous start"), _check(previous[1], "previous end")
    if hi <= lo or prev_hi <= prev_lo:
        raise ValueError("a period must end after it starts")

    per: dict[str | None, _Acc] = {}
    total = _Acc([], [])
    rows = conn.execute(_resolved_sql(conn.dialect), {"start": lo, "end": hi, "team": team})
    for (
        assignee,
        created_at,
        first_response_at,
        response_due_at,
        resolution_due_at,
        flags,
        csat,
        first_at,
        last_at,
        reopened,
    ) in rows:
        created = parse_iso(created_at)
        responded = parse_iso(first_response_at or first_at)
        resolved = parse_iso(last_at)
        response_ok = not flags & RESPONSE_BREACHED and (
            response_due_at is None or responded <= parse_iso(response_due_at)
        )
        resolution_ok = not flags & RESOLUTION_BREACHED and (
            resolution_due_at is None or resolved <= parse_iso(resolution_due_at)
        )
        for acc in (per.setdefault(assignee, _Acc([], [])), total):
            acc.first_response.append((responded - created).total_seconds())
            acc.resolution.append((resolved - created).total_seconds())
            acc.sla_met += response_ok and resolution_ok
            acc.reopened += bool(reopened)
            if csat is not None:
                acc.csat += 1
                acc.csat_sum += int(csat)
    engineers = sorted(
        (acc.stats(name) for name, acc in per.items()),
        key=lambda s: (s.engineer is None, -s.resolved, s.engineer or ""),
    )

    now_counts = dict(conn.execute(_OPENED_SQL, (lo, hi, team, team)).fetchall())
    before_counts = dict(conn.execute(_OPENED_SQL, (prev_lo, prev_hi, team, team)).fetchall())
    categories = sorted(
        (
            CategoryTrend(str(name), int(now_counts.get(name, 0)), int(before_counts.get(name, 0)))
            for name in set(now_counts) | set(before_counts)
        ),
        key=lambda c: (-c.opened, -c.previous, c.category),
    )

    return WeeklyReport(
        start=start,
        end=end,
        previous_start=previous[0],
        previous_end=previous[1],
        team=team,
        engineers=tuple(engineers),
        total=total.stats(None),
        categories=tuple(categories),
        gaps=tuple(kb_gaps(conn, lo, hi)),
        incidents=incidents_in(conn, start, end),
    )


@dataclass
class _Group:
    spellings: dict[str, None]
    count: int = 0
    unanswered: int = 0
    not_quite: int = 0


def kb_gaps(conn: Connection, start: str, end: str, limit: int = TOP_GAPS) -> list[Gap]:
    """Unanswered or "not quite" searches in `[start, end)` (ISO text), grouped by their
    lower-cased, whitespace-collapsed text; most frequent first. `Gap.example` is the
    first spelling seen, `Gap.others` up to three more."""
    groups: dict[str, _Group] = {}
    for query, answered, feedback in conn.execute(_GAPS_SQL, (start, end)):
        key = " ".join(str(query).lower().split())
        if not key:
            continue
        group = groups.setdefault(key, _Group({}))
        group.spellings.setdefault(" ".join(str(query).split()), None)
        group.count += 1
        group.unanswered += not answered
        group.not_quite += feedback == "not_quite"
    out = []
    for g in groups.values():
        distinct = tuple(g.spellings)
        out.append(Gap(g.count, distinct[0], g.unanswered, g.not_quite, distinct[1:4]))
    out.sort(key=lambda g: (-g.count, g.example.lower(), g.example))
    return out[:limit]


# -- rendering ----------------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {lang: section(lang, "report.weekly") for lang in LANGUAGES}
"""Labels for the rendering, from the message catalogue's `[report.weekly]` (bot/locales)."""

DASH = "—"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _minutes(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 60:.1f}"


def _period(start: datetime, end: datetime) -> str:
    """The period in the zone `start` was given in (the team's), with that zone named."""
    zone = start.tzinfo or UTC

    def day(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return f"{day(start)} – {day(end)} {zone}"


def to_csv(report: WeeklyReport) -> str:
    """Five CSV blocks, each a header row and its rows, separated by one empty line
    (`csv.reader` yields `[]` for it):

    1. summary (one row): `period_start, period_end, previous_start, previous_end,
       team, resolved, median_first_response_min, median_resolution_min, sla_met,
       sla_attainment_pct, csat_count, csat_average, reopened, reopen_rate_pct`;
    2. engineers: `engineer` and the same figures from `resolved` on (an empty
       `engineer` is the unassigned tickets);
    3. categories: `category, opened, previous, change_pct`;
    4. KB gaps: `query, count, unanswered, not_quite, variants` (variants joined by
       ` | `);
    5. major incidents: `incident, title, state, tickets, opened_at, resolved_at`.

    Times are ISO-8601 UTC, durations minutes with one decimal, percentages one
    decimal, the CSAT average two; a value that does not exist is an empty cell.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    figures = (
        "resolved",
        "median_first_response_min",
        "median_resolution_min",
        "sla_met",
        "sla_attainment_pct",
        "csat_count",
        "csat_average",
        "reopened",
        "reopen_rate_pct",
    )

    def cells(s: EngineerStats) -> list[str]:
        return [
            str(s.resolved),
            _minutes(s.median_first_response),
            _minutes(s.median_resolution),
            str(s.sla_met),
            _fmt(s.sla_attainment),
            str(s.csat_count),
            _fmt(s.csat_average, 2),
            str(s.reopened),
            _fmt(s.reopen_rate),
        ]

    r = report
    writer.writerow(
        ("period_start", "period_end", "previous_start", "previous_end", "team", *figures)
    )
    writer.writerow(
        (
            iso(r.start),
            iso(r.end),
            iso(r.previous_start),
            iso(r.previous_end),
            r.team or "",
            *cells(r.total),
        )
    )
    out.write("\n")
    writer.writerow(("engineer", *figures))
    for s in r.engineers:
        writer.writerow((s.engineer or "", *cells(s)))
    out.write("\n")
    writer.writerow(("category", "opened", "previous", "change_pct"))
    for c in r.categories:
        writer.writerow((c.category, c.opened, c.previous, _fmt(c.change_pct)))
    out.write("\n")
    writer.writerow(("query", "count", "unanswered", "not_quite", "variants"))
    for g in r.gaps:
        writer.writerow((g.example, g.count, g.unanswered, g.not_quite, " | ".join(g.others)))
    out.write("\n")
    writer.writerow(("incident", "title", "state", "tickets", "opened_at", "resolved_at"))
    for x in r.incidents:
        resolved = iso(x.resolved_at) if x.resolved_at else ""
        writer.writerow((x.ref, x.title, x.state, x.tickets, iso(x.opened_at), resolved))
    return out.getvalue()


def _duration(value: timedelta | None, labels: dict[str, str]) -> str:
    if value is None:
        return DASH
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return labels["minutes"].format(m=minutes)
    if minutes < 48 * 60:
        return labels["hours"].format(h=minutes // 60, m=minutes % 60)
    hours = round(minutes / 60)
    return labels["days"].format(d=hours // 24, h=hours % 24)


def _pct(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}%"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|") or DASH


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric: range) -> list[str]:
    """A GitHub-style table; the `numeric` columns are right-aligned."""
    align = ["---:" if i in numeric else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _incident_count(r: WeeklyReport, t: dict[str, str]) -> str:
    c = counts(r.incidents, r.start, r.end)
    return t["incidents_count"].format(opened=c.opened, resolved=c.resolved, open=c.still_open)


def to_markdown(report: WeeklyReport, lang: Lang = "en") -> str:
    """The report as Markdown: a summary, then one table per section (or a line saying
    the section is empty) — engineers (with a total row), categories, KB gaps."""
    if lang not in LABELS:
        raise ValueError(f"unknown language {lang!r}; one of {', '.join(LABELS)}")
    t = LABELS[lang]
    r = report
    total = r.total
    csat = (
        DASH
        if total.csat_average is None
        else f"{total.csat_average:.2f} / 5 ({total.csat_count} {t['ratings']})"
    )
    summary = (
        (t["period"], _period(r.start, r.end)),
        (t["previous"], _period(r.previous_start, r.previous_end)),
        (t["resolved"], str(total.resolved)),
        (t["sla"], _pct(total.sla_attainment)),
        (t["csat"], csat),
        (t["reopen_rate"], f"{_pct(total.reopen_rate)} ({total.reopened}/{total.resolved})"),
        (t["incidents"], _incident_count(r, t)),
    )
    lines = [
        f"## {t['title']} — {r.team or t['all_teams']}",
        "",
        *(f"- {label}{t['colon']}{value}" for label, value in summary),
        "",
        f"### {t['engineers']}",
        "",
    ]

    def figures(s: EngineerStats, name: str) -> list[object]:
        return [
            name,
            s.resolved,
            _duration(s.median_first_response, t),
            _duration(s.median_resolution, t),
            _pct(s.sla_attainment),
            s.csat_count,
            DASH if s.csat_average is None else f"{s.csat_average:.2f}",
            s.reopened,
        ]

    header: tuple[str, ...]
    if r.engineers:
        header = (
            t["engineer"],
            t["resolved"],
            t["first_response"],
            t["resolution"],
            t["sla"],
            t["csat_count"],
            t["csat_average"],
            t["reopened"],
        )
        rows = [figures(s, s.engineer or t["unassigned"]) for s in r.engineers]
        rows.append(figures(total, f"**{t['total']}**"))
        lines += _table(header, rows, range(1, 8))
    else:
        lines.append(t["nothing"])
    lines += ["", f"### {t['categories']}", ""]
    if r.categories:
        header = (t["category"], t["opened"], t["opened_before"], t["change"])
        cat_rows: list[list[object]] = []
        for c in r.categories:
            change = c.change_pct
            shown = t["new"] if change is None else f"{change:+.1f}%"
            cat_rows.append([c.category, c.opened, c.previous, shown])
        lines += _table(header, cat_rows, range(1, 4))
    else:
        lines.append(t["nothing"])
    if r.incidents:
        zone = r.start.tzinfo or UTC
        heading, body = incident_section(
            r.incidents,
            r.start,
            r.end,
            lambda m: m.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            lambda key, **params: t[key].format(**params),
        )
        lines += ["", f"### {heading}", "", *(f"- {line}" for line in body)]
    lines += ["", f"### {t['gaps']}", ""]
    if r.gaps:
        header = (t["query"], t["count"], t["unanswered"], t["not_quite"], t["variants"])
        gap_rows = [
            [g.example, g.count, g.unanswered, g.not_quite, "; ".join(g.others)] for g in r.gaps
        ]
        lines += _table(header, gap_rows, range(1, 4))
    else:
        lines.append(t["nothing"])
    return "\n".join(lines) + "\n"
