"""Ticket actions typed in Cantonese or English, with and without a ticket ref: cancel,
reopen, rate and chase act on the person's own ticket and answer in their language."""

from __future__ import annotations

import pytest

from tests.harness import BotHarness, text_of

ENGINEER = "ho.kawai@corp.example.com"


def _ticket(bot: BotHarness, text: str, *, resolved: bool = False) -> None:
    bot.say("talk to a human")
    bot.say(text)
    bot.say("yes")
    if resolved:
        bot.command("/helpdesk resolve HD-1001 replaced the cable", user=ENGINEER)


@pytest.mark.parametrize(
    ("opening", "typed", "confirm", "done"),
    [
        ("部 mon 閃過不停", "取消 HD-1001", "確定取消 HD-1001", "已經取消咗 HD-1001"),
        ("部 mon 閃過不停", "張單可以cancel咗", "確定取消 HD-1001", "已經取消咗 HD-1001"),
        ("my monitor flickers", "cancel HD-1001", "Cancel HD-1001", "cancelled HD-1001"),
        ("my monitor flickers", "please cancel my ticket", "Cancel HD-1001", "cancelled HD-1001"),
    ],
)
def test_cancel_typed_in_either_language_asks_then_cancels(
    bot: BotHarness, opening: str, typed: str, confirm: str, done: str
) -> None:
    _ticket(bot, opening)
    assert confirm in text_of(bot.say(typed))
    assert done in text_of(bot.say("好" if "確定" in confirm else "yes"))
    assert bot.rows("SELECT state FROM tickets") == [("cancelled",)]


@pytest.mark.parametrize(
    ("opening", "typed", "why", "reason"),
    [
        ("部 mon 閃過不停", "重開返張單", "點解仲未搞掂", "仲係閃"),
        ("部 mon 閃過不停", "重開 HD-1001", "點解仲未搞掂", "仲係閃"),
        ("my monitor flickers", "reopen HD-1001", "Why isn't it fixed", "it still flickers"),
        (
            "my monitor flickers",
            "please reopen my ticket",
            "Why isn't it fixed",
            "it still flickers",
        ),
    ],
)
def test_reopen_typed_in_either_language_asks_why_then_reopens(
    bot: BotHarness, opening: str, typed: str, why: str, reason: str
) -> None:
    _ticket(bot, opening, resolved=True)
    assert why in text_of(bot.say(typed))
    bot.say(reason)
    assert bot.rows("SELECT state FROM tickets") == [("triaged",)]
    bodies = [str(row[0]) for row in bot.rows("SELECT body FROM ticket_events")]
    assert reason in " ".join(bodies)


@pytest.mark.parametrize(
    ("opening", "typed", "thanks", "score"),
    [
        ("部 mon 閃過不停", "俾五粒星", "多謝你幫 HD-1001 評分", 5),
        ("部 mon 閃過不停", "HD-1001 四粒星", "多謝你幫 HD-1001 評分", 4),
        ("my monitor flickers", "5 stars", "Thank you for rating HD-1001", 5),
        ("my monitor flickers", "HD-1001 3/5", "Thank you for rating HD-1001", 3),
    ],
)
def test_a_rating_typed_in_either_language_rates_the_resolved_ticket(
    bot: BotHarness, opening: str, typed: str, thanks: str, score: int
) -> None:
    _ticket(bot, opening, resolved=True)
    assert thanks in text_of(bot.say(typed))
    assert bot.rows("SELECT csat_score FROM tickets") == [(score,)]


@pytest.mark.parametrize(
    ("opening", "typed", "told"),
    [
        ("部 mon 閃過不停", "催吓 HD-1001", "我已經喺 HD-1001 加咗備註"),
        ("部 mon 閃過不停", "催吓我張單", "我已經喺 HD-1001 加咗備註"),
        (
            "my monitor flickers",
            "please chase HD-1001, nobody has replied",
            "added a note to HD-1001",
        ),
    ],
)
def test_chasing_in_either_language_adds_a_contact_note_and_says_so(
    bot: BotHarness, opening: str, typed: str, told: str
) -> None:
    _ticket(bot, opening)
    assert told in text_of(bot.say(typed))
    assert bot.rows("SELECT count(*) FROM ticket_events WHERE kind = 'contact'") == [(1,)]


def test_someone_elses_ticket_looks_like_no_ticket_in_chinese_too(bot: BotHarness) -> None:
    _ticket(bot, "部 mon 閃過不停")
    replies = bot.say("取消 HD-1001", user="wong.siuling@corp.example.com")
    assert "搵唔到 HD-1001" in text_of(replies)
    assert bot.rows("SELECT state FROM tickets") == [("new",)]
