"""Engineers in chat: subcommands typed without `/helpdesk`, suggestions for an unknown
subcommand, and replies in the engineer's own language (issue #17 item 8, #22)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.messages import Command, Incoming, Lang, Reply
from tests.harness import BotHarness, text_of

ENGINEER = "ho.kawai@corp.example.com"
REQUESTER = "chan.taiman@corp.example.com"


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path)


def open_ticket(bot: BotHarness, chinese: bool = False) -> int:
    if chinese:
        bot.say("搵真人", user=REQUESTER)
        bot.say("部打印機冇晒墨，印唔到嘢", user=REQUESTER)
        assert "我已經幫你開咗單 HD-" in text_of(bot.click("開單", user=REQUESTER))
    else:
        bot.say("talk to a human", user=REQUESTER)
        bot.say("the printer on 5/F is out of toner", user=REQUESTER)
        assert "I've opened ticket HD-" in text_of(bot.click("Open ticket", user=REQUESTER))
    return int(bot.rows("SELECT max(id) FROM tickets")[0][0])  # type: ignore[arg-type]


def as_person(bot: BotHarness, text: str, lang: Lang, user: str = ENGINEER) -> list[Reply]:
    """A message from someone whose platform reports `lang` as their language."""
    actor = bot.actor(user)
    return bot.send(Incoming(actor, f"dm-{user}", text, lang=lang, command=Command.typed(text)))


def events(bot: BotHarness, number: int) -> list[tuple[object, ...]]:
    return bot.rows(
        "SELECT kind, actor, public FROM ticket_events"
        " WHERE ticket_id = ? AND kind NOT IN ('created', 'transcript')",
        number,
    )


def test_an_engineer_works_a_ticket_in_a_dm_without_the_prefix(bot: BotHarness) -> None:
    number = open_ticket(bot)
    bot.deliver()
    replies = bot.say(f"claim HD-{number}", user=ENGINEER)
    assert text_of(replies).startswith(f"HD-{number}: claim done.")
    assert bot.rows("SELECT assignee, state FROM tickets") == [(ENGINEER, "in_progress")]
    bot.say(f"note hd{number} toner cartridge ordered", user=ENGINEER)
    bot.say(f"reply HD-{number} new toner arrives this afternoon", user=ENGINEER)
    bot.say(f"escalate HD-{number} Desktop printer drum worn too", user=ENGINEER)
    replies = bot.say(f"resolve #{number} replaced toner and drum", user=ENGINEER)
    assert f"HD-{number}: resolve done." in text_of(replies)
    assert bot.rows("SELECT state, team FROM tickets") == [("resolved", "Desktop")]
    kinds = [kind for kind, _, _ in events(bot, number)]
    assert {"note", "comment", "escalation"} <= set(kinds)
    assert all(actor == ENGINEER for _, actor, _ in events(bot, number))
    bot.deliver()
    notices = " ".join(bot.transport.texts())
    assert "new toner arrives this afternoon" in notices
    assert "toner cartridge ordered" not in notices  # the note stays internal


def test_an_engineer_reads_the_queue_and_looks_a_user_up_without_the_prefix(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot)
    queue = bot.say("queue unassigned", user=ENGINEER)
    assert f"Queue (unassigned): 1 tickets\nHD-{number} P" in text_of(queue)
    looked_up = text_of(bot.say("lookup chan.taiman", user=ENGINEER))
    assert "Chan Tai Man" in looked_up and "LOCKED" in looked_up
    assert ("lookup", "done") in bot.rows("SELECT action, outcome FROM audit_log")


def test_a_requester_typing_an_engineer_verb_gets_no_engineer_action(bot: BotHarness) -> None:
    number = open_ticket(bot)
    replies = bot.say(f"claim HD-{number}", user=REQUESTER)
    assert "claim done" not in text_of(replies)
    replies = bot.say(f"resolve HD-{number} fixed it myself", user=REQUESTER)
    assert "resolve done" not in text_of(replies)
    assert bot.rows("SELECT assignee, state FROM tickets") == [(None, "new")]
    assert events(bot, number) == []
    # refused as the slash form is, and each attempt audited (DESIGN rule 6)
    assert "for the IT service desk" in text_of(replies)
    refused = bot.rows("SELECT action FROM audit_log WHERE outcome = 'refused'")
    assert refused == [("command.claim",), ("command.resolve",)]


def test_a_requester_queue_or_lookup_word_is_still_a_message(bot: BotHarness) -> None:
    bot.say("queue", user=REQUESTER)
    bot.say("lookup chan.taiman", user=REQUESTER)
    assert bot.rows("SELECT action FROM audit_log WHERE action LIKE 'command.%'") == []


def test_a_requester_cancel_still_acts_on_their_own_ticket(bot: BotHarness) -> None:
    number = open_ticket(bot)
    replies = bot.say(f"cancel HD-{number}", user=REQUESTER)
    bot.click(1, user=REQUESTER)
    assert f"HD-{number}" in text_of(replies)
    assert bot.rows("SELECT state FROM tickets") == [("cancelled",)]


def test_an_engineer_sentence_that_only_starts_with_a_verb_is_not_a_command(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot)
    bot.say("wait 10 minutes and my outlook still crashes", user=ENGINEER)
    bot.say("note to self: printer on 3/F", user=ENGINEER)
    bot.say("lookup how to map a drive", user=ENGINEER)
    assert bot.rows("SELECT state FROM tickets") == [("new",)]
    assert events(bot, number) == []
    assert ("lookup", "done") not in bot.rows("SELECT action, outcome FROM audit_log")


def test_an_unknown_subcommand_suggests_the_closest_by_spelling_and_by_help(
    bot: BotHarness,
) -> None:
    typo = text_of(bot.command("/helpdesk clam HD-1001", user=ENGINEER))
    assert typo.startswith('I don\'t know the command "clam". Did you mean:\n/helpdesk claim')
    assert "/helpdesk licences" not in typo  # not the whole list
    by_help = text_of(bot.command("/helpdesk take HD-1001", user=ENGINEER))
    assert "/helpdesk claim <ID>  take a ticket yourself" in by_help
    by_chinese_help = text_of(bot.command("/helpdesk 認領 HD-1001", user=ENGINEER))
    assert "Did you mean:\n/helpdesk claim" in by_chinese_help


def test_an_unknown_subcommand_shows_the_engineer_their_own_help(bot: BotHarness) -> None:
    engineer = text_of(bot.command("/helpdesk frobnicate", user=ENGINEER))
    assert "Here is what you can do:" in engineer
    assert "/helpdesk claim <ID>" in engineer and "/helpdesk resolve <ID>" in engineer
    small_word = text_of(bot.command("/helpdesk the HD-1001", user=ENGINEER))
    assert "Did you mean" not in small_word and "Here is what you can do:" in small_word
    requester = text_of(bot.command("/helpdesk frobnicate", user=REQUESTER))
    assert "/helpdesk tickets" in requester and "/helpdesk claim" not in requester


def test_a_requester_is_never_suggested_an_engineer_subcommand(bot: BotHarness) -> None:
    replies = bot.command("/helpdesk clam HD-1001", user=REQUESTER)
    assert "/helpdesk claim" not in text_of(replies)
    assert replies[0].private


def test_a_requester_in_chinese_gets_chinese_suggestions(bot: BotHarness) -> None:
    replies = as_person(bot, "/helpdesk 取消 HD-1001", "zh-Hant", user=REQUESTER)
    assert (
        text_of(replies)
        == "我唔識「取消」呢個指令。你係咪想用：\n/helpdesk cancel <ID>  取消你張單"
    )


def test_a_chinese_speaking_engineer_gets_chinese_suggestions_and_help(bot: BotHarness) -> None:
    replies = as_person(bot, "/helpdesk 認領 HD-1001", "zh-Hant")
    assert text_of(replies).startswith("我唔識「認領」呢個指令。你係咪想用：\n/helpdesk claim <ID>")
    assert "自己認領張單" in text_of(replies)
    assert "/helpdesk queue" in text_of(as_person(bot, "/helpdesk help", "zh-Hant"))


def test_a_note_typed_in_chinese_keeps_the_engineers_replies_in_english(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot, chinese=True)
    bot.say(f"claim HD-{number}", user=ENGINEER)
    replies = bot.say(f"note HD-{number} 打印機已經換咗碳粉", user=ENGINEER)
    assert text_of(replies).startswith(f"HD-{number}: note done.")
    assert "in progress" in text_of(replies)
    missing = bot.say("note HD-4242 冇呢張單", user=ENGINEER)
    assert text_of(missing).startswith("There's no ticket HD-4242.")


def test_an_engineers_reply_reaches_a_chinese_requester_in_chinese(bot: BotHarness) -> None:
    number = open_ticket(bot, chinese=True)
    bot.deliver()
    bot.say(f"reply HD-{number} we'll swap the toner this afternoon", user=ENGINEER)
    notices = [m.payload["text"] for m in bot.deliver() if m.kind == "notice"]
    assert any(
        f"IT 喺 HD-{number}" in str(text) and "we'll swap the toner" in str(text)
        for text in notices
    )


def test_a_resolution_typed_in_chinese_after_the_resolve_button_is_answered_in_english(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot)
    prompt = bot.click(f"@command:resolve:{number}", user=ENGINEER)
    assert text_of(prompt).startswith(f"How was HD-{number} resolved?")
    replies = bot.say("換咗碳粉同埋鼓", user=ENGINEER)
    assert text_of(replies).startswith(f"HD-{number}: resolve done.")
    assert bot.rows("SELECT state FROM tickets") == [("resolved",)]


def test_a_chinese_speaking_engineer_is_answered_in_chinese_even_for_english_words(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot)
    replies = as_person(bot, f"claim HD-{number}", "zh-Hant")
    assert text_of(replies).startswith(f"HD-{number}：claim 完成。")
    replies = as_person(bot, f"resolve HD-{number} replaced the toner", "zh-Hant")
    assert "已解決" in text_of(replies)
    assert bot.rows("SELECT assignee, state FROM tickets") == [(ENGINEER, "resolved")]


def _language_of(bot: BotHarness, user: str) -> list[tuple[object, ...]]:
    return bot.rows(
        "SELECT lang, chosen FROM person_languages WHERE user_id = ?", bot.actor(user).user_id
    )


def test_a_chinese_comment_by_an_english_engineer_reaches_the_requester_and_keeps_english(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot, chinese=True)
    bot.say("good morning, anything new for me?", user=ENGINEER)  # remembered: English
    bot.say(f"claim HD-{number}", user=ENGINEER)
    bot.deliver()
    replies = bot.say(f"/helpdesk comment HD-{number} 已經幫你重設", user=ENGINEER)
    assert text_of(replies).startswith(f"HD-{number}: reply done.")
    notices = [str(m.payload["text"]) for m in bot.deliver() if m.kind == "notice"]
    assert notices == [
        f"IT 喺 HD-{number}（部打印機冇晒墨，印唔到嘢）覆你：\n已經幫你重設\n"
        "講「我啲單」再揀「加留言」就可以回覆。"
    ]
    assert _language_of(bot, ENGINEER) == [("en", 0)]
    # their own later messages are still answered in English
    assert "among yours" in text_of(bot.say(f"HD-{number}", user=ENGINEER))
    assert text_of(bot.say(f"note HD-{number} 換咗碳粉", user=ENGINEER)).startswith(
        f"HD-{number}: note done."
    )
    assert _language_of(bot, ENGINEER) == [("en", 0)]


def test_a_chinese_reply_in_the_triage_thread_keeps_the_engineers_english(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot, chinese=True)
    bot.deliver()
    thread = str(bot.rows("SELECT message_ref FROM triage_posts")[0][0])
    bot.send(Incoming(bot.actor(ENGINEER), "helpdesk-triage", "今日下晝換碳粉", thread_id=thread))
    notices = [str(m.payload["text"]) for m in bot.deliver() if m.kind == "notice"]
    assert any(f"IT 喺 HD-{number}" in n and "今日下晝換碳粉" in n for n in notices)
    assert _language_of(bot, ENGINEER) == []
    assert "among yours" in text_of(bot.say(f"HD-{number}", user=ENGINEER))


def test_an_engineers_own_comment_on_their_own_ticket_stays_a_requester_comment(
    bot: BotHarness,
) -> None:
    bot.say("talk to a human", user=ENGINEER)
    bot.say("my docking station has no power", user=ENGINEER)
    bot.click("Open ticket", user=ENGINEER)
    replies = bot.say("/helpdesk comment HD-1001 it came back after a restart", user=ENGINEER)
    assert "Added to HD-1001" in text_of(replies)
    assert bot.rows("SELECT kind, actor FROM ticket_events WHERE kind IN ('comment', 'reply')") == [
        ("comment", ENGINEER)
    ]


def test_an_engineers_chosen_language_wins_over_the_platforms_for_their_replies(
    bot: BotHarness,
) -> None:
    number = open_ticket(bot)
    as_person(bot, "講中文", "en")
    replies = as_person(bot, f"claim HD-{number}", "en")
    assert text_of(replies).startswith(f"HD-{number}：claim 完成。")
    as_person(bot, "English please", "zh-Hant")
    replies = as_person(bot, f"note HD-{number} 換咗碳粉", "zh-Hant")
    assert text_of(replies).startswith(f"HD-{number}: note done.")
    assert _language_of(bot, ENGINEER) == [("en", 1)]
