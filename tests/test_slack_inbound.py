"""Hostile requests against the real `helpdesk serve` (issue #15): malformed input gets a
4xx and one log line, odd text gets a normal reply, and the app id is pinned."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import ROOT
from tests.slack_standin import APP_ID, TEAM_ID, Call, SlackStandIn, event_body, post_signed
from tests.test_slack import DM, REQUESTER, SECRET, Served, _serve_once

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served(tmp_path_factory.mktemp("inbound"))
    yield served
    served.stop()


def _new_log(served: Served, since: int, wait: float = 0.5) -> list[str]:
    time.sleep(wait)
    return served.log[since:]


def _dropped_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "request dropped" in line]


def _payload(payload: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode({"payload": json.dumps(payload)})


def test_a_non_numeric_timestamp_is_refused_401_without_a_traceback(served: Served) -> None:
    since = len(served.log)
    body = event_body({"type": "message", "channel": DM, "user": REQUESTER, "text": "x"}, "Ev1")
    full_width = "１２３".encode().decode("latin-1")  # its UTF-8 bytes, as sent on the wire
    for timestamp in ("abc", full_width, "1e9", "-5", "", "9" * 40):
        status, _ = post_signed(
            served.url, body, SECRET, headers={"X-Slack-Request-Timestamp": timestamp}
        )
        assert status == 401, timestamp
    lines = _new_log(served, since)
    assert not any("Traceback" in line for line in lines)
    assert not _dropped_lines(lines)  # before authentication: INFO, below the default level


def test_a_body_that_is_not_utf8_is_refused_400_before_the_signature(served: Served) -> None:
    since = len(served.log)
    body = b'{"type": "event_callback", "event": {"text": "\xff\xfe"}}'
    assert post_signed(served.url, body, SECRET)[0] == 400
    assert not any("Traceback" in line for line in _new_log(served, since))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=%7Bnot+json", FORM),
        ("[1, 2, 3]", "application/json"),
        (
            _payload({"type": "block_actions", "user": {"id": REQUESTER}, "actions": []}),
            FORM,
        ),
        (
            json.dumps(
                {
                    "type": "event_callback",
                    "api_app_id": APP_ID,
                    "event": {"type": "app_mention", "channel": "CGENERAL", "text": "hi"},
                }
            ),
            "application/json",
        ),
        (
            _payload(
                {
                    "type": "view_submission",
                    "user": {"id": REQUESTER},
                    "view": {"callback_id": "hd_form", "private_metadata": "{not json"},
                }
            ),
            FORM,
        ),
        (json.dumps({"type": "event_callback", "event_id": "Ev", "event": []}), "application/json"),
        ("command=%2Fhelpdesk&text=help", FORM),
        (
            json.dumps(
                {"type": "view_submission", "user": {"id": REQUESTER}, "view": {"callback_id": "x"}}
            ),
            "application/json",
        ),
    ],
    ids=[
        "payload-not-json",
        "json-array",
        "no-actions",
        "mention-without-event-id",
        "metadata-not-json",
        "event-not-an-object",
        "command-without-user",
        "view-without-type",  # found by the fuzz test: bolt reads view.type
    ],
)
def test_a_signed_malformed_body_gets_400_and_one_log_line(
    served: Served, body: str | bytes, content_type: str
) -> None:
    since = len(served.log)
    before = len(served.slack.calls)
    status, _ = post_signed(served.url, body, SECRET, content_type=content_type)
    assert status == 400
    lines = _new_log(served, since)
    assert len(_dropped_lines(lines)) == 1 and len(lines) == 1, lines
    assert "Traceback" not in lines[0] and SECRET not in lines[0]
    assert len(served.slack.calls) == before


def test_a_lone_surrogate_in_a_dm_gets_a_normal_reply(served: Served) -> None:
    before = len(served.slack.called("chat.postMessage"))
    event = {
        "type": "message",
        "channel": DM,
        "channel_type": "im",
        "user": REQUESTER,
        "text": "vpn keeps disconnecting SURROGATE",
        "ts": "1790009000.000100",
    }
    body = event_body(event, "EvSurrogate").replace("SURROGATE", "\\ud800")
    since = len(served.log)
    status, _ = post_signed(served.url, body, SECRET)
    assert status == 200
    reply = served.slack.wait_for("chat.postMessage", before + 1)[-1]
    assert reply.params["channel"] == DM and reply.params["blocks"]
    assert not any("Traceback" in line for line in _new_log(served, since))


@pytest.mark.parametrize("score", ["²", "٣", "３", "99999999999999999999999", "0"])
def test_a_rating_in_odd_digits_gets_a_normal_answer(served: Served, score: str) -> None:
    since = len(served.log)
    before = len(served.slack.called("response_url"))
    status, _ = served.command(f"rate HD-1001 {score}")
    assert status == 200
    answer = served.slack.wait_for("response_url", before + 1)[-1].params["text"]
    assert "went wrong" not in answer
    assert not any("Traceback" in line for line in _new_log(served, since))


def _click(served: Served, value: str, message: dict[str, Any]) -> tuple[int, str]:
    return served.interact(
        {
            "type": "block_actions",
            "user": {"id": REQUESTER},
            "trigger_id": f"trig.{value[-12:]}",
            "container": {"type": "message", "channel_id": DM, "message_ts": "1790000000.9"},
            "channel": {"id": DM},
            "message": message,
            "actions": [{"action_id": "hd_choice_0", "value": value, "text": {"text": "Approve"}}],
        }
    )


def test_a_huge_approval_id_in_a_button_is_refused_politely(served: Served) -> None:
    since = len(served.log)
    before = len(served.slack.called("chat.postMessage"))
    status, _ = _click(served, "@approval:approve:99999999999999999999:abc", {"text": "x"})
    assert status == 200
    answer = served.slack.wait_for("chat.postMessage", before + 1)[-1].params["text"]
    assert "approval link isn't valid" in answer
    assert not any("Traceback" in line for line in _new_log(served, since))


def test_a_tampered_clicks_message_is_shown_again_escaped(served: Served) -> None:
    tampered = "<!channel> <@UOTHER> <https://evil.example|SSO> sign in here"
    message = {
        "text": tampered,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": tampered}},
            {"type": "actions", "elements": [{"type": "button", "text": {"text": "Approve"}}]},
        ],
    }

    def invalid(call: Call) -> bool:
        return "approval link" in call.params.get("text", "")

    answered = len([c for c in served.slack.called("chat.postMessage") if invalid(c)])
    _click(served, "@approval:approve:12:abc", message)
    update = served.slack.wait_for(
        "chat.update", where=lambda c: "sign in here" in c.params.get("text", "")
    )[-1]
    shown = json.dumps(update.params)
    for raw in ("<!channel>", "<@UOTHER>", "<https://evil.example|SSO>"):
        assert raw not in shown
    assert "<" not in update.params["text"] and "@channel" in update.params["text"]
    assert not any(b["type"] == "actions" for b in update.params["blocks"])
    served.slack.wait_for(  # its answer, before the next test counts posts
        "chat.postMessage", answered + 1, where=invalid
    )


def test_an_event_for_another_app_is_dropped_with_one_log_line(served: Served) -> None:
    before = len(served.slack.called("chat.postMessage"))
    since = len(served.log)
    event = {
        "type": "message",
        "channel": DM,
        "channel_type": "im",
        "user": REQUESTER,
        "text": "vpn down",
        "ts": "1790009100.000100",
    }
    body = json.loads(event_body(event, "EvOtherApp")) | {"api_app_id": "AOTHERAPP"}
    status, _ = post_signed(served.url, json.dumps(body), SECRET)
    assert status == 200
    lines = _new_log(served, since, wait=1.0)
    assert [line for line in lines if "another app id" in line] == lines and len(lines) == 1
    assert len(served.slack.called("chat.postMessage")) == before


def test_serve_refuses_to_start_without_an_app_id(tmp_path: Path) -> None:
    slack = SlackStandIn(app_id=None).start()
    try:
        done = _serve_once(tmp_path, {"SLACK_API_URL": slack.api_url})
    finally:
        slack.stop()
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "slack.app_id" in lines[0], done.stderr


def test_serve_refuses_an_app_id_that_is_not_the_tokens(tmp_path: Path) -> None:
    config = tmp_path / "helpdesk.toml"
    config.write_text('[slack]\napp_id = "AOTHERAPP"\n', "utf-8")
    slack = SlackStandIn().start()
    try:
        done = _serve_once(
            tmp_path, {"SLACK_API_URL": slack.api_url, "HELPDESK_CONFIG": str(config)}
        )
    finally:
        slack.stop()
    assert done.returncode == 2 and "slack.app_id" in done.stderr
    assert "AOTHERAPP" in done.stderr and APP_ID in done.stderr


def test_a_configured_app_id_pins_the_app_when_auth_test_names_none(tmp_path: Path) -> None:
    config = (
        f'[directory]\ndemo_file = "{(ROOT / "data" / "demo-directory.json").as_posix()}"\n'
        f'[kb]\npath = "{(ROOT / "kb").as_posix()}"\n[slack]\napp_id = "{APP_ID}"\n'
    )
    served = Served(tmp_path, socket_mode=True, config_text=config, standin_app_id=None)
    try:
        served.slack.wait_socket()
        event = {
            "type": "message",
            "channel": DM,
            "channel_type": "im",
            "user": REQUESTER,
            "text": "printer jammed",
            "ts": "1790009200.000100",
        }
        since = len(served.log)
        other = json.loads(event_body(event, "EvSock1")) | {"api_app_id": "AOTHERAPP"}
        assert served.slack.socket_send("events_api", other)["envelope_id"]
        malformed = {"type": "event_callback", "team_id": TEAM_ID, "event": {"type": "message"}}
        assert served.slack.socket_send("events_api", malformed)["envelope_id"]
        lines = _new_log(served, since, wait=1.0)
        assert len(lines) == 2 and "another app id" in lines[0] and "event_id" in lines[1]
        served.slack.socket_send("events_api", json.loads(event_body(event, "EvSock2")))
        served.slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == DM)
        assert len(served.slack.called("chat.postMessage")) == 1
    finally:
        served.stop()
