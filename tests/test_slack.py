"""Slack end to end: the real `helpdesk serve` process against the Slack stand-in.

Signed events, slash commands, clicks, modal submissions and shortcuts go to the
bot's HTTP endpoint over loopback (and Socket Mode envelopes over a websocket); what
the bot did is read from the stand-in's record of Web API calls.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.store.database import transaction
from tests.harness import ROOT
from tests.slack_standin import (
    APP_ID,
    TEAM_ID,
    Call,
    SlackStandIn,
    event_body,
    form_body,
    interactive_body,
    post_signed,
)

SECRET = "test-signing-secret"
REQUESTER, ENGINEER = "UCHAN", "UHOKAWAI"
USERS = {
    REQUESTER: "chan.taiman@corp.example.com",
    ENGINEER: "ho.kawai@corp.example.com",
    "ULEE": "lee.kachun@corp.example.com",
}
DM = "D" + REQUESTER.lstrip("U")


class Served:
    """A running `helpdesk serve` with its stand-in."""

    def __init__(
        self,
        tmp: Path,
        socket_mode: bool = False,
        *,
        users: dict[str, str] | None = None,
        config_text: str | None = None,
        extra_env: dict[str, str] | None = None,
        standin_app_id: str | None = APP_ID,
    ) -> None:
        self.slack = SlackStandIn(users=dict(users or USERS), app_id=standin_app_id).start()
        config = tmp / "helpdesk.toml"
        config.write_text(
            config_text
            or f'[directory]\ndemo_file = "{(ROOT / "data" / "demo-directory.json").as_posix()}"\n'
            f'[kb]\npath = "{(ROOT / "kb").as_posix()}"\n',
            "utf-8",
        )
        self.data_dir = tmp / "data"
        env = {
            **os.environ,
            "HELPDESK_CONFIG": str(config),
            "HELPDESK_DATA_DIR": str(tmp / "data"),
            "HELPDESK_HTTP_PORT": "0",
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.slack.api_url,
        }
        if socket_mode:
            env["SLACK_APP_TOKEN"] = "xapp-test-token"
        env.update(extra_env or {})
        self.env = env
        self.log: list[str] = []
        self._launch()
        self._n = 0

    def _launch(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=ROOT,
            env=self.env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.port = self._wait_ready()
        self._drainer = threading.Thread(target=self._drain, args=(self.proc,), daemon=True)
        self._drainer.start()
        self.url = f"http://127.0.0.1:{self.port}/slack/events"

    def restart(self) -> None:
        """Start the process again (after it was killed or stopped), on the same store."""
        self.proc.wait(10)
        self._launch()

    def _wait_ready(self) -> int:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            found = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if found:
                return int(found.group(1))
        raise AssertionError("helpdesk serve did not start:\n" + "".join(self.log))

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for line in proc.stderr:
                self.log.append(line)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._drainer.join(10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        self.slack.stop()

    # -- drivers -----------------------------------------------------------------------

    def next_id(self) -> str:
        self._n += 1
        return f"Ev{self._n:06d}"

    def event(
        self, event: dict[str, Any], event_id: str | None = None, **kw: Any
    ) -> tuple[int, str]:
        return post_signed(self.url, event_body(event, event_id or self.next_id(), **kw), SECRET)

    def dm(self, text: str, user: str = REQUESTER, **extra: Any) -> tuple[int, str]:
        self._n += 1
        event = {
            "type": "message",
            "channel": "D" + user.lstrip("U"),
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": f"1790001000.{self._n:06d}",
            **extra,
        }
        return self.event(event)

    def command(
        self,
        text: str,
        user: str = REQUESTER,
        channel: str = "CGENERAL",
        response_url: str | None = None,
    ) -> tuple[int, str]:
        self._n += 1
        body = form_body(
            {
                "command": "/helpdesk",
                "text": text,
                "team_id": TEAM_ID,
                "channel_id": channel,
                "user_id": user,
                "response_url": response_url or self.slack.response_url(f"cmd{self._n}"),
                "trigger_id": f"trig.cmd.{self._n}",
            }
        )
        return post_signed(self.url, body, SECRET, content_type="application/x-www-form-urlencoded")

    def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        payload = {"team": {"id": TEAM_ID}, **payload}
        return post_signed(
            self.url,
            interactive_body(payload),
            SECRET,
            content_type="application/x-www-form-urlencoded",
        )

    def shortcut(self, text: str, ts: str, name: str) -> tuple[int, str]:
        """Use "Send to helpdesk" on a message in #trading; the answer goes to response `name`."""
        return self.interact(
            {
                "type": "message_action",
                "callback_id": "send_to_helpdesk",
                "trigger_id": f"trig.{name}",
                "user": {"id": REQUESTER},
                "channel": {"id": "CTRADING"},
                "message": {"text": text, "ts": ts},
                "response_url": self.slack.response_url(name),
            }
        )

    def submit(
        self, opened: Call, values: dict[str, Any], user: str = REQUESTER
    ) -> tuple[int, str]:
        """Submit the modal a `views.open` call opened, with each input's value (a text, or
        for a select the chosen option or None). Resubmitting sends the same view id, as a
        redelivery does."""
        self._n += 1
        view = opened.params["view"]
        state = {
            name: {
                "value": {"type": "plain_text_input", "value": value}
                if isinstance(value, str)
                else {"type": "static_select", "selected_option": value}
            }
            for name, value in values.items()
        }
        return self.interact(
            {
                "type": "view_submission",
                "user": {"id": user},
                "trigger_id": f"trig.submit.{self._n}",
                "view": {
                    "id": opened.response["view"]["id"],
                    "type": "modal",
                    "callback_id": view["callback_id"],
                    "private_metadata": view["private_metadata"],
                    "state": {"values": state},
                },
            }
        )

    def click(
        self, call_params: dict[str, Any], label: str, user: str = REQUESTER
    ) -> tuple[int, str]:
        """Click the button labelled `label` in a message the bot posted."""
        for block in call_params.get("blocks", []):
            for element in block.get("elements", []):
                if element.get("type") == "button" and element["text"]["text"] == label:
                    self._n += 1
                    channel = str(call_params.get("channel"))
                    return self.interact(
                        {
                            "type": "block_actions",
                            "user": {"id": user},
                            "trigger_id": f"trig.click.{self._n}",
                            "container": {
                                "type": "message",
                                "channel_id": channel,
                                "message_ts": "1790000000.000001",
                            },
                            "channel": {"id": channel},
                            "message": {
                                "text": call_params.get("text"),
                                "blocks": call_params["blocks"],
                            },
                            "response_url": self.slack.response_url(f"click{self._n}"),
                            "actions": [element],
                        }
                    )
        raise AssertionError(f"no button {label!r} in {json.dumps(call_params)[:500]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served(tmp_path_factory.mktemp("serve"))
    yield served
    served.stop()


def _to(channel: str) -> Any:
    return lambda call: call.params.get("channel") == channel


def _buttons(params: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for b in params.get("blocks", [])
        for e in b.get("elements", [])
        if e.get("type") == "button"
    ]


def test_a_response_url_off_slack_is_never_posted_to(served: Served) -> None:
    hits: list[str] = []

    class Trap(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    trap = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trap)
    thread = threading.Thread(target=trap.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{trap.server_address[1]}/hooks/steal"
        status, _ = served.command("help", response_url=url)
        assert status == 200
        answer = served.slack.wait_for("chat.postEphemeral", where=_to("CGENERAL"))[-1]
        assert "/helpdesk" in answer.params["text"]
        assert hits == []
    finally:
        trap.shutdown()
        trap.server_close()
        thread.join()


def test_the_ticket_form_opens_as_a_modal_and_its_submission_opens_one_ticket(
    served: Served,
) -> None:
    served.event({"type": "app_home_opened", "user": REQUESTER, "channel": DM, "tab": "home"})
    home = served.slack.wait_for("views.publish", where=lambda c: c.params["user_id"] == REQUESTER)[
        -1
    ].params["view"]
    button = next(
        e
        for b in home["blocks"]
        for e in b.get("elements", [])
        if e.get("text", {}).get("text") == "Talk to a person"
    )
    served.interact(
        {
            "type": "block_actions",
            "user": {"id": REQUESTER},
            "trigger_id": "trig.home.1",
            "container": {"type": "view", "view_id": "VHOME"},
            "actions": [button],
        }
    )
    opened = served.slack.wait_for(
        "views.open", where=lambda c: c.params["trigger_id"] == "trig.home.1"
    )
    view = opened[-1].params["view"]
    assert view["type"] == "modal" and [b["block_id"] for b in view["blocks"]][:2] == [
        "summary",
        "description",
    ]
    values = {
        "summary": "Scanner on 12/F jams",
        "description": "Every page since Monday",
        "category": {"value": "printing"},
        "urgency": None,
    }
    with ThreadPoolExecutor(4) as pool:  # delivered 4 times at once: one ticket
        statuses = list(pool.map(lambda _: served.submit(opened[-1], values)[0], range(4)))
    assert statuses == [200] * 4
    opened_msg = served.slack.wait_for(
        "chat.postMessage",
        where=lambda c: (
            "Scanner on 12/F jams" in c.params.get("text", "") and c.params["channel"] == DM
        ),
    )
    triage = served.slack.wait_for(
        "chat.postMessage",
        where=lambda c: (
            "Scanner on 12/F jams" in json.dumps(c.params) and c.params["channel"] != DM
        ),
    )
    time.sleep(0.5)
    assert (
        len(
            [
                c
                for c in served.slack.called("chat.postMessage")
                if "Scanner on 12/F jams" in c.params.get("text", "") and c.params["channel"] == DM
            ]
        )
        == 1
    )
    assert len(opened_msg) == 1 and len(triage) == 1
    assert triage[0].params["metadata"]["event_type"] == "helpdesk_outbox"


def test_bad_signature_and_stale_timestamp_are_refused_and_nothing_runs(served: Served) -> None:
    before = len(served.slack.calls)
    body = event_body(
        {
            "type": "message",
            "channel": DM,
            "channel_type": "im",
            "user": REQUESTER,
            "text": "hi",
            "ts": "1.1",
        },
        "EvForged",
    )
    assert post_signed(served.url, body, "wrong-secret")[0] == 401
    assert post_signed(served.url, body, SECRET, timestamp=int(time.time()) - 301)[0] == 401
    time.sleep(0.5)
    assert len(served.slack.calls) == before


def test_events_from_another_workspace_and_the_bots_own_messages_are_ignored(
    served: Served,
) -> None:
    before = len(served.slack.called("chat.postMessage"))
    served.event(
        {
            "type": "message",
            "channel": DM,
            "channel_type": "im",
            "user": REQUESTER,
            "text": "vpn",
            "ts": "2.1",
        },
        team_id="TOTHER",
    )
    served.dm("I am the bot", user="UHELPBOT")
    served.dm("a bot message", bot_id="BOTHER", subtype="bot_message")
    time.sleep(0.7)
    assert len(served.slack.called("chat.postMessage")) == before


def test_slack_markup_in_user_text_is_escaped_in_every_echo(served: Served) -> None:
    served.dm("talk to a human")
    served.slack.wait_for(
        "chat.postMessage", where=lambda c: "what do you need help with" in c.params.get("text", "")
    )
    # What Slack sends when someone types these characters: & < > as entities.
    served.dm(
        "&lt;!channel&gt; &lt;@UOTHER&gt; &lt;https://evil.example|SSO&gt; printer on 3/F is dead"
    )
    proposal = served.slack.wait_for(
        "chat.postMessage", where=lambda c: "printer on 3/F" in c.params.get("text", "")
    )[-1]
    served.click(proposal.params, "Open ticket")
    served.slack.wait_for(
        "chat.postMessage",
        where=lambda c: c.params["channel"] != DM and "printer on 3/F" in json.dumps(c.params),
    )
    echoes = [t for t in served.slack.posted_texts() if "printer on 3/F" in t]
    assert len(echoes) >= 3
    for text in echoes:
        for raw in ("<!channel>", "<@UOTHER>", "<https://evil.example|SSO>"):
            assert raw not in text
        assert "&lt;!channel&gt;" in text


def test_send_to_helpdesk_shortcut_opens_a_ticket_with_the_permalink(served: Served) -> None:
    served.shortcut("Bloomberg terminal on desk 14 frozen", "1790004000.000200", "short1")
    confirm = served.slack.wait_for(
        "response_url", where=lambda c: c.params["response_id"] == "short1"
    )[-1]
    assert confirm.params["response_type"] == "ephemeral" and "HD-" in confirm.params["text"]
    served.slack.wait_for("chat.getPermalink")


def test_triage_buttons_and_threads_mirror_comments_both_ways(served: Served) -> None:
    served.shortcut("Excel add-in missing after update", "1790004000.000300", "short2")
    triage = served.slack.wait_for(
        "chat.postMessage",
        where=lambda c: (
            "Excel add-in missing" in c.params.get("text", "") and "metadata" in c.params
        ),
    )[-1]
    served.click(triage.params, "Claim", user=ENGINEER)
    updated = served.slack.wait_for(
        "chat.update", where=lambda c: "Excel add-in missing" in c.params.get("text", "")
    )
    assert "ho.kawai" in json.dumps(updated[-1].params)
    # The engineer answers in the triage thread: the requester gets it by DM.
    posted_channel, thread_ts = triage.response["channel"], triage.response["ts"]
    served.event(
        {
            "type": "message",
            "channel": posted_channel,
            "channel_type": "channel",
            "user": ENGINEER,
            "text": "Please restart Excel and tell me if it is back",
            "ts": "1790005000.000100",
            "thread_ts": thread_ts,
        }
    )
    notice = served.slack.wait_for(
        "chat.postMessage",
        where=lambda c: "restart Excel" in c.params.get("text", "") and c.params["channel"] == DM,
    )[-1]
    # The requester answers in the notice's thread: a comment, mirrored into the triage thread.
    served.event(
        {
            "type": "message",
            "channel": DM,
            "channel_type": "im",
            "user": REQUESTER,
            "text": "Restarted, still missing",
            "ts": "1790005000.000200",
            "thread_ts": notice.response["ts"],
        }
    )
    mirrored = served.slack.wait_for(
        "chat.postMessage",
        where=lambda c: (
            "still missing" in c.params.get("text", "") and c.params.get("thread_ts") == thread_ts
        ),
    )
    assert mirrored
    # A button that needs more (escalate: to whom, why) opens a small modal.
    served.click(triage.params, "Escalate", user=ENGINEER)
    view = served.slack.wait_for("views.open", where=lambda c: "Escalate" in json.dumps(c.params))[
        -1
    ]
    served.submit(view, {"text": "Network add-in blocked by proxy"}, ENGINEER)
    served.slack.wait_for(
        "chat.update",
        where=lambda c: (
            "Excel add-in missing" in c.params.get("text", "") and "escalated" in c.params["text"]
        ),
    )


def test_socket_mode_receives_events_over_the_websocket(tmp_path: Path) -> None:
    served = Served(tmp_path, socket_mode=True)
    try:
        served.slack.wait_socket()
        opened = served.slack.wait_for("apps.connections.open")[-1]
        assert opened.token == "xapp-test-token"
        event = {
            "type": "message",
            "channel": DM,
            "channel_type": "im",
            "user": REQUESTER,
            "text": "teams camera not working",
            "ts": "1790006000.000100",
        }
        payload = json.loads(event_body(event, "EvSocket1"))
        ack = served.slack.socket_send("events_api", payload)
        assert ack["envelope_id"]
        # Socket Mode carries no retry headers: a redelivery is dropped by event id.
        served.slack.socket_send("events_api", payload)
        served.slack.wait_for("chat.postMessage", where=_to(DM))
        time.sleep(0.5)
        assert len(served.slack.called("chat.postMessage")) == 1
    finally:
        served.stop()


def test_healthz_answers(served: Served) -> None:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/healthz", timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True, "platforms": ["slack"]}


def _serve_once(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `helpdesk serve` with these settings (over valid defaults) until it exits."""
    full = {
        **os.environ,
        "HELPDESK_DATA_DIR": str(tmp_path),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "s",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xoxb-not-an-app-token"}, "SLACK_APP_TOKEN"),
        ({"HELPDESK_HTTP_PORT": "http"}, "HELPDESK_HTTP_PORT"),
        ({"SLACK_API_URL": "ftp://example"}, "SLACK_API_URL"),
    ],
)
def test_serve_with_a_missing_or_wrong_setting_says_which_in_one_line(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    done = _serve_once(tmp_path, {"SLACK_API_URL": "http://127.0.0.1:9/api/", **env})
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0], done.stderr


def test_serve_with_a_token_slack_refuses_says_so(tmp_path: Path) -> None:
    slack = SlackStandIn().start()
    slack.fail_next("auth.test", 500)
    try:
        done = _serve_once(tmp_path, {"SLACK_API_URL": slack.api_url})
    finally:
        slack.stop()
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_a_secret_goes_only_to_the_dm_and_is_deleted_when_its_time_is_up(tmp_path: Path) -> None:
    """A reply with `delete_after_s` (a temporary password) never lands in a channel, and
    its deletion survives a restart (it is scheduled in SQLite)."""
    import asyncio
    from dataclasses import asdict

    import aiohttp

    from bot.adapters.slack import SlackAdapter, SlackConfig, Where
    from bot.inbox import HeldSecrets
    from bot.messages import Recipient, Reply
    from bot.outbox.render import Renderer
    from bot.outbox.transport import REPLY
    from bot.outbox.worker import OutboxWorker
    from bot.server import delete_secrets
    from bot.services import build_services
    from bot.store.deletions import Deletions
    from tests.harness import FakeClock, make_settings

    slack = SlackStandIn(users=dict(USERS)).start()
    clock = FakeClock()
    config = SlackConfig("xoxb-test", SECRET, api_url=slack.api_url)

    async def bot_session(step: str) -> None:
        services = build_services(make_settings(tmp_path), clock)
        async with aiohttp.ClientSession() as session:
            adapter = SlackAdapter(config, session)
            await adapter.check_token()
            transport = adapter.make_transport(session)
            deletions = Deletions(services.db.conn)
            if step == "send":
                secret = Reply("Temporary password: Kx9-secret", private=True, delete_after_s=600)
                held = HeldSecrets()
                held.hold("reply:1", secret)  # the secret's outbox row holds only its route
                route = {"route": asdict(Where("CGENERAL", REQUESTER)), "secret": True}
                to = Recipient.conversation("slack", "CGENERAL", REQUESTER)
                with transaction(services.db.conn):
                    services.outbox.put("reply:1", REPLY, to, route, str(to))
                renderer = Renderer(services, held, ("slack",))
                worker = OutboxWorker(services.db, transport, renderer, clock)
                assert await worker.run_once() == 1
                assert await delete_secrets(transport, deletions, clock) == 0
            else:
                assert await delete_secrets(transport, deletions, clock) == 1
        services.db.conn.close()

    try:
        asyncio.run(bot_session("send"))
        posts = slack.called("chat.postMessage")
        assert [p.params["channel"] for p in posts] == [DM]
        assert "Kx9-secret" in json.dumps(posts[0].params["blocks"])
        assert "Kx9" not in posts[0].params["text"]  # notifications show the text: no secret
        note = slack.wait_for("chat.postEphemeral")[-1].params
        assert note["channel"] == "CGENERAL" and "Kx9" not in str(note)
        clock.advance(seconds=601)
        asyncio.run(bot_session("delete"))  # a new process: the schedule is in the store
        deleted = slack.wait_for("chat.delete")[-1].params
        assert deleted == {"channel": DM, "ts": posts[0].response["ts"]}
        assert not any(
            "Kx9" in json.dumps(c.params) for c in slack.calls if c.method != "chat.postMessage"
        )
    finally:
        slack.stop()
