"""The supervisors' side in Teams, end to end: the real `helpdesk serve` (Teams alone)
against the Teams stand-in. A shift's handoff summary goes to the supervisors' own Teams
channel (`reports.supervisors_channel` set to its id) with its chart under it in the
thread; a P1 pages the engineer on call in their 1:1 chat, which the bot knows from the
app's install alone (they never wrote to it)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import iso
from bot.reports.chart import charts_installed
from bot.store import open_store
from bot.store.database import transaction
from tests.teams_standin import Call
from tests.test_teams import CHAN, HO, TRIAGE, ServedTeams, _actions, _in_chat, _text

SUPERVISORS = "19:supervisors@thread.tacv2"
TEAM = "Service Desk"
ROTATION = f"""
[reports]
supervisors_channel = "{SUPERVISORS}"
[rotation]
timezone = "UTC"
shifts = ["Day 00:00-12:00", "Night 12:00-00:00"]
[rotation.teams."{TEAM}"]
members = ["{HO.upn}"]
start = "2026-01-01"
"""


def _this_shift_began(now: datetime) -> datetime:
    return now.replace(hour=0 if now.hour < 12 else 12, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTeams]:
    tmp = tmp_path_factory.mktemp("teams-supervisors")
    # the bot last posted a summary for the shift before the previous one: at its start it
    # owes the summary of the shift that ended at the last boundary (late, as after a stop)
    began = _this_shift_began(datetime.now(UTC))
    (tmp / "data").mkdir()
    db = open_store(tmp / "data" / "helpdesk.db")
    with transaction(db.conn) as conn:
        conn.execute(
            "INSERT INTO handoff_posts (shift_key, team, shift_end, queued_at, late)"
            " VALUES (?, ?, ?, ?, 0)",
            ("before", TEAM, iso(began - timedelta(hours=12)), iso(began - timedelta(hours=12))),
        )
    db.conn.close()
    served = ServedTeams(tmp, slack=False, more_config=ROTATION)
    assert served.send(served.teams.team_install(HO, SUPERVISORS)) == 200
    yield served
    served.stop()


def test_the_handoff_summary_goes_to_the_supervisors_channel_with_its_chart(
    desk: ServedTeams,
) -> None:
    teams = desk.teams
    posts = teams.wait_for("create", where=lambda c: c.conversation == SUPERVISORS, timeout=30)
    summary = posts[0]
    assert "handoff" in _text(summary).lower() and TEAM in _text(summary)
    assert not [c for c in teams.called("create") if "handoff" in _text(c) and c is not summary]
    thread = f"{SUPERVISORS};messageid={summary.activity_id}"
    if not charts_installed():  # no matplotlib: the chart is text in the summary itself
        assert "█" in _text(summary) or "▏" in _text(summary)
        return
    chart = teams.wait_for("send", where=lambda c: c.conversation == thread)[0]
    picture = chart.body["attachments"][0]
    assert picture["contentType"] == "image/png"
    assert picture["contentUrl"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert len(json.dumps(chart.body)) > 10_000  # the PNG itself, not a link
    # the card stays small: the picture is a message of its own
    assert "data:image" not in _text(summary)


def test_a_p1_pages_the_engineer_on_call_who_only_installed_the_app(desk: ServedTeams) -> None:
    teams = desk.teams
    db = sqlite3.connect(desk.served.data_dir / "helpdesk.db")
    assert (
        db.execute("SELECT count(*) FROM addresses WHERE email = ?", (HO.upn,)).fetchone()[0] == 0
    )
    assert desk.send(teams.install(HO)) == 200
    teams.wait_for("send", where=_in_chat(HO, "IT helpdesk"))
    stored = db.execute("SELECT reference_json FROM addresses WHERE email = ?", (HO.upn,))
    assert json.loads(stored.fetchone()[0])["conversation"] == "a:1:" + HO.id
    db.close()
    desk.send(teams.message(CHAN, "order entry is not loading for the whole desk"))
    card = teams.wait_for("send", where=_in_chat(CHAN, "Open P1 now"))[-1]
    button = next(a for a in _actions(card) if a["title"] == "Open P1 now")
    desk.send(teams.submit(CHAN, button["data"], reply_to=card.activity_id))
    opened: Call = teams.wait_for("send", where=_in_chat(CHAN, "paged the engineer on call"))[-1]
    ref = _text(opened).split("I've opened ")[1].split(" ")[0]
    page = teams.wait_for("send", where=_in_chat(HO, f"PAGE P1 {ref}"))[-1]
    assert "order entry" in _text(page)
    # the triage post for the P1 is in the desk's triage channel, not the supervisors'
    teams.wait_for("create", where=lambda c: c.conversation == TRIAGE and ref in _text(c))
