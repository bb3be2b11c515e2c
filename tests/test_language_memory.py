"""A person's language is remembered: a bare `HD-1001` or "1" from someone who writes
Chinese is answered in Chinese; "English please" / 「講中文」 switch it, and that sticks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.language import asked_language, written_in
from tests.harness import BotHarness, text_of


def _open_ticket(bot: BotHarness, text: str) -> None:
    bot.say("talk to a human")
    bot.say(text)
    bot.say("yes")


def test_a_bare_ticket_ref_from_someone_who_writes_chinese_is_answered_in_chinese(
    bot: BotHarness,
) -> None:
    _open_ticket(bot, "部 mon 閃過不停")
    replies = bot.say("HD-1001")
    assert "HD-1001 · 新單 · 部 mon 閃過不停" in text_of(replies)
    assert bot.rows("SELECT lang, chosen FROM person_languages") == [("zh-Hant", 0)]


def test_a_bare_ticket_ref_from_someone_who_writes_english_is_answered_in_english(
    bot: BotHarness,
) -> None:
    _open_ticket(bot, "my monitor flickers all day")
    replies = bot.say("HD-1001")
    assert "my monitor flickers all day" in text_of(replies)
    assert "Priority" in [name for r in replies for name, _ in r.fields]


def _in_chinese(text: str) -> bool:
    return sum("\u3400" <= c <= "\u9fff" for c in text) > len(text) / 4


def test_the_language_is_remembered_across_a_restart(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    bot.say("你好")
    bot.restart()
    replies = bot.say("1")  # the greeting's first button, answered in the language kept
    assert _in_chinese(text_of(replies)), text_of(replies)


def test_a_number_typed_to_a_chinese_question_is_answered_in_chinese(bot: BotHarness) -> None:
    bot.say("我想搵人幫手")
    bot.say("部 printer 印唔到嘢")
    replies = bot.say("1")
    assert "開咗單" in text_of(replies)


def test_a_sentence_in_english_answers_in_english_without_a_switch(bot: BotHarness) -> None:
    bot.say("你好")
    replies = bot.say("hello there")
    assert "IT helpdesk bot" in text_of(replies)


@pytest.mark.parametrize("ask", ["English please", "in english pls", "講英文", "英文"])
def test_asking_for_english_switches_and_sticks_even_when_writing_chinese(
    bot: BotHarness, ask: str
) -> None:
    _open_ticket(bot, "部 mon 閃過不停")
    assert "reply in English" in text_of(bot.say(ask))
    replies = bot.say("我啲單")  # one open ticket: shown in full, in English
    assert "HD-1001 · new" in text_of(replies) and "(opened " in text_of(replies)
    assert bot.rows("SELECT lang, chosen FROM person_languages") == [("en", 1)]


@pytest.mark.parametrize("ask", ["講中文", "中文", "用廣東話", "Chinese please"])
def test_asking_for_chinese_switches_and_sticks_even_when_writing_english(
    bot: BotHarness, ask: str
) -> None:
    assert "用中文" in text_of(bot.say(ask))
    replies = bot.say("hello")
    assert "你好" in text_of(replies)
    assert bot.rows("SELECT lang, chosen FROM person_languages") == [("zh-Hant", 1)]


def test_switching_back_replaces_the_asked_language(bot: BotHarness) -> None:
    bot.say("English please")
    bot.say("講中文")
    assert "你好" in text_of(bot.say("hi"))


def test_each_person_has_their_own_language(bot: BotHarness) -> None:
    bot.say("你好")
    other = "wong.siuming@corp.example.com"
    bot.say("hello", user=other)
    assert _in_chinese(text_of(bot.say("2")))  # each one's greeting's second button
    assert not _in_chinese(text_of(bot.say("2", user=other)))


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("HD-1002", None),
        ("1", None),
        ("ok", None),
        ("cancel HD-1002", None),
        ("5/5", None),
        ("my monitor flickers", "en"),
        ("張單點呀", "zh-Hant"),
        ("我個account鎖咗", "zh-Hant"),
    ],
)
def test_a_message_with_no_words_to_tell_by_is_in_no_language(
    text: str, written: str | None
) -> None:
    assert written_in(text) == written


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("English please", "en"),
        ("english pls!", "en"),
        ("請講英文", "en"),
        ("講中文", "zh-Hant"),
        ("用廣東話啦", "zh-Hant"),
        ("Chinese please", "zh-Hant"),
        ("my English is bad, can you help", None),
        ("中文版 Office 點裝", None),
    ],
)
def test_only_a_whole_message_asking_for_a_language_switches_it(
    text: str, asked: str | None
) -> None:
    assert asked_language(text) == asked
