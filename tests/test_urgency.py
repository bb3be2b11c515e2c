"""Urgency: outage words give the phone line and a one-click P1 that pages on-call; VIPs and
the trading desk in market hours raise the priority floor; the settings are checked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.tickets.outage import outage_words
from tests.harness import BotHarness, FakeClock, make_settings, text_of

REQUESTER = "chan.taiman@corp.example.com"  # in "Trading Floor" in the demo directory
ROTATION = """
[rotation]
timezone = "Asia/Hong_Kong"
[rotation.teams."Service Desk"]
members = ["ho.kawai@corp.example.com", "tsang.hoiyan@corp.example.com"]
start = "2026-11-20"
"""
MONDAY_10_HKT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MONDAY_18_HKT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SATURDAY_10_HKT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def make(tmp_path: Path, extra: str = "", at: datetime = MONDAY_10_HKT) -> BotHarness:
    return BotHarness(tmp_path, extra_toml=ROTATION + extra, clock=FakeClock(at))


def pages(bot: BotHarness) -> list[tuple[object, ...]]:
    return bot.rows("SELECT recipient, payload_json FROM outbox WHERE kind = 'page'")


@pytest.mark.parametrize(
    "text",
    [
        "order entry is not loading for the whole desk",
        "market data is stale on every screen",
        "I can't trade, the platform keeps timing out",
        "the whole floor cannot print",
        "whole sales desk can't get bloomberg prices, urgent!!",
    ],
)
def test_an_english_outage_gets_the_phone_line_and_a_one_click_p1_that_pages_on_call(
    tmp_path: Path, text: str
) -> None:
    bot = make(tmp_path)
    replies = bot.say(text)
    assert len(replies) == 1
    assert "ext. 4357" in replies[0].text and text.split()[0] in replies[0].text
    assert bot.labels()[0] == "Open P1 now"
    assert pages(bot) == []
    replies = bot.click("Open P1 now")
    assert "as P1" in text_of(replies) and "paged the engineer on call" in text_of(replies)
    assert bot.rows("SELECT priority, summary FROM tickets") == [("P1", text)]
    # 10:00 HKT on Monday 23 Nov: the Day shift, shift 9 since the start -> tsang.hoiyan
    assert [r[0] for r in pages(bot)] == ["email:tsang.hoiyan@corp.example.com"]


@pytest.mark.parametrize(
    "text",
    [
        "成層部電腦都用唔到",
        "落唔到單呀，好急",
        "全部人都上唔到 outlook",
        "成個desk啲報價冇郁，死咗",
    ],
)
def test_a_cantonese_outage_is_answered_in_cantonese_with_a_one_click_p1(
    tmp_path: Path, text: str
) -> None:
    bot = make(tmp_path)
    replies = bot.say(text)
    assert "ext. 4357" in text_of(replies) and "即刻打" in text_of(replies)
    bot.click("即刻開 P1 單")
    assert bot.rows("SELECT priority, requester_lang FROM tickets") == [("P1", "zh-Hant")]
    assert len(pages(bot)) == 1


def test_typing_yes_to_the_offer_opens_the_p1_too(tmp_path: Path) -> None:
    bot = make(tmp_path)
    bot.say("order entry is down")
    bot.say("yes")
    assert bot.rows("SELECT priority FROM tickets") == [("P1",)]


def test_change_it_first_gives_the_ordinary_proposal_at_p1(tmp_path: Path) -> None:
    bot = make(tmp_path)
    bot.say("market data is frozen for everyone")
    replies = bot.click("Change it first")
    assert "Priority: P1" in text_of(replies)
    assert "Change the text" in bot.labels()
    bot.click("Open ticket")
    assert bot.rows("SELECT priority FROM tickets") == [("P1",)]
    assert len(pages(bot)) == 1


def test_not_now_opens_nothing_and_pages_nobody(tmp_path: Path) -> None:
    bot = make(tmp_path)
    bot.say("成層冇網呀")
    bot.click("暫時唔使")
    assert bot.rows("SELECT count(*) FROM tickets") == [(0,)]
    assert pages(bot) == []


def test_scope_and_failure_in_two_sentences_are_not_an_outage(tmp_path: Path) -> None:
    assert outage_words("can everyone see my calendar? I can't share it") == ()
    assert outage_words("how do I add a column in order entry") == ()
    bot = make(tmp_path)
    assert "ext. 4357" not in text_of(bot.say("thanks everyone"))


def test_outage_words_raise_a_proposal_made_by_another_path(tmp_path: Path) -> None:
    bot = make(tmp_path)
    replies = bot.say("/helpdesk new the whole floor cannot print since 9am")
    assert "Priority: P1" in text_of(replies)
    replies = bot.say("/helpdesk new 成層部打印機都壞咗")
    assert "優先次序：P1" in text_of(replies)


def test_a_vip_listed_by_email_gets_a_p2_floor_and_the_engineers_see_why(tmp_path: Path) -> None:
    bot = make(tmp_path, f'[priority]\nvip_people = ["{REQUESTER.upper()}"]\n')
    replies = bot.say("/helpdesk new my mouse is a bit slow, no rush")
    assert "Priority: P2" in text_of(replies)
    bot.click("Open ticket")
    assert bot.rows("SELECT priority FROM tickets") == [("P2",)]
    notes = bot.rows("SELECT body FROM ticket_events WHERE kind = 'note'")
    assert notes == [("Priority P2: the requester is on the VIP list.",)]


def test_someone_not_listed_keeps_the_priority_the_words_give(tmp_path: Path) -> None:
    bot = make(tmp_path, '[priority]\nvip_people = ["lee.kachun@corp.example.com"]\n')
    assert "Priority: P4" in text_of(bot.say("/helpdesk new my mouse is a bit slow, no rush"))


def test_a_vip_group_raises_the_floor_for_its_members(tmp_path: Path) -> None:
    bot = make(tmp_path, '[priority]\nvip_groups = ["trading floor"]\nvip_floor = "P1"\n')
    replies = bot.say("/helpdesk new 我隻滑鼠有啲慢，唔急")
    assert "優先次序：P1" in text_of(replies)


def test_the_trading_desk_gets_a_p2_floor_only_while_the_market_is_open(tmp_path: Path) -> None:
    desk = '[priority]\ntrading_desk_groups = ["Trading Floor"]\n'
    words = "/helpdesk new my second monitor flickers, no rush"
    open_bot = make(tmp_path / "open", desk, MONDAY_10_HKT)
    assert "Priority: P2" in text_of(open_bot.say(words))
    evening = make(tmp_path / "evening", desk, MONDAY_18_HKT)
    assert "Priority: P4" in text_of(evening.say(words))
    weekend = make(tmp_path / "weekend", desk, SATURDAY_10_HKT)
    assert "Priority: P4" in text_of(weekend.say(words))
    holiday = make(tmp_path / "holiday", desk + '[market_hours]\nholidays = ["2026-11-23"]\n')
    assert "Priority: P4" in text_of(holiday.say(words))


def test_market_hours_in_another_zone(tmp_path: Path) -> None:
    desk = (
        f'[priority]\ntrading_desk_people = ["{REQUESTER}"]\ntrading_desk_floor = "P1"\n'
        '[market_hours]\ntimezone = "America/New_York"\nopens = "09:30"\ncloses = "16:00"\n'
    )
    # Monday 10:00 in New York is 15:00 UTC
    bot = make(tmp_path, desk, datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    replies = bot.say("/helpdesk new 我隻滑鼠有啲慢，唔急")
    assert "優先次序：P1" in text_of(replies)
    bot.click(1)
    notes = bot.rows("SELECT body FROM ticket_events WHERE kind = 'note'")
    assert notes == [("Priority P1: the requester is on the trading desk and the market is open.",)]


@pytest.mark.parametrize(
    ("toml", "setting", "message"),
    [
        ('[priority]\nvip_people = ["bob"]\n', "priority.vip_people", "'bob' is not one"),
        ('[priority]\nvip_floor = "P0"\n', "priority.vip_floor", "P1, P2, P3, P4"),
        ('[market_hours]\ncloses = "08:00"\n', "market_hours.closes", "after opens (09:00)"),
        ('[market_hours]\ntimezone = "Mars/Base"\n', "market_hours.timezone", "Mars/Base"),
        ('[market_hours]\ndays = "Funday"\n', "market_hours.days", "Funday"),
        ('[market_hours]\nholidays = ["2026-13-01"]\n', "market_hours.holidays", "month"),
        ('[priority]\nvip_groups = "VIPs"\n', "priority.vip_groups", "list"),
    ],
)
def test_bad_urgency_settings_stop_the_start_naming_the_setting(
    tmp_path: Path, toml: str, setting: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings(tmp_path, toml)
    assert caught.value.setting == setting
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "text", ["成個team都print唔到嘢，好急", "the whole team cannot print anything, urgent"]
)
def test_a_team_problem_without_outage_words_is_proposed_at_p2_and_pages_no_one(
    tmp_path: Path, text: str
) -> None:
    bot = make(tmp_path, at=SATURDAY_10_HKT)  # no trading-desk floor on a Saturday
    assert outage_words(text) == ()
    proposed = text_of(bot.say(text, user="lee.kachun@corp.example.com"))
    assert "P2" in proposed and "P1" not in proposed
    bot.click(1, user="lee.kachun@corp.example.com")
    assert bot.rows("SELECT priority FROM tickets") == [("P2",)]
    assert pages(bot) == []
