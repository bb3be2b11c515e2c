"""A new request typed where the bot waits for free text (a rating comment, a reopen reason,
a ticket comment, a new ticket's description) starts that request; the question is kept
with a button back to it; a real answer is still taken (`bot/handlers/free_text.py`)."""

from __future__ import annotations

import pytest

from bot.handlers.things import names_a_thing, speaks_of_the_handling
from tests.harness import BotHarness, text_of

ENGINEER = "ho.kawai@corp.example.com"
BACK = {"en": "Back to my earlier question", "zh": "返去啱先個問題"}


def _ticket(bot: BotHarness, *, resolved: bool) -> int:
    bot.say("talk to a human")
    bot.say("my monitor flickers all day")
    bot.click("Open ticket")
    number = int(bot.rows("SELECT max(id) FROM tickets")[0][0])  # type: ignore[arg-type]
    if resolved:
        bot.command(f"/helpdesk resolve HD-{number} replaced the monitor", user=ENGINEER)
    return number


def _rating_comments(bot: BotHarness) -> list[object]:
    return [
        row[0]
        for row in bot.rows("SELECT body FROM ticket_events WHERE kind = 'csat' AND body != ''")
    ]


@pytest.mark.parametrize(
    ("rating", "problem", "lang", "answered"),
    [
        ("5 stars", "my outlook keeps crashing", "en", "articles"),
        ("俾五粒星", "部印表機印唔到嘢", "zh", "文章"),
    ],
)
def test_a_new_problem_typed_after_a_rating_is_answered_not_stored_as_the_comment(
    bot: BotHarness, rating: str, problem: str, lang: str, answered: str
) -> None:
    _ticket(bot, resolved=True)
    bot.say(rating, user=bot.user)
    replies = bot.say(problem)
    assert answered in text_of(replies)
    assert _rating_comments(bot) == []
    assert BACK[lang] in bot.labels()
    assert bot.rows("SELECT query FROM kb_searches") == [(problem,)]


def test_the_rating_comment_is_still_taken_after_the_new_problem(bot: BotHarness) -> None:
    _ticket(bot, resolved=True)
    bot.say("4 stars", user=bot.user)
    bot.say("my outlook keeps crashing")
    assert "add a comment" in text_of(bot.click(BACK["en"]))
    bot.say("took too long but fixed")
    assert _rating_comments(bot) == ["took too long but fixed"]


@pytest.mark.parametrize(
    "comment",
    [
        "took too long but fixed",
        "still slow though",
        "the engineer was quick and polite",
        "師傅好有耐性，不過等咗好耐",
        "搞掂咗，好快",
    ],
)
def test_a_real_comment_after_a_rating_is_stored(bot: BotHarness, comment: str) -> None:
    _ticket(bot, resolved=True)
    bot.say("5 stars", user=bot.user)
    bot.say(comment)
    assert _rating_comments(bot) == [comment]


@pytest.mark.parametrize(
    ("request_text", "started"),
    [("my account is locked", "unlock it now"), ("我個戶口鎖咗", "解鎖")],
)
def test_an_account_request_typed_as_a_reopen_reason_starts_it_and_the_reopen_waits(
    bot: BotHarness, request_text: str, started: str
) -> None:
    number = _ticket(bot, resolved=True)
    bot.click(f"@ticket_status:reopen:{number}", user=bot.user)
    assert started in text_of(bot.say(request_text))
    assert bot.rows("SELECT state FROM tickets") == [("resolved",)]
    lang = "zh" if "鎖" in request_text else "en"
    bot.click(BACK[lang])
    bot.say("the screen flickers again since this morning")
    assert bot.rows("SELECT state FROM tickets") == [("triaged",)]
    assert ("state", "the screen flickers again since this morning") in bot.rows(
        "SELECT kind, body FROM ticket_events"
    )


def test_the_problem_told_again_is_the_reopen_reason(bot: BotHarness) -> None:
    number = _ticket(bot, resolved=True)
    bot.click(f"@ticket_status:reopen:{number}", user=bot.user)
    bot.say("the monitor keeps flickering, it's not fixed")
    assert bot.rows("SELECT state FROM tickets") == [("triaged",)]


def test_a_password_request_typed_as_a_ticket_comment_starts_it(bot: BotHarness) -> None:
    number = _ticket(bot, resolved=False)
    bot.click(f"@ticket_status:comment:{number}")
    assert "password" in text_of(bot.say("reset my password please")).lower()
    assert bot.rows("SELECT count(*) FROM ticket_events WHERE kind = 'comment'") == [(0,)]
    bot.click(BACK["en"])
    bot.say("it flickers more in the afternoon")
    assert bot.rows("SELECT body FROM ticket_events WHERE kind = 'comment'") == [
        ("it flickers more in the afternoon",)
    ]


@pytest.mark.parametrize(
    ("ask", "typed"), [("talk to a human", "HD-1001 any news?"), ("我想搵真人", "HD-1001有冇進展")]
)
def test_a_ticket_ref_typed_as_a_new_tickets_description_shows_that_ticket(
    bot: BotHarness, ask: str, typed: str
) -> None:
    _ticket(bot, resolved=False)
    bot.say(ask)
    assert "HD-1001" in text_of(bot.say(typed))
    assert bot.rows("SELECT count(*) FROM tickets") == [(1,)]
    assert any(label in bot.labels() for label in BACK.values())


def test_a_problem_typed_as_a_new_tickets_description_is_the_description(
    bot: BotHarness,
) -> None:
    bot.say("talk to a human")
    assert "open a ticket" in text_of(bot.say("my outlook keeps crashing"))
    bot.click("Open ticket")
    assert bot.rows("SELECT summary FROM tickets") == [("my outlook keeps crashing",)]


def test_things_and_the_handling_are_read_in_both_languages() -> None:
    assert names_a_thing("部印表機印唔到嘢")
    assert names_a_thing("my outlook keeps crashing")
    assert names_a_thing("can't get into bloomberg", ("Bloomberg",))
    assert not names_a_thing("still slow though")
    assert speaks_of_the_handling("took too long but fixed")
    assert speaks_of_the_handling("師傅好有耐性")
    assert not speaks_of_the_handling("my outlook keeps crashing")
