"""A newcomer's chat session, replayed with their exact words: each test is one thing they
found wrong (FINDINGS item in the name) and checks the answer they should have had."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.integrations.demo import DemoDirectory
from tests.harness import BotHarness, text_of


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path)


def test_item1_pls_open_a_ticket_files_this_message_not_the_earlier_check(
    bot: BotHarness,
) -> None:
    user = "mak.sukyee@corp.example.com"
    bot.say("do I have Power BI?", user=user)
    text = text_of(bot.say("my outlook crashes every time i open it, pls open a ticket", user=user))
    assert "my outlook crashes every time i open it" in text
    assert "Power BI" not in text
    bot.click("Open ticket", user=user)
    assert bot.rows("SELECT summary FROM tickets") == [("my outlook crashes every time i open it",)]


def test_item2_talk_to_a_person_after_a_clarify_question_files_that_question(
    bot: BotHarness,
) -> None:
    user = "tang.wailun@corp.example.com"
    bot.say("order entry is down", user=user)
    bot.click(1, user=user)
    assert bot.rows("SELECT priority FROM tickets") == [("P1",)]
    paged = len(bot.deliver())
    assert paged
    replies = bot.say("my password is Hunter2!! and it doesnt work on the vpn", user=user)
    assert "Hunter2" not in text_of(replies)
    text = text_of(bot.say("talk to a person", user=user))
    assert "order entry" not in text and "doesnt work on the vpn" in text
    bot.say("1", user=user)
    rows = bot.rows("SELECT priority, summary FROM tickets ORDER BY id")
    assert len(rows) == 2 and rows[1][0] != "P1"
    assert "vpn" in str(rows[1][1]) and "Hunter2" not in str(rows[1][1])
    assert not any("PAGE" in str(m.payload.get("text", "")) for m in bot.deliver())


def test_item2_a_ticket_opened_ends_the_topic(bot: BotHarness) -> None:
    user = "tang.wailun@corp.example.com"
    bot.say("order entry is down", user=user)
    bot.click(1, user=user)
    text = text_of(bot.say("talk to a person", user=user))
    assert "order entry" not in text


def test_item3_ok_after_you_dont_have_visio_requests_nothing(bot: BotHarness) -> None:
    user = "james.wilson@corp.example.com"
    assert "don't have Visio" in text_of(bot.say("do i have visio", user=user))
    text = text_of(bot.say("ok", user=user))
    assert "haven't requested anything" in text
    assert bot.rows("SELECT id FROM tickets") == []
    assert bot.rows("SELECT id FROM approvals") == []
    assert not any("Approve" in str(m.payload.get("text", "")) for m in bot.deliver())
    assert "Request it" in bot.labels()
    assert "I've asked" in text_of(bot.click("Request it", user=user))
    assert len(bot.rows("SELECT id FROM tickets")) == 1


def test_item13_is_there_an_outage_counts_an_open_p1_outage_report(bot: BotHarness) -> None:
    reporter = "tang.wailun@corp.example.com"
    bot.say("order entry is down", user=reporter)
    bot.click(1, user=reporter)
    bot.deliver()
    for question in ("係咪有outage呀？", "is there an outage?"):
        text = text_of(bot.say(question, user="mak.sukyee@corp.example.com"))
        assert "order entry is down" in text, text
        assert "no outage" not in text and "未知有任何" not in text
        assert "tang" not in text.lower() and "HD-" not in text


def test_item13_a_later_report_of_a_known_problem_is_told_it_is_known(bot: BotHarness) -> None:
    bot.say("order entry is down", user="tang.wailun@corp.example.com")
    bot.click(1, user="tang.wailun@corp.example.com")
    text = text_of(bot.say("order entry down again", user="leung.chiwai@corp.example.com"))
    assert text.index("already knows of this problem") < text.index("P1")
    assert "order entry is down" in text


def test_item13_a_security_p1_is_never_listed_as_an_outage(bot: BotHarness) -> None:
    user = "chan.taiman@corp.example.com"
    bot.say("I clicked a link in a phishing email and typed my password", user=user)
    for _ in range(3):
        if not bot.last_choices:
            break
        bot.click(1, user=user)
    assert bot.rows("SELECT priority FROM tickets WHERE category = 'security'") == [("P1",)]
    text = text_of(bot.say("is there an outage?", user="mak.sukyee@corp.example.com"))
    assert "knows of no outage" in text, text


def test_item4_an_out_of_range_number_under_articles_keeps_them(bot: BotHarness) -> None:
    user = "mak.sukyee@corp.example.com"
    bot.say("my teams camera not working", user=user)
    article = bot.labels()[0]
    assert article.startswith("Read:")
    text = text_of(bot.say("9", user=user))
    assert "isn't one of the choices" in text and "not waiting" not in text
    assert bot.labels()[0] == article
    assert "isn't locked" not in text_of(bot.click(1, user=user))


def test_item4_an_out_of_range_number_after_a_check_is_not_a_choice(bot: BotHarness) -> None:
    user = "ng.waikeung@corp.example.com"
    bot.say("acc locked", user=user)
    shown = bot.labels()
    assert 0 < len(shown) < 3
    text = text_of(bot.say("3", user=user))
    assert "isn't one of the choices" in text and "not waiting" not in text
    assert bot.labels() == shown


def test_item5_a_rating_typed_with_thanks_rates_the_resolved_ticket(bot: BotHarness) -> None:
    user = "cheung.wingyan@corp.example.com"
    bot.say("talk to a human", user=user)
    bot.say("my monitor flickers all day", user=user)
    bot.click(1, user=user)
    (number,) = bot.rows("SELECT id FROM tickets")[0]
    bot.command(
        f"/helpdesk resolve HD-{number} replaced the cable", user="ho.kawai@corp.example.com"
    )
    text = text_of(bot.say("5/5 好快手 多謝", user=user))
    assert "唔使客氣" not in text and f"HD-{number}" in text
    assert bot.rows("SELECT csat_score FROM tickets") == [(5,)]
    comments = bot.rows("SELECT body FROM ticket_events WHERE kind = 'csat'")
    assert comments == [("好快手 多謝",)]
    assert "already rated" in text_of(bot.command(f"/helpdesk rate HD-{number} 4", user=user))


def test_item6_has_it_been_approved_shows_a_pending_reset_approval(bot: BotHarness) -> None:
    user = "wong.siuling@corp.example.com"
    bot.say("i forgot my pasword", user=user)
    assert "I've asked Ng Wai Keung" in text_of(bot.click(1, user=user))
    text = text_of(bot.say("has it been approved?", user=user))
    assert "Waiting for Ng Wai Keung to approve" in text, text
    assert "no tickets" not in text


def test_item6_has_it_been_approved_with_several_tickets_names_the_request(
    bot: BotHarness,
) -> None:
    user = "priya.sharma@corp.example.com"
    for problem in ("my monitor flickers all day", "my keyboard sticks"):
        bot.say("talk to a human", user=user)
        bot.say(problem, user=user)
        bot.click("Open ticket", user=user)
    bot.say("can I get a second monitor?", user=user)
    bot.click(1, user=user)
    (request,) = bot.rows("SELECT max(id) FROM tickets")[0]
    text = text_of(bot.say("has it been approved?", user=user))
    assert f"HD-{request}" in text and "Request: Monitor" in text
    assert "Waiting for approval from Cheung Wing Yan" in text
    assert "keyboard" not in text


def test_item15_a_typed_urgency_answer_keeps_the_summary(bot: BotHarness) -> None:
    user = "lee.kachun@corp.example.com"
    for said in ("printer on 25F not working", "talk to a human", "4"):
        bot.say(said, user=user)
    text = text_of(bot.say("urgent, cant print client contracts", user=user))
    assert "printer on 25F not working" in text and "Priority: P2" in text
    bot.say("1", user=user)
    summary, priority, description = bot.rows("SELECT summary, priority, description FROM tickets")[
        0
    ]
    assert (summary, priority) == ("printer on 25F not working", "P2")
    assert "cant print client contracts" in str(description)


def test_item7_an_approved_reset_is_collected_by_typing_its_button(bot: BotHarness) -> None:
    user = "wong.siuling@corp.example.com"
    bot.say("i forgot my pasword", user=user)
    bot.click(1, user=user)
    bot.clock.advance(minutes=1)  # the manager answers a minute later
    bot.say("approve", user="ng.waikeung@corp.example.com")
    notice = [m for m in bot.deliver() if m.kind == "notice"][-1]
    assert notice.payload["choices"], notice.payload
    label = str(notice.payload["choices"][0][0])
    text = text_of(bot.say(label, user=user))
    assert "not waiting" not in text and "one-time sign-in pass" in text, text


def test_item7_and_item5_a_notice_button_is_pressed_by_its_number(bot: BotHarness) -> None:
    user = "cheung.wingyan@corp.example.com"
    bot.say("talk to a human", user=user)
    bot.say("my monitor flickers all day", user=user)
    bot.click(1, user=user)
    (number,) = bot.rows("SELECT id FROM tickets")[0]
    bot.clock.advance(hours=1)
    bot.say(f"/helpdesk resolve HD-{number} replaced the cable", user="ho.kawai@corp.example.com")
    bot.deliver()
    assert "not waiting" not in text_of(bot.say("5", user=user))
    assert bot.rows("SELECT csat_score FROM tickets") == [(5,)]


def test_item8_a_cloud_users_approval_speaks_of_a_one_time_pass(bot: BotHarness) -> None:
    user, manager = "wong.siuling@corp.example.com", "ng.waikeung@corp.example.com"
    bot.say("i forgot my pasword", user=user)
    asked = text_of(bot.click(1, user=user))
    assert "one-time sign-in pass" in asked and "reset your password" not in asked
    to_manager = [m for m in bot.deliver() if m.kind == "notice"][-1].payload["text"]
    assert "one-time sign-in pass" in str(to_manager) and "reset their password" not in str(
        to_manager
    )
    assert "one-time pass" in text_of(bot.say("approve", user=manager))
    told = [m for m in bot.deliver() if m.kind == "notice"][-1].payload
    assert "password reset" not in str(told["text"]) and "one-time sign-in pass" in str(
        told["text"]
    )
    assert told["choices"][0][0] == "Show my one-time pass now"
    bot.click("@" + str(told["choices"][0][1]).lstrip("@"), user=user)
    notices = [str(m.payload["text"]) for m in bot.deliver() if m.kind == "notice"]
    assert any("one-time sign-in pass was issued" in n for n in notices)
    assert not any("Your password was reset" in n for n in notices)


def test_item27_no_good_news_when_an_expired_password_stops_the_sign_in(bot: BotHarness) -> None:
    text = text_of(bot.say("acc locked", user="mak.sukyee@corp.example.com"))
    assert "Good news" not in text and "isn't locked, but your password" in text
    assert "Good news" in text_of(bot.say("acc locked", user="ng.waikeung@corp.example.com"))


@pytest.mark.parametrize(
    ("user", "said"),
    [
        (
            "tsang.hoiyan@corp.example.com",
            "got a weird email from 'DHL' asking for customs fee, i didnt click anything",
        ),
        ("lam.chiming@corp.example.com", "有封email好似phishing，我冇撳"),
    ],
)
def test_item28_a_phish_reported_as_not_clicked_is_not_asked_again(
    bot: BotHarness, user: str, said: str
) -> None:
    text = text_of(bot.say(said, user=user))
    assert "Did you click" not in text and "你有冇撳" not in text
    assert "Report" in text
    assert bot.rows("SELECT category FROM tickets") == [("security",)]


def test_item16_a_reply_that_starts_with_the_ticket_number_is_recorded(bot: BotHarness) -> None:
    user = "lee.kachun@corp.example.com"
    bot.say("talk to a human", user=user)
    bot.say("printer on 25F not working", user=user)
    bot.click("Open ticket", user=user)
    (number,) = bot.rows("SELECT id FROM tickets")[0]
    bot.say(
        f"/helpdesk wait HD-{number} asked user for printer asset tag",
        user="ho.kawai@corp.example.com",
    )
    assert bot.rows("SELECT state FROM tickets") == [("waiting_on_user",)]
    text = text_of(bot.say(f"HD-{number} the asset tag is PRN-25F-03", user=user))
    assert "HD-" in text and bot.rows("SELECT state FROM tickets") != [("waiting_on_user",)]
    bodies = bot.rows("SELECT body FROM ticket_events WHERE kind = 'comment'")
    assert any("PRN-25F-03" in str(body) for (body,) in bodies)


def test_item17_never_mind_stops_the_waiting_question(bot: BotHarness) -> None:
    user = "james.wilson@corp.example.com"
    bot.say("acc locked", user=user)
    text = text_of(bot.say("actually never mind, i remembered it", user=user))
    assert "stopped" in text and "Chase a ticket" not in text
    assert "stopped" not in text_of(bot.say("acc locked", user=user))


def test_item17_no_need_its_fixed_with_no_ticket_ends_politely(bot: BotHarness) -> None:
    text = text_of(bot.say("唔使喇，搞掂咗", user="james.wilson@corp.example.com"))
    assert "冇 IT 單" not in text and "拜拜" in text


def test_item20_an_engineers_cooldown_names_the_account_and_the_time(bot: BotHarness) -> None:
    user, engineer = "chan.taiman@corp.example.com", "ho.kawai@corp.example.com"
    bot.say("acc locked", user=user)
    bot.click(1, user=user)
    bot.say("cannot login to my pc since morning, pls open a ticket", user=user)
    bot.click("Open ticket", user=user)
    (number,) = bot.rows("SELECT max(id) FROM tickets")[0]
    directory = bot.services.directory
    assert isinstance(directory, DemoDirectory)
    account = next(a for a in directory.accounts if a.email == user)
    directory._accounts[account.directory_id] = dataclasses.replace(account, locked=True)
    text = text_of(bot.say(f"/helpdesk unlock chan.taiman HD-{number}", user=engineer))
    assert "for your account" not in text, text
    assert "Chan Tai Man's account" in text and "again from" in text


def test_item20_an_engineer_is_told_a_command_is_for_supervisors(bot: BotHarness) -> None:
    text = text_of(bot.say("/helpdesk weekly", user="ho.kawai@corp.example.com"))
    assert "supervisors only" in text and "IT service desk" not in text
    text = text_of(bot.say("/helpdesk lookup nobody.here", user="ho.kawai@corp.example.com"))
    assert "NotFound" not in text and "not in the directory" in text


def test_item18_a_cantonese_access_request_finds_the_group(tmp_path: Path) -> None:
    bot = BotHarness(
        tmp_path, extra_toml='[graph]\nrequestable_groups = ["VPN Users", "Finance Share RW"]\n'
    )
    text = text_of(bot.say("我想入VPN group", user="fung.tszching@corp.example.com"))
    assert "VPN Users" in text or any("VPN Users" in label for label in bot.labels()), text


def test_item30_product_names_and_refs_are_written_as_people_write_them(bot: BotHarness) -> None:
    user = "mak.sukyee@corp.example.com"
    assert "Power BI through" in text_of(bot.say("do I have Power BI?", user=user))
    text = text_of(bot.say("/helpdesk show HD-1003", user=user))
    assert "ticket HD-1003 among yours" in text
    assert "I can request Monitor" not in text_of(bot.say("can I get a second monitor?", user=user))


def test_item30_an_article_read_shows_its_title_once(bot: BotHarness) -> None:
    bot.say("my teams camera not working", user="mak.sukyee@corp.example.com")
    title = bot.labels()[0].removeprefix("Read: ")
    text = text_of(bot.click(1, user="mak.sukyee@corp.example.com"))
    assert text.count(title) == 1, text[:300]


def test_item19_an_access_approval_waits_days_and_is_worded_as_access(tmp_path: Path) -> None:
    bot = BotHarness(
        tmp_path, extra_toml='[graph]\nrequestable_groups = ["VPN Users", "Finance Share RW"]\n'
    )
    user = "fung.tszching@corp.example.com"
    bot.say("I need access to the finance share", user=user)
    assert "waits 5 days" in text_of(bot.click(1, user=user))
    asked = [str(m.payload["text"]) for m in bot.deliver() if m.kind == "notice"][-1]
    assert "waits 5 days" in asked and "15 minutes" not in asked
    assert "really them" not in asked


def test_item7_a_used_notice_button_is_not_pressed_again_by_words(bot: BotHarness) -> None:
    user = "lee.kachun@corp.example.com"
    bot.say("I forgot my password", user=user)
    bot.click("Reset it (manager approves)", user=user)
    bot.clock.advance(minutes=1)
    bot.say("approve", user="ho.kawai@corp.example.com")
    bot.deliver()
    bot.clock.advance(minutes=1)
    assert "temporary password" in text_of(bot.say("Reset my password now", user=user))
    bot.clock.advance(minutes=1)
    text = text_of(bot.say("reset my password", user=user))
    assert "expired or was already used" not in text


def test_item30_a_team_queue_names_its_team(bot: BotHarness) -> None:
    user = "lee.kachun@corp.example.com"
    bot.say("my docking station is broken, screens flicker, pls open a ticket", user=user)
    bot.click("Open ticket", user=user)
    (team,) = bot.rows("SELECT team FROM tickets")[0]
    text = text_of(bot.say(f"/helpdesk queue team {team}", user="ho.kawai@corp.example.com"))
    assert f"Queue (team {team}): 1 ticket\n" in text, text
