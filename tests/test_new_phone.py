"""New or lost phone on the demo directory: the sign-in methods (never a secret), a
one-time pass only after the manager approves and only in the requester's conversation,
the old phone removed only once a newer one is registered; refusals audited."""

from __future__ import annotations

import json

from bot.integrations.demo import DemoDirectory
from bot.store.conversations import PendingFlow
from tests.harness import BotHarness, text_of

CHAN = "chan.taiman@corp.example.com"  # Authenticator on an iPhone 12, and a phone number
MANAGER = "lee.kachun@corp.example.com"  # Chan's manager
MAK = "mak.sukyee@corp.example.com"  # an old Galaxy S21 and a newer Pixel 9
YIP = "yip.kinfai@corp.example.com"  # a Domain Admin
CHAN_APP = "a1b2c3d4-0000-4000-8000-000000000001"  # Chan's only Authenticator registration


def _buttons(bot: BotHarness, recipient: str) -> dict[str, str]:
    row = bot.rows(
        "SELECT payload_json FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", recipient
    )
    return {label: value for label, value in json.loads(str(row[0][0]))["choices"]}


def _audit(bot: BotHarness) -> list[tuple[object, ...]]:
    return bot.rows("SELECT action, outcome, verification, reason FROM audit_log ORDER BY seq")


def _demo(bot: BotHarness) -> DemoDirectory:
    directory = bot.services.directory
    assert isinstance(directory, DemoDirectory)
    return directory


def test_new_phone_lists_methods_and_issues_a_pass_after_the_manager_approves(
    bot: BotHarness,
) -> None:
    said = text_of(bot.say("I got a new phone and can't approve sign-ins"))
    assert "Microsoft Authenticator: iPhone 12" in said and "mobile ••••567" in said
    assert bot.labels() == ["Get a one-time pass (manager approves)", "Talk to a person"]
    assert "Lee Ka Chun" in text_of(bot.click("Get a one-time pass (manager approves)"))
    approve = _buttons(bot, f"email:{MANAGER}")["Approve"]
    assert "Approved" in text_of(bot.click(approve, user=MANAGER))
    run = _buttons(bot, f"user:test:U-{CHAN}")["Show my one-time pass now"]
    # someone else pressing the requester's button is refused and audited
    assert "isn't yours" in text_of(bot.click(run, user=MAK))
    assert _audit(bot)[-1][:2] == ("mfa_pass", "refused")
    shown = bot.click(run, user=CHAN)
    secret = text_of(shown).split("`")[1]
    assert secret.startswith("demo-") and shown[0].private and shown[0].delete_after_s == 300
    assert "mysignins.microsoft.com" in text_of(shown)
    assert _audit(bot)[-1][:3] == ("mfa_pass", "done", "approval")
    for table in ("outbox", "audit_log", "tickets", "transcripts"):
        assert secret not in str(bot.rows(f"SELECT * FROM {table}")), table
    # the button works once
    assert "expired or was already used" in text_of(bot.click(run, user=CHAN))
    assert _audit(bot)[-1][:2] == ("mfa_pass", "refused")


def test_the_old_phone_is_removed_only_once_a_newer_one_is_registered(bot: BotHarness) -> None:
    said = text_of(bot.say("換咗新電話，Authenticator 用唔到", user=MAK))
    assert "Galaxy S21" in said and "Pixel 9" in said
    done = text_of(bot.click("移除舊電話（Galaxy S21）", user=MAK))
    assert "Galaxy S21" in done and "唔可以再批核" in done
    mak = bot.run(_demo(bot).find_by_email(MAK))
    assert [m.name for m in bot.run(_demo(bot).sign_in_methods(mak))] == ["Pixel 9"]
    assert _audit(bot)[-1][:2] == ("mfa_remove", "done")


def test_removing_the_only_phone_is_refused_and_audited(bot: BotHarness) -> None:
    bot.say("lost my phone, can't do MFA")
    assert not any("Remove" in label for label in bot.labels())
    # a stale "remove" offer naming the only Authenticator registration
    key = f"test|dm-{CHAN}||U-{CHAN}"
    state = {"old": CHAN_APP, "old_name": "iPhone 12"}
    bot.services.conversations.put(key, PendingFlow("new_phone.next", state, "en"))
    said = text_of(bot.say("Remove the old phone (iPhone 12)"))
    assert "once the new one is registered" in said
    chan = bot.run(_demo(bot).find_by_email(CHAN))
    assert CHAN_APP in [m.method_id for m in bot.run(_demo(bot).sign_in_methods(chan))]
    assert _audit(bot)[-1] == (
        "mfa_remove",
        "refused",
        "none",
        "no newer Authenticator registration",
    )


def test_privileged_account_gets_no_pass_and_security_is_alerted(bot: BotHarness) -> None:
    said = text_of(bot.say("I got a new phone and can't approve sign-ins", user=YIP))
    assert "Microsoft Authenticator" not in said
    assert _audit(bot)[-1][:2] == ("mfa_pass", "refused")
    assert bot.rows("SELECT count(*) FROM outbox WHERE kind = 'security_alert'") == [(1,)]


def test_an_engineer_issues_a_pass_for_a_ticket_others_are_refused(bot: BotHarness) -> None:
    chan = bot.run(_demo(bot).find_by_email(CHAN))
    ticket, _ = bot.services.tickets.open(
        requester_email=CHAN,
        requester_directory_id=chan.directory_id,
        requester_platform="test",
        requester_user_id=f"U-{CHAN}",
        summary="new phone, can't approve sign-ins",
        description="new phone",
    )
    refused = text_of(bot.command(f"/helpdesk tap chan.taiman {ticket.ref}", user=MAK))
    assert "demo-" not in refused
    assert _audit(bot)[-1][:2] == ("mfa_pass", "refused")
    done = bot.command(f"/helpdesk tap chan.taiman {ticket.ref}", user="ho.kawai@corp.example.com")
    assert "One-time pass for Chan Tai Man: `demo-" in text_of(done)
    assert done[0].private and done[0].delete_after_s == 300
    assert _audit(bot)[-1][:3] == ("mfa_pass", "done", "engineer_role")
    assert bot.rows("SELECT ticket FROM audit_log ORDER BY seq DESC LIMIT 1") == [(ticket.ref,)]
    alerts = bot.rows("SELECT payload_json FROM outbox WHERE kind = 'security_alert'")
    assert any("issued a one-time pass" in str(a[0]) for a in alerts)
    notice = bot.rows("SELECT payload_json FROM outbox WHERE recipient = ?", f"email:{CHAN}")
    assert "one-time pass to set up a new phone" in str(notice[0][0])
