"""Typed answers while the bot waits for a click, and small talk in both languages:
numbers (full-width too), labels in either language, yes / no words, ratings, thanks."""

from __future__ import annotations

import pytest

from bot.intents import approval_answer, bare_answer, confirmation, thanks_or_bye
from tests.harness import BotHarness, text_of

ENGINEER = "ho.kawai@corp.example.com"


def _propose(bot: BotHarness, text: str = "my monitor flickers all day") -> None:
    bot.say("talk to a human")
    assert "I'll open a ticket" in text_of(bot.say(text))


def _resolved_ticket(bot: BotHarness) -> int:
    _propose(bot)
    bot.click("Open ticket")
    number = int(bot.rows("SELECT max(id) FROM tickets")[0][0])  # type: ignore[arg-type]
    bot.command(f"/helpdesk resolve HD-{number} replaced the monitor", user=ENGINEER)
    return number


@pytest.mark.parametrize("typed", ["1", "１", "open ticket", "開單", "yes", "好呀", "ok"])
def test_a_typed_number_label_or_yes_opens_the_proposed_ticket(bot: BotHarness, typed: str) -> None:
    _propose(bot)
    assert "HD-1001" in text_of(bot.say(typed))
    assert bot.rows("SELECT summary FROM tickets") == [("my monitor flickers all day",)]


@pytest.mark.parametrize("typed", ["yes open it", "ok do it", "好呀，開單啦"])
def test_a_yes_leading_a_few_words_opens_the_proposed_ticket(bot: BotHarness, typed: str) -> None:
    _propose(bot)
    assert "HD-1001" in text_of(bot.say(typed))
    assert bot.rows("SELECT summary FROM tickets") == [("my monitor flickers all day",)]


def test_a_yes_typed_in_cantonese_with_words_unlocks(bot: BotHarness) -> None:
    bot.say("登入唔到呀，係咪鎖咗戶口")
    assert "解鎖咗" in text_of(bot.say("係，幫我解鎖"))
    assert ("unlock", "done") in bot.rows("SELECT action, outcome FROM audit_log")


def test_a_yes_that_goes_on_to_say_more_is_understood_afresh(bot: BotHarness) -> None:
    _propose(bot)
    bot.say("yes but my outlook also crashes whenever I open a shared calendar")
    assert bot.rows("SELECT count(*) FROM tickets") == [(0,)]
    assert confirmation("yes but my outlook also crashes whenever I open it") is None
    assert confirmation("yes HD-1002") is None


@pytest.mark.parametrize("typed", ["5", "cancel ticket", "唔好", "no"])
def test_a_typed_no_or_the_cancel_label_opens_no_ticket(bot: BotHarness, typed: str) -> None:
    _propose(bot)
    bot.say(typed)
    assert bot.rows("SELECT count(*) FROM tickets") == [(0,)]


def test_the_chinese_label_picks_a_choice_offered_in_english(bot: BotHarness) -> None:
    _propose(bot)
    bot.say("改類別")
    assert bot.labels() == list(bot.services.tickets.categories)


@pytest.mark.parametrize("typed", ["2", "#2", "第二個"])
def test_a_number_picks_the_choice_in_that_place(bot: BotHarness, typed: str) -> None:
    _propose(bot)
    bot.say(typed)  # 2 = "Change the text"
    assert bot.services.conversations.get(f"test|dm-{bot.user}||U-{bot.user}") is not None
    bot.say("the monitor on desk 5-12 flickers")
    bot.say("yes")
    assert bot.rows("SELECT summary FROM tickets") == [("the monitor on desk 5-12 flickers",)]


@pytest.mark.parametrize("typed", ["1", "２", "yes", "好"])
def test_a_stray_number_or_yes_never_becomes_a_ticket_summary(bot: BotHarness, typed: str) -> None:
    bot.say("talk to a human")
    replies = bot.say(typed)
    assert "a few words" in text_of(replies) or "幾個字" in text_of(replies)
    bot.say("outlook crashes when I open a calendar invite")
    bot.say("yes")
    assert bot.rows("SELECT summary FROM tickets") == [
        ("outlook crashes when I open a calendar invite",)
    ]


@pytest.mark.parametrize(
    ("typed", "said"),
    [("3", "not waiting for an answer"), ("２", "冇等緊你答"), ("no", "not waiting")],
)
def test_a_bare_number_or_no_with_no_question_waiting_is_no_request(
    bot: BotHarness, typed: str, said: str
) -> None:
    if said == "冇等緊你答":
        bot.say("講中文")  # Chinese from now on; the answer shows no buttons
    replies = bot.say(typed)
    assert said in text_of(replies)


def test_a_number_typed_under_buttons_with_no_question_waiting_clicks_one(
    bot: BotHarness,
) -> None:
    bot.say("你好")
    menu = bot.labels()
    assert len(menu) >= 2
    assert "冇等緊你答" not in text_of(bot.say("２"))
    assert "isn't one of the choices" not in text_of(bot.say("hello"))
    assert "唔係其中一個選擇" in text_of(bot.say(str(len(bot.labels()) + 1)))
    assert bot.rows("SELECT count(*) FROM tickets") == [(0,)]
    assert bot.rows("SELECT count(*) FROM kb_searches") == [(0,)]


@pytest.mark.parametrize(
    ("typed", "score"),
    [("5 stars", 5), ("4/5", 4), ("五粒星", 5), ("俾三粒星", 3), ("2", 2), ("⭐⭐⭐⭐", 4)],
)
def test_a_typed_rating_answers_the_rating_question(
    bot: BotHarness, typed: str, score: int
) -> None:
    number = _resolved_ticket(bot)
    bot.click(f"@ticket_status:rate:{number}", user=bot.user)
    bot.say(typed)
    assert bot.rows("SELECT csat_score FROM tickets") == [(score,)]


@pytest.mark.parametrize(("typed", "thanks"), [("5 stars", "Thank you"), ("俾五粒星", "多謝")])
def test_a_rating_typed_after_the_resolution_notice_rates_the_resolved_ticket(
    bot: BotHarness, typed: str, thanks: str
) -> None:
    _resolved_ticket(bot)
    replies = bot.say(typed)
    assert thanks in text_of(replies)
    assert bot.rows("SELECT csat_score FROM tickets") == [(5,)]


def test_a_rating_with_a_ticket_ref_rates_that_ticket(bot: BotHarness) -> None:
    number = _resolved_ticket(bot)
    bot.say(f"HD-{number} 4/5")
    assert bot.rows("SELECT csat_score FROM tickets") == [(4,)]


@pytest.mark.parametrize(("typed", "bye"), [("thanks", "You're welcome"), ("唔該晒", "唔使客氣")])
def test_thanks_while_a_question_waits_ends_politely_and_is_no_answer(
    bot: BotHarness, typed: str, bye: str
) -> None:
    bot.say("talk to a human")
    replies = bot.say(typed)
    assert bye in text_of(replies)
    assert not bot.labels()
    assert bot.rows("SELECT count(*) FROM tickets") == [(0,)]
    assert bot.rows("SELECT count(*) FROM kb_searches") == [(0,)]


@pytest.mark.parametrize(
    ("typed", "bye"),
    [
        ("thanks", "You're welcome"),
        ("ok bye", "You're welcome"),
        ("多謝", "唔使客氣"),
        ("拜拜", "唔使客氣"),
    ],
)
def test_thanks_and_bye_end_politely_with_no_ticket_offer_and_no_kb_gap(
    bot: BotHarness, typed: str, bye: str
) -> None:
    replies = bot.say(typed)
    assert bye in text_of(replies)
    assert bot.labels() == []
    assert bot.rows("SELECT count(*) FROM kb_searches") == [(0,)]


@pytest.mark.parametrize(
    ("question", "back", "again"),
    [
        ("teams has no sound in meetings", "Back to my earlier question", "Back to where we were"),
        ("Teams 冇聲，對方聽唔到我", "返去啱先個問題", "返返去啱先嗰度"),
    ],
)
def test_a_new_request_while_a_question_waits_keeps_the_question_to_come_back_to(
    bot: BotHarness, question: str, back: str, again: str
) -> None:
    _propose(bot)
    replies = bot.say(question)
    assert replies[0].cards[0].article_id.startswith("teams-audio-video")
    assert back in bot.labels()
    replies = bot.click(back)
    assert again in text_of(replies)
    assert "my monitor flickers all day" in text_of(replies)
    bot.say("yes")
    assert bot.rows("SELECT summary FROM tickets") == [("my monitor flickers all day",)]


MANAGER = "lee.kachun@corp.example.com"


def _ask_manager(bot: BotHarness) -> None:
    bot.say("reset my password")
    assert "I've asked Lee Ka Chun" in text_of(bot.click("Reset it (manager approves)"))


@pytest.mark.parametrize(
    ("typed", "said", "state", "outcome"),
    [
        ("批准", "已經批准", "approved", "approved"),
        ("approve", "Approved.", "approved", "approved"),
        ("拒絕", "已經拒絕", "denied", "denied"),
        ("deny", "Declined.", "denied", "denied"),
    ],
)
def test_an_approver_can_type_approve_or_deny_in_either_language(
    bot: BotHarness, typed: str, said: str, state: str, outcome: str
) -> None:
    _ask_manager(bot)
    assert said in text_of(bot.say(typed, user=MANAGER))
    assert bot.rows("SELECT state FROM approvals") == [(state,)]
    assert bot.rows("SELECT outcome FROM audit_log WHERE action = 'password_reset' ORDER BY seq")[
        -1
    ] == (outcome,)


def test_approve_typed_by_someone_who_is_not_the_approver_changes_nothing(
    bot: BotHarness,
) -> None:
    _ask_manager(bot)
    replies = bot.say("approve", user="wong.siuling@corp.example.com")
    assert "Nothing is waiting for your approval" in text_of(replies)
    assert bot.rows("SELECT state FROM approvals") == [("pending",)]


@pytest.mark.parametrize(
    ("typed", "said"), [("7", "isn't one of the choices"), ("９", "唔係其中一個")]
)
def test_a_number_that_fits_no_choice_is_told_so_and_the_question_still_waits(
    bot: BotHarness, typed: str, said: str
) -> None:
    _propose(bot)
    if typed == "９":
        bot.say("講中文")
    assert said in text_of(bot.say(typed))
    bot.say("1")
    assert bot.rows("SELECT summary FROM tickets") == [("my monitor flickers all day",)]


def test_an_offer_after_an_answer_is_not_kept_to_come_back_to(bot: BotHarness) -> None:
    bot.say("teams has no sound in meetings")
    bot.say("outlook keeps asking for my password")
    assert "Back to my earlier question" not in bot.labels()
    assert bot.rows(
        "SELECT count(*) FROM conversations WHERE conversation_key LIKE '%|interrupted'"
    ) == [(0,)]


@pytest.mark.parametrize(
    ("text", "thanks", "bare", "approve"),
    [
        ("thx!", True, False, None),
        ("唔該晒", True, False, None),
        ("thanks, but outlook still crashes", False, False, None),
        ("ok", False, True, None),
        ("２", False, True, None),
        ("批准", False, False, True),
        ("Deny.", False, False, False),
        ("approve the budget for the new monitors", False, False, None),
    ],
)
def test_small_words_are_read_only_as_a_whole_message(
    text: str, thanks: bool, bare: bool, approve: bool | None
) -> None:
    assert thanks_or_bye(text) is thanks
    assert bare_answer(text) is bare
    assert approval_answer(text) is approve


def test_typing_talk_to_a_person_under_articles_proposes_a_ticket_from_the_question(
    bot: BotHarness,
) -> None:
    bot.say("my laptop fan is super loud and it gets really hot")
    assert "Talk to a person" in bot.labels()
    proposed = text_of(bot.say("talk to a person"))
    assert "> my laptop fan is super loud and it gets really hot" in proposed
    assert "Shall I open it?" in proposed


def test_a_yes_that_names_an_action_under_articles_is_that_action(bot: BotHarness) -> None:
    # the demo user is locked: the articles come after "unlock it first"
    bot.say("outlook keeps asking for my password", user="chan.taiman@corp.example.com")
    asked = text_of(bot.say("yes unlock it pls", user="chan.taiman@corp.example.com"))
    assert "Shall I unlock it now?" in asked
    assert bot.rows("SELECT feedback FROM kb_searches") == [(None,)]  # not "solved"
    done = text_of(bot.say("yes", user="chan.taiman@corp.example.com"))
    assert "I've unlocked your account" in done
