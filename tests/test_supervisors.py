"""The rotation in use: on-call, P1 pages, handoff notes, on-demand summaries and their
permissions, and the scheduler posting each shift's summary exactly once, late after a
restart across a boundary, never twice."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.reports.schedule import queue_due_handoffs
from tests.harness import BotHarness, FakeClock, text_of

ENGINEER = "ho.kawai@corp.example.com"  # in "Helpdesk Engineers" in the demo directory
SUPERVISOR = "lam.chiming@corp.example.com"  # also in "Helpdesk Supervisors"
ROTATION = """
[rotation]
timezone = "Asia/Hong_Kong"
shifts = ["Day 07:00-15:00", "Swing 15:00-23:00", "Night 23:00-07:00"]
[rotation.teams."Service Desk"]
members = ["ho.kawai@corp.example.com", "tsang.hoiyan@corp.example.com"]
start = "2026-11-20"
overrides = ["2026-11-21 Swing lam.chiming@corp.example.com"]
[rotation.teams."Network"]
members = ["lam.chiming@corp.example.com"]
start = "2026-11-20"
"""
# 2026-11-21 10:00 HKT = 02:00 UTC: the Day shift of 2026-11-21 (shift 3 since the start)
START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def make(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path, extra_toml=ROTATION, clock=FakeClock(START))


def posts(bot: BotHarness) -> list[dict[str, object]]:
    rows = bot.rows("SELECT dedupe_key, payload_json FROM outbox WHERE kind = 'handoff'")
    return [{"key": k, **json.loads(str(p))} for k, p in rows]


def test_oncall_now_and_next_with_an_override(tmp_path: Path) -> None:
    bot = make(tmp_path)
    text = text_of(bot.command("/helpdesk oncall", user="chan.taiman@corp.example.com"))
    # Day 2026-11-20 is shift 0 (ho), Swing 1 (tsang), Night 2 (ho), Day 21 is 3 (tsang);
    # Swing on the 21st is overridden to lam.chiming.
    assert "now Day" in text and "tsang.hoiyan" in text
    assert "Next Swing" in text and "lam.chiming" in text
    assert "Network" in text_of(bot.command("/helpdesk oncall Network", user=ENGINEER))
    assert "don't know that team" in text_of(bot.command("/helpdesk oncall Nope", user=ENGINEER))


def test_a_p1_pages_the_engineer_on_call(tmp_path: Path) -> None:
    bot = make(tmp_path)
    bot.services.tickets.open(
        requester_email="chan.taiman@corp.example.com",
        requester_platform="test",
        requester_user_id="U1",
        summary="trading floor down",
        description="all terminals down",
        category="network/VPN",
        priority="P1",
        conversation="dm",
        lang="en",
    )
    pages = bot.rows("SELECT recipient FROM outbox WHERE kind = 'page'")
    assert pages == [("email:tsang.hoiyan@corp.example.com",)]


def test_notes_appear_in_the_summary_and_other_teams_need_a_supervisor(tmp_path: Path) -> None:
    bot = make(tmp_path)
    assert "Noted" in text_of(
        bot.command("/helpdesk handoff note printer on 25F waiting for vendor", user=ENGINEER)
    )
    shown = text_of(bot.command("/helpdesk handoff current", user=ENGINEER))
    assert "printer on 25F waiting for vendor" in shown
    # ho.kawai is rostered in Service Desk only: Network's handoff is for supervisors.
    refused = text_of(bot.command("/helpdesk handoff previous Network", user=ENGINEER))
    assert "Only supervisors" in refused
    assert bot.rows("SELECT outcome FROM audit_log WHERE action = 'handoff'") == [("refused",)]
    allowed = text_of(bot.command("/helpdesk handoff previous Network", user=SUPERVISOR))
    assert "Only supervisors" not in allowed and "handoff" in allowed.lower()
    assert "for the IT service desk" in text_of(
        bot.command("/helpdesk handoff", user="chan.taiman@corp.example.com")
    )


def test_a_team_not_in_the_rotation_is_refused_not_ignored(tmp_path: Path) -> None:
    bot = make(tmp_path)
    for command in ("/helpdesk handoff current Nowhere", "/helpdesk handoff previous extra"):
        answer = text_of(bot.command(command, user=ENGINEER))
        assert "Say which shift" in answer and "Service Desk, Network" in answer, command


def test_each_boundary_is_posted_once_and_a_missed_one_late_after_a_restart(
    tmp_path: Path,
) -> None:
    bot = make(tmp_path)
    started = bot.clock.now
    assert queue_due_handoffs(bot.services, started) == 0  # nothing ended since the start
    bot.clock.advance(hours=5, minutes=1)  # 15:01 HKT: Day ended at 15:00
    assert queue_due_handoffs(bot.services, started) == 2  # both teams
    assert queue_due_handoffs(bot.services, started) == 0  # the next scan: nothing new
    first = posts(bot)
    assert [p["key"] for p in first] == [
        "handoff:Service Desk|2026-11-21|Day",
        "handoff:Network|2026-11-21|Day",
    ]
    assert not any(p["late"] for p in first)
    # Down from 16:00 to 07:30 next day: Swing and Night ended meanwhile.
    bot.restart()
    bot.clock.advance(hours=16, minutes=29)
    restarted = bot.clock.now
    assert queue_due_handoffs(bot.services, restarted) == 4
    keys = [p["key"] for p in posts(bot)]
    assert keys.count("handoff:Service Desk|2026-11-21|Swing") == 1
    assert keys.count("handoff:Service Desk|2026-11-21|Night") == 1
    assert all(p["late"] for p in posts(bot)[2:])
    assert str(posts(bot)[-1]["text"]).startswith("(LATE)")
    # A second process (or an overlapping scan) finds nothing more to post.
    bot.restart()
    assert queue_due_handoffs(bot.services, restarted - timedelta(days=1)) == 0
    assert len(posts(bot)) == 6


def test_without_matplotlib_the_summary_carries_the_chart_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """matplotlib is an extra: where it cannot be imported (None in sys.modules is how
    Python itself marks a module as not importable), the summary is a plain notice with the
    text chart, so no transport tries to draw one."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    bot = make(tmp_path)
    started = bot.clock.now
    bot.clock.advance(hours=5, minutes=1)
    assert queue_due_handoffs(bot.services, started) == 2
    assert posts(bot) == []
    rows = bot.rows("SELECT dedupe_key, payload_json FROM outbox WHERE kind = 'notice'")
    texts = {str(k): json.loads(str(p))["text"] for k, p in rows}
    summary = texts["handoff:Service Desk|2026-11-21|Day"]
    assert "Tickets opened per hour" in summary and summary.rstrip().endswith("```")


def test_the_weekly_report_is_posted_once_when_due(tmp_path: Path) -> None:
    from bot.reports.schedule import queue_weekly_report

    # Saturday 2026-11-21 10:00 HKT; the report is due on Mondays at 09:00 HKT.
    bot = make(tmp_path)
    started = bot.clock.now
    assert queue_weekly_report(bot.services, started) is False  # a first start: no old weeks
    bot.clock.advance(days=1, hours=22, minutes=59)  # Monday 08:59: not yet
    assert queue_weekly_report(bot.services, started) is False
    bot.clock.advance(minutes=2)  # Monday 09:01
    assert queue_weekly_report(bot.services, started) is True
    assert queue_weekly_report(bot.services, started) is False
    # Down over the next Monday: the restarted bot posts the missed week once, late.
    bot.restart()
    bot.clock.advance(days=8)
    restarted = bot.clock.now
    assert queue_weekly_report(bot.services, restarted) is True
    bot.restart()
    assert queue_weekly_report(bot.services, restarted) is False
    keys = [
        k for (k,) in bot.rows("SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE 'weekly:%'")
    ]
    assert keys == ["weekly:2026-11-16", "weekly:2026-11-23"]
    text = str(bot.rows("SELECT payload_json FROM outbox WHERE dedupe_key = 'weekly:2026-11-16'"))
    assert "Weekly team report" in text


def test_times_are_shown_in_the_askers_own_time_zone(tmp_path: Path) -> None:
    from bot.messages import Actor, Command, Incoming

    bot = make(tmp_path)
    actor = Actor("test", "U-ny", ENGINEER, timezone="America/New_York")
    replies = bot.send(
        Incoming(actor, "dm-ny", "/helpdesk oncall", command=Command.typed("/helpdesk oncall"))
    )
    # Day 2026-11-21 07:00-15:00 HKT is 18:00 on the 20th to 02:00 in New York.
    assert "20 Nov 2026 18:00" in text_of(replies)


def test_slack_posts_the_summary_and_uploads_its_chart_into_its_thread(tmp_path: Path) -> None:
    """The real Slack transport against the Slack stand-in: the summary is a message in the
    supervisors' channel, the chart (a PNG) goes into that message's thread."""
    import asyncio

    import aiohttp

    from bot.adapters.slack import SlackAdapter, SlackConfig
    from bot.inbox import HeldSecrets
    from bot.outbox.render import Renderer
    from bot.outbox.worker import OutboxWorker
    from bot.services import build_services
    from tests.harness import make_settings
    from tests.slack_standin import SlackStandIn

    slack = SlackStandIn(users={}).start()
    clock = FakeClock(START)
    config = SlackConfig("xoxb-test", "secret", api_url=slack.api_url)

    async def run() -> int:
        services = build_services(make_settings(tmp_path, ROTATION), clock)
        started = clock.now
        clock.advance(hours=5, minutes=1)
        queue_due_handoffs(services, started)
        async with aiohttp.ClientSession() as session:
            adapter = SlackAdapter(config, session)
            await adapter.check_token()
            renderer = Renderer(services, HeldSecrets(), "slack")
            delivered = await OutboxWorker(
                services.db, adapter.make_transport(session), renderer, clock
            ).run_once()
        services.db.conn.close()
        return delivered

    try:
        assert asyncio.run(run()) == 2
        posts = slack.called("chat.postMessage")
        assert [p.params["channel"] for p in posts] == ["helpdesk-supervisors"] * 2
        assert "handoff" in str(posts[0].params["text"]).lower()
        uploads = slack.called("upload")
        assert len(uploads) == 2 and all(int(u.params["bytes"]) > 10_000 for u in uploads)
        done = slack.called("files.completeUploadExternal")
        assert [d.params["thread_ts"] for d in done] == [p.response["ts"] for p in posts]
    finally:
        slack.stop()
