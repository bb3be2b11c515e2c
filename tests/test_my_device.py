"""My device, in both languages, from the demo directory's Intune data (the Graph stand-in's
managedDevices and compliance policy states are driven in tests/test_graph.py)."""

from __future__ import annotations

from tests.harness import BotHarness, text_of

CHAN = "chan.taiman@corp.example.com"  # a laptop failing BitLocker and OS version, an iPhone
MAK = "mak.sukyee@corp.example.com"  # one compliant laptop
LEE = "lee.kachun@corp.example.com"  # no managed device


def test_is_my_laptop_compliant_says_which_device_fails_and_why(bot: BotHarness) -> None:
    replies = bot.say("is my laptop compliant?")
    said = text_of(replies)
    assert "**LAPTOP-CHAN01** — Windows 10.0.19045.3803 · NOT compliant" in said
    assert "BitLocker is off, Windows is too old (updates needed)" in said
    assert "NOT encrypted" in said and "last checked in 21 Nov 2026 08:30" in said
    assert "**Chan's iPhone** — iOS 18.1 · compliant" in said
    assert "Company Portal" in said and bot.labels() == ["Talk to a person"]
    assert all(r.private for r in replies)
    assert bot.rows("SELECT action, outcome, reason FROM audit_log") == [
        ("device_check", "done", "2 devices")
    ]


def test_my_device_in_cantonese(bot: BotHarness) -> None:
    said = text_of(bot.say("我部電腦合唔合規"))
    assert "唔合規原因：BitLocker 冇開" in said and "冇加密" in said


def test_all_compliant_and_no_device(bot: BotHarness) -> None:
    assert "All compliant" in text_of(bot.say("is my laptop compliant?", user=MAK))
    assert "can't find any company-managed device" in text_of(
        bot.say("is my laptop compliant?", user=LEE)
    )


def test_engineer_lookup_shows_the_devices(bot: BotHarness) -> None:
    screen = text_of(bot.command("/helpdesk lookup chan.taiman", user="ho.kawai@corp.example.com"))
    assert (
        "devices: LAPTOP-CHAN01 Windows 10.0.19045.3803 noncompliant"
        " (BitLockerEnabled, osMinimumVersion), encrypted NO" in screen
    )
