"""Entra ID through Graph: the real engine and gateway (msal + httpx) against the HTTPS
token-authority and Graph stand-in (tests/graph_standin.py), and with the Samba DC for
the combined AD + Entra directory."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import GraphSettings
from bot.errors import ConfigError
from bot.integrations.directory import Throttled
from bot.integrations.graph import GraphConfig, GraphDirectory, GraphGateway
from tests.graph_standin import GraphStandIn, seed_corp
from tests.harness import BotHarness, FakeClock, text_of
from tests.samba_dc import PASSWORD, DomainController

WONG = "wong.siuling@corp.example.com"
HO = "ho.kawai@corp.example.com"
CHAN = "chan.taiman@corp.example.com"
GRAPH_TOML = """
[graph]
requestable_groups = ["Finance Share RW", "VPN Users", "Payments Approvers"]
max_wait_seconds = 5
[roles]
engineer_groups = ["Helpdesk Engineers"]
"""


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStandIn]:
    standin = GraphStandIn(tmp_path_factory.mktemp("graph")).start()
    seed_corp(standin)
    standin.add_group("Helpdesk Engineers", members=[HO])
    # misconfigured as requestable, but role-assignable: must still be refused
    standin.add_group("Payments Approvers", owners=[HO], role_assignable=True)
    yield standin
    standin.stop()


def env_of(graph: GraphStandIn) -> dict[str, str]:
    return {
        "HELPDESK_GRAPH_TENANT_ID": graph.tenant_id,
        "HELPDESK_GRAPH_CLIENT_ID": graph.client_id,
        "HELPDESK_GRAPH_CLIENT_SECRET": graph.client_secret,
        "HELPDESK_GRAPH_AUTHORITY_URL": graph.authority_url,
        "HELPDESK_GRAPH_URL": graph.graph_url,
        "HELPDESK_GRAPH_CA_FILE": str(graph.ca_file),
    }


_OPEN: list[BotHarness] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Each bot keeps one event loop (as `helpdesk serve` does), closed with its client."""
    yield
    while _OPEN:
        bot = _OPEN.pop()
        directory = bot.services.directory
        gateway = getattr(getattr(directory, "cloud", directory), "gateway", None)
        if isinstance(gateway, GraphGateway):
            bot.run(gateway.aclose())
        if bot.loop is not None:
            bot.loop.close()


def graph_bot(tmp_path: Path, graph: GraphStandIn, extra: str = "") -> BotHarness:
    bot = BotHarness(
        tmp_path,
        backend="graph",
        env=env_of(graph),
        extra_toml=GRAPH_TOML + extra,
        clock=FakeClock(datetime.now(UTC)),
    )
    bot.loop = asyncio.new_event_loop()
    _OPEN.append(bot)
    return bot


def _choice(bot: BotHarness, recipient: str) -> dict[str, str]:
    row = bot.rows(
        "SELECT payload_json FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", recipient
    )
    return {label: value for label, value in json.loads(str(row[0][0]))["choices"]}


def _last_to(bot: BotHarness, recipient: str) -> str:
    row = bot.rows(
        "SELECT payload_json FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", recipient
    )
    return str(json.loads(str(row[0][0]))["text"])


# -- licences -----------------------------------------------------------------------------------


def test_licences_with_product_names_disabled_plans_and_who_provides_what(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    listed = text_of(bot.say("what licences do I have?", user=WONG))
    assert "Microsoft 365 E3" in listed and "Power BI Pro" in listed
    assert "SPE_E3" not in listed  # product names, not part numbers
    teams = text_of(bot.say("do I have a teams licence?", user=WONG))
    assert "Yes" in teams and "Teams" in teams
    disabled = text_of(bot.say("do I have power bi pro?", user=WONG))
    assert "switched off" in disabled and "Power BI Pro" in disabled
    visio = text_of(bot.say("do I have visio?", user=WONG))
    assert "don't have Visio" in visio and "Visio Plan 2" in visio
    assert bot.labels() == ["Request it", "Talk to a person"]
    # Visio is in the request catalogue: its request ticket opens at once, for the manager
    assert "is open for your Visio" in text_of(bot.click("Request it"))
    assert bot.rows("SELECT summary FROM tickets") == [("Request: Visio",)]
    phone = text_of(bot.say("do I have teams phone?", user=CHAN))
    assert "Yes" in phone and "Microsoft 365 E5" in phone


# -- groups and access requests ------------------------------------------------------------------


def test_access_request_goes_to_the_owner_who_approves_and_the_bot_adds_the_member(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    bot.say("I need access to Finance Share RW", user=WONG)
    assert bot.labels()[0] == "Ask for access to Finance Share RW"  # a real requestable group
    assert "Ho Ka Wai" in text_of(bot.click("Ask for access to Finance Share RW"))
    buttons = _choice(bot, f"email:{HO}")
    assert WONG not in graph.members_of("Finance Share RW")
    assert "isn't yours" in text_of(bot.click(buttons["Approve"], user=CHAN))
    assert "has been added" in text_of(bot.click(buttons["Approve"], user=HO))
    assert WONG in graph.members_of("Finance Share RW")
    assert "you've been added to Finance Share RW" in _last_to(bot, f"user:test:U-{WONG}")
    outcomes = bot.rows("SELECT action, outcome, verification FROM audit_log")
    assert ("group_add", "done", "approval") in outcomes
    assert ("group_add", "refused", "approval") in outcomes  # the wrong approver
    assert "already been answered" in text_of(bot.click(buttons["Approve"], user=HO))
    assert len(graph.called("POST", r"/groups/.*/members/\$ref")) == 1


def test_a_denied_access_request_adds_nobody(tmp_path: Path, graph: GraphStandIn) -> None:
    bot = graph_bot(tmp_path, graph)
    bot.say("can I get access to the VPN group?", user=WONG)
    bot.click("Ask for access to VPN Users")
    bot.click(_choice(bot, f"email:{HO}")["Deny"], user=HO)
    assert WONG not in graph.members_of("VPN Users")
    assert "declined your request" in _last_to(bot, f"user:test:U-{WONG}")


def test_role_assignable_groups_are_never_requestable(tmp_path: Path, graph: GraphStandIn) -> None:
    bot = graph_bot(tmp_path, graph)
    bot.say("can I get access to the Payments Approvers group?", user=WONG)
    text = text_of(bot.click("Ask for access to Payments Approvers"))
    assert "can never be requested" in text
    assert bot.rows("SELECT count(*) FROM outbox WHERE kind = 'security_alert'") == [(1,)]
    assert WONG not in graph.members_of("Payments Approvers")


def test_cantonese_access_request_offers_the_real_group_and_still_refuses_a_role_assignable_one(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    bot.say("我想要 Payments Approvers 嘅權限", user=WONG)
    assert bot.labels()[0] == "申請加入 Payments Approvers"  # the directory's group, offered
    assert "永遠唔可以" in text_of(bot.click("申請加入 Payments Approvers"))
    assert WONG not in graph.members_of("Payments Approvers")
    assert bot.rows("SELECT count(*) FROM approvals") == [(0,)]


# -- cloud account recovery ------------------------------------------------------------------


def _approve_reset(bot: BotHarness, user: str) -> list[object]:
    bot.say("I forgot my password", user=user)
    reset = next(label for label in bot.labels() if "manager approves" in label)
    bot.click(reset)
    bot.click(_choice(bot, f"email:{HO}")["Approve"], user=HO)
    run = _choice(bot, f"user:test:U-{user}")
    return list(bot.click(run["Reset my password now"], user=user))


def test_cloud_user_gets_a_one_time_temporary_access_pass(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    before = len(graph.taps_of(WONG))
    replies = _approve_reset(bot, WONG)
    text = text_of(replies)  # type: ignore[arg-type]
    taps = graph.taps_of(WONG)
    assert len(taps) == before + 1
    assert taps[-1]["temporaryAccessPass"] in text and "works once" in text
    assert taps[-1]["isUsableOnce"] is True and taps[-1]["lifetimeInMinutes"] == 60
    assert all(r.private and r.delete_after_s for r in replies)  # type: ignore[attr-defined]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert taps[-1]["temporaryAccessPass"].encode() not in path.read_bytes()


def test_a_reset_that_applied_before_a_503_is_not_done_twice(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = BotHarness(
        tmp_path,
        backend="graph",
        env=env_of(graph),
        extra_toml=GRAPH_TOML.replace("[graph]", '[graph]\ncloud_recovery = "password"'),
        clock=FakeClock(datetime.now(UTC)),
    )
    bot.loop = asyncio.new_event_loop()
    _OPEN.append(bot)
    patches = len(graph.called("PATCH", f"/users/{graph.user_id(WONG)}"))
    graph.fail_next("PATCH", r"/users/[^/]+$", status=503, after_apply=True)
    replies = _approve_reset(bot, WONG)
    text = text_of(replies)  # type: ignore[arg-type]
    assert graph.password_of(WONG) and graph.password_of(WONG) in str(text)
    assert len(graph.called("PATCH", f"/users/{graph.user_id(WONG)}")) == patches + 1
    notices = bot.rows("SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'reset-notice:%'")
    assert notices == [(1,)]
    done = bot.rows(
        "SELECT count(*) FROM audit_log WHERE action = 'password_reset' AND outcome = 'done'"
    )
    assert done == [(1,)]


@pytest.mark.parametrize(
    ("user", "reason", "says"),
    [
        ("admin.cloud@corp.example.com", "privileged", "special access"),
        ("priv.member@corp.example.com", "privileged", "special access"),
        ("fed.user@fed.example.com", "federated", "another company system"),
    ],
)
def test_privileged_and_federated_cloud_accounts_are_refused(
    tmp_path: Path, graph: GraphStandIn, user: str, reason: str, says: str
) -> None:
    bot = graph_bot(tmp_path, graph)
    assert says in text_of(bot.say("reset my password", user=user))
    rows = bot.rows("SELECT action, outcome, reason FROM audit_log")
    assert rows == [("password_reset", "refused", reason)]
    assert not graph.called("POST", r"temporaryAccessPassMethods") or all(
        user not in str(c.path) for c in graph.called("POST", r"temporaryAccessPassMethods")
    )


# -- resilience --------------------------------------------------------------------------------


def test_a_429_read_waits_at_least_retry_after(graph: GraphStandIn) -> None:
    gateway = GraphGateway(GraphConfig.from_env(env_of(graph)), GraphSettings())
    directory = GraphDirectory(gateway, GraphSettings())

    async def run() -> float:
        await directory.find_by_email(WONG)  # token and caches first
        graph.fail_next("GET", r"/users$", status=429, retry_after=1)
        started = time.monotonic()
        found = await directory.find_by_email(WONG)
        assert found.email == WONG
        elapsed = time.monotonic() - started
        graph.fail_next("GET", r"/users$", status=429, retry_after=120)
        with pytest.raises(Throttled):
            await directory.find_by_email(WONG)
        await gateway.aclose()
        return elapsed

    assert asyncio.run(run()) >= 1.0


def test_licence_check_while_entra_is_down_opens_a_ticket_and_audits_it(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    """Rule 7 in the engine's error boundary: the licence handler does nothing about an
    outage itself, and still the user gets a plain answer, a ticket and an audit record."""
    bot = graph_bot(tmp_path, graph)
    graph.fail_next("GET", r"/licenseDetails", status=503, retry_after=0, times=4)
    text = text_of(bot.say("do I have visio?", user=WONG))
    assert "can't reach the account system" in text and "HD-1001" in text
    assert "503" not in text and "Unavailable" not in text
    assert bot.rows("SELECT summary, priority, requester_email FROM tickets") == [
        ("Self-service licence check failed", "P2", WONG)
    ]
    assert bot.rows("SELECT action, outcome, reason, ticket FROM audit_log") == [
        ("licence_check", "failed", "Unavailable", "HD-1001")
    ]
    # the next question is answered normally: nothing was left waiting
    assert "Visio" in text_of(bot.say("do I have visio?", user=WONG))


# -- phishing ---------------------------------------------------------------------------------


def _alert_texts(bot: BotHarness) -> list[str]:
    rows = bot.rows("SELECT payload_json FROM outbox WHERE kind = 'security_alert' ORDER BY id")
    return [str(json.loads(str(r[0]))["text"]) for r in rows]


def test_phishing_containment_survives_a_503_after_the_write_and_forces_the_change(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    """revokeSignInSessions answered 503 after it applied: revoking is idempotent, so it is
    sent once more; the forced change lands in Entra (a cloud-only account)."""
    user = "phish.one@corp.example.com"
    graph.add_user(user, "Phish One", manager=HO)
    bot = graph_bot(tmp_path, graph)
    bot.say("I clicked a link in a phishing email and typed my password", user=user)
    graph.fail_next("POST", r"/revokeSignInSessions$", status=503, after_apply=True)
    done = text_of(bot.click("Yes, sign me out and make me change my password", user=user))
    assert "signed out everywhere" in done
    assert graph.sessions_of(user) == (2, True)
    rows = bot.rows("SELECT action, outcome FROM audit_log ORDER BY seq")
    assert ("revoke_sessions", "done") in rows and ("require_password_change", "done") in rows
    assert rows[-1] == ("phish_containment", "done")


def test_phishing_containment_with_graph_failing_audits_each_step(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    """Graph keeps failing the revocation: that step is audited as failed, alerted and noted
    on the P1 ticket for security to do by hand; the forced change still runs."""
    user = "phish.two@corp.example.com"
    graph.add_user(user, "Phish Two", manager=HO)
    bot = graph_bot(tmp_path, graph)
    bot.say("我撳咗封釣魚email嘅link", user=user)
    graph.fail_next("POST", r"/revokeSignInSessions$", status=503, times=2)
    answer = text_of(bot.say("好", user=user))
    assert "人手處理" in answer and "HD-1001" in answer
    assert graph.sessions_of(user) == (0, True)
    rows = bot.rows("SELECT action, outcome, reason, ticket FROM audit_log ORDER BY seq")
    assert ("revoke_sessions", "failed", "MaybeApplied", "HD-1001") in rows
    assert rows[-1][:2] == ("phish_containment", "failed")
    assert any("revoke sessions" in a and "failed" in a for a in _alert_texts(bot))
    notes = bot.rows("SELECT body FROM ticket_events WHERE kind = 'note'")
    assert any("revoke the sign-in sessions" in str(n[0]) for n in notes)


def test_token_endpoint_down_gives_a_clear_reply_and_a_ticket(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    graph.authority_down = True
    try:
        bot = graph_bot(tmp_path, graph)
        text = text_of(bot.say("I forgot my password", user=WONG))
    finally:
        graph.authority_down = False
    assert "can't reach the account system" in text and "HD-" in text
    assert "Traceback" not in text and "503" not in text
    assert bot.rows("SELECT count(*) FROM tickets") == [(1,)]


def test_missing_graph_settings_name_the_variable(graph: GraphStandIn) -> None:
    env = env_of(graph)
    for name in ("HELPDESK_GRAPH_TENANT_ID", "HELPDESK_GRAPH_CLIENT_SECRET"):
        with pytest.raises(ConfigError, match=name):
            GraphConfig.from_env({k: v for k, v in env.items() if k != name})
    with pytest.raises(ConfigError, match="HELPDESK_GRAPH_URL"):
        GraphConfig.from_env({**env, "HELPDESK_GRAPH_URL": "http://graph"})
    assert graph.client_secret not in repr(GraphConfig.from_env(env))


# -- engineer lookup --------------------------------------------------------------------------


def test_engineer_lookup_shows_one_screen_and_is_audited(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    refused = text_of(bot.command(f"/helpdesk lookup {WONG}", user=CHAN))
    assert "for the IT service desk" in refused
    screen = text_of(bot.command("/helpdesk lookup wong.siuling", user=HO))
    for part in (
        "Wong Siu Ling",
        "ENABLED",
        "cloud-only",
        "Microsoft 365 E3",
        "disabled: ",
        "manager: ho.kawai@corp.example.com",
        "recent tickets",
        "password last set",
    ):
        assert part in screen, part
    assert bot.rows("SELECT action, outcome FROM audit_log WHERE action = 'lookup'") == [
        ("lookup", "done")
    ]


def test_engineer_lookup_reads_the_sign_in_log_through_a_throttle(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    """Failed sign-ins from Entra's log (a success in between is no failure), read again
    after a 429 with Retry-After."""
    user = "locked.out@corp.example.com"
    graph.add_user(user, "Locked Out", manager=HO)
    now = datetime.now(UTC)
    for minutes in (50, 40, 30, 20):
        graph.add_sign_in(user, now - timedelta(minutes=minutes))
    graph.add_sign_in(user, now - timedelta(minutes=45), client="Browser", error_code=0)
    graph.add_sign_in(user, now - timedelta(days=3), client="Browser")  # too old to count
    bot = graph_bot(tmp_path, graph)
    graph.fail_next("GET", r"/auditLogs/signIns$", status=429, retry_after=0)
    screen = text_of(bot.command("/helpdesk lookup locked.out", user=HO))
    assert "Entra: 4 failed in 24 h" in screen
    assert "4 from Exchange ActiveSync / Office 365 Exchange Online / Hong Kong, HK" in screen
    assert "(50126)" in screen and "phone, tablet or mail app" in screen
    reads = graph.called("GET", r"/auditLogs/signIns$")
    assert [c.status for c in reads if graph.user_id(user) in c.query["$filter"]] == [429, 200]


def test_my_device_reads_intune_through_a_throttle_with_the_reasons_it_fails(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    user = "device.owner@corp.example.com"
    graph.add_user(user, "Device Owner", manager=HO)
    graph.add_managed_device(
        user,
        "LAPTOP-DO01",
        version="10.0.19045.3803",
        compliance="noncompliant",
        encrypted=False,
        failing=["BitLockerEnabled", "osMinimumVersion"],
    )
    graph.add_managed_device(user, "DO-iPhone", os="iOS", version="18.1")
    bot = graph_bot(tmp_path, graph)
    graph.fail_next("GET", r"/managedDevices$", status=429, retry_after=0)
    said = text_of(bot.say("is my laptop compliant?", user=user))
    assert "**LAPTOP-DO01** — Windows 10.0.19045.3803 · NOT compliant" in said
    assert "BitLocker is off, Windows is too old" in said and "NOT encrypted" in said
    assert "**DO-iPhone** — iOS 18.1 · compliant" in said
    states = graph.called("GET", r"/deviceCompliancePolicyStates$")
    assert len([c for c in states if c.status == 200]) == 1  # only the failing one is asked
    assert bot.rows("SELECT action, outcome FROM audit_log WHERE action = 'device_check'") == [
        ("device_check", "done")
    ]


# -- new phone --------------------------------------------------------------------------------


def _approve_pass(bot: BotHarness, user: str) -> list[object]:
    bot.say("I got a new phone and can't approve sign-ins", user=user)
    bot.click("Get a one-time pass (manager approves)", user=user)
    bot.click(_choice(bot, f"email:{HO}")["Approve"], user=HO)
    run = _choice(bot, f"user:test:U-{user}")
    return list(bot.click(run["Show my one-time pass now"], user=user))


def test_new_phone_pass_for_a_synced_account_is_a_one_time_tap_shown_once(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    user = "phone.synced@corp.example.com"
    graph.add_user(user, "Phone Synced", synced=True, manager=HO)
    graph.add_auth_method(user, "authenticator", "iPhone 12", datetime(2024, 3, 2, tzinfo=UTC))
    graph.add_auth_method(user, "phone", "+852 91234567")
    bot = graph_bot(tmp_path, graph)
    listed = text_of(bot.say("new phone, how do I move Microsoft Authenticator", user=user))
    assert "Microsoft Authenticator: iPhone 12" in listed and "mobile ••••567" in listed
    assert "91234567" not in listed and "password" in listed
    shown = _approve_pass(bot, user)
    taps = graph.taps_of(user)
    assert len(taps) == 1 and taps[0]["isUsableOnce"] is True
    assert f"`{taps[0]['temporaryAccessPass']}`" in text_of(shown)  # type: ignore[arg-type]
    assert taps[0]["temporaryAccessPass"] not in str(bot.rows("SELECT * FROM audit_log"))


def test_new_phone_pass_answered_503_opens_a_ticket_to_delete_it(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    user = "phone.flaky@corp.example.com"
    graph.add_user(user, "Phone Flaky", manager=HO)
    bot = graph_bot(tmp_path, graph)
    graph.fail_next("POST", r"/temporaryAccessPassMethods$", status=503, after_apply=True)
    said = text_of(_approve_pass(bot, user))  # type: ignore[arg-type]
    assert "couldn't create the pass" in said and "HD-1001" in said
    assert len(graph.taps_of(user)) == 1  # it was created: the ticket says to delete it
    description = str(bot.rows("SELECT description FROM tickets")[0][0])
    assert "may have been created: delete it" in description
    rows = bot.rows("SELECT action, outcome, reason, ticket FROM audit_log ORDER BY seq")
    assert rows[-1] == ("mfa_pass", "failed", "MaybeApplied", "HD-1001")


def test_old_phone_removal_survives_a_503_after_it_applied_not_one_before(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    user = "phone.two@corp.example.com"
    graph.add_user(user, "Phone Two", manager=HO)
    graph.add_auth_method(user, "authenticator", "Galaxy S21", datetime(2023, 6, 1, tzinfo=UTC))
    graph.add_auth_method(user, "authenticator", "Pixel 9", datetime(2026, 11, 20, tzinfo=UTC))
    bot = graph_bot(tmp_path, graph)
    # a 503 before the delete applied: still registered, so it failed (a ticket, audited)
    bot.say("I changed my phone and now the MFA prompts go to the old one", user=user)
    graph.fail_next("DELETE", r"/microsoftAuthenticatorMethods/", status=503)
    failed = text_of(bot.click("Remove the old phone (Galaxy S21)", user=user))
    assert "couldn't remove the old phone" in failed and "HD-1001" in failed
    assert graph.methods_of(user) == ["Galaxy S21", "Pixel 9"]
    assert bot.rows("SELECT outcome FROM audit_log WHERE action = 'mfa_remove' ORDER BY seq") == [
        ("failed",)
    ]
    # a 503 after it applied, behind a throttled read: gone, so done
    bot.clock.advance(hours=1)  # past the cooldown
    graph.fail_next("GET", r"/authentication/methods$", status=429, retry_after=0)
    bot.say("I changed my phone and now the MFA prompts go to the old one", user=user)
    graph.fail_next("DELETE", r"/microsoftAuthenticatorMethods/", status=503, after_apply=True)
    done = text_of(bot.click("Remove the old phone (Galaxy S21)", user=user))
    assert "can no longer approve" in done
    assert graph.methods_of(user) == ["Pixel 9"]
    assert bot.rows("SELECT outcome FROM audit_log WHERE action = 'mfa_remove' ORDER BY seq") == [
        ("failed",),
        ("done",),
    ]


# -- AD and Entra together -------------------------------------------------------------------


def test_synced_user_is_routed_to_ad_and_licences_come_from_entra(
    tmp_path: Path, graph: GraphStandIn, dc: DomainController
) -> None:
    """backend = "ldap+graph": chan.taiman is in AD and synced to Entra. The reset goes to
    the DC (bind says "must change"), Graph gets no PATCH, licences come from Entra."""
    from tests.test_ldap import LDAP_TOML

    bot = BotHarness(
        tmp_path,
        backend="ldap+graph",
        env={**env_of(graph), **dc.settings()},
        extra_toml=LDAP_TOML.replace("[roles]", "[graph]\n[roles]"),
        clock=FakeClock(datetime.now(UTC)),
    )
    bot.loop = asyncio.new_event_loop()
    _OPEN.append(bot)
    try:
        assert "Microsoft 365 E5" in text_of(bot.say("what licences do I have?", user=CHAN))
        patches = len(graph.called("PATCH", r"/users/"))
        replies = _approve_reset(bot, CHAN)
        found = re.search(r"`([^`]+)`", text_of(replies))  # type: ignore[arg-type]
        assert found
        assert dc.bind("chan.taiman", found.group(1)) == "773"
        assert len(graph.called("PATCH", r"/users/")) == patches
        # A cloud-only user, unknown to AD, is Entra's: a Temporary Access Pass.
        assert "one-time sign-in pass" in text_of(bot.say("I forgot my password", user=WONG))
    finally:
        dc.set_password("chan.taiman", PASSWORD)
        ad = getattr(bot.services.directory, "ad", None)
        if ad is not None:
            ad.close()


def test_certificate_credential_and_paging(graph: GraphStandIn, tmp_path: Path) -> None:
    """The app may authenticate with a certificate instead of a secret; collections are
    read to the end through @odata.nextLink."""
    from tests.graph_standin import make_client_cert

    cert = make_client_cert()
    graph.add_client_certificate(cert.cert_pem)
    pem = tmp_path / "helpdesk-app.pem"
    pem.write_text(cert.key_pem + cert.cert_pem)
    env = {k: v for k, v in env_of(graph).items() if k != "HELPDESK_GRAPH_CLIENT_SECRET"}
    env["HELPDESK_GRAPH_CLIENT_CERT"] = str(pem)
    gateway = GraphGateway(GraphConfig.from_env(env), GraphSettings())

    async def run() -> list[dict[str, object]]:
        try:
            user = await gateway.get(f"users/{CHAN}", {"$select": "id"})
            return await gateway.get_all(
                f"users/{user['id']}/transitiveMemberOf", {"$select": "id,displayName", "$top": "1"}
            )
        finally:
            await gateway.aclose()

    groups = asyncio.run(run())
    assert {g["displayName"] for g in groups} >= {"All Staff"} and len(groups) >= 2
    pages = graph.called("GET", r"/transitiveMemberOf")
    assert len(pages) >= len(groups)  # one page per item at $top=1
