"""Exact identity on the demo directory: malformed identities refused before any directory
call, an address two accounts share refused, tickets keep the requester's directory id and
engineers' actions are checked against it. Every refusal is audited. (The same rules against
Samba: tests/test_identity_ad.py; against the Graph stand-in: tests/test_identity_graph.py.)
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.integrations.demo import DemoDirectory
from bot.integrations.directory import Account, Ambiguous, InexactMatch, MalformedIdentity
from bot.integrations.identity import exact_account, malformed
from bot.messages import Actor, Incoming
from tests.harness import ROOT, BotHarness, text_of

CHAN = "chan.taiman@corp.example.com"
CHAN_ID = "d1d1e60a-29bf-556e-bad9-55dc14710362"
ENGINEER = "ho.kawai@corp.example.com"
SHARED = "shared@corp.example.com"
DUP_ONE_ID = "0d0e0a01-0000-4000-8000-000000000001"
DUP_TWO_ID = "0d0e0a02-0000-4000-8000-000000000002"


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    """The demo directory plus dup.one and dup.two, whose `mail` is both shared@ (as in AD)."""
    data = json.loads((ROOT / "data" / "demo-directory.json").read_text("utf-8"))
    chan = next(u for u in data["users"] if u["email"] == CHAN)
    for sam, user_id in (("dup.one", DUP_ONE_ID), ("dup.two", DUP_TWO_ID)):
        data["users"].append(
            {
                **chan,
                "id": user_id,
                "email": SHARED,
                "upn": f"{sam}@corp.example.com",
                "display_name": sam.replace(".", " ").title(),
            }
        )
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(data), "utf-8")
    return path


def shared_bot(tmp_path: Path, demo_file: Path) -> BotHarness:
    return BotHarness(tmp_path / "bot", demo_file=demo_file)


def say_as(bot: BotHarness, user_id: str, email: str, text: str) -> str:
    """A message from a platform user whose verified email is exactly `email`."""
    actor = Actor(platform="test", user_id=user_id, email=email)
    return text_of(bot.send(Incoming(actor=actor, conversation_id=f"dm-{user_id}", text=text)))


def audit(bot: BotHarness) -> list[tuple[object, ...]]:
    return bot.rows("SELECT action, outcome, target, reason, ticket FROM audit_log ORDER BY seq")


def demo(bot: BotHarness) -> DemoDirectory:
    directory = bot.services.directory
    assert isinstance(directory, DemoDirectory)
    return directory


def test_identities_with_control_format_or_whitespace_characters_are_malformed() -> None:
    for bad in (
        CHAN + "\x00",
        "chan.taiman\x00@corp.example.com",
        " " + CHAN,
        CHAN + "\n",
        CHAN + "\u200b",
        CHAN + "\u2060",
        "chan.taiman@corp.example.com\u00a0",
        "U123\u202e",
        "",
    ):
        assert malformed(bad) is not None, repr(bad)
    for good in (CHAN, "U0123ABC", "陳大文@corp.example.com"):
        assert malformed(good) is None


class NoDirectory(DemoDirectory):
    """The demo users, but any lookup fails the test: nothing may reach the directory."""

    async def find_by_email(self, email: str) -> Account:
        raise AssertionError(f"the directory was asked for {email!r}")


def test_a_nul_suffixed_verified_email_is_refused_before_any_directory_call_and_audited(
    tmp_path: Path,
) -> None:
    bot = BotHarness(tmp_path)
    bot.services = bot.services.__class__(
        **{**bot.services.__dict__, "directory": NoDirectory(ROOT / "data/demo-directory.json")}
    )
    bot.engine.services = bot.services
    answer = say_as(bot, "U-hostile", CHAN + "\x00", "my account is locked")
    assert "characters an account address can't have" in answer
    assert audit(bot) == [
        ("unlock", "refused", None, "malformed_identity: the verified email contains U+0000", None)
    ]
    assert next(a for a in demo(bot).accounts if a.email == CHAN).locked
    # Security hears of it once, with the hidden character shown, not passed on raw.
    say_as(bot, "U-hostile", CHAN + "\x00", "unlock me")
    alerts = bot.rows("SELECT recipient, payload_json FROM outbox WHERE kind = 'security_alert'")
    assert len(alerts) == 1 and alerts[0][0] == "channel:it-security"
    text = json.loads(str(alerts[0][1]))["text"]
    assert "malformed_identity" in text and "\\x00" in text and "\x00" not in text


def test_a_platform_id_with_a_control_character_is_refused_and_audited_in_chinese(
    bot: BotHarness,
) -> None:
    answer = say_as(bot, "U1\x07", CHAN, "我個account鎖咗")
    assert "分唔到邊個 account 係你嘅" in answer
    assert audit(bot) == [
        ("unlock", "refused", None, "malformed_identity: the platform id contains U+0007", None)
    ]
    assert next(a for a in demo(bot).accounts if a.email == CHAN).locked


def test_an_address_two_accounts_share_is_refused_audited_and_explained_in_both_languages(
    tmp_path: Path, demo_file: Path
) -> None:
    bot = shared_bot(tmp_path, demo_file)
    assert "More than one account" in say_as(bot, "U-shared", SHARED, "my account is locked")
    assert "多過一個 account" in say_as(bot, "U-shared", SHARED, "我個account鎖咗")
    reason = "shared_address: more than one demo user with that email"
    assert audit(bot) == [("unlock", "refused", None, reason, None)] * 2
    assert all(a.locked for a in demo(bot).accounts if a.email == SHARED)
    with pytest.raises(Ambiguous):
        asyncio.run(demo(bot).find_by_email("SHARED@corp.example.com"))


def test_each_account_of_a_shared_mail_is_found_by_its_own_upn_exactly(
    tmp_path: Path, demo_file: Path
) -> None:
    directory = DemoDirectory(demo_file)
    assert asyncio.run(directory.find_by_email("Dup.One@corp.example.com")).directory_id == (
        DUP_ONE_ID
    )
    with pytest.raises(MalformedIdentity):
        asyncio.run(directory.find_by_email("dup.one@corp.example.com "))
    account = asyncio.run(directory.find_by_email("dup.two@corp.example.com"))
    with pytest.raises(InexactMatch):
        exact_account(account, "dup.one@corp.example.com")


def test_a_ticket_keeps_the_requesters_directory_id_and_none_for_a_shared_address(
    tmp_path: Path, demo_file: Path
) -> None:
    bot = shared_bot(tmp_path, demo_file)
    for user_id, email in (("U-chan", CHAN), ("U-shared", SHARED)):
        say_as(bot, user_id, email, "talk to a human")
        say_as(bot, user_id, email, "the printer on 25F jams on every page")
        assert "HD-" in say_as(bot, user_id, email, "yes")
    assert bot.rows("SELECT requester_email, requester_directory_id FROM tickets") == [
        (CHAN, CHAN_ID),
        (SHARED, None),
    ]
    reason = "shared_address: more than one demo user with that email"
    assert audit(bot) == [("ticket_requester", "refused", None, reason, None)]


def _ticket(bot: BotHarness, email: str, requester_id: str | None) -> str:
    ticket, _ = bot.services.tickets.open(
        requester_email=email,
        requester_directory_id=requester_id,
        requester_platform="test",
        requester_user_id=f"U-{email}",
        summary="locked out",
        description="locked out",
    )
    return ticket.ref


def test_engineer_reset_is_checked_against_the_tickets_directory_id_not_its_mail(
    tmp_path: Path, demo_file: Path
) -> None:
    bot = shared_bot(tmp_path, demo_file)
    unknown = _ticket(bot, SHARED, None)  # raised by the shared address: nobody's for certain
    other = _ticket(bot, SHARED, DUP_TWO_ID)  # dup.two's, same mail as dup.one
    own = _ticket(bot, SHARED, DUP_ONE_ID)
    refused = bot.command(f"/helpdesk reset dup.one {unknown}", user=ENGINEER)
    assert "doesn't record which directory account raised it" in text_of(refused)
    refused = bot.command(f"/helpdesk reset dup.one {other}", user=ENGINEER)
    assert "isn't an open ticket of that person" in text_of(refused)
    assert not any(r.delete_after_s for r in refused)
    assert [row[1:] for row in audit(bot)] == [
        ("refused", DUP_ONE_ID, f"ticket {unknown} has no directory id for its requester", unknown),
        ("refused", DUP_ONE_ID, f"ticket {other} was raised by {DUP_TWO_ID}", other),
    ]
    done = bot.command(f"/helpdesk reset dup.one {own}", user=ENGINEER)
    assert done[0].private and done[0].delete_after_s
    assert audit(bot)[-1][:3] == ("password_reset", "done", DUP_ONE_ID)
    dup_one = next(a for a in demo(bot).accounts if a.directory_id == DUP_ONE_ID)
    assert dup_one.must_change_password and not dup_one.locked


def test_engineer_naming_a_shared_address_is_told_why_and_it_is_audited(
    tmp_path: Path, demo_file: Path
) -> None:
    bot = shared_bot(tmp_path, demo_file)
    ref = _ticket(bot, SHARED, DUP_ONE_ID)
    answer = text_of(bot.command(f"/helpdesk unlock shared {ref}", user=ENGINEER))
    assert "More than one account in the directory has the address shared@" in answer
    assert audit(bot) == [
        (
            "unlock",
            "refused",
            None,
            "shared_address: shared@corp.example.com (more than one demo user with that email)",
            ref,
        )
    ]
    assert all(a.locked for a in demo(bot).accounts if a.email == SHARED)


def test_engineer_unlock_without_a_ticket_is_refused_and_audited(bot: BotHarness) -> None:
    answer = text_of(bot.command("/helpdesk unlock chan.taiman", user=ENGINEER))
    assert "name the person and the ticket" in answer
    answer = text_of(bot.command("/helpdesk unlock chan.taiman HD-9999", user=ENGINEER))
    assert "name the person and the ticket" in answer
    assert [(r[0], r[1], r[3]) for r in audit(bot)] == [
        ("unlock", "refused", "no ticket (none named)"),
        ("unlock", "refused", "no ticket (HD-9999)"),
    ]
    assert next(a for a in demo(bot).accounts if a.email == CHAN).locked


def test_engineer_typing_a_hidden_character_in_a_name_is_refused_and_audited(
    bot: BotHarness,
) -> None:
    ref = _ticket(bot, CHAN, CHAN_ID)
    answer = text_of(bot.command(f"/helpdesk unlock chan.taiman\u2060 {ref}", user=ENGINEER))
    assert "a hidden character or a space" in answer
    assert audit(bot) == [
        ("unlock", "refused", None, "malformed_identity: the name typed contains U+2060", ref)
    ]
    assert next(a for a in demo(bot).accounts if a.email == CHAN).locked
