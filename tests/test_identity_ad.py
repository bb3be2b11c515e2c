"""Exact identity against a real Samba AD DC (tests/samba_dc.py): a verified email ending in
a NUL, two accounts sharing `mail` (dup.one and dup.two: shared@), tickets checked by
objectGUID. Each test asserts on the DC's state as well as on replies and the audit trail."""

from __future__ import annotations

from pathlib import Path

import ldap3

from bot.messages import Actor, Incoming
from tests.harness import BotHarness, text_of
from tests.samba_dc import PASSWORD, DomainController
from tests.test_ldap import _close_connections, audit, guid, ldap_bot, locked, restore

__all__ = ["_close_connections", "restore"]  # fixtures used here
SHARED = "shared@corp.example.com"


def say_as(bot: BotHarness, user_id: str, email: str, text: str) -> str:
    actor = Actor(platform="test", user_id=user_id, email=email)
    return text_of(bot.send(Incoming(actor=actor, conversation_id=f"dm-{user_id}", text=text)))


def test_samba_cuts_a_value_at_an_escaped_nul_so_the_bot_refuses_it_before_searching(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    # The hazard is real: Samba matches nul.target for the NUL-suffixed value.
    with dc._admin() as conn:
        conn.search(
            dc.base_dn,
            "(mail=" + ldap3.utils.conv.escape_filter_chars(dc.email("nul.target") + "\x00") + ")",
            attributes=["sAMAccountName"],
        )
        assert [str(e.sAMAccountName) for e in conn.entries] == ["nul.target"]
    restore.append("nul.target")
    dc.lock("nul.target")
    bot = ldap_bot(tmp_path, dc)
    hostile = dc.email("nul.target") + "\x00"
    assert "characters an account address can't have" in say_as(
        bot, "U-hostile", hostile, "my account is locked"
    )
    assert "characters an account address can't have" in say_as(
        bot, "U-hostile", hostile, "reset my password"
    )
    assert locked(dc, "nul.target")
    reason = "malformed_identity: the verified email contains U+0000"
    assert audit(bot) == [
        ("unlock", "refused", None, "none", reason, None),
        ("password_reset", "refused", None, "none", reason, None),
    ]
    assert bot.rows("SELECT count(*) FROM approvals") == [(0,)]


def test_an_address_two_accounts_share_is_refused_audited_and_neither_is_unlocked(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.extend(["dup.one", "dup.two"])
    dc.lock("dup.one")
    dc.lock("dup.two")
    bot = ldap_bot(tmp_path, dc)
    assert "More than one account" in say_as(bot, "U-shared", SHARED, "my account is locked")
    assert "多過一個 account" in say_as(bot, "U-shared", SHARED, "我想重設密碼")
    assert locked(dc, "dup.one") and locked(dc, "dup.two")
    assert [(r[0], r[1], r[4]) for r in audit(bot)] == [
        ("unlock", "refused", "shared_address: more than one account for that email"),
        ("password_reset", "refused", "shared_address: more than one account for that email"),
    ]


def test_engineer_reset_needs_a_ticket_raised_by_that_objectguid_not_by_its_mail(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.append("dup.one")
    bot = ldap_bot(tmp_path, dc)
    eng = dc.email("eng.lam")
    # The shared mailbox opens a ticket: its requester is no single account.
    say_as(bot, "U-shared", SHARED, "talk to a human")
    say_as(bot, "U-shared", SHARED, "please reset my password, I'm dup.one")
    say_as(bot, "U-shared", SHARED, "yes")
    # dup.one, signed in with their own UPN, opens one: it carries dup.one's objectGUID.
    say_as(bot, "U-dup1", dc.email("dup.one"), "talk to a human")
    say_as(bot, "U-dup1", dc.email("dup.one"), "please reset my password")
    say_as(bot, "U-dup1", dc.email("dup.one"), "yes")
    assert bot.rows("SELECT id, requester_email, requester_directory_id FROM tickets") == [
        (1001, SHARED, None),
        (1002, dc.email("dup.one"), guid(dc, "dup.one")),
    ]
    refused = text_of(bot.command("/helpdesk reset dup.one HD-1001", user=eng))
    assert "doesn't record which directory account raised it" in refused
    assert dc.bind("dup.one", PASSWORD) == "ok"  # unchanged
    assert audit(bot)[-1] == (
        "password_reset",
        "refused",
        guid(dc, "dup.one"),
        "engineer_role",
        "ticket HD-1001 has no directory id for its requester",
        "HD-1001",
    )
    # dup.two's objectGUID is not dup.one's, although both have the mail shared@.
    refused = text_of(bot.command("/helpdesk unlock dup.two HD-1002", user=eng))
    assert "isn't an open ticket of that person" in refused
    assert audit(bot)[-1][4] == f"ticket HD-1002 was raised by {guid(dc, 'dup.one')}"
    done = bot.command("/helpdesk reset dup.one HD-1002", user=eng)
    assert done[0].private and done[0].delete_after_s
    assert dc.bind("dup.one", PASSWORD) == "52e"  # the password was changed
    assert audit(bot)[-1][:2] == ("password_reset", "done")


def test_engineer_unlock_without_a_ticket_is_refused_audited_and_the_dc_unchanged(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.append("lee.siuming")
    dc.lock("lee.siuming")
    bot = ldap_bot(tmp_path, dc)
    answer = text_of(bot.command("/helpdesk unlock lee.siuming", user=dc.email("eng.lam")))
    assert "name the person and the ticket" in answer
    assert locked(dc, "lee.siuming")
    assert audit(bot) == [
        ("unlock", "refused", None, "engineer_role", "no ticket (none named)", None)
    ]
