"""Account self-service on the demo directory, with the safety rules that apply to it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.integrations.demo import DemoDirectory
from bot.integrations.directory import Account, Unavailable
from tests.harness import ROOT, BotHarness, FakeClock, text_of

LOCKED = "chan.taiman@corp.example.com"
ADMIN_LOCKED = "yip.kinfai@corp.example.com"


def test_unlock_after_confirmation_unlocks_and_audits(bot: BotHarness) -> None:
    replies = bot.say("acc locked again!!")
    assert "locked (since 21 Nov 2026 09:12)" in text_of(replies)
    assert replies[0].private
    replies = bot.click("Yes, unlock it")
    assert "I've unlocked your account" in text_of(replies)
    account = bot.services.directory
    assert isinstance(account, DemoDirectory)
    assert next(a for a in account.accounts if a.email == LOCKED).locked is False
    assert bot.rows("SELECT action, outcome, target FROM audit_log") == [
        ("unlock", "done", "0b8e2f4c-3a1d-4e6f-9c2b-7d5a1e8f3c01")
    ] or bot.rows("SELECT action, outcome FROM audit_log") == [("unlock", "done")]


def test_unlock_can_be_declined_and_nothing_changes(bot: BotHarness) -> None:
    bot.say("my account is locked")
    assert "left it locked" in text_of(bot.click("No, not now"))
    assert bot.rows("SELECT count(*) FROM audit_log") == [(0,)]


def test_typed_yes_confirms_in_cantonese(bot: BotHarness) -> None:
    bot.say("我個account鎖咗")
    replies = bot.say("好")
    assert "已經幫你解鎖" in text_of(replies)


def test_unlock_refuses_domain_admin_audits_and_alerts_security(bot: BotHarness) -> None:
    replies = bot.say("my account is locked", user=ADMIN_LOCKED)
    assert "special access" in text_of(replies)
    assert bot.rows("SELECT action, outcome, reason FROM audit_log") == [
        ("unlock", "refused", "privileged")
    ]
    assert bot.rows("SELECT kind, recipient FROM outbox") == [
        ("security_alert", "channel:it-security")
    ]
    directory = bot.services.directory
    assert isinstance(directory, DemoDirectory)
    assert next(a for a in directory.accounts if a.email == ADMIN_LOCKED).locked is True


def test_unlock_refuses_disabled_and_service_accounts(bot: BotHarness) -> None:
    assert "disabled" in text_of(bot.say("unlock me", user="chow.kwokleung@corp.example.com"))
    assert "special access" in text_of(bot.say("unlock me", user="svc.scan2mail@corp.example.com"))
    assert bot.rows("SELECT reason FROM audit_log ORDER BY seq") == [
        ("disabled",),
        ("service_account",),
    ]


def test_unlock_acts_on_the_actor_only_never_a_name_in_the_message(bot: BotHarness) -> None:
    replies = bot.say("unlock yip.kinfai@corp.example.com", user="wong.siuling@corp.example.com")
    assert "isn't locked" in text_of(replies)
    assert bot.rows("SELECT count(*) FROM audit_log WHERE action = 'unlock'") == [(0,)]
    # the status it read was the actor's own, and that read is audited
    assert bot.rows("SELECT action, actor_id FROM audit_log") == [
        ("account_status", "U-wong.siuling@corp.example.com")
    ]


def test_unlock_is_rate_limited_per_day_and_spaced_by_a_cooldown(tmp_path: Path) -> None:
    clock = FakeClock()
    bot = BotHarness(tmp_path, clock=clock, extra_toml="[self_service]\nunlocks_per_day = 2\n")
    directory = bot.services.directory
    assert isinstance(directory, DemoDirectory)

    def lock_again() -> None:
        account = next(a for a in directory.accounts if a.email == LOCKED)
        directory._accounts[account.directory_id] = account.__class__(
            **{**account.__dict__, "locked": True}
        )

    bot.say("my account is locked")
    assert "I've unlocked" in text_of(bot.click(1))
    lock_again()
    clock.advance(minutes=2)
    bot.say("my account is locked")
    assert "only a short while ago" in text_of(bot.click(1))
    clock.advance(minutes=10)
    bot.say("my account is locked")
    assert "I've unlocked" in text_of(bot.click(1))
    lock_again()
    clock.advance(minutes=10)
    bot.say("my account is locked")
    assert "limit of 2" in text_of(bot.click(1))
    assert bot.rows("SELECT outcome, reason FROM audit_log ORDER BY seq") == [
        ("done", ""),
        ("refused", "cooldown"),
        ("done", ""),
        ("refused", "daily_limit"),
    ]


class UnreachableDirectory(DemoDirectory):
    """The demo users, but every change fails as a directory outage would."""

    async def unlock(self, account: Account) -> None:
        raise Unavailable("connection timed out")


def test_directory_outage_gives_a_clear_answer_and_opens_a_ticket(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    bot.services = bot.services.__class__(
        **{
            **bot.services.__dict__,
            "directory": UnreachableDirectory(ROOT / "data" / "demo-directory.json"),
        }
    )
    bot.engine.services = bot.services
    bot.say("my account is locked")
    replies = bot.click("Yes, unlock it")
    assert "Nothing was changed" in text_of(replies) and "HD-1001" in text_of(replies)
    assert "Unavailable" not in text_of(replies)
    assert bot.rows("SELECT summary, priority FROM tickets") == [
        ("Self-service unlock failed", "P2")
    ]
    assert bot.rows("SELECT outcome, ticket FROM audit_log") == [("failed", "HD-1001")]


def test_not_locked_account_gets_password_status(bot: BotHarness) -> None:
    replies = bot.say("i think im locked out", user="mak.sukyee@corp.example.com")
    assert "isn't locked" in text_of(replies)
    assert "expired on" in text_of(replies)


def test_password_help_explains_state_and_shows_the_guide(bot: BotHarness) -> None:
    replies = bot.say("reset my pw pls", user="kwok.manyi@corp.example.com")
    assert "must be changed the next time you sign in" in text_of(replies)
    assert "Ctrl+Alt+Del" in text_of(replies)
    replies = bot.click("Show me how to change it")
    assert "Change a password" in text_of(replies)


def test_forgotten_password_opens_a_ticket_for_identity_check(bot: BotHarness) -> None:
    replies = bot.say("i forgot my password", user="wong.siuling@corp.example.com")
    assert "mysignins.microsoft.com" in text_of(replies)  # a cloud-only account
    replies = bot.click("I forgot it: open a ticket", user="wong.siuling@corp.example.com")
    assert "Forgotten password" in text_of(replies)
    bot.click("Open ticket", user="wong.siuling@corp.example.com")
    assert bot.rows("SELECT requester_email, category FROM tickets") == [
        ("wong.siuling@corp.example.com", "account & access")
    ]


def test_licence_check_answers_yes_with_the_licence_that_provides_it(bot: BotHarness) -> None:
    replies = bot.say("do i have visio?", user="wong.siuling@corp.example.com")
    assert "Yes: you have Visio through your Visio Plan 2 licence" in text_of(replies)


def test_licence_check_answers_no_and_offers_a_request(bot: BotHarness) -> None:
    replies = bot.say("do i have visio", user=LOCKED)
    assert "No, you don't have Visio" in text_of(replies)
    assert "Microsoft 365 E3" in text_of(replies)
    assert bot.labels() == ["Request it", "Talk to a person"]
    # Visio is in the request catalogue: "Request it" opens its request and asks the manager
    opened = text_of(bot.click("Request it"))
    assert "HD-1001 is open for your Visio" in opened and "Lee Ka Chun" in opened
    assert bot.rows("SELECT summary, category, priority FROM tickets") == [
        ("Request: Visio", "software", "P4")
    ]
    assert bot.rows("SELECT action, approver_kind FROM approvals") == [
        ("catalogue_request", "manager")
    ]


def test_a_licence_the_catalogue_does_not_name_is_requested_through_a_proposal(
    bot: BotHarness,
) -> None:
    bot.say("do i have power automate", user=LOCKED)
    assert "Licence request: Power Automate" in text_of(bot.click("Request it"))
    bot.click("Open ticket")
    assert bot.rows("SELECT summary, category FROM tickets") == [
        ("Licence request: Power Automate", "software")
    ]
    assert bot.rows("SELECT id FROM approvals") == []


def test_licence_list_in_chinese(bot: BotHarness) -> None:
    replies = bot.say("我有咩license", user="wong.siuling@corp.example.com")
    assert "你有呢啲 license：Microsoft 365 E5, Visio Plan 2" in text_of(replies)


def test_disabled_service_plan_is_reported(bot: BotHarness) -> None:
    # demo data: Ng Wai Keung's Office 365 E3 has Microsoft Forms switched off
    replies = bot.say("do i have microsoft forms?", user="ng.waikeung@corp.example.com")
    assert (
        'Your Office 365 E3 licence includes Forms, but "Microsoft Forms" is switched off'
        in text_of(replies)
    )


def test_group_check_yes_no_and_list(bot: BotHarness) -> None:
    assert 'you\'re in "VPN Users"' in text_of(bot.say("am i in the vpn group?", user=LOCKED))
    replies = bot.say("am i in the vpn group?", user="wong.siuling@corp.example.com")
    assert 'I can\'t see you in a group called "vpn"' in text_of(replies)
    assert "Settlements Team" in text_of(
        bot.say("which groups am i in", user="wong.siuling@corp.example.com")
    )


def test_unknown_user_gets_a_clear_answer_for_account_actions(bot: BotHarness) -> None:
    replies = bot.say("my account is locked", user="nobody@corp.example.com")
    assert "couldn't find your account (nobody@corp.example.com)" in text_of(replies)
    replies = bot.say("how do i add a printer", user="nobody@corp.example.com")
    assert replies[0].cards[0].article_id == "add-network-printer"


def test_password_expiry_is_shown_in_local_time(bot: BotHarness) -> None:
    replies = bot.say("password help", user=LOCKED)
    expires = datetime(2026, 12, 1, 1, 30)  # demo data: 01:30 UTC is 09:30 in Hong Kong
    assert f"{expires:%d %b %Y} 09:30" in text_of(replies)
