"""Every intent reaches a behaviour; close calls ask one question with two buttons."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.handlers import default_handlers
from bot.intents import IntentClassifier
from bot.intents.training_data import Utterance
from tests.harness import BotHarness, text_of
from tests.test_tickets import open_ticket


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path)


def _undecided(bot: BotHarness) -> None:
    """Give the bot a real model trained so that one message is exactly half unlock, half reset."""
    both = "locked and forgot my password"
    utterances = [
        Utterance(both, "unlock"),
        Utterance(both, "password_reset"),
        Utterance("hello there", "greeting"),
        Utterance("hello bot", "greeting"),
    ]
    classifier = IntentClassifier(utterances=utterances, cache_dir=None)
    bot.services = dataclasses.replace(bot.services, classifier=classifier)
    bot.engine = Engine(bot.services, default_handlers())


def test_close_intents_get_one_question_with_both_as_buttons(bot: BotHarness) -> None:
    _undecided(bot)
    replies = bot.say("locked and forgot my password")
    assert text_of(replies) in (
        "Unlock your account, or reset your password?",
        "Reset your password, or unlock your account?",
    )
    assert sorted(bot.labels()) == ["Reset your password", "Unlock your account"]


def test_the_question_is_asked_in_cantonese_for_a_chinese_message(bot: BotHarness) -> None:
    _undecided(bot)
    utterances = [Utterance("鎖咗又唔記得密碼", i) for i in ("unlock", "password_reset")]
    utterances += [Utterance("你好呀", "greeting")] * 2
    classifier = IntentClassifier(utterances=utterances, cache_dir=None)
    bot.services = dataclasses.replace(bot.services, classifier=classifier)
    bot.engine = Engine(bot.services, default_handlers())
    replies = bot.say("鎖咗又唔記得密碼")
    assert text_of(replies) in ("解鎖戶口，定係重設密碼？", "重設密碼，定係解鎖戶口？")


def test_clicking_unlock_runs_the_unlock(bot: BotHarness) -> None:
    _undecided(bot)
    bot.say("locked and forgot my password")
    replies = bot.click("Unlock your account")
    assert "unlock" in text_of(replies).lower() or "locked" in text_of(replies).lower()
    assert "Reset your password" not in bot.labels()


def test_clicking_reset_runs_the_password_help(bot: BotHarness) -> None:
    _undecided(bot)
    bot.say("locked and forgot my password")
    replies = bot.click("Reset your password")
    assert "password" in text_of(replies).lower()
    assert "Unlock your account" not in bot.labels()


def test_a_yes_to_the_question_is_told_it_is_no_choice_and_the_question_still_waits(
    bot: BotHarness,
) -> None:
    _undecided(bot)
    bot.say("locked and forgot my password")
    assert "isn't one of the choices" in text_of(bot.say("yes"))
    assert "password" in text_of(bot.say("2")).lower()  # the question was still waiting


def test_thanks_ends_politely_without_a_ticket_offer_or_a_kb_gap(bot: BotHarness) -> None:
    replies = bot.say("thanks, bye")
    assert "You're welcome" in text_of(replies)
    assert bot.labels() == []
    assert bot.rows("SELECT count(*) FROM kb_searches")[0][0] == 0


def test_cancel_with_one_open_ticket_asks_to_confirm_it(bot: BotHarness) -> None:
    number = open_ticket(bot)
    replies = bot.say("please cancel my ticket, it's fixed")
    assert f"HD-{number}" in text_of(replies)
    bot.click(1)
    assert bot.rows("SELECT state FROM tickets WHERE id = ?", number)[0][0] == "cancelled"


def test_cancel_in_cantonese_with_a_ref_right_after_a_chinese_character(bot: BotHarness) -> None:
    number = open_ticket(bot)
    replies = bot.say(f"唔使喇，取消HD-{number}")
    assert f"HD-{number}" in text_of(replies)
    assert bot.labels()[0] == "取消張單"


def test_chase_adds_a_contact_note_and_says_so(bot: BotHarness) -> None:
    number = open_ticket(bot)
    replies = bot.say(f"HD-{number} nobody has replied for days, please chase")
    assert f"I've added a note to HD-{number}" in text_of(replies)
    assert bot.rows("SELECT count(*) FROM ticket_events WHERE kind = 'contact'") == [(1,)]


def test_reopen_of_an_open_ticket_shows_it_instead(bot: BotHarness) -> None:
    number = open_ticket(bot)
    replies = bot.say(f"reopen HD-{number}, the problem is back")
    assert f"HD-{number}" in text_of(replies)
    assert "Reopen" not in " ".join(bot.labels())


def test_a_ticket_action_with_no_ticket_lists_the_persons_tickets(bot: BotHarness) -> None:
    replies = bot.say("cancel my ticket please")
    assert "no tickets" in text_of(replies)


def test_a_request_goes_through_the_catalogue_to_a_request_ticket(bot: BotHarness) -> None:
    assert "I can send a request for you: Monitor" in text_of(bot.say("can I get a second monitor"))
    bot.click("Send the request")
    assert bot.rows("SELECT summary, category FROM tickets") == [("Request: Monitor", "hardware")]


def test_a_request_the_catalogue_does_not_name_proposes_a_request_ticket(
    bot: BotHarness,
) -> None:
    text = text_of(bot.say("can I get a standing desk"))
    assert "Request: can I get a standing desk" in text


def test_an_outage_gives_the_phone_line_and_a_one_click_p1(bot: BotHarness) -> None:
    replies = bot.say("trading system is down for the whole floor")
    assert "ext. 4357" in text_of(replies) and bot.labels()[0] == "Open P1 now"
    bot.click("Open P1 now")
    assert bot.rows("SELECT priority FROM tickets")[0][0] == "P1"


def test_a_licence_the_catalogue_does_not_name_goes_to_the_licence_check(
    bot: BotHarness,
) -> None:
    replies = bot.say("我想申請Copilot")
    assert "Copilot" in text_of(replies) and "license" in text_of(replies)
    assert "申請：" not in text_of(replies)  # not the generic request proposal
