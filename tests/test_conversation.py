"""Whole-bot conversations through the engine, asserting on replies and on stored state."""

from __future__ import annotations

from pathlib import Path

from tests.harness import BotHarness, FakeClock, text_of


def test_greeting_lists_what_the_bot_can_do_and_offers_the_menu(bot: BotHarness) -> None:
    replies = bot.say("hi")
    assert "IT helpdesk bot" in text_of(replies)
    assert "unlock your account" in text_of(replies)
    assert bot.labels() == [
        "My account is locked",
        "Password help",
        "My tickets",
        "Talk to a person",
    ]


def test_cantonese_greeting_is_answered_in_chinese(bot: BotHarness) -> None:
    replies = bot.say("你好")
    assert "你好" in text_of(replies)
    assert "搵真人" in bot.labels()


def test_mixed_english_and_chinese_gets_a_chinese_reply(bot: BotHarness) -> None:
    replies = bot.say("我個account鎖咗")
    assert "你個 account 因為密碼打錯太多次鎖咗" in text_of(replies)


def test_a_pending_question_survives_a_restart(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    assert "what do you need help with" in text_of(bot.say("talk to a human"))
    bot.restart()
    replies = bot.say("my printer on 25F shows offline")
    assert "I'll open a ticket" in text_of(replies)
    assert "my printer on 25F shows offline" in text_of(replies)
    bot.restart()
    replies = bot.click("Open ticket")
    assert "I've opened ticket HD-1001" in text_of(replies)
    assert bot.rows("SELECT summary, state FROM tickets") == [
        ("my printer on 25F shows offline", "new")
    ]


def test_a_pending_question_expires_after_the_timeout(tmp_path: Path) -> None:
    clock = FakeClock()
    bot = BotHarness(tmp_path, clock=clock, extra_toml="[conversation]\ntimeout_minutes = 10\n")
    bot.say("talk to a human")
    clock.advance(minutes=11)
    replies = bot.say("my printer is offline")
    assert "I'll open a ticket" not in text_of(replies)
    assert replies[0].cards, "the message is understood afresh, as a question"
    assert bot.rows("SELECT flow FROM conversations WHERE flow NOT IN ('topic', 'shown')") == [
        ("kb_question.feedback",)
    ]


def test_a_new_request_takes_over_and_the_unanswered_question_is_kept_aside(
    bot: BotHarness,
) -> None:
    bot.say("my account is locked")
    replies = bot.say("do i have visio?")
    assert "Visio" in text_of(replies)
    assert bot.rows(
        "SELECT flow FROM conversations WHERE flow NOT IN ('topic', 'shown')"
        " ORDER BY conversation_key"
    ) == [
        ("licence_check.request",),
        ("unlock.confirm",),
    ]


def test_cancel_stops_a_flow(bot: BotHarness) -> None:
    bot.say("open a ticket")
    assert "stopped" in text_of(bot.say("cancel"))
    assert bot.rows("SELECT count(*) FROM conversations WHERE flow != 'shown'") == [(0,)]


def test_two_people_in_one_channel_do_not_answer_each_others_questions(bot: BotHarness) -> None:
    bot.say("talk to a human", user="chan.taiman@corp.example.com")
    replies = bot.say("hello", user="wong.siuling@corp.example.com")
    assert "IT helpdesk bot" in text_of(replies)
    replies = bot.say("laptop fan is loud", user="chan.taiman@corp.example.com")
    assert "I'll open a ticket" in text_of(replies)


def test_knowledge_question_gets_articles_with_feedback_choices(bot: BotHarness) -> None:
    replies = bot.say("outlook keeps asking for my password")
    assert "your account is locked" in replies[0].text  # the default user is: that comes first
    assert replies[1].cards[0].article_id == "outlook-password-prompt"
    assert "This solved it" in bot.labels() and "Not quite" in bot.labels()
    assert "glad" in text_of(bot.click("This solved it"))


def test_reading_an_article_shows_its_text_in_the_users_language(bot: BotHarness) -> None:
    bot.say("VPN 連唔到")
    replies = bot.click(1)
    assert replies[0].text.startswith("*") and "VPN" in replies[0].text
    assert "如果仲係唔得" in replies[0].text


def test_not_quite_offers_other_articles_then_a_person(bot: BotHarness) -> None:
    bot.say("printer offline")
    replies = bot.click("Not quite")
    assert "other articles" in text_of(replies) or "no other articles" in text_of(replies)
    assert "Talk to a person" in bot.labels()


def test_unknown_question_abstains_and_offers_a_ticket(bot: BotHarness) -> None:
    replies = bot.say("who won the football last night")
    assert "I don't have an article for that" in text_of(replies)
    assert bot.labels() == ["Open a ticket", "Talk to a person"]
    assert "who won the football last night" in text_of(bot.click("Open a ticket"))
    bot.click("Open ticket")
    assert bot.rows("SELECT summary FROM tickets") == [("who won the football last night",)]
    assert bot.rows("SELECT query, answered FROM kb_searches") == [
        ("who won the football last night", 0)
    ]
