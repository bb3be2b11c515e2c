"""Requests through the catalogue: a pre-filled request ticket with its approval, its state
in the ticket status, access resolved against the real requestable groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import parse_settings
from bot.errors import ConfigError
from bot.request_catalogue import DEFAULT_CATALOGUE, find_item
from tests.harness import BotHarness, text_of

REQUESTER = "lee.kachun@corp.example.com"  # manager: leung.chiwai
MANAGER = "leung.chiwai@corp.example.com"
ACCESS = 'requestable_groups = ["Finance Share RW", "Research Share RW", "VPN Users"]'


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path, user=REQUESTER, extra_toml=f"[graph]\n{ACCESS}\n")


def _approver_buttons(bot: BotHarness) -> list[list[str]]:
    sent = [m for m in bot.deliver() if str(m.recipient) == f"email:{MANAGER}"]
    assert len(sent) == 1
    return [list(c) for c in sent[0].payload["choices"]]


def test_monitor_request_opens_a_prefilled_ticket_and_asks_the_manager(bot: BotHarness) -> None:
    offer = text_of(bot.say("can I get a second monitor?"))
    assert "Monitor" in offer and "manager approves" in offer and "Desktop" in offer
    replies = bot.click("Send the request")
    assert "HD-1001" in text_of(replies) and "Leung Chi Wai" in text_of(replies)
    assert bot.rows("SELECT summary, category, priority, team FROM tickets") == [
        ("Request: Monitor", "hardware", "P4", "Desktop")
    ]
    assert bot.rows("SELECT action, approver_email, subject, state FROM approvals") == [
        ("catalogue_request", MANAGER, "1001", "pending")
    ]
    assert bot.rows("SELECT action, outcome, ticket FROM audit_log") == [
        ("catalogue_request", "requested", "HD-1001")
    ]
    buttons = _approver_buttons(bot)
    assert [label for label, _ in buttons] == ["Approve", "Deny"]
    nonce = buttons[0][1].rsplit(":", 1)[1]
    stored = bot.rows("SELECT payload_json FROM outbox WHERE recipient = ?", f"email:{MANAGER}")
    assert nonce not in str(stored)  # the one-time nonce leaves the store once delivered


def test_has_it_been_approved_shows_waiting_then_approved(bot: BotHarness) -> None:
    bot.say("can I get a second monitor?")
    bot.click("Send the request")
    assert "Waiting for approval from Leung Chi Wai (manager)" in text_of(
        bot.say("has it been approved?")
    )
    approve = _approver_buttons(bot)[0][1]
    done = text_of(bot.click(approve, user=MANAGER))
    assert "Approved" in done and REQUESTER in done
    told = [m for m in bot.deliver() if str(m.recipient) == f"user:test:U-{REQUESTER}"]
    assert "Leung Chi Wai approved your request for Monitor (HD-1001)" in told[0].payload["text"]
    assert "Approved by Leung Chi Wai" in text_of(bot.say("has it been approved?"))
    assert bot.rows("SELECT state FROM approvals") == [("used",)]


def test_a_declined_request_cancels_its_ticket_and_tells_the_requester(bot: BotHarness) -> None:
    bot.say("can I get MS Project?")
    bot.click("Send the request")
    deny = _approver_buttons(bot)[1][1]
    assert "cancelled HD-1001" in text_of(bot.click(deny, user=MANAGER))
    assert bot.rows("SELECT summary, state FROM tickets") == [
        ("Request: Microsoft Project", "cancelled")
    ]
    assert ("catalogue_request", "denied") in bot.rows("SELECT action, outcome FROM audit_log")
    told = [m for m in bot.deliver() if str(m.recipient) == f"user:test:U-{REQUESTER}"]
    assert "declined your request for Microsoft Project" in told[0].payload["text"]


def test_only_the_asked_manager_can_approve(bot: BotHarness) -> None:
    bot.say("can I get a second monitor?")
    bot.click("Send the request")
    approve = _approver_buttons(bot)[0][1]
    assert "isn't yours" in text_of(bot.click(approve, user="ho.kawai@corp.example.com"))
    assert bot.rows("SELECT state FROM approvals") == [("pending",)]


def test_the_manager_has_request_approval_days_to_answer(bot: BotHarness) -> None:
    bot.say("can I get a second monitor?")
    bot.click("Send the request")
    approve = _approver_buttons(bot)[0][1]
    bot.clock.advance(days=4)  # tickets.request_approval_days is 5: still in time
    assert "Approved" in text_of(bot.click(approve, user=MANAGER))
    bot.say("can I get a new laptop?")
    bot.click("Send the request")
    late = _approver_buttons(bot)[0][1]
    bot.clock.advance(days=6)
    assert "expired" in text_of(bot.click(late, user=MANAGER))
    assert bot.rows("SELECT subject_name, state FROM approvals ORDER BY id") == [
        ("Monitor", "used"),
        ("Laptop", "pending"),
    ]


def test_cantonese_visio_request_is_answered_in_cantonese(bot: BotHarness) -> None:
    offer = text_of(bot.say("我想申請Visio"))
    assert "Visio" in offer and "主管" in offer
    replies = bot.click("提交申請")
    assert "開咗單 HD-1001" in text_of(replies)
    assert bot.rows("SELECT summary, category, requester_lang FROM tickets") == [
        ("申請：Visio", "software", "zh-Hant")
    ]
    assert "等緊 Leung Chi Wai（主管）批准" in text_of(bot.say("批咗未"))


def test_a_licence_already_held_is_said_instead_of_requested(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path, user="wong.siuling@corp.example.com")
    assert "包咗 Visio" in text_of(bot.say("我想申請Visio"))
    assert bot.labels() == [] and bot.rows("SELECT count(*) FROM tickets") == [(0,)]


def test_power_bi_pro_without_it_is_offered_as_a_request(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)  # Microsoft 365 E3: no Power BI Pro
    assert "I can request Power BI Pro" in text_of(bot.say("can I get Power BI Pro?"))
    assert bot.labels() == ["Send the request", "Talk to a person"]


def test_headset_needs_no_approval(bot: BotHarness) -> None:
    bot.say("我想要個新headset")
    assert "唔使批准" in text_of(bot.click("提交申請"))
    assert bot.rows("SELECT summary, team FROM tickets") == [("申請：Headset", "Desktop")]
    assert bot.rows("SELECT count(*) FROM approvals") == [(0,)]


def test_access_request_offers_only_real_requestable_groups(bot: BotHarness) -> None:
    bot.say("I need access to the finance share")
    assert bot.labels()[0] == "Ask for access to Finance Share RW"
    assert all(
        label.removeprefix("Ask for access to ")
        in ("Finance Share RW", "Research Share RW", "VPN Users")
        for label in bot.labels()[:-1]
    )
    replies = bot.click("Ask for access to Finance Share RW")
    assert "Mak Suk Yee" in text_of(replies)  # the group's owner in the demo directory
    assert bot.rows("SELECT action, subject_name, approver_email FROM approvals") == [
        ("group_add", "Finance Share RW", "mak.sukyee@corp.example.com")
    ]


def test_access_to_an_unknown_share_never_invents_a_group(bot: BotHarness) -> None:
    assert "搵唔到" in text_of(bot.say("我想要 Zebra Quantum 個 share 嘅權限"))
    assert bot.labels() == ["開單", "搵真人"]
    assert "權限申請" in text_of(bot.click("開單"))  # a ticket for the service desk
    assert bot.rows("SELECT count(*) FROM approvals") == [(0,)]


def test_catalogue_items_are_named_in_both_languages_and_with_typos() -> None:
    assert find_item(DEFAULT_CATALOGUE, "can i get a new moniter") is not None
    assert find_item(DEFAULT_CATALOGUE, "can i order more paper") is None
    named = {
        text: item.name if item else None
        for text in ("我想要多個顯示器", "need a docking station", "我想申請Visio", "weather?")
        for item in [find_item(DEFAULT_CATALOGUE, text)]
    }
    assert named == {
        "我想要多個顯示器": "Monitor",
        "need a docking station": "Docking station",
        "我想申請Visio": "Visio",
        "weather?": None,
    }


def test_a_configured_catalogue_replaces_the_shipped_one(tmp_path: Path) -> None:
    toml = (
        '[catalogue."Bloomberg Terminal"]\nwords = ["bloomberg", "彭博"]\nkind = "software"\n'
        'approver = "none"\nteam = "Desktop"\npriority = "P3"\ncategory = "software"\n'
    )
    settings = parse_settings(toml, "test", {})
    assert [item.name for item in settings.catalogue] == ["Bloomberg Terminal"]


@pytest.mark.parametrize(
    ("body", "setting", "message"),
    [
        ('words = []\nkind = "hardware"', "catalogue.X.words", "list of words"),
        ('words = ["x"]\nkind = "furniture"', "catalogue.X.kind", "must be one of"),
    ],
)
def test_a_bad_catalogue_item_names_the_setting(body: str, setting: str, message: str) -> None:
    toml = (
        f'[catalogue.X]\n{body}\napprover = "none"\nteam = "Desktop"\npriority = "P4"\n'
        'category = "hardware"\n'
    )
    with pytest.raises(ConfigError) as caught:
        parse_settings(toml, "test", {})
    assert caught.value.setting == setting and message in str(caught.value)


def test_a_catalogue_item_for_an_unknown_team_is_refused() -> None:
    toml = (
        '[catalogue.X]\nwords = ["x"]\nkind = "hardware"\napprover = "none"\n'
        'team = "Facilities"\npriority = "P4"\ncategory = "hardware"\n'
    )
    with pytest.raises(ConfigError, match=r"catalogue\.X\.team"):
        parse_settings(toml, "test", {})


def test_has_it_been_approved_before_sending_says_it_was_not_sent(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    bot.say("I need a Visio licence")
    offer = text_of(bot.click(1))  # request something new
    assert "Visio" in offer
    answer = text_of(bot.say("has it been approved?"))
    assert "not been sent" in answer and "Send the request" in answer
    assert bot.rows("SELECT count(*) FROM tickets") == [(0,)]
    # the request question is still there to answer
    assert "Visio" in text_of(bot.click(1))  # "Back to my earlier question"
