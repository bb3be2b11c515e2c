"""The weekly team report over a real store filled with tickets whose answers are known."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import iso
from bot.config import parse_settings
from bot.reports.weekly import LABELS, WeeklyReport, to_csv, to_markdown, weekly
from bot.store import open_store
from bot.store.database import Database
from bot.tickets.model import RESOLUTION_BREACHED, RESPONSE_BREACHED
from bot.tickets.service import TicketService

W = datetime(2026, 11, 9, tzinfo=UTC)  # a Monday
END = W + timedelta(days=7)
H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
ALICE, BOB = "alice@corp.example.com", "bob@corp.example.com"


@dataclass
class Builder:
    """Writes tickets and their state events as the service would store them."""

    db: Database
    number: int = 1000
    searches: list[tuple[str, str, int, str | None]] = field(default_factory=list)

    def ticket(
        self,
        created: datetime,
        *,
        assignee: str | None = None,
        team: str = "Service Desk",
        category: str = "email",
        state: str = "closed",
        first_response: timedelta | None = None,
        resolved: timedelta | None = None,
        response_due: timedelta | None = None,
        resolution_due: timedelta | None = None,
        flags: int = 0,
        csat: int | None = None,
        reopen_count: int = 0,
        moves: tuple[tuple[timedelta, str, str], ...] = (),
    ) -> int:
        """`resolved` etc. are offsets from `created`; `moves` are (offset, from, to)."""
        self.number += 1

        def at(offset: timedelta | None) -> str | None:
            return None if offset is None else iso(created + offset)

        self.db.conn.execute(
            "INSERT INTO tickets (id, requester_email, requester_platform, requester_user_id,"
            " summary, description, category, priority, state, assignee, team, created_at,"
            " updated_at, first_response_at, resolved_at, response_due_at, resolution_due_at,"
            " sla_flags, csat_score, reopen_count)"
            " VALUES (?, 'u@x', 'slack', 'U1', 's', 'd', ?, 'P3', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)",
            (
                self.number,
                category,
                state,
                assignee,
                team,
                iso(created),
                iso(created),
                at(first_response),
                at(resolved),
                at(response_due),
                at(resolution_due),
                flags,
                csat,
                reopen_count,
            ),
        )
        self.db.conn.execute(
            "INSERT INTO ticket_events (ticket_id, at, kind, actor, data_json)"
            " VALUES (?, ?, 'created', 'u@x', '{}')",
            (self.number, iso(created)),
        )
        for offset, before, after in moves:
            self.db.conn.execute(
                "INSERT INTO ticket_events (ticket_id, at, kind, actor, public, data_json)"
                " VALUES (?, ?, 'state', ?, 1, ?)",
                (
                    self.number,
                    iso(created + offset),
                    assignee or "helpdesk",
                    json.dumps({"from": before, "to": after}),
                ),
            )
        return self.number

    def search(self, at: datetime, query: str, answered: bool, feedback: str | None = None) -> None:
        self.db.conn.execute(
            "INSERT INTO kb_searches (at, platform, lang, query, answered, confidence,"
            " results_json, feedback) VALUES (?, 'slack', 'en', ?, ?, 0.5, '[]', ?)",
            (iso(at), query, int(answered), feedback),
        )


@pytest.fixture
def db(store_target: Path | str) -> Database:
    """A store with a known week, on each backend (the report's JSON and planner pieces
    differ: bot.store.dialect)."""
    store = open_store(store_target)
    b = Builder(store)
    # alice (Service Desk): 3 resolved. First responses 30m, 10m, 90m; resolutions 2h,
    # 6h, 72h; only T1 met SLA (T2 breached resolution, T3 answered after its due time).
    b.ticket(
        W,
        assignee=ALICE,
        first_response=30 * M,
        resolved=2 * H,
        response_due=H,
        resolution_due=4 * H,
        csat=5,
    )
    b.ticket(
        W + D,
        assignee=ALICE,
        first_response=10 * M,
        resolved=6 * H,
        flags=RESOLUTION_BREACHED,
        csat=3,
    )
    b.ticket(W - 2 * D, assignee=ALICE, first_response=90 * M, resolved=3 * D, response_due=H)
    # bob (Network): 3 resolved. T4 resolved (event only) then reopened: still open, no
    # resolved_at. T5 resolved, reopened and resolved again within the week. T6 was
    # reopened before the week, so its resolution this week is not a reopen.
    b.ticket(
        W + 2 * D,
        assignee=BOB,
        team="Network",
        category="network/VPN",
        state="in_progress",
        first_response=20 * M,
        response_due=H,
        resolution_due=8 * H,
        reopen_count=1,
        moves=((4 * H, "in_progress", "resolved"), (5 * H, "resolved", "in_progress")),
    )
    b.ticket(
        W + 3 * D,
        assignee=BOB,
        team="Network",
        category="network/VPN",
        state="resolved",
        first_response=40 * M,
        resolved=3 * H,
        csat=4,
        reopen_count=1,
        moves=(
            (1 * H, "in_progress", "resolved"),
            (2 * H, "resolved", "in_progress"),
            (3 * H, "in_progress", "resolved"),
        ),
    )
    b.ticket(
        W - 10 * D,
        assignee=BOB,
        team="Network",
        category="network/VPN",
        first_response=15 * M,
        resolved=14 * D,
        reopen_count=1,
        moves=(
            (1 * D, "in_progress", "resolved"),
            (2 * D, "resolved", "in_progress"),
            (14 * D, "in_progress", "resolved"),
        ),
    )
    # unassigned: no first response recorded (resolving is one), response breached.
    b.ticket(W + 5 * D, category="hardware", resolved=H, flags=RESPONSE_BREACHED, csat=1)
    # Outside the week: resolved exactly at its end, and just before its start.
    b.ticket(W + 6 * D, assignee=ALICE, first_response=M, resolved=D)
    b.ticket(W - 3 * H, assignee=ALICE, first_response=M, resolved=2 * H)
    # Volume only.
    b.ticket(W + D, category="printing", state="cancelled")
    b.ticket(W - 4 * D, category="hardware", team="Desktop", state="new")
    b.ticket(W - 6 * D, category="Teams", team="Network", state="triaged")
    # KB searches.
    b.search(W + H, "VPN not working", answered=False)
    b.search(W + 2 * H, "  vpn   NOT working ", answered=False)
    b.search(W + 3 * H, "vpn not working", answered=True, feedback="not_quite")
    b.search(W + 4 * H, "vpn not working", answered=True, feedback="solved")
    b.search(W + 5 * H, "Printer jammed", answered=False)
    b.search(W + 6 * H, "printer jammed", answered=True)
    b.search(W + 7 * H, "reset password", answered=False)
    b.search(W + 8 * H, "password reset", answered=False)
    b.search(W - timedelta(seconds=1), "VPN not working", answered=False)
    b.search(END, "VPN not working", answered=False)
    for i in range(12):
        b.search(W + D + i * M, f"zz {i:02d}", answered=False)
    return store


def test_engineers_and_totals(db: Database) -> None:
    r = weekly(db.conn, W, END)
    assert [(e.engineer, e.resolved) for e in r.engineers] == [(ALICE, 3), (BOB, 3), (None, 1)]
    alice, bob, nobody = r.engineers
    assert alice.median_first_response == 30 * M
    assert alice.median_resolution == 6 * H
    assert (alice.sla_met, round(alice.sla_attainment or 0, 4)) == (1, 33.3333)
    assert (alice.csat_count, alice.csat_average, alice.reopened) == (2, 4.0, 0)
    assert bob.median_first_response == 20 * M
    assert bob.median_resolution == 4 * H
    assert (bob.sla_met, bob.sla_attainment) == (3, 100.0)
    assert (bob.csat_count, bob.csat_average, bob.reopened) == (1, 4.0, 2)
    assert nobody.median_first_response == nobody.median_resolution == H
    assert (nobody.sla_met, nobody.sla_attainment) == (0, 0.0)
    assert (nobody.csat_count, nobody.csat_average) == (1, 1.0)
    t = r.total
    assert (t.engineer, t.resolved) == (None, 7)
    assert t.median_first_response == 30 * M  # 10 15 20 [30] 40 60 90
    assert t.median_resolution == 4 * H  # 1 2 3 [4] 6 72 336 hours
    assert (t.sla_met, round(t.sla_attainment or 0, 4)) == (4, 57.1429)
    assert (t.csat_count, t.csat_average) == (4, 3.25)
    assert (t.reopened, round(r.reopen_rate or 0, 4)) == (2, 28.5714)


def test_even_count_median_is_the_mean_of_the_middle_two(db: Database) -> None:
    r = weekly(db.conn, W, END, team="Service Desk")
    # alice 30m 10m 90m + unassigned 60m → 10 [30 60] 90 → 45m
    assert r.total.median_first_response == 45 * M
    assert r.total.median_resolution == 4 * H  # 1 [2 6] 72 hours


def test_categories_against_the_previous_week(db: Database) -> None:
    r = weekly(db.conn, W, END)
    assert (r.previous_start, r.previous_end) == (W - 7 * D, W)
    got = [(c.category, c.opened, c.previous, c.change_pct) for c in r.categories]
    assert got == [
        ("email", 3, 2, 50.0),
        ("network/VPN", 2, 0, None),
        ("hardware", 1, 1, 0.0),
        ("printing", 1, 0, None),
        ("Teams", 0, 1, -100.0),
    ]
    custom = weekly(db.conn, W, END, previous=(W - 20 * D, W - 5 * D))
    got = [(c.category, c.opened, c.previous) for c in custom.categories]
    assert ("network/VPN", 2, 1) in got
    assert ("Teams", 0, 1) in got
    assert ("hardware", 1, 0) in got


def test_kb_gaps_grouped_case_and_space_insensitively(db: Database) -> None:
    gaps = weekly(db.conn, W, END).gaps
    assert len(gaps) == 10
    vpn = gaps[0]
    assert (vpn.example, vpn.count, vpn.unanswered, vpn.not_quite) == ("VPN not working", 3, 2, 1)
    assert vpn.others == ("vpn NOT working", "vpn not working")
    assert [(g.example, g.count) for g in gaps[1:5]] == [
        ("password reset", 1),
        ("Printer jammed", 1),
        ("reset password", 1),
        ("zz 00", 1),
    ]
    assert [g.example for g in gaps[5:]] == ["zz 01", "zz 02", "zz 03", "zz 04", "zz 05"]


def test_team_filter(db: Database) -> None:
    r = weekly(db.conn, W, END, team="Network")
    assert [e.engineer for e in r.engineers] == [BOB]
    assert (r.total.resolved, r.total.reopened, r.total.sla_met) == (3, 2, 3)
    assert r.total.median_resolution == 4 * H
    assert [(c.category, c.opened, c.previous) for c in r.categories] == [
        ("network/VPN", 2, 0),
        ("Teams", 0, 1),
    ]
    assert len(r.gaps) == 10  # searches have no team
    assert weekly(db.conn, W, END, team="Nobody").engineers == ()


def test_through_the_ticket_service(store_target: Path | str) -> None:
    """The events the service writes (resolve, reopen, the breach scan) are read right."""
    store = open_store(store_target)
    now = [W + H]
    service = TicketService(store, parse_settings("", "defaults", {}), lambda: now[0])

    def at(offset: timedelta) -> None:
        now[0] = W + H + offset

    args = dict(requester_email="u@x", requester_platform="slack", requester_user_id="U1")
    slow, _ = service.open(**args, summary="s", description="d", category="email", priority="P1")
    ok, _ = service.open(**args, summary="s", description="d", category="email")
    at(20 * M)
    service.scan()  # P1 response (15m) breached
    at(25 * M)
    service.claim(slow.number, ALICE)
    service.claim(ok.number, BOB)
    at(30 * M)
    service.resolve(slow.number, ALICE, "fixed")
    at(2 * H)
    service.resolve(ok.number, BOB, "fixed")
    at(3 * H)
    service.reopen(ok.number, "u@x", "still broken", requester=True)
    r = weekly(store, W, END)
    assert [(e.engineer, e.resolved, e.sla_met, e.reopened) for e in r.engineers] == [
        (ALICE, 1, 0, 0),
        (BOB, 1, 1, 1),
    ]
    at(4 * H)
    service.resolve(ok.number, BOB, "fixed now")
    service.csat(ok.number, "u@x", 4)
    r = weekly(store, W, END)
    bob = r.engineers[1]
    assert (bob.resolved, bob.reopened, bob.csat_count, bob.csat_average) == (1, 1, 1, 4.0)
    assert bob.median_first_response == 25 * M
    assert bob.median_resolution == 4 * H
    assert r.categories[0].category == "email"
    assert (r.categories[0].opened, r.categories[0].previous) == (2, 0)


def test_csv_parses_back(db: Database) -> None:
    text = to_csv(weekly(db.conn, W, END))
    blocks: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    summary, engineers, categories, gaps, _incidents = blocks
    head = dict(zip(summary[0], summary[1], strict=True))
    assert head["period_start"] == "2026-11-09T00:00:00.000000Z"
    assert head["team"] == ""
    assert (head["resolved"], head["sla_attainment_pct"], head["reopen_rate_pct"]) == (
        "7",
        "57.1",
        "28.6",
    )
    assert (head["median_first_response_min"], head["median_resolution_min"]) == (
        "30.0",
        "240.0",
    )
    assert (head["csat_count"], head["csat_average"]) == ("4", "3.25")
    assert engineers[0][:3] == ["engineer", "resolved", "median_first_response_min"]
    rows = [dict(zip(engineers[0], row, strict=True)) for row in engineers[1:]]
    assert [(r["engineer"], r["resolved"], r["sla_attainment_pct"]) for r in rows] == [
        (ALICE, "3", "33.3"),
        (BOB, "3", "100.0"),
        ("", "1", "0.0"),
    ]
    assert rows[0]["median_resolution_min"] == "360.0"
    assert categories[0] == ["category", "opened", "previous", "change_pct"]
    assert categories[1:3] == [["email", "3", "2", "50.0"], ["network/VPN", "2", "0", ""]]
    assert gaps[0] == ["query", "count", "unanswered", "not_quite", "variants"]
    assert gaps[1] == ["VPN not working", "3", "2", "1", "vpn NOT working | vpn not working"]
    assert len(gaps) == 11


def test_markdown_in_both_languages(db: Database) -> None:
    report = weekly(db.conn, W, END)
    en = to_markdown(report)
    assert "| Engineer | Resolved | Median first response |" in en
    assert f"| {ALICE} | 3 | 30m | 6h 00m | 33.3% | 2 | 4.00 | 0 |" in en
    assert "| (unassigned) | 1 | 1h 00m | 1h 00m | 0.0% | 1 | 1.00 | 0 |" in en
    assert "| **Total** | 7 | 30m | 4h 00m | 57.1% | 4 | 3.25 | 2 |" in en
    assert "| email | 3 | 2 | +50.0% |" in en
    assert "| network/VPN | 2 | 0 | new |" in en
    assert "| VPN not working | 3 | 2 | 1 | vpn NOT working; vpn not working |" in en
    assert "- Reopen rate: 28.6% (2/7)" in en
    assert "- Period: 2026-11-09 00:00 – 2026-11-16 00:00 UTC" in en
    zh = to_markdown(report, "zh-Hant")
    assert "| 工程師 | 解決咗 | 首次回覆時間（中位數） |" in zh
    assert f"| {ALICE} | 3 | 30 分鐘 | 6 小時 0 分鐘 | 33.3% | 2 | 4.00 | 0 |" in zh
    assert "| （未分配） | 1 |" in zh
    assert "| **合計** | 7 |" in zh
    assert "| network/VPN | 2 | 0 | 新出現 |" in zh
    assert "### 知識庫答唔到嘅問題（頭十個）" in zh
    assert "- 重開率：28.6% (2/7)" in zh
    assert sorted(LABELS["en"]) == sorted(LABELS["zh-Hant"])
    with pytest.raises(ValueError, match="unknown language"):
        to_markdown(report, "fr")  # type: ignore[arg-type]


def test_long_durations_and_escaping(tmp_path: Path) -> None:
    store = open_store(tmp_path / "x.db")
    b = Builder(store)
    b.ticket(W - 3 * D, assignee="a|b@x", first_response=M, resolved=3 * D + 5 * H)
    b.search(W + H, "vpn, proxy | \n broken", answered=False)
    report = weekly(store, W, END)
    md = to_markdown(report)
    assert "| a\\|b@x | 1 | 1m | 3d 5h |" in md
    assert "| vpn, proxy \\| broken | 1 |" in md
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert ["vpn, proxy | broken", "1", "1", "0", ""] in rows


def test_an_empty_week(db: Database) -> None:
    start = datetime(2031, 1, 6, tzinfo=UTC)
    r = weekly(db.conn, start, start + 7 * D)
    assert isinstance(r, WeeklyReport)
    assert (r.engineers, r.categories, r.gaps) == ((), (), ())
    assert r.total.resolved == 0
    assert r.total.median_first_response is None
    assert (r.total.sla_attainment, r.total.csat_average, r.reopen_rate) == (None, None, None)
    for lang in ("en", "zh-Hant"):
        md = to_markdown(r, lang)  # type: ignore[arg-type]
        assert md.count(LABELS[lang]["nothing"]) == 3
    blocks = to_csv(r).split("\n\n")
    assert len(blocks) == 5
    assert blocks[0].splitlines()[1].startswith("2031-01-06T00:00:00.000000Z,")
    assert blocks[1].strip().startswith("engineer,") and len(blocks[1].splitlines()) == 1


def test_the_period_is_shown_in_the_team_zone_and_named(db: Database) -> None:
    hk = ZoneInfo("Asia/Hong_Kong")
    start = datetime(2026, 11, 9, tzinfo=hk)
    text = to_markdown(weekly(db, start, start + timedelta(days=7)))
    assert "- Period: 2026-11-09 00:00 – 2026-11-16 00:00 Asia/Hong_Kong" in text


def test_bad_periods(db: Database) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        weekly(db.conn, datetime(2026, 11, 9), datetime(2026, 11, 16))
    with pytest.raises(ValueError, match="end after"):
        weekly(db.conn, END, W)
