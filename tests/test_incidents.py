"""Major incidents: similar reports grouped, reporters told it is known (in their
language), engineers run it from chat, everyone linked told once when it is resolved,
the reports count it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.handlers.supervisor import build_handoff
from bot.incidents.signature import signature
from bot.reports.handoff import render_text
from bot.reports.weekly import to_markdown, weekly
from tests.harness import BotHarness, text_of

ENGINEER = "ho.kawai@corp.example.com"
REPORTERS = (
    "chan.taiman@corp.example.com",
    "wong.siuling@corp.example.com",
    "lee.kachun@corp.example.com",
)
LATE = "cheung.wingyan@corp.example.com"
SERVICES = ("VPN", "printer", "Outlook")


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path, extra_toml="[incidents]\nthreshold = 3\nwindow_minutes = 10\n")


def report(bot: BotHarness, user: str, text: str) -> int:
    bot.say("talk to a human", user=user)
    bot.say(text, user=user)
    assert "HD-" in text_of(bot.click(1, user=user))  # the proposal's first button: open it
    return int(bot.rows("SELECT max(id) FROM tickets")[0][0])  # type: ignore[arg-type]


def notices_to(bot: BotHarness, user: str) -> list[str]:
    return [
        str(m.payload["text"])
        for m in bot.transport.sent
        if m.kind == "notice" and str(m.recipient) == f"user:test:U-{user}"
    ]


def triage_posts(bot: BotHarness) -> list[str]:
    return [
        str(m.payload["text"])
        for m in bot.transport.sent
        if m.kind == "notice" and str(m.recipient) == "channel:helpdesk-triage"
    ]


def test_signature_reads_service_site_and_words() -> None:
    sites = ("Hong Kong", "London")
    vpn = signature("VPN down in London", SERVICES, sites)
    assert (vpn.service, vpn.site) == ("VPN", "London")
    assert signature("VPN 上唔到", SERVICES, sites).service == "VPN"  # through the glossary
    assert signature("the printer on 12/F jams", SERVICES, sites).site == "floor 12"
    assert signature("12樓部打印機壞咗", SERVICES, sites).site == "floor 12"
    hk = signature("VPN keeps dropping, Hong Kong office", SERVICES, sites)
    assert not vpn.similar(hk, 0.5)  # same service, different sites
    assert vpn.similar(signature("VPN is dead", SERVICES, sites), 0.5)  # no site: joins
    a = signature("my screen is flickering badly", SERVICES, sites)
    assert a.similar(signature("screen flickering badly again", SERVICES, sites), 0.5)
    assert not a.similar(signature("keyboard missing keys", SERVICES, sites), 0.5)


def test_similar_reports_in_the_window_become_one_incident_and_reporters_are_told(
    bot: BotHarness,
) -> None:
    tickets = [
        report(bot, user, text)
        for user, text in zip(
            REPORTERS,
            ("VPN keeps disconnecting", "the VPN is not connecting", "VPN down since 9"),
            strict=True,
        )
    ]
    assert bot.rows("SELECT id, state, declared_by FROM incidents") == [(1, "open", "helpdesk")]
    linked = bot.rows("SELECT ticket_id FROM incident_tickets WHERE incident_id = 1")
    assert [n for (n,) in linked] == tickets
    # a fourth reporter, in Chinese, joins it and is told in Chinese
    bot.clock.advance(minutes=30)  # outside the window: an open incident still takes it
    late = report(bot, LATE, "我部電腦嘅 VPN 上唔到，成朝都係咁，唔該開單")
    assert bot.rows("SELECT incident_id FROM incident_tickets WHERE ticket_id = ?", late) == [(1,)]
    bot.deliver()
    for user in REPORTERS:
        told = notices_to(bot, user)
        assert sum("known problem" in text and "INC-1" in text for text in told) == 1
    assert any("已知問題" in text and "INC-1" in text for text in notices_to(bot, LATE))
    posts = triage_posts(bot)
    assert any(
        p.startswith(
            "MAJOR INCIDENT INC-1 opened: 3 similar reports within 10 minutes:"
            " VPN keeps disconnecting"
        )
        for p in posts
    )
    assert any(f"HD-{late} linked" in p for p in posts)


def test_reports_outside_the_window_or_below_the_threshold_stay_apart(bot: BotHarness) -> None:
    report(bot, REPORTERS[0], "Outlook will not open")
    bot.clock.advance(minutes=11)
    report(bot, REPORTERS[1], "Outlook crashes at start")
    bot.clock.advance(minutes=11)
    report(bot, REPORTERS[2], "Outlook is not opening")
    assert bot.rows("SELECT count(*) FROM incidents") == [(0,)]
    assert bot.rows("SELECT count(*) FROM incident_reports") == [(3,)]
    # one person reporting the same thing three times is not an outage
    for text in ("Teams won't start", "Teams does not start", "Teams still won't start"):
        report(bot, REPORTERS[0], text)
    assert bot.rows("SELECT count(*) FROM incidents") == [(0,)]


def test_engineers_declare_update_resolve_and_everyone_is_told_once(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path, extra_toml="[incidents]\nthreshold = 10\n")
    first = report(bot, REPORTERS[0], "printer on 5/F shows paper jam")
    second = report(bot, REPORTERS[1], "cannot print to the 5/F printer")
    again = report(bot, REPORTERS[1], "5/F printer still jammed")  # same person, twice
    assert bot.rows("SELECT count(*) FROM incidents") == [(0,)]  # below the threshold
    refused = text_of(bot.command("/helpdesk incident list", user=REPORTERS[2]))
    assert "for the IT service desk" in refused
    said = text_of(
        bot.command(
            f"/helpdesk incident declare 5/F printer jammed HD-{first} HD-{second}", user=ENGINEER
        )
    )
    assert "INC-1 declared: 5/F printer jammed" in said
    assert bot.rows("SELECT incident_id FROM incident_tickets WHERE ticket_id = ?", again) == []
    linked = text_of(bot.command(f"/helpdesk incident link INC-1 HD-{again}", user=ENGINEER))
    assert "INC-1: 1 tickets linked" in linked
    # a later report of the same floor's printer joins the declared incident by itself
    later = report(bot, REPORTERS[2], "the printer on 5/F is jammed again")
    assert bot.rows("SELECT incident_id FROM incident_tickets WHERE ticket_id = ?", later) == [(1,)]
    text_of(bot.command("/helpdesk incident update INC-1 engineer on the way", user=ENGINEER))
    listed = text_of(bot.command("/helpdesk incident list", user=ENGINEER))
    assert "INC-1 · 5/F printer jammed · 4 tickets" in listed and "Ho Ka Wai" in listed
    done = text_of(
        bot.command("/helpdesk incident resolve INC-1 replaced the fuser unit", user=ENGINEER)
    )
    assert "INC-1 resolved: 4 tickets resolved with it, 3 people told" in done
    states = bot.rows(
        "SELECT state FROM tickets WHERE id IN (?, ?, ?, ?)", first, second, again, later
    )
    assert states == [("resolved",)] * 4
    again_said = text_of(bot.command("/helpdesk incident resolve INC-1 again", user=ENGINEER))
    assert "already resolved" in again_said
    bot.deliver()
    bot.deliver()
    for user in REPORTERS:
        fixed = [t for t in notices_to(bot, user) if t.startswith("Fixed: 5/F printer jammed")]
        assert len(fixed) == 1 and "replaced the fuser unit" in fixed[0]
        # no second "resolved" notice from each ticket
        assert not any("is resolved: replaced" in t for t in notices_to(bot, user))
    posts = triage_posts(bot)
    assert any("declared by Ho Ka Wai" in p for p in posts)
    assert any(
        "INC-1 update (5/F printer jammed) from Ho Ka Wai: engineer on the way" in p for p in posts
    )
    assert any(p.startswith("RESOLVED INC-1") and "3 people told" in p for p in posts)
    unknown = text_of(bot.command("/helpdesk incident update INC-9 hello", user=ENGINEER))
    assert "no incident INC-9" in unknown


def test_handoff_and_weekly_count_incidents(bot: BotHarness) -> None:
    for user, text in zip(REPORTERS, ("VPN down", "VPN not working", "no VPN"), strict=True):
        report(bot, user, text)
    bot.command("/helpdesk incident resolve INC-1 VPN gateway restarted", user=ENGINEER)
    rotation = bot.services.settings.rotation
    shift = rotation.shift_at(rotation.teams[0], bot.clock())
    text = render_text(build_handoff(bot.services, shift))
    assert "Major incidents (opened 1, resolved 1, still open 0)" in text
    assert "INC-1 VPN down · resolved · 3 tickets" in text
    now = bot.clock()
    week = weekly(bot.services.db.conn, now - timedelta(days=1), now + timedelta(days=1))
    markdown = to_markdown(week)
    assert "- Major incidents: opened 1, resolved 1, still open 0" in markdown
    assert "INC-1 VPN down · resolved · 3 tickets" in markdown
    before = weekly(
        bot.services.db.conn, datetime(2020, 1, 6, tzinfo=UTC), datetime(2020, 1, 13, tzinfo=UTC)
    )
    assert "opened 0, resolved 0, still open 0" in to_markdown(before)


def test_resolving_again_after_a_crash_finishes_the_job_and_tells_nobody_twice(
    bot: BotHarness,
) -> None:
    from bot.incidents.model import IncidentError
    from bot.incidents.service import IncidentService

    numbers = [
        report(bot, user, text)
        for user, text in zip(REPORTERS, ("VPN down", "VPN broken", "VPN dead"), strict=True)
    ]
    # a first run resolved the tickets, then the process died before the incident's commit
    for number in numbers[:2]:
        bot.services.tickets.resolve(number, ENGINEER, "gateway restarted", tell=False)
    service = IncidentService(
        bot.services.db, bot.services.settings, bot.services.tickets, bot.clock
    )
    done = service.resolve(1, ENGINEER, "gateway restarted")
    assert (done.tickets_resolved, done.people_told) == (1, 3)
    with pytest.raises(IncidentError, match=r"incident\.not_open"):
        service.resolve(1, ENGINEER, "gateway restarted")
    bot.deliver()
    bot.deliver()
    for user in REPORTERS:
        assert sum(t.startswith("Fixed: VPN down") for t in notices_to(bot, user)) == 1
    keys = bot.rows("SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'incident:1:resolved:%'")
    assert keys == [(3,)]


def test_asking_whether_there_is_an_outage_lists_the_open_incidents(bot: BotHarness) -> None:
    asker = "ng.kwokwing@corp.example.com"
    none = text_of(bot.say("is there an outage?", user=asker))
    assert "no outage" in none and "HD-" not in none  # no ticket proposal made of the question
    for user, text in zip(
        REPORTERS,
        ("VPN keeps disconnecting", "the VPN is not connecting", "VPN down since 9"),
        strict=True,
    ):
        report(bot, user, text)
    known = text_of(bot.say("is there an outage?", user=asker))
    assert "INC-1" in known and "VPN keeps disconnecting" in known
    assert "INC-1" in text_of(bot.say("係咪有outage呀?", user=asker))
    assert bot.rows("SELECT count(*) FROM tickets WHERE requester_email = ?", asker) == [(0,)]
