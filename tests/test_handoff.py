"""The shift handoff over a real store with known answers: every number, the renderers,
the chart file."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import iso
from bot.reports.chart import handoff_chart, text_chart
from bot.reports.handoff import (
    Handoff,
    handoff,
    render_markdown,
    render_text,
    same_shift,
    to_json,
)
from bot.store import open_store
from bot.store.audit import AuditEntry, AuditLog
from tests.harness import ROOT

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
END = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def at(hhmm: str, day: int = 20) -> datetime:
    h, m = hhmm.split(":")[:2]
    s = int(hhmm.split(":")[2]) if hhmm.count(":") == 2 else 0
    return datetime(2026, 11, day, int(h), int(m), s, tzinfo=UTC)


class Builder:
    """Writes tickets, events, searches and audit records straight into a migrated store."""

    def __init__(self, path: Path | str) -> None:
        self.db = open_store(path)
        self.conn = self.db.conn
        self.next = 1001
        self.clock = [START]
        self.audit_log = AuditLog(self.db, lambda: self.clock[0])

    def ticket(
        self,
        created: datetime,
        *,
        priority: str = "P3",
        category: str = "email",
        state: str = "closed",
        assignee: str | None = None,
        team: str = "Service Desk",
        resolved: datetime | None = None,
        first_response: datetime | None = None,
        response_due: datetime | None = None,
        resolution_due: datetime | None = None,
    ) -> int:
        number, self.next = self.next, self.next + 1

        def t(x: datetime | None) -> str | None:
            return None if x is None else iso(x)

        self.conn.execute(
            "INSERT INTO tickets (id, requester_email, requester_platform, requester_user_id,"
            " summary, description, category, priority, state, assignee, team, created_at,"
            " updated_at, resolved_at, first_response_at, response_due_at, resolution_due_at)"
            " VALUES (?, 'u@corp.example.com', 'slack', 'U1', 's', 'd', ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            (
                number,
                category,
                priority,
                state,
                assignee,
                team,
                iso(created),
                iso(created),
                t(resolved),
                t(first_response),
                t(response_due),
                t(resolution_due),
            ),
        )
        self.event(number, created, "created")
        return number

    def event(self, number: int, when: datetime, kind: str, **data: object) -> None:
        self.conn.execute(
            "INSERT INTO ticket_events (ticket_id, at, kind, actor, body, public, data_json)"
            " VALUES (?, ?, ?, 'x', '', 0, ?)",
            (number, iso(when), kind, json.dumps(data)),
        )

    def search(self, when: datetime, feedback: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO kb_searches (at, platform, lang, query, answered, confidence,"
            " results_json, feedback, feedback_at) VALUES (?, 'slack', 'en', 'vpn', 1, 0.9,"
            " '[]', ?, ?)",
            (iso(when), feedback, iso(when + timedelta(minutes=1)) if feedback else None),
        )

    def audit(
        self,
        when: datetime,
        action: str,
        outcome: str,
        *,
        reason: str = "",
        verification: str = "sso",
        ticket: str | None = None,
    ) -> None:
        self.clock[0] = when
        self.audit_log.append(
            AuditEntry("slack", "U1", "u1", "u1", action, verification, outcome, reason, ticket)
        )


@pytest.fixture
def store(store_target: Path | str) -> tuple[Builder, dict[str, int]]:
    """A known shift on each backend (the handoff's planner hints differ: bot.store.dialect)."""
    b = Builder(store_target)
    n: dict[str, int] = {}
    # The same shift on the previous 7 days: email 1/day, network/VPN 2/day (team Network),
    # printing on 3 days.
    for day in range(13, 20):
        b.ticket(at("09:00", day), category="email", resolved=at("10:00", day))
        for _ in range(2):
            b.ticket(at("11:00", day), category="network/VPN", team="Network")
        if day <= 15:
            b.ticket(at("12:00", day), category="printing")
    # Before the shift.
    n["O1"] = b.ticket(
        at("06:00", 18),
        priority="P1",
        state="in_progress",
        assignee="dave",
        first_response=at("06:10", 18),
        resolution_due=at("06:00", 20),
    )
    b.event(n["O1"], at("07:59"), "sla_breach", clock="resolution")  # before the shift
    n["O2"] = b.ticket(at("20:00", 19), priority="P2", state="escalated", team="Security")
    b.event(n["O2"], at("22:00", 19), "escalation", team="Security")
    n["O3"] = b.ticket(at("02:00", 19), state="closed", resolved=at("09:30"))
    n["O4"] = b.ticket(at("02:00", 19), state="in_progress", assignee="eve", team="Network")
    b.event(n["O4"], at("10:00"), "escalation", team="Network")
    n["O5"] = b.ticket(at("04:00", 18), state="waiting_on_user", assignee="bob")
    n["O6"] = b.ticket(at("03:00", 19), state="closed", resolved=at("05:00", 19))
    n["O7"] = b.ticket(at("01:00", 19), category="printing", state="in_progress", assignee="alice")
    b.event(n["O7"], at("13:00"), "sla_breach", clock="response")
    # In the shift.
    net = {"category": "network/VPN", "team": "Network"}
    n["T1"] = b.ticket(
        at("08:10"),
        priority="P1",
        state="in_progress",
        assignee="alice",
        first_response=at("08:20"),
        response_due=at("08:25"),
        resolution_due=at("12:10"),
        **net,
    )
    b.event(n["T1"], at("12:12"), "sla_breach", clock="resolution")
    n["T2"] = b.ticket(
        at("09:05"),
        priority="P2",
        state="new",
        response_due=at("09:35"),
        resolution_due=at("17:05"),
        **net,
    )
    n["T3"] = b.ticket(
        at("09:30"), state="waiting_on_user", assignee="bob", resolution_due=at("16:30"), **net
    )
    n["T4"] = b.ticket(at("10:15"), state="resolved", assignee="bob", resolved=at("11:00"), **net)
    n["T5"] = b.ticket(at("10:45"), priority="P4", state="resolved", resolved=at("12:00"), **net)
    n["T6"] = b.ticket(
        at("11:20"),
        state="escalated",
        first_response=at("11:30"),
        response_due=at("11:40"),
        resolution_due=at("12:00", 21),
        **net,
    )
    b.event(n["T6"], at("11:50"), "escalation", team="Network")
    n["T7"] = b.ticket(
        at("12:05"),
        priority="P2",
        state="triaged",
        assignee="carol",
        first_response=at("12:15"),
        response_due=at("12:35"),
        resolution_due=at("17:30"),
    )
    n["T8"] = b.ticket(at("13:00"), state="resolved", resolved=at("14:00"))
    b.event(n["T8"], at("14:30"), "csat", score=5)
    n["T9"] = b.ticket(at("15:59:59"), state="new", response_due=at("18:00"))
    n["T10"] = b.ticket(
        at("14:10"), priority="P4", category="hardware", state="resolved", resolved=at("15:00")
    )
    b.event(n["T10"], at("15:10"), "csat", score=3)
    b.event(n["T10"], at("15:20"), "csat", comment=True)  # a comment, not a rating
    b.event(n["T10"], at("16:05"), "csat", score=1)  # after the shift
    n["T11"] = b.ticket(at("14:20"), category="hardware", state="cancelled")
    n["T12"] = b.ticket(at("08:00"), category="Teams", state="closed", resolved=at("09:00"))
    n["T13"] = b.ticket(at("15:30"), priority="P4", category="account & access", state="new")
    n["T14"] = b.ticket(at("08:30"), category="printing", state="closed", resolved=at("08:45"))
    n["T15"] = b.ticket(at("16:00"), priority="P1", state="new")  # the next shift's
    # Knowledge searches: 2 solved, 1 silent, 1 "not quite" in the shift; 2 outside.
    b.search(at("09:00"), "solved")
    b.search(at("10:00"), "solved")
    b.search(at("11:00"))
    b.search(at("12:00"), "not_quite")
    b.search(at("16:00"), "solved")
    b.search(at("07:59"), "solved")
    # Audit: 2 self-service unlocks and 1 reset count; an engineer's unlock, a reset tied
    # to a ticket, a failure and records outside the shift do not. A lockout burst.
    b.audit(at("09:10"), "unlock", "done")
    b.audit(at("09:20"), "unlock", "done")
    b.audit(at("10:00"), "password_reset", "done")
    b.audit(at("11:00"), "unlock", "done", verification="engineer_role")
    b.audit(at("11:30"), "password_reset", "done", ticket="HD-1010")
    b.audit(at("12:00"), "unlock", "failed", reason="Unavailable")
    b.audit(at("13:00"), "unlock", "refused", reason="lockout_burst")
    b.audit(at("13:05"), "unlock", "refused", reason="lockout_burst")
    b.audit(at("13:10"), "password_reset", "refused", reason="lockout_burst")
    b.audit(at("13:20"), "unlock", "refused", reason="rate_limited")
    b.audit(at("16:00"), "unlock", "done")
    b.audit(at("07:00"), "unlock", "refused", reason="lockout_burst")
    return b, n


def run(b: Builder, team: str | None = None) -> Handoff:
    return handoff(
        b.conn,
        START,
        END,
        trend_windows=same_shift(START, END),
        now=END,
        notes=[("alice", "HD-1001 waits for the vendor"), ("bob", "VPN gateway patched")],
        oncall_now="alice",
        oncall_next="bob",
        team=team,
    )


def refs(n: dict[str, int], *names: str) -> list[int]:
    return [n[name] for name in names]


def test_counts_and_snapshot(store: tuple[Builder, dict[str, int]]) -> None:
    b, n = store
    h = run(b)
    assert (h.opened, h.resolved, h.open_at_end) == (14, 7, 12)
    assert (h.unassigned, h.waiting) == (5, 2)
    assert [t.number for t in h.open_high] == refs(n, "O1", "T1", "O2", "T2", "T7")
    assert [t.age for t in h.open_high] == [
        timedelta(days=2, hours=10),
        timedelta(hours=7, minutes=50),
        timedelta(hours=20),
        timedelta(hours=6, minutes=55),
        timedelta(hours=3, minutes=55),
    ]
    assert [t.owner for t in h.open_high] == ["dave", "alice", None, None, "carol"]
    assert not h.quiet


def test_hourly_by_priority(store: tuple[Builder, dict[str, int]]) -> None:
    h = run(store[0])
    assert [b.start.hour for b in h.hourly] == list(range(8, 16))
    assert [b.counts for b in h.hourly] == [
        (1, 0, 2, 0),
        (0, 1, 1, 0),
        (0, 0, 1, 1),
        (0, 0, 1, 0),
        (0, 1, 0, 0),
        (0, 0, 1, 0),
        (0, 0, 1, 1),
        (0, 0, 1, 1),
    ]
    assert sum(b.total for b in h.hourly) == h.opened


def test_sla_breached_and_at_risk(store: tuple[Builder, dict[str, int]]) -> None:
    b, n = store
    h = run(b)
    assert [(i.number, i.clock, i.at) for i in h.breached] == [
        (n["T1"], "resolution", at("12:12")),  # recorded by the scan: its time wins
        (n["T2"], "response", at("09:35")),  # due in the shift, no response, not yet recorded
        (n["O7"], "response", at("13:00")),  # recorded only (no due time on the row)
    ]
    assert h.breached_tickets == 3
    # T3 is waiting (paused), T9 is due exactly at end + 2 h (outside).
    assert [(i.number, i.clock, i.at) for i in h.at_risk] == [
        (n["T2"], "resolution", at("17:05")),
        (n["T7"], "resolution", at("17:30")),
    ]


def test_current_shift_lists_only_breaches_that_happened(tmp_path: Path) -> None:
    """Asked mid-shift (now 11:00 in the 08:00-16:00 shift), a due moment still ahead is
    not a breach: the P3 opened two minutes ago is due later, so it is at most at risk."""
    b = Builder(tmp_path / "x.db")
    now = at("11:00")
    late = b.ticket(at("09:00"), state="new", response_due=at("10:30"))
    fresh = b.ticket(at("10:58"), state="new", response_due=at("14:58"))
    soon = b.ticket(at("10:00"), state="in_progress", resolution_due=at("11:45"))
    h = handoff(b.conn, START, END, trend_windows=(), now=now)
    assert [(i.number, i.clock, i.at) for i in h.breached] == [(late, "response", at("10:30"))]
    # At risk: due within two hours of now (11:45 is; 14:58 is not).
    assert [(i.number, i.clock) for i in h.at_risk] == [(soon, "resolution")]
    assert fresh not in {i.number for i in (*h.breached, *h.at_risk)}
    text = render_text(h)
    assert "SLA breached this shift (tickets 1, clocks 1):" in text
    assert "HD-" + str(fresh) not in text


def test_a_one_team_rotation_names_its_team_over_all_tickets(tmp_path: Path) -> None:
    b = Builder(tmp_path / "x.db")
    b.ticket(at("09:00"), team="Network")
    h = handoff(b.conn, START, END, trend_windows=(), now=END, desk="Service Desk")
    assert h.opened == 1  # no team filter: the one rotation team serves every ticket
    assert render_text(h).startswith("Shift handoff — Service Desk (all teams) — ")
    assert to_json(h)["desk"] == "Service Desk"


def test_escalations(store: tuple[Builder, dict[str, int]]) -> None:
    b, n = store
    h = run(b)
    got = [
        (x.number, x.team, x.escalated_at, x.in_shift, x.still_escalated, x.owner)
        for x in h.escalations
    ]
    assert got == [
        (n["O2"], "Security", at("22:00", 19), False, True, None),
        (n["T6"], "Network", at("11:50"), True, True, None),
        (n["O4"], "Network", at("10:00"), True, False, "eve"),
    ]


def test_categories_trend_and_spike(store: tuple[Builder, dict[str, int]]) -> None:
    h = run(store[0])
    got = [(c.category, c.count, c.trend_avg, c.delta, c.change) for c in h.categories]
    assert got == [
        ("network/VPN", 6, 2.0, 4.0, 2.0),
        ("email", 3, 1.0, 2.0, 2.0),
        ("hardware", 2, 0.0, 2.0, None),
        ("Teams", 1, 0.0, 1.0, None),
        ("account & access", 1, 0.0, 1.0, None),
    ]
    assert h.trend_windows == 7
    spikes = [u for u in h.unusual if u.kind == "category_spike"]
    assert [(u.category, u.count, u.trend_avg) for u in spikes] == [("network/VPN", 6, 2.0)]


def test_self_service_deflection_csat_and_burst(store: tuple[Builder, dict[str, int]]) -> None:
    h = run(store[0])
    ss = h.self_service
    # The silent search and the "not quite" one are not solved.
    assert (ss.kb_solved, ss.kb_searches, ss.kb_unrated, ss.kb_not_quite) == (2, 4, 1, 1)
    assert (ss.unlocks, ss.resets, ss.solved) == (2, 1, 5)
    assert ss.deflection == pytest.approx(5 / 19)
    assert (h.csat.count, h.csat.average) == (2, 4.0)
    burst = [u for u in h.unusual if u.kind == "lockout_burst"]
    assert [(u.count, u.first_at, u.last_at) for u in burst] == [(3, at("13:00"), at("13:10"))]


def test_notes_and_oncall_pass_through(store: tuple[Builder, dict[str, int]]) -> None:
    h = run(store[0])
    assert h.notes == (("alice", "HD-1001 waits for the vendor"), ("bob", "VPN gateway patched"))
    assert (h.oncall_now, h.oncall_next) == ("alice", "bob")


def test_team_filter(store: tuple[Builder, dict[str, int]]) -> None:
    b, n = store
    h = run(b, team="Network")
    assert (h.opened, h.resolved, h.open_at_end) == (6, 2, 5)
    assert (h.unassigned, h.waiting) == (2, 1)
    assert [t.number for t in h.open_high] == refs(n, "T1", "T2")
    assert [i.number for i in h.breached] == refs(n, "T1", "T2")
    assert [i.number for i in h.at_risk] == refs(n, "T2")
    assert [x.number for x in h.escalations] == refs(n, "T6", "O4")
    assert [(c.category, c.count, c.trend_avg) for c in h.categories] == [("network/VPN", 6, 2.0)]
    assert h.csat.count == 0
    # Self-service belongs to no team: desk-wide, against all tickets opened.
    assert h.self_service.deflection == pytest.approx(5 / 19)


def test_renderers(store: tuple[Builder, dict[str, int]]) -> None:
    b, n = store
    o1, t1, t2, t7 = (f"HD-{n[k]}" for k in ("O1", "T1", "T2", "T7"))
    h = run(b)
    text = render_text(h, "en")
    assert "Shift handoff — all teams — 2026-11-20 08:00–16:00 UTC" in text
    assert "Opened 14 · Resolved 7 · Still open 12 (unassigned 5, waiting on user 2)" in text
    assert f"{o1} P1 in progress · dave · age 2d 10h · email" in text
    assert f"{t1} P1 in progress · alice · age 7h 50m · network/VPN" in text
    assert "SLA breached this shift (tickets 3, clocks 3):" in text
    assert f"{t2} P2 response · at 09:35 · unassigned" in text
    assert f"{t7} P2 resolution · due 17:30 · carol" in text
    assert "network/VPN 6 (+4.0, avg 2.0)" in text
    assert "deflection 26%" in text
    assert "searches without feedback (not counted): 1" in text
    assert "2 ratings, average 4.0" in text
    assert "Lockout burst: 3 self-service actions refused (13:00–13:10)" in text
    assert "Spike in network/VPN: 6 tickets vs avg 2.0" in text
    assert "alice: HD-1001 waits for the vendor" in text
    assert "On call now: alice · next: bob" in text
    zh = render_text(h, "zh-Hant")
    for phrase in ("交更報告", "新開 14", "已解決 7", "未處理 12", "升級", "已開 2日10小時"):
        assert phrase in zh
    md = render_markdown(h, "en")
    assert md.startswith("## Shift handoff")
    assert "### Open P1/P2 (5)" in md
    assert f"- {o1} P1 in progress · dave · age 2d 10h · email" in md
    assert "### 升級 (3)" in render_markdown(h, "zh-Hant")
    data = to_json(h)
    assert json.loads(json.dumps(data)) == data
    assert data["start"] == "2026-11-20T08:00:00.000000Z"
    assert data["open_high"][0] == {
        "ref": o1,
        "priority": "P1",
        "state": "in_progress",
        "owner": "dave",
        "team": "Service Desk",
        "category": "email",
        "created_at": "2026-11-18T06:00:00.000000Z",
        "age_seconds": (2 * 24 + 10) * 3600,
    }
    assert data["self_service"]["solved"] == 5
    assert data["hourly"][0] == {
        "start": "2026-11-20T08:00:00.000000Z",
        "P1": 1,
        "P2": 0,
        "P3": 2,
        "P4": 0,
    }
    assert [u["kind"] for u in data["unusual"]] == ["lockout_burst", "category_spike"]


def test_long_lists_are_capped(tmp_path: Path) -> None:
    b = Builder(tmp_path / "x.db")
    for i in range(12):
        b.ticket(at("09:00") + timedelta(minutes=i), priority="P1", state="new")
    h = run(b)
    text = render_text(h)
    assert len(h.open_high) == 12
    assert "… and 2 more" in text
    assert "… 仲有 2 個" in render_text(h, "zh-Hant")


def test_quiet_shift(tmp_path: Path) -> None:
    b = Builder(tmp_path / "x.db")
    h = run(b)
    assert h.quiet
    assert (h.opened, h.open_at_end, h.self_service.deflection, h.csat.average) == (
        0,
        0,
        None,
        None,
    )
    assert "Quiet shift: nothing opened, nothing resolved, nothing open." in render_text(h)
    assert "今更好靜" in render_text(h, "zh-Hant")
    assert "Quiet shift" in render_markdown(h)
    assert to_json(h)["quiet"] is True
    assert len(h.hourly) == 8


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_chart(store: tuple[Builder, dict[str, int]], tmp_path: Path, lang: str) -> None:
    h = run(store[0])
    path = handoff_chart(h, tmp_path / "charts" / f"handoff-{lang}.png", lang)
    assert path.exists()
    assert _png_size(path) == (1200, 675)
    assert path.stat().st_size > 20_000


def test_chart_of_a_quiet_shift(tmp_path: Path) -> None:
    h = run(Builder(tmp_path / "x.db"))
    path = handoff_chart(h, tmp_path / "quiet.png")
    assert _png_size(path) == (1200, 675)


def test_text_chart_has_a_bar_per_hour_and_per_category(
    store: tuple[Builder, dict[str, int]],
) -> None:
    h = run(store[0])
    text = text_chart(h)
    assert text.startswith("```\n") and text.endswith("\n```")
    lines = text.strip("`\n").splitlines()
    hours = lines[1 : 1 + len(h.hourly)]
    for bucket, line in zip(h.hourly, hours, strict=True):
        assert line.startswith(f"{bucket.start.astimezone(h.tz):%H} ")
        assert str(bucket.total) in line.split()
        assert line.count("█") == (round(20 * bucket.total / max(b.total for b in h.hourly)))
    for category in h.categories:
        row = next(line for line in lines if line.startswith(category.category + " "))
        assert f" {category.count}" in row
    assert "今更熱門類別" in text_chart(h, "zh-Hant")


def test_without_matplotlib_the_chart_is_text_and_the_png_is_refused(tmp_path: Path) -> None:
    """matplotlib is the `charts` extra: a Python where it cannot be imported (a package
    that fails to import stands in for a missing one) prints the text chart and refuses
    --chart with the install line."""
    blocker = tmp_path / "blocked" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(blocker.parent),
        "HELPDESK_DATA_DIR": str(tmp_path / "data"),
        "HELPDESK_CONFIG": str(tmp_path / "none.toml"),
    }
    (tmp_path / "none.toml").write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "report", "handoff", "--chart", str(tmp_path / "c.png")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "helpdesk-bot[charts]" in done.stderr and "Traceback" not in done.stderr
    assert "Tickets opened per hour" in done.stdout and "```" in done.stdout
    assert not (tmp_path / "c.png").exists()
