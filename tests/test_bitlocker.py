"""BitLocker recovery keys on the demo directory: the key of one's own device only after
the manager approves, shown once privately in the requester's conversation, never stored;
every refusal (not theirs, a server, an unknown key id, an ambiguous one, the rate limit,
the directory down) answered, audited with the device, and alerted where it should be.
The AD and Entra backends are tested in `tests/test_bitlocker_ad.py` and
`tests/test_bitlocker_graph.py`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from bot.integrations.bitlocker import key_id_text, typed_key_id
from bot.integrations.demo import DemoDirectory
from bot.integrations.directory import Account, Unavailable
from bot.language import written_in
from tests.harness import BotHarness, text_of

CHAN = "chan.taiman@corp.example.com"  # owns LT-CHAN-01, LT-CHAN-02, SRV-FILE-01 (a server)
MANAGER = "lee.kachun@corp.example.com"
WONG = "wong.siuling@corp.example.com"  # owns LT-WONG-07 and DT-WONG-02
CHAN_KEY = "111111-222222-333333-444444-555555-666666-777777-888888"
SECRETS = (CHAN_KEY, "999999-888888", "101010-202020", "123456-234567", "010101-020202")


def _audit(bot: BotHarness) -> list[tuple[object, ...]]:
    return bot.rows("SELECT action, outcome, verification, reason, ticket FROM audit_log")


def _buttons(bot: BotHarness, recipient: str) -> dict[str, str]:
    row = bot.rows(
        "SELECT payload_json FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", recipient
    )
    return {label: value for label, value in json.loads(str(row[0][0]))["choices"]}


def _alerts(bot: BotHarness) -> list[str]:
    rows = bot.rows("SELECT payload_json FROM outbox WHERE kind = 'security_alert'")
    return [str(r[0]) for r in rows]


def _no_secret_kept(bot: BotHarness) -> None:
    tables = [str(r[0]) for r in bot.rows("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        dump = str(bot.rows(f"SELECT * FROM {table}"))
        for secret in SECRETS:
            assert secret not in dump, table


def _approve(bot: BotHarness, user: str = CHAN) -> str:
    """The manager approves the pending request; the requester's run button."""
    approve = [v for v in _buttons(bot, f"email:{MANAGER}").values() if ":approve:" in v]
    assert "Approved" in text_of(bot.click(approve[0], user=MANAGER))
    (run,) = _buttons(bot, f"user:test:U-{user}").values()
    assert run.startswith("@bitlocker_key:run:")
    return run


def test_key_ids_are_read_as_the_recovery_screen_shows_them() -> None:
    assert typed_key_id("my key id is 1a2b3c4d") == "1A2B3C4D"
    assert typed_key_id("ID: 3F00AA11-1111-4A0B") == "3F00AA111111" + "4A0B"
    assert typed_key_id("1A2B3C") is None  # fewer than 8: not a key id
    assert typed_key_id("my laptop asks for a BitLocker recovery key") is None
    raw = bytes.fromhex("4d3c2b1a6f5e0b4a9c1d2e3f4a5b6c7d")  # as AD stores the GUID
    assert key_id_text(raw) == "1A2B3C4D-5E6F-4A0B-9C1D-2E3F4A5B6C7D"
    # a key id typed back says nothing about the language: the question's language stays
    assert written_in("7E8F9A0B") is None and written_in("3F00AA11-1111") is None


def test_own_laptop_key_after_the_manager_approves_shown_once_privately(bot: BotHarness) -> None:
    asked = text_of(bot.say("my laptop asks for a BitLocker recovery key"))
    assert "Recovery key ID" in asked and "first 8 characters" in asked
    sent = text_of(bot.say("1A2B3C4D"))
    assert "Lee Ka Chun" in sent and "LT-CHAN-01" in sent
    ask = bot.rows("SELECT payload_json FROM outbox WHERE recipient = ?", f"email:{MANAGER}")
    assert "recovery key of their device LT-CHAN-01" in str(ask[0][0])
    run = _approve(bot)
    # another person pressing the requester's button is refused and audited
    assert "isn't yours" in text_of(bot.click(run, user=WONG))
    assert _audit(bot)[-1][:2] == ("bitlocker_key", "refused")
    shown = bot.click(run, user=CHAN)
    assert CHAN_KEY in text_of(shown) and "LT-CHAN-01" in text_of(shown)
    assert shown[0].private and shown[0].delete_after_s == 300
    action, outcome, verification, reason, _ = _audit(bot)[-1]
    assert (action, outcome, verification) == ("bitlocker_key", "done", "approval")
    assert "LT-CHAN-01" in str(reason) and "1A2B3C4D" in str(reason)
    notice = bot.rows("SELECT payload_json FROM outbox WHERE recipient = ?", f"user:test:U-{CHAN}")
    assert any("BitLocker recovery key for one of your devices" in str(n[0]) for n in notice)
    _no_secret_kept(bot)
    # the button works once
    assert "expired or was already used" in text_of(bot.click(run, user=CHAN))


def test_cantonese_request_with_the_key_id_in_the_first_message(bot: BotHarness) -> None:
    said = text_of(bot.say("部電腦問我BitLocker recovery key，ID 係 1A2B3C4D"))
    assert "LT-CHAN-01" in said and "Lee Ka Chun" in said
    run = _approve(bot)
    shown = text_of(bot.click(run, user=CHAN))
    assert CHAN_KEY in shown and "喺復原畫面輸入佢" in shown


def test_someone_elses_device_is_refused_audited_and_alerted(bot: BotHarness) -> None:
    bot.say("my laptop asks for a BitLocker recovery key")
    said = text_of(bot.say("7E8F9A0B"))
    assert "LT-WONG-07" in said and "isn't recorded as your device" in said
    assert "101010" not in said
    action, outcome, _, reason, _ = _audit(bot)[-1]
    assert (action, outcome) == ("bitlocker_key", "refused")
    assert str(reason).startswith("not_owner: device LT-WONG-07")
    assert any("LT-WONG-07" in a for a in _alerts(bot))
    assert bot.rows("SELECT count(*) FROM approvals") == [(0,)]


def test_a_server_is_refused_even_for_its_manager(bot: BotHarness) -> None:
    said = text_of(bot.say("BitLocker recovery key for 5C6D7E8F please"))
    assert "SRV-FILE-01 is a server" in said
    assert str(_audit(bot)[-1][3]).startswith("server: device SRV-FILE-01")
    assert any("SRV-FILE-01" in a for a in _alerts(bot))


def test_unknown_and_ambiguous_key_ids(bot: BotHarness) -> None:
    bot.say("my laptop asks for a BitLocker recovery key")
    assert "can't find a recovery key with the ID DEADBEEF" in text_of(bot.say("DEADBEEF"))
    assert _audit(bot)[-1][:2] == ("bitlocker_key", "refused")
    assert _audit(bot)[-1][3] == "unknown key id DEADBEEF"
    bot.say("my laptop asks for a BitLocker recovery key")
    assert "More than one recovery key starts with 3F00AA11" in text_of(bot.say("3F00AA11"))
    assert str(_audit(bot)[-1][3]).startswith("ambiguous key id 3F00AA11")
    # the bot keeps waiting for more of the id; the longer id names Chan's own LT-CHAN-02
    assert "LT-CHAN-02" in text_of(bot.say("3F00AA11-1111"))
    assert _audit(bot)[-1][:2] == ("bitlocker_key", "requested")


def test_the_daily_limit_refuses_a_fourth_key(bot: BotHarness) -> None:
    for _ in range(3):
        bot.say("BitLocker recovery key 1A2B3C4D")
        bot.click(_approve(bot), user=CHAN)
        bot.clock.advance(minutes=31)
    assert [r[1] for r in _audit(bot) if r[1] == "done"] == ["done"] * 3
    said = text_of(bot.say("BitLocker recovery key 1A2B3C4D"))
    assert "limit of 3" in said
    assert _audit(bot)[-1][1:4] == ("refused", "none", "daily_limit")


class _DownDirectory(DemoDirectory):
    """The demo directory whose key store stops answering (the directory is down)."""

    async def recovery_keys(self, account: Account, key_id: str) -> tuple[()]:
        raise Unavailable("connection refused")


def test_directory_down_gives_a_ticket_and_an_audit_record(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    demo = bot.services.directory
    assert isinstance(demo, DemoDirectory)
    bot.services = dataclasses.replace(bot.services, directory=_DownDirectory(demo_path(bot)))
    bot.engine.services = bot.services
    said = text_of(bot.say("my laptop asks for a BitLocker recovery key 1A2B3C4D"))
    tickets = bot.rows("SELECT id, description FROM tickets")
    assert len(tickets) == 1 and "bitlocker key" in str(tickets[0][1])
    ref = _audit(bot)[-1][4]
    assert _audit(bot)[-1][:2] == ("bitlocker_key", "failed")
    assert ref and str(ref) in said


def demo_path(bot: BotHarness) -> Path:
    return Path(bot.services.settings.directory.demo_file)
