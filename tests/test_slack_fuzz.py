"""Property: nothing anyone sends to the Slack endpoint gets a 5xx or a traceback.

The real aiohttp app (`bot.serve.web_app`) with the real Slack adapter runs on a real
loopback socket against the Slack stand-in; Hypothesis sends it requests shaped like
Slack's (events, url_verification, clicks, modal submissions and closes, shortcuts,
slash commands) with fields dropped, retyped or filled with odd text (lone surrogates,
², ٣, full-width digits, Slack markup, 20-digit ids), signed or not, stale, with odd
headers and encodings, and the same shapes as Socket Mode envelopes. Every log record
of the run is kept: none may carry a traceback, and none may come from aiohttp's
"Error handling request". The engine's work after each ack runs too, and is waited for.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.slack_standin import APP_ID, TEAM_ID, SlackStandIn, signed_headers

SECRET = "fuzz-signing-secret"
HTTP_CASES = 1800
SOCKET_CASES = 300
USERS = {"UCHAN": "chan.taiman@corp.example.com", "UHOKAWAI": "ho.kawai@corp.example.com"}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class FuzzedBot:
    """The bot's HTTP app and Socket Mode client on a loop in a background thread."""

    slack: SlackStandIn
    url: str = ""
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    statuses: list[int] = field(default_factory=list)

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        self.statuses.append(status)
        return status


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FuzzedBot, _Records]]:
    from bot.adapters.slack import SlackAdapter, SlackConfig
    from bot.engine import Engine
    from bot.handlers import default_handlers
    from bot.server import Listen, Server
    from bot.services import build_services
    from tests.harness import make_settings

    records = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.INFO)
    slack = SlackStandIn(users=dict(USERS)).start()
    bot = FuzzedBot(slack)
    thread = threading.Thread(target=bot.loop.run_forever, daemon=True, name="fuzzed-bot")
    thread.start()
    services = build_services(make_settings(Path(tmp_path_factory.mktemp("fuzz"))))
    config = SlackConfig("xoxb-fuzz", SECRET, "xapp-fuzz", api_url=slack.api_url)

    async def up() -> tuple[aiohttp.ClientSession, Server]:
        session = aiohttp.ClientSession()
        adapter = SlackAdapter(config, session)  # with an app token: Socket Mode too
        server = Server(services, Engine(services, default_handlers()), [adapter])
        port = await server.start(Listen("127.0.0.1", 0))
        bot.url = f"http://127.0.0.1:{port}/slack/events"
        return session, server

    session, server = bot.run(up())
    slack.wait_socket()
    try:
        yield bot, records
    finally:

        async def down() -> None:
            await server.stop()
            await session.close()

        bot.run(down(), 60)
        bot.loop.call_soon_threadsafe(bot.loop.stop)
        thread.join(10)
        bot.loop.close()
        services.db.conn.close()
        slack.stop()
        root.removeHandler(records)
        root.setLevel(level)


# -- what Slack sends, and what can go wrong with it ---------------------------------------

ODD = [
    "\ud800",
    "\udfff",
    "²",
    "٣",
    "３",
    "①",
    "<!channel>",
    "<@UOTHER>",
    "<https://evil.example|SSO>",
    "&lt;&amp;",
    "99999999999999999999",
    "-1",
    "0",
    "HD-1001",
    "HD-99999999999999999999",
    "",
    " ",
    "\x00",
    "\u202e",
    "密碼",
]
odd_text = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=30),
    st.lists(st.sampled_from(ODD), min_size=1, max_size=4).map(" ".join),
)
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | odd_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=6,
)
VALUES = [
    "@approval:approve:99999999999999999999:x",
    "@approval:deny:²:x",
    "@approval:approve:3:",
    "@password_reset:run:99999999999999999999",
    "@password_reset:run:٣",
    "@ticket_status:csat:1001:²",
    "@ticket_status:csat:HD-1001:３",
    "@ticket_status:csat:99999999999999999999:5",
    "@ticket_status:show:99999999999999999999",
    "@command:claim:99999999999999999999",
    "@command:escalate:x",
    "intent:unlock",
    "intent:nonexistent",
    "form:deadbeef",
    "home:en",
]
COMMANDS = [
    "rate HD-1001 ²",
    "rate HD-1001 ３",
    "rate 99999999999999999999 5",
    "claim 99999999999999999999",
    "show HD-²",
    "assign HD-1001 <@UOTHER>",
    "reply HD-1001 <!channel>",
    "kb \ud800",
    "help",
    "queue",
]


def _message_event(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": "DCHAN",
        "channel_type": "im",
        "user": "UCHAN",
        "text": text,
        "ts": "1790000000.000100",
    }


def _callback(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event_id": "Ev0",
        "event": event,
    }


def _click(value: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "api_app_id": APP_ID,
        "team": {"id": TEAM_ID},
        "user": {"id": "UCHAN"},
        "trigger_id": "trig.1",
        "container": {"type": "message", "channel_id": "DCHAN", "message_ts": "1.2"},
        "channel": {"id": "DCHAN"},
        "message": {
            "text": "<!channel> pick one",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "<@UOTHER> hi"}},
                {"type": "actions", "elements": [{"type": "button", "text": {"text": "A"}}]},
            ],
        },
        "actions": [{"action_id": "hd_choice_0", "value": value, "text": {"text": "A"}}],
    }


def _view(kind: str, metadata: str) -> dict[str, Any]:
    return {
        "type": kind,
        "api_app_id": APP_ID,
        "team": {"id": TEAM_ID},
        "user": {"id": "UCHAN"},
        "view": {
            "id": "V1",
            "callback_id": "hd_form",
            "private_metadata": metadata,
            "state": {
                "values": {
                    "text": {"value": {"type": "plain_text_input", "value": "<!channel> ²"}},
                    "category": {
                        "value": {"type": "static_select", "selected_option": {"value": "x"}}
                    },
                }
            },
        },
    }


METADATA = [
    json.dumps({"form": "text", "channel": "DCHAN", "dm": True}),
    json.dumps({"form": "@command:escalate:99999999999999999999", "eph": True}),
    json.dumps({"form": "ticket_form"}),
    "{}",
    "[]",
    "not json",
]
templates = st.one_of(
    odd_text.map(lambda t: _callback(_message_event(t))),
    odd_text.map(
        lambda t: _callback(
            {"type": "app_mention", "channel": "CGEN", "user": "UCHAN", "text": t, "ts": "1.1"}
        )
    ),
    st.just(_callback({"type": "app_home_opened", "user": "UCHAN", "tab": "home"})),
    st.just(_callback({"type": "reaction_added", "user": "UCHAN"})),
    st.just({"type": "url_verification", "challenge": "c", "token": "t"}),
    st.sampled_from(VALUES).map(_click),
    odd_text.map(_click),
    st.tuples(st.sampled_from(["view_submission", "view_closed"]), st.sampled_from(METADATA)).map(
        lambda kv: _view(*kv)
    ),
    st.just(
        {
            "type": "message_action",
            "callback_id": "send_to_helpdesk",
            "api_app_id": APP_ID,
            "team": {"id": TEAM_ID},
            "user": {"id": "UCHAN"},
            "channel": {"id": "CTRADING"},
            "message": {"text": "<!channel> frozen", "ts": "1.3"},
        }
    ),
    st.one_of(st.sampled_from(COMMANDS), odd_text).map(
        lambda text: {
            "command": "/helpdesk",
            "text": text,
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "channel_id": "CGEN",
            "user_id": "UCHAN",
            "trigger_id": "trig.2",
        }
    ),
)


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """`value` with, at any depth, fields kept, dropped, retyped or added."""
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            fate = draw(st.sampled_from(["keep"] * 12 + ["drop", "junk"]))
            if fate == "keep":
                out[key] = draw(mutated(inner, depth + 1))
            elif fate == "junk":
                out[key] = draw(junk)
        if draw(st.integers(0, 9)) == 0:
            out[draw(odd_text)] = draw(junk)
        return out
    if isinstance(value, list):
        items = [draw(mutated(inner, depth + 1)) for inner in value]
        return items[: draw(st.integers(0, len(items)))] if draw(st.booleans()) else items
    if isinstance(value, str) and draw(st.integers(0, 7)) == 0:
        return draw(odd_text)
    return value


def _unique(payload: Any, n: int) -> Any:
    """Fresh event and trigger ids, so the dedupe store does not hide the next case."""
    if isinstance(payload, dict):
        for key in ("event_id", "trigger_id"):
            if isinstance(payload.get(key), str):
                payload[key] = f"{payload[key]}-{n}"
    return payload


_SERIAL = itertools.count()
payloads = templates.flatmap(mutated).map(lambda payload: _unique(payload, next(_SERIAL)))


@st.composite
def http_requests(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """One request as it goes on the wire: body bytes and headers."""
    payload = draw(payloads)
    form = "command" in payload if isinstance(payload, dict) else False
    style = draw(st.sampled_from(["json", "json", "form", "form", "raw"]))
    if style == "json" and not form:
        text = json.dumps(payload)
        content_type = "application/json"
    elif style == "raw":
        text = draw(st.text(max_size=60))
        content_type = draw(st.sampled_from(["application/json", "text/plain", ""]))
    elif form and isinstance(payload, dict):
        text = urlencode(
            {str(k): json.dumps(v) if not isinstance(v, str) else v for k, v in payload.items()},
            errors="surrogatepass",
        )
        content_type = "application/x-www-form-urlencoded"
    else:
        text = urlencode({"payload": json.dumps(payload)}, errors="surrogatepass")
        content_type = "application/x-www-form-urlencoded"
    encoding = draw(st.sampled_from(["utf-8"] * 8 + ["utf-16", "latin-1-ish"]))
    if encoding == "utf-8":
        body = text.encode("utf-8", "surrogatepass")
    elif encoding == "utf-16":
        body = text.encode("utf-16", "surrogatepass")
    else:
        body = text.encode("utf-8", "surrogatepass") + b"\xff\xfe\xc0"
    signing = draw(st.sampled_from(["signed"] * 7 + ["wrong", "stale", "none", "odd"]))
    headers = {"Content-Type": content_type} if content_type else {}
    if signing == "signed":
        headers |= signed_headers(body, SECRET)
    elif signing == "wrong":
        headers |= signed_headers(body, "not-the-secret")
    elif signing == "stale":
        headers |= signed_headers(body, SECRET, int(time.time()) - 3600)
    elif signing == "odd":
        headers |= signed_headers(body, SECRET)
        odd = draw(st.sampled_from(["abc", "", "1e9", "-1", "9" * 40, "\xb2", "\xef\xbc\x93"]))
        headers[draw(st.sampled_from(["X-Slack-Request-Timestamp", "X-Slack-Signature"]))] = odd
    return body, headers


def _tracebacks(records: _Records) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records.records
        if r.exc_info or r.name == "aiohttp.server" or "Traceback" in r.getMessage()
    ]


def test_no_request_to_the_slack_endpoint_gets_a_5xx_or_a_traceback(
    fuzzed: tuple[FuzzedBot, _Records],
) -> None:
    bot, records = fuzzed

    @settings(
        max_examples=HTTP_CASES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=http_requests())
    def one(request: tuple[bytes, dict[str, str]]) -> None:
        body, headers = request
        assert bot.post(body, headers) < 500

    started = time.monotonic()
    one()
    _settled(bot.slack)
    took = time.monotonic() - started
    assert len(bot.statuses) >= HTTP_CASES
    assert set(bot.statuses) & {200}, "no case was accepted: the properties tested nothing"
    assert set(bot.statuses) & {400, 401}, "no case was refused"
    assert _tracebacks(records) == []
    assert took < 120
    print(f"{len(bot.statuses)} HTTP cases in {took:.1f} s:", Counter(bot.statuses))


def _settled(slack: SlackStandIn, quiet_s: float = 1.0, timeout: float = 60) -> None:
    """Wait until the work queued after the acks is done: no Web API call for `quiet_s`."""
    deadline = time.monotonic() + timeout
    seen = -1
    while len(slack.calls) != seen and time.monotonic() < deadline:
        seen = len(slack.calls)
        time.sleep(quiet_s)


def test_no_socket_mode_envelope_gets_a_traceback(fuzzed: tuple[FuzzedBot, _Records]) -> None:
    bot, records = fuzzed
    kinds = {"command": "slash_commands", "event_callback": "events_api"}

    @settings(
        max_examples=SOCKET_CASES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(payload=payloads)
    def one(payload: Any) -> None:
        kind = payload.get("type", "command") if isinstance(payload, dict) else None
        envelope = kinds.get(str(kind), "interactive")
        ack = bot.slack.socket_send(envelope, payload)
        assert ack["envelope_id"]

    one()
    _settled(bot.slack)
    assert _tracebacks(records) == []
