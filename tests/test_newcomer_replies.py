"""Replies a newcomer found wrong on the console, fixed in general (issue 17, item 4 of the
review): a typed verdict on articles, a label typed with filler words, a short follow-up
that stays on the problem already told."""

from __future__ import annotations

import pytest

from bot.handlers.knowledge import typed_verdict
from tests.harness import BotHarness, text_of


@pytest.mark.parametrize(
    ("question", "typed", "more"),
    [
        ("how do I set up company email on my phone", "didn't work", "other articles"),
        ("點樣喺手機set up公司email", "唔work呀", "仲有呢幾篇文章"),
        ("Teams開會冇聲，聽唔到人講嘢", "試咗都唔得", "仲有呢幾篇文章"),
    ],
)
def test_a_typed_did_not_help_under_articles_is_not_quite(
    bot: BotHarness, question: str, typed: str, more: str
) -> None:
    bot.say(question)
    replies = bot.say(typed)
    assert more in text_of(replies)
    assert bot.rows("SELECT feedback FROM kb_searches WHERE feedback IS NOT NULL") == [
        ("not_quite",)
    ]


def test_typed_verdicts_in_both_languages() -> None:
    assert typed_verdict("still not working") == "kb:not_quite"
    assert typed_verdict("thanks that worked") == "kb:solved"
    assert typed_verdict("搞掂喇") == "kb:solved"
    assert typed_verdict("still slow") is None  # a follow-up, understood afresh
    assert typed_verdict("my outlook keeps crashing when I open a shared calendar") is None


@pytest.mark.parametrize(("typed", "lang"), [("咁申請啦", "zh-Hant"), ("ok request it pls", "en")])
def test_a_label_typed_with_filler_words_picks_it(bot: BotHarness, typed: str, lang: str) -> None:
    bot.say("幫我check下我有冇Visio license" if lang == "zh-Hant" else "do I have a visio licence")
    bot.say(typed)
    assert bot.rows("SELECT summary, requester_lang FROM tickets") == [
        ("申請：Visio" if lang == "zh-Hant" else "Request: Visio", lang)
    ]


@pytest.mark.parametrize(
    ("problem", "follow_up", "ask"),
    [
        (
            "excel is super slow when I open the big pnl file",
            "still slow",
            "can someone look at it",
        ),
        ("部電腦開excel好慢，要等五分鐘", "仲係好慢", "搵真人"),
    ],
)
def test_a_short_follow_up_keeps_the_problem_for_the_ticket(
    bot: BotHarness, problem: str, follow_up: str, ask: str
) -> None:
    bot.say(problem)
    bot.say(follow_up)
    assert problem in text_of(bot.say(ask))
