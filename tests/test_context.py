"""Context carries over: a person asked for after a failed answer, a refusal or a check gets a
ticket pre-filled from the question; a reopen uses the reason already given; a chase adds a
contact note, tells the assignee or the triage thread, once an hour, and says what was done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.handlers.tickets import described_in
from bot.messages import Incoming, Reply
from tests.harness import BotHarness, text_of
from tests.test_tickets import open_ticket

ENGINEER = "ho.kawai@corp.example.com"
REQUESTER = "chan.taiman@corp.example.com"
ADMIN = "yip.kinfai@corp.example.com"  # in Domain Admins: self-service refuses him


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path)


def proposal(replies: list[Reply]) -> str:
    text = text_of(replies)
    assert "Shall I open it?" in text or "要唔要開？" in text, text
    return text


def transcript(bot: BotHarness) -> list[list[str]]:
    rows = bot.rows("SELECT data_json FROM ticket_events WHERE kind = 'transcript'")
    return [list(line) for line in json.loads(str(rows[-1][0]))["lines"]]


def test_talk_to_a_person_after_no_article_proposes_the_question(bot: BotHarness) -> None:
    assert "I don't have an article" in text_of(bot.say("where is the pantry on 12/F"))
    text = proposal(bot.click("Talk to a person"))
    assert "> where is the pantry on 12/F" in text
    bot.click("Open ticket")
    summary, description = bot.rows("SELECT summary, description FROM tickets")[0]
    assert summary == "where is the pantry on 12/F"
    assert "The requester asked: where is the pantry on 12/F" in str(description)
    assert ["user", "where is the pantry on 12/F"] in transcript(bot)


def test_cantonese_talk_to_a_person_after_not_quite_proposes_the_question(
    bot: BotHarness,
) -> None:
    bot.say("VPN 連唔到")
    bot.click("唔係呢個")
    text = proposal(bot.click("搵真人"))
    assert "> VPN 連唔到" in text and "network/VPN" in text
    bot.click("開單")
    assert bot.rows("SELECT summary, category, requester_lang FROM tickets") == [
        ("VPN 連唔到", "network/VPN", "zh-Hant")
    ]


def test_talk_to_a_person_after_a_refusal_carries_the_request(bot: BotHarness) -> None:
    refused = text_of(bot.say("my account is locked, please unlock it", user=ADMIN))
    assert "I can't change this account through chat" in refused
    text = proposal(bot.click("Talk to a person", user=ADMIN))
    assert "> my account is locked, please unlock it" in text
    assert "Category: account & access" in text


def test_talk_to_a_person_after_a_licence_check_carries_the_question(bot: BotHarness) -> None:
    bot.say("我有冇 Visio？")
    text = proposal(bot.say("我想搵真人"))
    assert "> 我有冇 Visio？" in text and "software" in text


def test_where_forms_show_the_ticket_form_comes_pre_filled_with_the_question(
    bot: BotHarness,
) -> None:
    bot.say("my account is locked, please unlock it", user=ADMIN)
    actor = bot.actor(ADMIN)
    replies = bot.send(Incoming(actor, f"dm-{ADMIN}", "", choice="intent:human", forms=True))
    form = next(r.form for r in replies if r.form is not None)
    initial = {f.name: f.initial for f in form.fields}
    assert initial["summary"] == initial["description"] == "my account is locked, please unlock it"
    assert initial["category"] == "account & access"


def test_without_a_question_before_it_asks_what_the_problem_is(bot: BotHarness) -> None:
    bot.say("hi")
    replies = bot.say("talk to a person")
    assert "what do you need help with" in text_of(replies)
    assert bot.rows("SELECT count(*) FROM tickets") == [(0,)]


def test_the_question_is_used_once_then_forgotten(bot: BotHarness) -> None:
    bot.say("where is the pantry on 12/F")
    bot.click("Talk to a person")
    bot.click("Open ticket")
    assert "what do you need help with" in text_of(bot.say("talk to a person"))


def test_an_old_question_is_not_carried_past_the_conversation_timeout(bot: BotHarness) -> None:
    bot.say("where is the pantry on 12/F")
    bot.clock.advance(minutes=31)
    assert "what do you need help with" in text_of(bot.say("talk to a person"))


def resolved_ticket(bot: BotHarness) -> int:
    number = open_ticket(bot, "outlook crashes when I open a calendar invite")
    bot.command(f"/helpdesk resolve HD-{number} repaired Office", user=ENGINEER)
    return number


def reopen_reason(bot: BotHarness, number: int) -> str:
    rows = bot.rows(
        "SELECT body FROM ticket_events WHERE ticket_id = ? AND kind = 'state'"
        " AND json_extract(data_json, '$.to') != 'resolved' ORDER BY id DESC LIMIT 1",
        number,
    )
    return str(rows[0][0])


def test_reopen_takes_the_reason_said_just_before(bot: BotHarness) -> None:
    number = resolved_ticket(bot)
    bot.say("又壞咗，outlook 又 crash")
    replies = bot.say("重開返張單")
    assert f"已經重開咗 HD-{number}" in text_of(replies)
    assert bot.rows("SELECT state FROM tickets WHERE id = ?", number) == [("triaged",)]
    assert reopen_reason(bot, number) == "又壞咗，outlook 又 crash"


def test_reopen_with_its_own_reason_does_not_ask_why(bot: BotHarness) -> None:
    number = resolved_ticket(bot)
    replies = bot.say(f"reopen HD-{number}, the problem is back")
    assert f"I've reopened HD-{number}" in text_of(replies)
    assert reopen_reason(bot, number) == f"reopen HD-{number}, the problem is back"


def test_a_licence_question_just_before_is_not_taken_as_a_reopen_reason(bot: BotHarness) -> None:
    resolved_ticket(bot)
    bot.say("do I have visio?")
    assert "Why isn't it fixed?" in text_of(bot.say("reopen my ticket"))


def test_reopen_with_no_reason_anywhere_asks_why(bot: BotHarness) -> None:
    number = resolved_ticket(bot)
    replies = bot.say("reopen my ticket")
    assert "Why isn't it fixed?" in text_of(replies)
    bot.say("still crashing every morning")
    assert reopen_reason(bot, number) == "still crashing every morning"


def chases(bot: BotHarness, number: int) -> list[tuple[object, ...]]:
    return bot.rows(
        "SELECT actor, body FROM ticket_events WHERE ticket_id = ? AND kind = 'contact'"
        " AND json_extract(data_json, '$.chase')",
        number,
    )


def test_chasing_an_unassigned_ticket_notes_it_and_flags_the_triage_thread(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot)
    text = f"HD-{number} any news? nobody has replied for days"
    replies = bot.say(text)
    assert text_of(replies) == (
        f"I've added a note to HD-{number}. Nobody has picked it up yet, "
        "so I've flagged it to the Service Desk team."
    )
    assert chases(bot, number) == [(REQUESTER, text)]
    threads = bot.rows("SELECT recipient, payload_json FROM outbox WHERE kind = 'thread'")
    assert threads[-1][0] == "channel:helpdesk-triage"
    assert json.loads(str(threads[-1][1]))["text"] == text
    # a chase is not a response: the response clock keeps running
    assert bot.rows("SELECT first_response_at FROM tickets WHERE id = ?", number) == [(None,)]


def test_chasing_an_assigned_ticket_tells_the_engineer_by_dm_in_cantonese(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot)
    bot.command(f"/helpdesk claim HD-{number}", user=ENGINEER)
    replies = bot.say("催吓我張單，等咗好耐")
    assert f"已經喺 HD-{number} 加咗備註" in text_of(replies) and ENGINEER in text_of(replies)
    dms = bot.rows("SELECT payload_json FROM outbox WHERE recipient = ?", f"email:{ENGINEER}")
    told = [json.loads(str(row[0]))["text"] for row in dms]
    assert told == [
        f"{REQUESTER} is chasing HD-{number} (my monitor flickers all day): 催吓我張單，等咗好耐"
    ]
    delivered = bot.deliver()
    assert any(str(m.recipient) == f"email:{ENGINEER}" for m in delivered)


def test_a_second_chase_within_the_hour_changes_nothing_and_says_when(bot: BotHarness) -> None:
    number = open_ticket(bot)
    bot.say(f"HD-{number} any update? please chase")
    outbox = bot.rows("SELECT count(*) FROM outbox")
    bot.clock.advance(minutes=20)
    replies = bot.say(f"HD-{number} still nothing, chase again")
    assert "You chased" in text_of(replies) and "again from" in text_of(replies)
    assert len(chases(bot, number)) == 1
    assert bot.rows("SELECT count(*) FROM outbox") == outbox
    bot.clock.advance(minutes=41)
    bot.say(f"HD-{number} still nothing, chase again")
    assert len(chases(bot, number)) == 2


@pytest.mark.parametrize(
    ("asked", "chase_label", "told"),
    [("HD-{n} any news?", "Chase it", "told ho.kawai"), ("HD-{n}有冇進展", "催吓佢", "通知咗")],
)
def test_any_news_shows_the_status_with_a_chase_button_that_chases(
    bot: BotHarness, asked: str, chase_label: str, told: str
) -> None:
    number = open_ticket(bot)
    bot.command(f"/helpdesk claim HD-{number}", user=ENGINEER)
    status = text_of(bot.say(asked.format(n=number), user=REQUESTER))
    assert f"HD-{number}" in status and ("in progress" in status or "處理緊" in status)
    assert chases(bot, number) == []  # asking is not chasing
    assert chase_label in bot.labels()
    assert told in text_of(bot.click(chase_label))
    assert chases(bot, number) == [(REQUESTER, asked.format(n=number))]
    dms = bot.rows("SELECT payload_json FROM outbox WHERE recipient = ?", f"email:{ENGINEER}")
    assert asked.format(n=number) in json.loads(str(dms[-1][0]))["text"]


@pytest.mark.parametrize(
    ("asked", "summary"),
    [
        (
            "open a ticket: my keyboard's spacebar is a bit sticky",
            "my keyboard's spacebar is a bit sticky",
        ),
        ("need to speak to someone about my teams calls dropping", "my teams calls dropping"),
        ("開單：部 mon 閃過不停", "部 mon 閃過不停"),
        ("talk to a person, thanks", None),
        ("talk to a human", None),
    ],
)
def test_what_an_ask_for_a_person_says_about_the_problem(asked: str, summary: str | None) -> None:
    assert described_in(asked) == summary


def test_an_ask_for_a_person_that_says_what_is_wrong_is_proposed_from_it(bot: BotHarness) -> None:
    asked = "open a ticket: my keyboard's spacebar is a bit sticky"
    bot.say(asked)
    bot.say("yes")
    assert bot.rows("SELECT summary, description FROM tickets") == [
        ("my keyboard's spacebar is a bit sticky", asked)
    ]


def test_an_ask_for_a_person_alone_asks_what_is_wrong(bot: BotHarness) -> None:
    assert "what do you need help with" in text_of(bot.say("talk to a person, thanks"))
    assert bot.rows("SELECT count(*) FROM tickets") == [(0,)]


def test_yes_to_an_offer_takes_the_step_it_proposes(bot: BotHarness) -> None:
    bot.say("where can I book a parking space")  # no article: a ticket is offered
    assert "Shall I open it?" in text_of(bot.say("yes"))


@pytest.mark.parametrize(
    ("said", "yes", "summary"),
    [
        (
            "talk to a person, my second screen shows no signal",
            "yes",
            "my second screen shows no signal",
        ),
        ("我想搵真人，部電腦成日藍畫面", "好", "部電腦成日藍畫面"),
    ],
)
def test_an_ask_for_a_person_first_is_an_ask_for_a_person_whatever_follows(
    bot: BotHarness, said: str, yes: str, summary: str
) -> None:
    assert f"> {summary}" in text_of(bot.say(said))  # the proposal, before anything is opened
    bot.say(yes)
    assert bot.rows("SELECT summary FROM tickets") == [(summary,)]
