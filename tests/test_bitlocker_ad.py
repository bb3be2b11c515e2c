"""BitLocker recovery keys from a real Samba AD DC (tests/samba_dc.py, OU=Workstations):
msFVE-RecoveryInformation objects under computer objects, ownership by `managedBy`, a
server refused, someone else's laptop refused, an unknown and an ambiguous key id, the
key read by the bot's delegated account only, and the DC down."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.config import LdapSettings
from bot.integrations.ldap import LdapConfig, LdapDirectory
from tests.harness import BotHarness, text_of
from tests.samba_dc import COMPUTERS, PASSWORD, WORKSTATIONS, DomainController, quiet_ldap3
from tests.test_ldap import ldap_bot

CHAN_KEY = COMPUTERS["LT-CHAN-01"].keys[0]


def _audit(bot: BotHarness) -> list[tuple[object, ...]]:
    return bot.rows("SELECT action, outcome, verification, reason, ticket FROM audit_log")


def _buttons(bot: BotHarness, recipient: str) -> list[str]:
    row = bot.rows(
        "SELECT payload_json FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", recipient
    )
    return [value for _, value in json.loads(str(row[0][0]))["choices"]]


def _alerts(bot: BotHarness) -> str:
    return str(bot.rows("SELECT payload_json FROM outbox WHERE kind = 'security_alert'"))


def test_samba_has_the_bitlocker_schema_and_keeps_the_key_confidential(
    dc: DomainController,
) -> None:
    """The msFVE classes exist in Samba's schema; an ordinary user sees no recovery object,
    the bot's account (delegated on OU=Workstations) reads the key."""
    user = dc.connect(dc.dn("lee.siuming"), PASSWORD)
    bot = dc.connect(dc.service_dn, dc.service_password)
    try:
        with quiet_ldap3():
            search = "(objectClass=msFVE-RecoveryInformation)"
            user.search(WORKSTATIONS, search, attributes=["msFVE-RecoveryPassword"])
            seen_by_user = [e for e in user.response or [] if e.get("type") == "searchResEntry"]
            bot.search(WORKSTATIONS, search, attributes=["msFVE-RecoveryPassword"])
            seen_by_bot = [e for e in bot.response or [] if e.get("type") == "searchResEntry"]
    finally:
        user.unbind()
        bot.unbind()
    assert not any(e["raw_attributes"].get("msFVE-RecoveryPassword") for e in seen_by_user)
    keys = {e["raw_attributes"]["msFVE-RecoveryPassword"][0].decode() for e in seen_by_bot}
    assert {k for c in COMPUTERS.values() for _, k in c.keys} == keys


def test_own_laptop_key_from_ad_after_the_manager_approves(
    tmp_path: Path, dc: DomainController
) -> None:
    bot = ldap_bot(tmp_path, dc)
    chan, manager = dc.email("chan.taiman"), dc.email("ho.kawai")
    assert "Recovery key ID" in text_of(
        bot.say("my laptop asks for a BitLocker recovery key", user=chan)
    )
    sent = text_of(bot.say("1a2b3c4d", user=chan))
    assert "LT-CHAN-01" in sent and "Ho Ka Wai" in sent
    approve = [v for v in _buttons(bot, f"email:{manager}") if ":approve:" in v]
    bot.click(approve[0], user=manager)
    (run,) = _buttons(bot, f"user:test:U-{chan}")
    shown = bot.click(run, user=chan)
    assert CHAN_KEY[1] in text_of(shown) and shown[0].private and shown[0].delete_after_s
    action, outcome, verification, reason, _ = _audit(bot)[-1]
    assert (action, outcome, verification) == ("bitlocker_key", "done", "approval")
    assert "device LT-CHAN-01" in str(reason) and "key id 1A2B3C4D, ad" in str(reason)
    for table in ("outbox", "audit_log", "tickets", "transcripts", "approvals"):
        assert CHAN_KEY[1] not in str(bot.rows(f"SELECT * FROM {table}")), table


def test_ad_refuses_someone_elses_laptop_a_server_unknown_and_ambiguous_ids(
    tmp_path: Path, dc: DomainController
) -> None:
    bot = ldap_bot(tmp_path, dc)
    chan = dc.email("chan.taiman")
    said = text_of(bot.say("BitLocker recovery key 7E8F9A0B", user=chan))
    assert "LT-LEE-01" in said and "isn't recorded as your device" in said
    assert str(_audit(bot)[-1][3]).startswith("not_owner: device LT-LEE-01")
    said = text_of(bot.say("BitLocker recovery key 5C6D7E8F", user=chan))
    assert "SRV-FILE-01 is a server" in said
    assert str(_audit(bot)[-1][3]).startswith("server: device SRV-FILE-01")
    assert "LT-LEE-01" in _alerts(bot) and "SRV-FILE-01" in _alerts(bot)
    said = text_of(bot.say("BitLocker recovery key 0BADF00D", user=chan))
    assert "can't find a recovery key with the ID 0BADF00D" in said
    assert _audit(bot)[-1][3] == "unknown key id 0BADF00D"
    said = text_of(bot.say("BitLocker recovery key 3F00AA11", user=chan))
    assert "More than one recovery key starts with 3F00AA11" in said
    assert str(_audit(bot)[-1][3]).startswith("ambiguous key id 3F00AA11: 2 keys")
    assert "LT-CHAN-02" in text_of(bot.say("3F00AA11-1111", user=chan))
    assert _audit(bot)[-1][:2] == ("bitlocker_key", "requested")
    for _, secret in (k for c in COMPUTERS.values() for k in c.keys):
        assert secret not in str(bot.rows("SELECT * FROM outbox")) + str(_audit(bot))


def test_a_configured_server_ou_is_refused(dc: DomainController) -> None:
    """`ldap.server_ous`: every computer there is a server, whatever its operatingSystem."""
    directory = LdapDirectory(
        LdapConfig.from_env(dc.settings()),
        LdapSettings(scope_ous=("OU=Staff",), server_ous=("OU=Workstations",)),
    )
    try:
        chan = asyncio.run(directory.find_by_email(dc.email("chan.taiman")))
        (key,) = asyncio.run(directory.recovery_keys(chan, "1A2B3C4D"))
        assert key.owned and key.server and key.device_name == "LT-CHAN-01"
    finally:
        directory.close()


def test_dc_down_gives_a_ticket_and_an_audit_record(tmp_path: Path, dc: DomainController) -> None:
    bot = BotHarness(
        tmp_path,
        backend="ldap",
        env={**dc.settings(), "HELPDESK_LDAP_URL": "ldaps://localhost:1"},
        extra_toml='[ldap]\nscope_ous = ["OU=Staff"]\ntimeout_seconds = 2\n',
    )
    said = text_of(bot.say("BitLocker recovery key 1A2B3C4D", user=dc.email("chan.taiman")))
    tickets = bot.rows("SELECT id FROM tickets")
    assert len(tickets) == 1
    action, outcome, _, reason, ticket = _audit(bot)[-1]
    assert (action, outcome) == ("bitlocker_key", "failed") and ticket and str(ticket) in said
    assert "Unavailable" in str(reason)
