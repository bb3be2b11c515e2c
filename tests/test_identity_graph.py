"""Exact identity against the Graph stand-in (Entra ID): a malformed verified email never
reaches Graph, two cloud users sharing one mail are refused, a ticket keeps the Entra
object id of its requester."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.graph_standin import GraphStandIn, seed_corp
from tests.test_graph import _close_clients, graph_bot
from tests.test_identity import say_as

__all__ = ["_close_clients"]
WONG = "wong.siuling@corp.example.com"
SHARED = "team.mailbox@corp.example.com"
IDS: dict[str, str] = {}  # name -> Entra object id, as seeded


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStandIn]:
    standin = GraphStandIn(tmp_path_factory.mktemp("graph-identity")).start()
    IDS.update(seed_corp(standin))
    for upn, name in (
        ("kam.one@corp.example.com", "Kam One"),
        ("kam.two@corp.example.com", "Kam Two"),
    ):
        standin.add_user(upn, name, mail=SHARED)
    yield standin
    standin.stop()


def test_a_nul_suffixed_email_never_reaches_graph_and_is_audited(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    before = len(graph.calls)
    answer = say_as(bot, "U-hostile", WONG + "\x00", "do I have Visio?")
    assert "characters an account address can't have" in answer
    assert [c for c in graph.calls[before:] if "/users" in c.path] == []
    assert bot.rows("SELECT action, outcome, reason FROM audit_log") == [
        ("licence_check", "refused", "malformed_identity: the verified email contains U+0000")
    ]


def test_two_entra_users_sharing_a_mail_are_refused_and_audited(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    assert "More than one account" in say_as(bot, "U-team", SHARED, "reset my password")
    assert bot.rows("SELECT action, outcome, reason FROM audit_log") == [
        (
            "password_reset",
            "refused",
            "shared_address: more than one Entra user for that email",
        )
    ]
    assert bot.rows("SELECT count(*) FROM approvals") == [(0,)]


def test_a_ticket_keeps_the_entra_object_id_of_its_requester(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    say_as(bot, "U-wong", WONG, "talk to a human")
    say_as(bot, "U-wong", WONG, "Teams keeps crashing when I share my screen")
    assert "HD-1001" in say_as(bot, "U-wong", WONG, "yes")
    assert bot.rows("SELECT requester_directory_id FROM tickets") == [(IDS[WONG],)]


def _as_teams(bot: object, entra_id: str, upn: str, text: str) -> str:
    from bot.messages import Actor, Incoming
    from tests.harness import BotHarness, text_of

    assert isinstance(bot, BotHarness)
    actor = Actor("teams", entra_id, upn, entra_id=entra_id)
    return text_of(bot.send(Incoming(actor=actor, conversation_id=f"a:1:{entra_id}", text=text)))


def test_a_teams_requester_is_found_by_their_entra_object_id(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    before = len(graph.calls)
    _as_teams(bot, IDS[WONG], WONG, "talk to a human")
    _as_teams(bot, IDS[WONG], WONG, "Teams keeps crashing when I share my screen")
    assert "HD-1001" in _as_teams(bot, IDS[WONG], WONG, "yes")
    assert bot.rows("SELECT requester_directory_id FROM tickets") == [(IDS[WONG],)]
    calls = [c for c in graph.calls[before:] if "/users" in c.path]
    assert any(c.path.endswith(f"/users/{IDS[WONG]}") for c in calls)
    searched = [c for c in calls if "mail eq" in c.query.get("$filter", "")]
    assert searched == []  # found by its immutable id, never searched by address


def test_a_teams_object_id_whose_account_has_another_upn_is_refused(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    bot = graph_bot(tmp_path, graph)
    someone_else = next(i for name, i in IDS.items() if name != WONG)
    _as_teams(bot, someone_else, WONG, "do I have Visio?")
    (row,) = bot.rows("SELECT action, outcome, reason FROM audit_log")
    assert row[:2] == ("licence_check", "refused") and str(row[2]).startswith("inexact_match")
