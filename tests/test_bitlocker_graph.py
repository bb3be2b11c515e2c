"""BitLocker recovery keys from Entra through Graph, app-only, against the HTTPS stand-in
(tests/graph_standin.py): keys of the person's Intune devices and of devices they are the
registered owner of, someone else's device and a server refused, the secret read once
(`$select=key`) only after approval, throttling waited out, a 503 giving a ticket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.graph_standin import GraphStandIn, seed_corp
from tests.harness import BotHarness, FakeClock, text_of
from tests.samba_dc import DomainController
from tests.test_graph import (  # _close_clients: its autouse fixture closes the clients
    _OPEN,
    CHAN,
    HO,
    WONG,
    _close_clients,  # noqa: F401
    env_of,
    graph_bot,
)
from tests.test_ldap import LDAP_TOML

LAPTOP_KEY = (
    "7e8f9a0b-1c2d-4e3f-a405-162738495a6b",
    "101010-202020-303030-404040-505050-606060-707070-808080",
)
SURFACE_KEY = (
    "6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293",
    "121212-232323-343434-454545-565656-676767-787878-898989",
)
HO_KEY = (
    "2b3c4d5e-6f70-4a81-9b2c-3d4e5f607182",
    "313131-424242-535353-646464-757575-868686-979797-080808",
)
SERVER_KEY = (
    "5c6d7e8f-0a1b-4c2d-8e3f-405162738495",
    "999999-888888-777777-666666-555555-444444-333333-222222",
)
SECRETS = [k for _, k in (LAPTOP_KEY, SURFACE_KEY, HO_KEY, SERVER_KEY)]


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStandIn]:
    standin = GraphStandIn(tmp_path_factory.mktemp("graph-bitlocker")).start()
    seed_corp(standin)
    laptop = standin.add_entra_device("LT-WONG-07")
    standin.add_managed_device(WONG, "LT-WONG-07", entra_device_id=laptop)
    standin.add_recovery_key(laptop, *LAPTOP_KEY)
    standin.add_recovery_key(standin.add_entra_device("SURFACE-WONG", owners=[WONG]), *SURFACE_KEY)
    standin.add_recovery_key(standin.add_entra_device("LT-HO-01", owners=[HO]), *HO_KEY)
    server = standin.add_entra_device("SRV-AZ-01", owners=[WONG], os="Windows Server 2022")
    standin.add_recovery_key(server, *SERVER_KEY)
    yield standin
    standin.stop()


def _audit(bot: BotHarness) -> list[tuple[object, ...]]:
    return bot.rows("SELECT action, outcome, verification, reason, ticket FROM audit_log")


def _buttons(bot: BotHarness, recipient: str) -> list[str]:
    row = bot.rows(
        "SELECT payload_json FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", recipient
    )
    return [value for _, value in json.loads(str(row[0][0]))["choices"]]


def _approved_run(bot: BotHarness) -> str:
    approve = [v for v in _buttons(bot, f"email:{HO}") if ":approve:" in v]
    bot.click(approve[0], user=HO)
    (run,) = _buttons(bot, f"user:test:U-{WONG}")
    return run


def _nothing_kept(bot: BotHarness) -> None:
    for table in ("outbox", "audit_log", "tickets", "transcripts", "approvals"):
        dump = str(bot.rows(f"SELECT * FROM {table}"))
        assert not any(secret in dump for secret in SECRETS), table


def test_intune_laptop_key_read_once_after_approval(tmp_path: Path, graph: GraphStandIn) -> None:
    bot = graph_bot(tmp_path, graph)
    reads = len(graph.key_reads)
    sent = text_of(bot.say("my laptop asks for a BitLocker recovery key: 7E8F9A0B", user=WONG))
    assert "LT-WONG-07" in sent and "Ho Ka Wai" in sent
    assert len(graph.key_reads) == reads  # nothing read before the approval
    shown = bot.click(_approved_run(bot), user=WONG)
    assert LAPTOP_KEY[1] in text_of(shown) and shown[0].private and shown[0].delete_after_s
    assert graph.key_reads[reads:] == [LAPTOP_KEY[0]]
    lists = graph.called("GET", r"/informationProtection/bitlocker/recoveryKeys$")
    assert lists and all(c.headers.get("ocp-client-name") == "helpdesk-bot" for c in lists)
    action, outcome, verification, reason, _ = _audit(bot)[-1]
    assert (action, outcome, verification) == ("bitlocker_key", "done", "approval")
    assert "device LT-WONG-07" in str(reason) and "entra" in str(reason)
    _nothing_kept(bot)


def test_a_registered_owner_device_counts_as_theirs(tmp_path: Path, graph: GraphStandIn) -> None:
    bot = graph_bot(tmp_path, graph)
    sent = text_of(bot.say("BitLocker recovery key 6A7B8C9D", user=WONG))
    assert "SURFACE-WONG" in sent and "Ho Ka Wai" in sent
    assert _audit(bot)[-1][:2] == ("bitlocker_key", "requested")


def test_entra_refuses_someone_elses_device_a_server_and_an_unknown_id(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    reads = len(graph.key_reads)
    said = text_of(bot.say("BitLocker recovery key 2B3C4D5E", user=WONG))
    assert "LT-HO-01" in said and "isn't recorded as your device" in said
    assert str(_audit(bot)[-1][3]).startswith("not_owner: device LT-HO-01")
    said = text_of(bot.say("BitLocker recovery key 5C6D7E8F", user=WONG))
    assert "SRV-AZ-01 is a server" in said
    assert str(_audit(bot)[-1][3]).startswith("server: device SRV-AZ-01")
    said = text_of(bot.say("BitLocker recovery key 0BADF00D", user=WONG))
    assert "can't find a recovery key with the ID 0BADF00D" in said
    assert len(graph.key_reads) == reads
    alerts = str(bot.rows("SELECT payload_json FROM outbox WHERE kind = 'security_alert'"))
    assert "LT-HO-01" in alerts and "SRV-AZ-01" in alerts
    _nothing_kept(bot)


def test_throttled_lists_are_waited_out_and_a_503_on_the_key_opens_a_ticket(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    graph.fail_next("GET", r"/bitlocker/recoveryKeys$", status=429, retry_after=1)
    sent = text_of(bot.say("BitLocker recovery key 7E8F9A0B", user=WONG))
    assert "LT-WONG-07" in sent  # the 429 was retried after Retry-After
    run = _approved_run(bot)
    graph.fail_next("GET", r"/bitlocker/recoveryKeys/[^/]+$", status=503, retry_after=0, times=4)
    said = text_of(bot.click(run, user=WONG))
    tickets = bot.rows("SELECT id, description FROM tickets")
    assert len(tickets) == 1 and "BitLocker recovery key" in str(tickets[0][1])
    action, outcome, _, reason, ticket = _audit(bot)[-1]
    assert (action, outcome) == ("bitlocker_key", "failed") and "Unavailable" in str(reason)
    assert ticket and str(ticket) in said and LAPTOP_KEY[1] not in said
    _nothing_kept(bot)


def test_without_the_app_only_grant_the_person_gets_a_ticket(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    """A tenant that cannot grant BitlockerKey.Read.All to the app: Graph answers 403, the
    bot opens a ticket for the service desk (who can read the key in the Entra admin
    centre) and audits the failure; it is not mistaken for a protected account."""
    bot = graph_bot(tmp_path, graph)
    graph.bitlocker_app_only = False
    try:
        said = text_of(bot.say("BitLocker recovery key 7E8F9A0B", user=WONG))
    finally:
        graph.bitlocker_app_only = True
    tickets = bot.rows("SELECT id FROM tickets")
    action, outcome, _, reason, ticket = _audit(bot)[-1]
    assert len(tickets) == 1 and ticket and str(ticket) in said
    assert (action, outcome, reason) == ("bitlocker_key", "failed", "PolicyViolation")
    assert "security_alert" not in str(bot.rows("SELECT kind FROM outbox"))


def test_hybrid_directory_finds_ad_keys_even_when_entra_refuses_the_app(
    tmp_path: Path, graph: GraphStandIn, dc: DomainController
) -> None:
    """backend = "ldap+graph": chan.taiman's laptop key is in AD; a tenant that refuses the
    key endpoints to the app does not hide it, and someone else's AD key is still refused."""
    bot = BotHarness(
        tmp_path,
        backend="ldap+graph",
        env={**env_of(graph), **dc.settings()},
        extra_toml=LDAP_TOML.replace("[roles]", "[graph]\n[roles]"),
        clock=FakeClock(datetime.now(UTC)),
    )
    bot.loop = asyncio.new_event_loop()
    _OPEN.append(bot)
    graph.bitlocker_app_only = False
    try:
        sent = text_of(bot.say("BitLocker recovery key 1A2B3C4D", user=CHAN))
        assert "LT-CHAN-01" in sent and _audit(bot)[-1][:2] == ("bitlocker_key", "requested")
        refused = text_of(bot.say("BitLocker recovery key 7E8F9A0B", user=CHAN))
        assert "LT-LEE-01" in refused and "isn't recorded as your device" in refused
    finally:
        graph.bitlocker_app_only = True
        ad = getattr(bot.services.directory, "ad", None)
        if ad is not None:
            ad.close()
