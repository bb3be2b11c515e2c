"""Self-service against a real Samba AD DC on loopback (tests/samba_dc.py).

Every test asserts on the DC's real state (binds, lockoutTime) as well as on what the
bot said, wrote to its audit trail and queued. The DC is shared by the session: each
test puts back what it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap3
import pytest

from bot.config import LdapSettings
from bot.errors import ConfigError
from bot.i18n import bilingual
from bot.integrations.directory import Ambiguous, MalformedIdentity, NotFound, Unavailable
from bot.integrations.ldap import LdapConfig, LdapDirectory
from bot.messages import Reply
from tests.harness import ROOT, BotHarness, FakeClock, text_of
from tests.samba_dc import PASSWORD, DomainController, make_ca
from tests.test_slack import Served, _buttons

LDAP_TOML = """
[ldap]
scope_ous = ["OU=Staff"]
service_ous = ["OU=Service Accounts,OU=Staff"]
timeout_seconds = 10
[roles]
engineer_groups = ["IT Helpdesk Engineers"]
"""


_OPEN: list[BotHarness] = []


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    """Each bot's LDAP connection is closed when its test ends (no socket left to GC)."""
    yield
    while _OPEN:
        directory = _OPEN.pop().services.directory
        if isinstance(directory, LdapDirectory):
            directory.close()


def ldap_bot(tmp_path: Path, dc: DomainController, extra: str = "") -> BotHarness:
    bot = BotHarness(
        tmp_path,
        backend="ldap",
        env=dc.settings(),
        extra_toml=LDAP_TOML + extra,
        clock=FakeClock(datetime.now(UTC)),
    )
    _OPEN.append(bot)
    return bot


def guid(dc: DomainController, sam: str) -> str:
    return str(uuid.UUID(bytes_le=dc.read(sam, "objectGUID")["objectGUID"][0]))


def locked(dc: DomainController, sam: str) -> bool:
    return int(dc.read(sam, "lockoutTime").get("lockoutTime", [b"0"])[0]) != 0


def audit(bot: BotHarness) -> list[tuple[object, ...]]:
    return bot.rows("SELECT action, outcome, target, verification, reason, ticket FROM audit_log")


@pytest.fixture
def restore(dc: DomainController) -> Iterator[list[str]]:
    """Users named here get their starting password back and are unlocked afterwards."""
    touched: list[str] = []
    yield touched
    for sam in touched:
        dc.set_password(sam, PASSWORD)
        dc.unlock(sam)


# -- status and unlock ---------------------------------------------------------------------


def test_locked_user_is_told_until_when_and_unlocked_then_can_bind(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.append("lee.siuming")
    dc.lock("lee.siuming")
    assert dc.bind("lee.siuming", PASSWORD) == "775"
    bot = ldap_bot(tmp_path, dc)
    replies = bot.say("why can't I log in?", user=dc.email("lee.siuming"))
    assert "locked" in text_of(replies) and "unlock by itself at" in text_of(replies)
    assert all(r.private for r in replies)
    assert "I've unlocked" in text_of(bot.click(1))
    assert not locked(dc, "lee.siuming")
    assert dc.bind("lee.siuming", PASSWORD) == "ok"
    assert audit(bot) == [("unlock", "done", guid(dc, "lee.siuming"), "none", "", None)]


def test_locked_user_is_told_the_wrong_passwords_the_dc_counted(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    """badPwdCount and badPasswordTime from the DC the bot reads (three bad binds locked it),
    said before the unlock, and in the engineer's lookup."""
    restore.append("lee.siuming")
    dc.lock("lee.siuming")
    bot = ldap_bot(tmp_path, dc)
    said = text_of(bot.say("my account is locked", user=dc.email("lee.siuming")))
    assert "The directory counted 3 wrong passwords, the last at" in said
    screen = text_of(bot.command("/helpdesk lookup lee.siuming", user=dc.email("eng.lam")))
    assert "badPwdCount 3 on localhost (last" in screen


def test_why_cant_i_log_in_explains_a_password_that_must_be_changed(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.append("lee.siuming")
    dc.set_password("lee.siuming", PASSWORD, must_change=True)
    bot = ldap_bot(tmp_path, dc)
    text = text_of(bot.say("why can't I log in", user=dc.email("lee.siuming")))
    assert "isn't locked" in text and "must be changed" in text
    dc.set_password("lee.siuming", PASSWORD)
    text = text_of(bot.say("why can't I log in", user=dc.email("lee.siuming")))
    assert "expires on" in text  # the domain's 90-day maximum age, from the DC
    assert "You last changed your password on" in text


def test_unlock_is_limited_per_day(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.append("lee.siuming")
    bot = ldap_bot(
        tmp_path, dc, "[self_service]\nunlocks_per_day = 2\nunlock_cooldown_minutes = 0\n"
    )
    user = dc.email("lee.siuming")
    for _ in range(2):
        dc.lock("lee.siuming")
        bot.say("my account is locked", user=user)
        assert "I've unlocked" in text_of(bot.click(1))
    dc.lock("lee.siuming")
    bot.say("my account is locked", user=user)
    assert "limit of 2" in text_of(bot.click(1))
    assert locked(dc, "lee.siuming")
    assert audit(bot)[-1][:2] == ("unlock", "refused") and audit(bot)[-1][4] == "daily_limit"


def test_lockout_burst_pauses_unlocks_alerts_security_once_and_opens_a_ticket(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    burst = ["burst01", "burst02", "burst03"]
    restore.extend([*burst, "lee.siuming"])
    for sam in burst:
        dc.lock(sam)
    dc.lock("lee.siuming")
    bot = ldap_bot(tmp_path, dc, "[self_service]\nburst_threshold = 4\n")
    bot.say("my account is locked", user=dc.email("lee.siuming"))
    text = text_of(bot.click(1))
    assert "paused" in text and "HD-" in text
    assert locked(dc, "lee.siuming")
    bot.say("my account is locked", user=dc.email("lee.siuming"))
    bot.click(1)
    alerts = bot.rows("SELECT recipient, payload_json FROM outbox WHERE kind = 'security_alert'")
    assert len(alerts) == 1 and alerts[0][0] == "channel:it-security"
    assert "Lockout burst: 4 accounts" in str(alerts[0][1])
    assert [r[4] for r in audit(bot)] == ["lockout_burst", "lockout_burst"]


# -- guardrails ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sam", "reason", "alerted"),
    [
        ("wong.admin", "privileged", True),  # nested in Domain Admins through a group
        ("svc.reports", "service_account", True),  # has a servicePrincipalName
        ("svc.batch", "service_account", True),  # in the service-accounts OU
        ("outside.user", "out_of_scope", True),  # OU=Contractors, outside scope_ous
        ("cheung.disabled", "disabled", False),
    ],
)
def test_protected_accounts_are_refused_audited_and_alerted_and_stay_locked(
    tmp_path: Path,
    dc: DomainController,
    restore: list[str],
    sam: str,
    reason: str,
    alerted: bool,
) -> None:
    restore.append(sam)
    if sam != "cheung.disabled":
        dc.lock(sam)
    bot = ldap_bot(tmp_path, dc)
    for ask in ("my account is locked", "reset my password"):
        replies = bot.say(ask, user=dc.email(sam))
        assert "can't" in text_of(replies)
        assert all(c.value == "intent:human" for r in replies for c in r.choices)
    if sam != "cheung.disabled":
        assert locked(dc, sam)
    target = guid(dc, sam)
    assert [(a[0], a[1], a[2], a[4]) for a in audit(bot)] == [
        ("unlock", "refused", target, reason),
        ("password_reset", "refused", target, reason),
    ]
    alerts = bot.rows("SELECT count(*) FROM outbox WHERE kind = 'security_alert'")
    assert alerts == [(2 if alerted else 0,)]


def test_filter_injection_never_widens_a_search(dc: DomainController) -> None:
    directory = LdapDirectory(
        LdapConfig.from_env(dc.settings()), LdapSettings(scope_ous=("OU=Staff",))
    )
    for value in (
        "*",
        "*@corp.example.com",
        "chan.taiman@corp.example.com)(mail=*",
        "*)(objectClass=*",
        "chan.taiman@corp.example.com\\",
        "chan.taiman@corp.example.com*",
    ):
        with pytest.raises(NotFound):
            asyncio.run(directory.find_by_email(value))
    # Samba ends a value at an escaped NUL: refused before the search (tests/test_identity_ad.py)
    for value in ("chan.taiman\x00@corp.example.com", "chan.taiman@corp.example.com\x00"):
        with pytest.raises(MalformedIdentity):
            asyncio.run(directory.find_by_email(value))
    with pytest.raises(NotFound):
        asyncio.run(directory.find_by_id("*"))
    found = asyncio.run(directory.find_by_email(dc.email("chan.taiman")))
    assert found.directory_id == guid(dc, "chan.taiman")
    assert found.manager_email == dc.email("ho.kawai") and found.in_scope
    with pytest.raises(Ambiguous):
        asyncio.run(directory.find_by_email("shared@corp.example.com"))
    directory.close()


def test_two_accounts_with_one_email_are_never_acted_on(
    tmp_path: Path, dc: DomainController
) -> None:
    bot = ldap_bot(tmp_path, dc)
    assert "More than one account" in text_of(
        bot.say("my account is locked", user="shared@corp.example.com")
    )


# -- password reset with approval ---------------------------------------------------------------


def _secret(replies: list[Reply]) -> str:
    found = re.search(r"`([^`]+)`", text_of(replies))
    assert found, text_of(replies)
    return found.group(1)


def _choice(bot: BotHarness, recipient: str) -> dict[str, str]:
    """The buttons of the last notice to `recipient`, label → value."""
    row = bot.rows(
        "SELECT payload_json FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", recipient
    )
    import json

    return {label: value for label, value in json.loads(str(row[0][0]))["choices"]}


def test_reset_with_manager_approval_changes_the_password_and_keeps_it_nowhere(
    tmp_path: Path,
    dc: DomainController,
    restore: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    restore.append("chan.taiman")
    dc.lock("chan.taiman")
    bot = ldap_bot(tmp_path, dc)
    me = dc.email("chan.taiman")
    bot.say("I forgot my password", user=me)
    assert "Reset it (manager approves)" in bot.labels()
    sent = text_of(bot.click("Reset it (manager approves)"))
    assert "Ho Ka Wai" in sent
    buttons = _choice(bot, f"email:{dc.email('ho.kawai')}")
    assert set(buttons) == {"Approve", "Deny"}
    # Once delivered, the one-time nonce leaves the store (only its hash stays).
    bot.deliver()
    nonce = buttons["Approve"].rsplit(":", 1)[1]
    assert not bot.rows("SELECT 1 FROM outbox WHERE payload_json LIKE ?", f"%{nonce}%")
    # Someone else clicking the manager's button is refused and audited.
    assert "isn't yours" in text_of(bot.click(buttons["Approve"], user=dc.email("lee.siuming")))
    # A forged nonce is refused too.
    forged = buttons["Approve"].rsplit(":", 1)[0] + ":forged"
    assert "isn't valid" in text_of(bot.click(forged, user=dc.email("ho.kawai")))
    assert dc.bind("chan.taiman", PASSWORD) == "775"  # nothing happened yet
    assert "Approved" in text_of(bot.click(buttons["Approve"], user=dc.email("ho.kawai")))
    # The same button again does nothing more.
    assert "already been answered" in text_of(
        bot.click(buttons["Approve"], user=dc.email("ho.kawai"))
    )
    run = _choice(bot, f"user:test:U-{me}")
    replies = bot.click(run["Reset my password now"], user=me)
    password = _secret(replies)
    assert len(password) >= 15 and all(r.private for r in replies)
    assert replies[0].delete_after_s == 5 * 60
    # The DC: the old password fails, the new one must be changed, the lockout is gone.
    assert dc.bind("chan.taiman", PASSWORD) == "52e"
    assert dc.bind("chan.taiman", password) == "773"
    assert not locked(dc, "chan.taiman")
    # Pressing "Reset now" again does not reset twice.
    assert "expired or was already used" in text_of(
        bot.click(run["Reset my password now"], user=me)
    )
    # A separate notice tells the owner a reset happened; it holds no secret.
    notices = bot.rows("SELECT payload_json FROM outbox WHERE dedupe_key LIKE 'reset-notice:%'")
    assert len(notices) == 1 and "password was reset at" in str(notices[0][0])
    target = guid(dc, "chan.taiman")
    rows = audit(bot)
    assert [(r[0], r[1]) for r in rows] == [
        ("password_status", "done"),
        ("password_reset", "requested"),
        ("password_reset", "refused"),  # the wrong approver
        ("approval", "refused"),  # the forged nonce
        ("password_reset", "approved"),
        ("password_reset", "refused"),  # the same button again
        ("password_reset", "done"),
        ("password_reset", "refused"),  # "Reset now" again
    ]
    assert rows[2][4].startswith("wrong_approver") and rows[-1][2] == target
    assert rows[-1][3] == "approval"
    # The secret is nowhere at rest: not in the store (and its WAL), nor in any log record.
    bot.services.db.conn.execute("PRAGMA wal_checkpoint")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert password.encode() not in data, path
            assert password.encode("utf-16-le") not in data, path
    assert password not in caplog.text
    assert all(password not in str(r.__dict__) for r in caplog.records)


def test_denied_approvals_lock_the_flow_and_approvals_expire(
    tmp_path: Path, dc: DomainController
) -> None:
    bot = ldap_bot(tmp_path, dc, "[self_service]\nmax_failed_verifications = 2\n")
    me, manager = dc.email("lee.siuming"), dc.email("ho.kawai")
    # lee.siuming has no manager: the configured on-call approver is asked instead.
    bot = ldap_bot(
        tmp_path / "b",
        dc,
        f'[self_service]\nmax_failed_verifications = 2\noncall_approver = "{manager}"\n',
    )
    for _ in range(2):
        bot.say("reset my password", user=me)
        assert "Ho Ka Wai" in text_of(bot.click("Reset it (manager approves)"))
        deny = _choice(bot, f"email:{manager}")["Deny"]
        assert "Declined" in text_of(bot.click(deny, user=manager))
    assert "declined your request" in str(
        bot.rows("SELECT payload_json FROM outbox ORDER BY id DESC LIMIT 1")[0][0]
    )
    bot.say("reset my password", user=me)
    assert "paused for today" in text_of(bot.click("Reset it (manager approves)"))
    assert audit(bot)[-1][4] == "verification_locked"
    # An approval that is not answered in time cannot be used.
    other = ldap_bot(tmp_path / "c", dc, f'[self_service]\noncall_approver = "{manager}"\n')
    other.say("reset my password", user=me)
    other.click("Reset it (manager approves)")
    approve = _choice(other, f"email:{manager}")["Approve"]
    other.clock.advance(minutes=16)
    assert "expired" in text_of(other.click(approve, user=manager))
    assert dc.bind("lee.siuming", PASSWORD) == "ok"


def test_unlock_with_approval_runs_when_the_manager_approves(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.append("chan.taiman")
    dc.lock("chan.taiman")
    bot = ldap_bot(tmp_path, dc, '[self_service]\nunlock_verification = "approval"\n')
    me, manager = dc.email("chan.taiman"), dc.email("ho.kawai")
    bot.say("my account is locked", user=me)
    assert "Ho Ka Wai" in text_of(bot.click(1))
    assert locked(dc, "chan.taiman")
    approve = _choice(bot, f"email:{manager}")["Approve"]
    bot.click(approve, user=manager)
    assert not locked(dc, "chan.taiman")
    assert "your account is unlocked" in str(
        bot.rows("SELECT payload_json FROM outbox ORDER BY id DESC LIMIT 1")[0][0]
    )
    done = [r for r in audit(bot) if r[1] == "done"]
    assert done == [("unlock", "done", guid(dc, "chan.taiman"), "approval", "", None)]


# -- engineers ---------------------------------------------------------------------------------


def test_engineer_unlocks_and_resets_for_a_ticket_others_are_refused(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.append("lee.siuming")
    bot = ldap_bot(tmp_path, dc)
    lee, eng = dc.email("lee.siuming"), dc.email("eng.lam")
    ticket, _ = bot.services.tickets.open(
        requester_email=lee,
        requester_directory_id=guid(dc, "lee.siuming"),
        requester_platform="test",
        requester_user_id=f"U-{lee}",
        summary="locked out",
        description="locked out",
        category="account & access",
        conversation="dm",
        lang="en",
    )
    dc.lock("lee.siuming")
    # Not an engineer: refused and audited, the DC unchanged.
    refused = bot.command(
        f"/helpdesk unlock lee.siuming {ticket.ref}", user=dc.email("chan.taiman")
    )
    assert "for the IT service desk" in text_of(refused)
    assert locked(dc, "lee.siuming")
    assert audit(bot)[-1][:2] == ("unlock", "refused")
    # An engineer without a ticket is asked for one.
    assert "ticket you're working on" in text_of(
        bot.command("/helpdesk unlock lee.siuming", user=eng)
    )
    done = bot.command(f"/helpdesk unlock lee.siuming {ticket.ref}", user=eng)
    assert "Lee Siu Ming's account is unlocked" in text_of(done)
    assert not locked(dc, "lee.siuming")
    replies = bot.command(f"/helpdesk reset lee.siuming {ticket.ref}", user=eng)
    password = _secret(replies)
    assert replies[0].private and replies[0].delete_after_s
    assert dc.bind("lee.siuming", password) == "773"
    # The name an engineer types is escaped like any other value: no wildcard match.
    # (A NUL never gets this far: the engine strips control characters first.)
    for name in ("*", "lee*", "*)(mail=*", "lee.siuming)(cn=*"):
        wild = text_of(bot.command(f"/helpdesk unlock {name} {ticket.ref}", user=eng))
        assert "couldn't find exactly one account" in wild
    # A privileged account stays refused for engineers too, whatever the ticket.
    assert "can't" in text_of(bot.command(f"/helpdesk reset wong.admin {ticket.ref}", user=eng))
    # The ticket must be an open ticket of the person acted on.
    chan = dc.email("chan.taiman")
    assert "isn't an open ticket of that person" in text_of(
        bot.command(f"/helpdesk unlock chan.taiman {ticket.ref}", user=eng)
    )
    assert audit(bot)[-1][2] == guid(dc, "chan.taiman") and chan
    rows = [r for r in audit(bot) if r[3] == "engineer_role" and r[1] == "done"]
    assert [(r[0], r[1], r[5]) for r in rows] == [
        ("unlock", "done", ticket.ref),
        ("password_reset", "done", ticket.ref),
    ]
    notice = bot.rows("SELECT recipient FROM outbox WHERE dedupe_key LIKE 'reset-notice:%'")
    assert notice == [(f"email:{lee}",)]
    alerts = bot.rows("SELECT payload_json FROM outbox WHERE dedupe_key LIKE 'security:engineer-%'")
    assert len(alerts) == 1 and "reset the password of" in str(alerts[0][0])


# -- degraded mode -------------------------------------------------------------------------------


def test_dc_stopped_mid_conversation_gives_a_clear_reply_and_a_ticket(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.append("lee.siuming")
    dc.lock("lee.siuming")
    bot = ldap_bot(tmp_path, dc)
    bot.say("my account is locked", user=dc.email("lee.siuming"))
    dc.stop()
    try:
        started = time.monotonic()
        text = text_of(bot.click(1))
        took = time.monotonic() - started
    finally:
        dc.start()
    # bounded: at most the dead connection's and the reconnect's timeouts (10 s each)
    assert took < 25, took
    tickets = bot.rows("SELECT summary, description FROM tickets")
    assert "can't reach" in text and "HD-" in text and "Traceback" not in text, (text, tickets)
    assert len(tickets) == 1 and "Unavailable" in str(tickets[0][1]), tickets
    assert audit(bot)[-1][:2] == ("unlock", "failed"), audit(bot)
    assert locked(dc, "lee.siuming")  # nothing was half-applied
    # The DC is back: the same bot reconnects by itself and the unlock goes through.
    again = text_of(bot.say("my account is locked", user=dc.email("lee.siuming")))
    assert "Shall I unlock it now?" in again, bot.rows("SELECT description FROM tickets")
    assert "I've unlocked" in text_of(bot.click(1))
    assert not locked(dc, "lee.siuming")


class _SilentServer:
    """A TCP port that accepts and then never answers (a hung DC)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.server.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.server.close()
        self.thread.join(5)
        for conn in self.held:
            conn.close()


def test_a_hung_or_unreachable_dc_is_unavailable_within_the_timeout(
    dc: DomainController,
) -> None:
    server = _SilentServer()
    settings = LdapSettings(scope_ous=("OU=Staff",), timeout_seconds=1)
    try:
        for url in (f"ldaps://localhost:{server.port}", "ldaps://localhost:1"):
            env = {**dc.settings(), "HELPDESK_LDAP_URL": url}
            directory = LdapDirectory(LdapConfig.from_env(env), settings)
            started = time.monotonic()
            with pytest.raises(Unavailable):
                asyncio.run(directory.find_by_email(dc.email("lee.siuming")))
            assert time.monotonic() - started < 5
    finally:
        server.close()


def test_a_certificate_from_another_ca_is_refused(dc: DomainController, tmp_path: Path) -> None:
    other_ca, _ = make_ca(tmp_path, "Some Other CA")
    env = {**dc.settings(), "HELPDESK_LDAP_CA_FILE": str(other_ca)}
    directory = LdapDirectory(LdapConfig.from_env(env), LdapSettings(scope_ous=("OU=Staff",)))
    with pytest.raises(Unavailable):
        asyncio.run(directory.find_by_email(dc.email("lee.siuming")))
    wrong = {**dc.settings(), "HELPDESK_LDAP_BIND_PASSWORD": "wrong"}
    directory = LdapDirectory(LdapConfig.from_env(wrong), LdapSettings(scope_ous=("OU=Staff",)))
    with pytest.raises(Unavailable):
        asyncio.run(directory.find_by_email(dc.email("lee.siuming")))


def test_missing_or_bad_settings_name_the_setting(dc: DomainController) -> None:
    for name in ("HELPDESK_LDAP_URL", "HELPDESK_LDAP_BIND_PASSWORD", "HELPDESK_LDAP_CA_FILE"):
        env = {k: v for k, v in dc.settings().items() if k != name}
        with pytest.raises(ConfigError, match=name):
            LdapConfig.from_env(env)
    with pytest.raises(ConfigError, match="HELPDESK_LDAP_URL"):
        LdapConfig.from_env({**dc.settings(), "HELPDESK_LDAP_URL": "http://dc1"})
    with pytest.raises(ConfigError, match="scope_ous"):
        LdapDirectory(LdapConfig.from_env(dc.settings()), LdapSettings())
    assert "password" not in repr(LdapConfig.from_env(dc.settings())).lower().replace("bind_dn", "")


def test_the_console_refuses_a_real_directory_and_config_check_connects(
    tmp_path: Path, dc: DomainController
) -> None:
    """`--as` is not a verified identity, so `helpdesk chat` runs only on the demo directory;
    `helpdesk config check` proves the LDAP settings by connecting once."""
    config = tmp_path / "helpdesk.toml"
    config.write_text('[directory]\nbackend = "ldap"\n' + LDAP_TOML)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env |= {**dc.settings(), "HELPDESK_CONFIG": str(config), "HELPDESK_DATA_DIR": str(tmp_path)}

    def helpdesk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            input="my account is locked\n1\n",
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )

    chat = helpdesk("chat", "--as", dc.email("lee.siuming"))
    assert chat.returncode == 2 and "demo directory" in chat.stderr
    check = helpdesk("config", "check")
    assert check.returncode == 0, check.stderr
    assert "directory: ldap (AD connected; minimum password length 10" in check.stdout
    env["HELPDESK_LDAP_BIND_PASSWORD"] = "wrong"
    check = helpdesk("config", "check")
    assert check.returncode == 2 and "cannot use it" in check.stderr
    assert "wrong" not in check.stderr and "Traceback" not in check.stderr


def _posted_with(served: Served, label: str, channel: str) -> dict[str, Any]:
    """The params of the newest message posted to `channel` with a button `label`."""
    calls = served.slack.wait_for(
        "chat.postMessage",
        timeout=20,
        where=lambda c: c.params.get("channel") == channel and label in _buttons(c.params),
    )
    return calls[-1].params


def test_slack_end_to_end_reset_approved_by_the_manager(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    """The real `helpdesk serve` process, the Slack stand-in and the real DC."""
    restore.append("chan.taiman")
    users = {
        "UCHAN": dc.email("chan.taiman"),
        "UHO": dc.email("ho.kawai"),
        "ULEE": dc.email("lee.siuming"),
    }
    config = f'[directory]\nbackend = "ldap"\n[kb]\npath = "{(ROOT / "kb").as_posix()}"\n'
    served = Served(
        tmp_path,
        users=users,
        config_text=config + LDAP_TOML,
        extra_env={**dc.settings(), "HELPDESK_LOG_LEVEL": "DEBUG"},  # even at DEBUG, no secret
    )
    try:
        served.dm("I forgot my password", user="UCHAN")
        offer = served.slack.wait_for(
            "chat.postMessage",
            timeout=20,
            where=lambda c: "Reset it (manager approves)" in _buttons(c.params),
        )[-1]
        served.click(offer.params, "Reset it (manager approves)", user="UCHAN")
        ask = _posted_with(served, "Approve", "DHO")
        assert "Chan Tai Man" in ask["text"]
        served.click(ask, "Approve", user="ULEE")  # not the manager: refused
        served.click(ask, "Approve", user="UHO")
        run = _posted_with(served, "Reset my password now", "DCHAN")
        assert dc.bind("chan.taiman", PASSWORD) == "ok"  # nothing changed before the click
        served.click(run, "Reset my password now", user="UCHAN")
        shown = served.slack.wait_for(
            "chat.postMessage",
            timeout=20,
            where=lambda c: "temporary password is" in json.dumps(c.params.get("blocks")),
        )[-1]
        assert shown.params["channel"] == "DCHAN"  # a DM, never a channel
        # The fallback text (notifications, e-mail digests) never carries the secret.
        assert shown.params["text"] == bilingual("delivery.private_fallback")
        password = re.search(r"`([^`]+)`", json.dumps(shown.params["blocks"]))
        assert password
        secret = password.group(1)
        assert dc.bind("chan.taiman", PASSWORD) == "52e"
        assert dc.bind("chan.taiman", secret) == "773"
        served.slack.wait_for(
            "chat.postMessage",
            timeout=20,
            where=lambda c: "password was reset at" in str(c.params.get("text")),
        )
    finally:
        served.stop()
    db = sqlite3.connect(served.data_dir / "helpdesk.db")
    outcomes = db.execute("SELECT action, outcome, reason FROM audit_log").fetchall()
    assert ("password_reset", "done", outcomes[-1][2]) == outcomes[-1]
    assert any(r[1] == "refused" and r[2].startswith("wrong_approver") for r in outcomes)
    assert db.execute("SELECT count(*) FROM scheduled_deletions").fetchone() == (1,)
    db.close()
    for path in served.data_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in "".join(served.log)


def test_a_refused_password_is_regenerated_under_the_policy_read_again(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    """The DC's minimum length rises after the bot read it: the first password (16) is
    refused with constraintViolation, the bot re-reads the policy and the next one (20)
    is accepted. Then a second reset within the cooldown is refused."""
    restore.append("lee.siuming")
    manager = dc.email("ho.kawai")
    bot = ldap_bot(tmp_path, dc, f'[self_service]\noncall_approver = "{manager}"\n')
    me = dc.email("lee.siuming")
    bot.say("reset my password", user=me)  # reads the policy (minimum 10) and caches it
    bot.click("Reset it (manager approves)")
    bot.click(_choice(bot, f"email:{manager}")["Approve"], user=manager)
    dc.set_domain_policy(minPwdLength=20)
    try:
        replies = bot.click(_choice(bot, f"user:test:U-{me}")["Reset my password now"], user=me)
    finally:
        dc.set_domain_policy(minPwdLength=10)
    password = _secret(replies)
    assert len(password) == 20
    assert dc.bind("lee.siuming", password) == "773"
    bot.say("reset my password", user=me)
    assert "only a short while ago" in text_of(bot.click("Reset it (manager approves)"))
    assert audit(bot)[-1][4] == "cooldown"


def test_reset_verification_none_is_refused_at_start() -> None:
    from bot.config import parse_settings

    with pytest.raises(ConfigError, match="allowed for unlocks only"):
        parse_settings('[self_service]\nreset_verification = "none"\n', "test", {})


def _as_admin(dc: DomainController, group: str, op: str, member: str) -> None:
    conn = dc.connect(dc.admin_dn, dc.admin_password)
    try:
        conn.modify(group, {"member": [(op, [member])]})
    finally:
        conn.unbind()


def test_privileged_groups_are_found_by_sid_whatever_the_base_dn(
    dc: DomainController,
) -> None:
    """A base DN below the domain root must not hide Domain Admins; a member of a builtin
    group (Print Operators) that is not in the configured names is privileged too."""
    env = {**dc.settings(), "HELPDESK_LDAP_BASE_DN": "OU=Staff,DC=corp,DC=example,DC=com"}
    directory = LdapDirectory(LdapConfig.from_env(env), LdapSettings(scope_ous=("OU=Staff",)))
    admin = asyncio.run(directory.find_by_email(dc.email("wong.admin")))
    assert admin.privileged and "Domain Admins" in str(admin.privileged_reason)
    directory.close()
    printers = "CN=Print Operators,CN=Builtin,DC=corp,DC=example,DC=com"
    _as_admin(dc, printers, ldap3.MODIFY_ADD, dc.dn("lee.siuming"))
    try:
        directory = LdapDirectory(
            LdapConfig.from_env(dc.settings()),
            LdapSettings(scope_ous=("OU=Staff",), protected_groups=()),
        )
        lee = asyncio.run(directory.find_by_email(dc.email("lee.siuming")))
        assert lee.privileged and "Print Operators" in str(lee.privileged_reason)
        directory.close()
    finally:
        _as_admin(dc, printers, ldap3.MODIFY_DELETE, dc.dn("lee.siuming"))
    # A configured extra group that does not exist stops every change (fails closed).
    directory = LdapDirectory(
        LdapConfig.from_env(dc.settings()),
        LdapSettings(scope_ous=("OU=Staff",), protected_groups=("No Such Group",)),
    )
    with pytest.raises(Unavailable):
        asyncio.run(directory.find_by_email(dc.email("lee.siuming")))
    directory.close()


def test_self_service_unlocks_count_towards_the_burst(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    """Victims unlocking themselves clear lockoutTime on the DC; the bot's own unlocks
    in the window still count, so a spray cannot hide behind them."""
    restore.extend(["burst04", "burst05", "lee.siuming"])
    bot = ldap_bot(
        tmp_path, dc, "[self_service]\nburst_threshold = 3\nunlock_cooldown_minutes = 0\n"
    )
    for sam in ("burst04", "burst05"):
        dc.lock(sam)
        bot.say("my account is locked", user=dc.email(sam))
        assert "I've unlocked" in text_of(bot.click(1))
        assert not locked(dc, sam)
    dc.lock("lee.siuming")
    bot.say("my account is locked", user=dc.email("lee.siuming"))
    assert "paused" in text_of(bot.click(1))
    assert locked(dc, "lee.siuming")


def test_an_engineer_is_capped_per_day(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    restore.extend(["burst06", "burst07"])
    bot = ldap_bot(tmp_path, dc, "[self_service]\nengineer_actions_per_day = 1\n")
    eng = dc.email("eng.lam")
    refs = []
    for sam in ("burst06", "burst07"):
        ticket, _ = bot.services.tickets.open(
            requester_email=dc.email(sam),
            requester_directory_id=guid(dc, sam),
            requester_platform="test",
            requester_user_id=f"U-{sam}",
            summary="locked out",
            description="locked out",
            category="account & access",
            conversation="dm",
            lang="en",
        )
        refs.append(ticket.ref)
        dc.lock(sam)
    assert "unlocked" in text_of(bot.command(f"/helpdesk unlock burst06 {refs[0]}", user=eng))
    limited_reply = text_of(bot.command(f"/helpdesk unlock burst07 {refs[1]}", user=eng))
    assert "the most allowed" in limited_reply
    assert locked(dc, "burst07")
    assert bot.rows(
        "SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'security:engineer-limit:%'"
    ) == [(1,)]


def test_phishing_containment_on_ad_forces_a_change_and_says_sessions_are_not_possible(
    tmp_path: Path, dc: DomainController, restore: list[str]
) -> None:
    """AD alone: the forced change is `pwdLastSet=0` on the DC (a bind then answers 773, must
    change); AD keeps no sign-in sessions, so that step is audited as not possible."""
    restore.append("lee.siuming")
    bot = ldap_bot(tmp_path, dc)
    user = dc.email("lee.siuming")
    said = text_of(bot.say("I clicked a link in a phishing email", user=user))
    assert "HD-1001" in said
    done = text_of(bot.click("Yes, sign me out and make me change my password", user=user))
    assert "new password at your next sign-in" in done and "no cloud sign-ins" in done
    assert dc.read("lee.siuming", "pwdLastSet")["pwdLastSet"] == [b"0"]
    assert dc.bind("lee.siuming", PASSWORD) == "773"
    rows = [r[:2] for r in audit(bot)]
    assert ("revoke_sessions", "not_possible") in rows
    assert ("require_password_change", "done") in rows
    assert rows[-1] == ("phish_containment", "done")


def test_my_device_without_intune_is_refused_plainly_and_audited(
    tmp_path: Path, dc: DomainController
) -> None:
    bot = ldap_bot(tmp_path, dc)
    said = text_of(bot.say("is my laptop compliant?", user=dc.email("lee.siuming")))
    assert "Intune" in said and bot.labels() == ["Talk to a person"]
    assert [r[:2] for r in audit(bot)] == [("device_check", "refused")]


def test_new_phone_without_entra_is_refused_plainly_and_audited(
    tmp_path: Path, dc: DomainController
) -> None:
    bot = ldap_bot(tmp_path, dc)
    said = text_of(
        bot.say("I got a new phone and can't approve sign-ins", user=dc.email("lee.siuming"))
    )
    assert "Entra ID" in said and bot.labels() == ["Talk to a person"]
    assert [r[:2] for r in audit(bot)] == [("mfa_methods", "refused")]
