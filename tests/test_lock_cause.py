"""Why am I locked: the demo directory's wrong passwords and failed sign-ins said in both
languages before the unlock, and in the engineer's lookup (the Graph stand-in's sign-in log
and the Samba DC's badPwdCount are in tests/test_graph.py and tests/test_ldap.py)."""

from __future__ import annotations

from tests.harness import BotHarness, text_of

CHAN = "chan.taiman@corp.example.com"  # locked, with failed ActiveSync sign-ins in the demo
JAMES = "james.wilson@corp.example.com"  # locked, nothing logged


def test_locked_user_is_told_what_keeps_locking_the_account_before_the_unlock(
    bot: BotHarness,
) -> None:
    said = text_of(bot.say("acc locked again!!"))
    assert "5 failed sign-ins from Office 365 Exchange Online (Exchange ActiveSync)" in said
    assert "in Hong Kong, HK since 21 Nov 2026 09:05" in said  # the bot's zone, HKT
    assert "phone, tablet or mail app" in said
    assert "I've unlocked" in text_of(bot.click(1))


def test_the_cause_in_cantonese(bot: BotHarness) -> None:
    said = text_of(bot.say("我個account鎖咗"))
    assert "5 次由 Office 365 Exchange Online（Exchange ActiveSync）" in said
    assert "手機、平板或者 mail app" in said


def test_nothing_logged_leaves_the_cause_out(bot: BotHarness) -> None:
    said = text_of(bot.say("my account is locked", user=JAMES))
    assert "Shall I unlock it now?" in said and "failed sign-ins" not in said


def test_old_failures_fall_back_to_the_wrong_password_count(bot: BotHarness) -> None:
    bot.clock.advance(days=2)  # the sign-in log's failures are older than a day
    said = text_of(bot.say("acc locked"))
    assert "counted 5 wrong passwords, the last at 21 Nov 2026 09:12" in said


def test_engineer_lookup_shows_the_wrong_passwords_and_failed_sign_ins(bot: BotHarness) -> None:
    screen = text_of(bot.command("/helpdesk lookup chan.taiman", user="ho.kawai@corp.example.com"))
    assert "badPwdCount 5 on demo (last 21 Nov 2026 09:12)" in screen
    assert "Entra: 6 failed in 24 h since 21 Nov 2026 08:40" in screen
    assert "5 from Exchange ActiveSync / Office 365 Exchange Online / Hong Kong, HK" in screen
    assert "→ I can see 5 failed sign-ins" in screen
