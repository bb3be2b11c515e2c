"""Slack requests checked at the door, before slack-bolt sees them (HTTP and Socket Mode).

A request passes only if it is (1) signed with our signing secret within 5 minutes
(HTTP; the Socket Mode websocket is authenticated by the app token), (2) UTF-8 JSON or a
form the way Slack sends it, (3) of a type the bot answers, with every field the
listeners read of the type they read it as, and (4) for our app and workspace. Lone
surrogates (a JSON `"\\ud800"`) become U+FFFD, so the text can be stored and answered.

Whatever fails is `Dropped`: answered with a 4xx (200 for another app or workspace, so
Slack does not redeliver it) and logged in one line that names the reason, a phrase of
ours, never the body, a header value or the secret. Before the signature is checked the
line is INFO (hidden at the default level, so an unauthenticated flood cannot fill the
log); after it, WARNING. Nothing an outsider sends reaches a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

log = logging.getLogger(__name__)

MAX_DEPTH = 32
"""Deeper JSON is refused (Slack's payloads nest a handful of levels)."""
MAX_FORM_FIELDS = 100
MAX_BODY = 1_000_000
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class Dropped(Exception):
    """A request the bot will not act on: answered with `status`, logged once with `reason`."""

    def __init__(self, status: int, reason: str, *, signed: bool = True) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.signed = signed

    def log(self, via: str) -> None:
        level = logging.WARNING if self.signed else logging.INFO
        log.log(level, "Slack %s request dropped (%s): %s", via, self.status, self.reason)


def _malformed(reason: str) -> Dropped:
    return Dropped(400, reason)


# -- reading -----------------------------------------------------------------------------


def decoded(raw: bytes) -> str:
    """The body as text; a body that is not UTF-8 cannot be Slack's (400, before the
    signature, which is computed over text)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Dropped(400, "the body is not UTF-8", signed=False) from None


def verify(text: str, headers: Mapping[str, object], verifier: SignatureVerifier) -> None:
    """Raise `Dropped` (401) unless `text` carries a valid signature less than 5 minutes old."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not (isinstance(timestamp, str) and _TIMESTAMP.fullmatch(timestamp)) or not (
        isinstance(signature, str) and signature.isascii()
    ):
        raise Dropped(401, "no valid signature headers", signed=False)
    if not verifier.is_valid(text, timestamp, signature):
        raise Dropped(401, "bad signature or a timestamp older than 5 minutes", signed=False)


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _malformed(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise _malformed(f"{what} is not a JSON object")
    return value


def read_body(text: str, content_type: str) -> tuple[dict[str, Any], bool]:
    """The request body as bolt would parse it, and whether it came as a form."""
    if content_type == "application/json":
        return _json_object(text, "the body"), False
    if content_type != "application/x-www-form-urlencoded":
        raise Dropped(415, "neither JSON nor a form")
    try:
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise _malformed("too many form fields") from None
    body = {key: values[0] for key, values in fields.items()}
    if "payload" in body:
        return _json_object(body["payload"], "the payload"), True
    return body, True


def bolt_text(body: Mapping[str, Any], form: bool) -> str:
    """The checked body written again for bolt's parser (HTTP mode takes text)."""
    if not form:
        return json.dumps(body)
    if "command" in body:
        return urlencode(body)
    return urlencode({"payload": json.dumps(body)})


# -- shapes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Each:
    """A JSON object with any keys (a modal's block ids), each value of `shape`."""

    shape: Shape


Shape = type | dict[str, "Shape"] | list["Shape"] | tuple["Shape", ...] | Each
"""What a field must be: `str`/`bool`; an object with these fields (a name ending in
`!` is required, and a required list must not be empty); a list of one shape; one of
several shapes (a tuple); or `Each`. Fields a shape does not name are left out, so bolt
and the listeners see only what was checked."""

_TEAM: Shape = {"id": str}
_USER: Shape = {"id!": str}
_TEXT: Shape = {"type": str, "text": str}
_BLOCK: Shape = {
    "type": str,
    "block_id": str,
    "text": _TEXT,
    "fields": [_TEXT],
    "elements": [{"type": str, "text": (str, _TEXT)}],
}
_EVENT: Shape = {
    "type!": str,
    "event_id!": str,
    "team_id": str,
    "api_app_id": str,
    "event!": {
        "type!": str,
        **dict.fromkeys(("user", "channel", "text", "ts", "thread_ts", "channel_type"), str),
        **dict.fromkeys(("subtype", "bot_id", "tab", "event_ts"), str),
    },
}
_VIEW: Shape = {
    "type!": str,
    "api_app_id": str,
    "team": _TEAM,
    "user!": _USER,
    "trigger_id": str,
    "view!": {
        "id": str,
        "type!": str,  # bolt reads it (is this a workflow step?)
        "callback_id!": str,
        "private_metadata": str,
        "state": {
            "values": Each(Each({"type": str, "value": str, "selected_option": {"value": str}}))
        },
    },
}
_SHORTCUT: Shape = {
    "type!": str,
    "callback_id!": str,
    "api_app_id": str,
    "team": _TEAM,
    "user!": _USER,
    "trigger_id": str,
    "response_url": str,
    "channel": {"id": str},
    "message": {"text": str, "ts": str},
}
SHAPES: dict[str, Shape] = {
    "command": {
        **dict.fromkeys(("command!", "channel_id!", "user_id!", "text", "team_id"), str),
        **dict.fromkeys(("api_app_id", "response_url", "trigger_id"), str),
    },
    "url_verification": {"type!": str, "challenge!": str},
    "event_callback": _EVENT,
    "block_actions": {
        "type!": str,
        "api_app_id": str,
        "team": _TEAM,
        "user!": _USER,
        "trigger_id": str,
        "response_url": str,
        "container": {
            **dict.fromkeys(("type", "channel_id", "message_ts", "view_id"), str),
            "is_ephemeral": bool,
        },
        "channel": {"id": str},
        "message": {"text": str, "ts": str, "thread_ts": str, "blocks": [_BLOCK]},
        "actions!": [
            {"action_id!": str, "block_id": str, "type": str, "value": str, "text": _TEXT}
        ],
    },
    "view_submission": _VIEW,
    "view_closed": _VIEW,
    "message_action": _SHORTCUT,
    "shortcut": _SHORTCUT,
}
"""Every request the bot answers, by its `type` (`command` for a slash command)."""
VIEW_METADATA: Shape = {
    "form": str,
    "channel": str,
    "thread": str,
    "url": str,
    "eph": bool,
    "dm": bool,
}
"""A modal's private_metadata (see `slack_blocks.modal`)."""


def _fits(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def _checked(value: Any, shape: Shape, name: str, depth: int = 0) -> Any:
    """`value` as `shape` (unnamed fields left out, lone surrogates replaced), or `Dropped`."""
    if depth > MAX_DEPTH:
        raise _malformed("nested too deep")
    if isinstance(shape, tuple):
        for option in shape:
            with contextlib.suppress(Dropped):
                return _checked(value, option, name, depth)
        raise _malformed(f"{name} has an unexpected type")
    if isinstance(shape, type):
        if not _fits(value, shape):
            raise _malformed(f"{name} is not a {shape.__name__}")
        return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise _malformed(f"{name} is not a list")
        return [_checked(item, shape[0], name, depth + 1) for item in value]
    if not isinstance(value, dict):
        raise _malformed(f"{name} is not an object")
    if isinstance(shape, Each):
        return {
            _SURROGATE.sub("\ufffd", str(key)): _checked(item, shape.shape, name, depth + 1)
            for key, item in value.items()
        }
    checked = {}
    for key, inner in shape.items():
        field = key.rstrip("!")
        item = value.get(field)
        if item is not None:
            item = _checked(item, inner, field, depth + 1)
        if key.endswith("!") and item in (None, []):
            raise _malformed(f"{field} is missing")
        if item is not None:
            checked[field] = item
    return checked


def check(body: Mapping[str, Any], app_id: str, team_id: str) -> dict[str, Any]:
    """The body as its shape, if it is well formed and for our app and workspace; else
    `Dropped`."""
    if "ssl_check" in body and "command" not in body:
        raise Dropped(200, "Slack's certificate check")
    kind = body.get("type", "command" if "command" in body else None)
    if not isinstance(kind, str) or kind not in SHAPES:
        raise _malformed("not a request type the bot answers")
    checked: dict[str, Any] = _checked(body, SHAPES[kind], "the body")
    view = checked.get("view")
    if view is not None and view.get("private_metadata"):
        meta = _json_object(view["private_metadata"], "the view's metadata")
        view["private_metadata"] = json.dumps(_checked(meta, VIEW_METADATA, "the metadata"))
    app = checked.get("api_app_id")
    if app and app != app_id:
        raise Dropped(200, "for another app id")
    team = checked.get("team_id") or (checked.get("team") or {}).get("id")
    if team and team_id and team != team_id:
        raise Dropped(200, "from another workspace")
    return checked


async def checked(
    request: web.Request, verifier: SignatureVerifier, app_id: str, team_id: str
) -> AsyncBoltRequest:
    """An HTTP request, checked, as bolt's request; else `Dropped`."""
    if (request.content_length or 0) > MAX_BODY:
        raise Dropped(413, "too large", signed=False)
    text = decoded(await request.read())
    headers: dict[str, str | Sequence[str]] = {k.lower(): v for k, v in request.headers.items()}
    verify(text, headers, verifier)
    body, form = read_body(text, request.content_type)
    return AsyncBoltRequest(body=bolt_text(check(body, app_id, team_id), form), headers=headers)


async def listener_failed(error: Exception) -> None:
    """Bolt's error handler: a request no listener takes is one log line (bolt answers 404)."""
    if isinstance(error, BoltUnhandledRequestError):
        log.warning("Slack request dropped (404): no listener for it")
    else:
        log.error("a Slack listener failed", exc_info=error)


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode with the same checks as HTTP: a dropped envelope is acknowledged (so
    Slack does not send it again) and logged once, never given to bolt."""

    def __init__(self, app: AsyncApp, app_token: str, app_id: str, team_id: str) -> None:
        super().__init__(app, app_token)
        self.app_id = app_id
        self.team_id = team_id

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        try:
            if not isinstance(req.payload, dict):
                raise _malformed("the payload is not a JSON object")
            req.payload = check(req.payload, self.app_id, self.team_id)
        except Dropped as dropped:
            dropped.log("Socket Mode")
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        started = time.time()
        response = await run_async_bolt_app(self.app, req)
        if response.status != 200:
            # Refused by bolt (no listener: logged once by `SlackBot._on_error`). Acknowledged
            # all the same, or Slack would send it again; bolt would log the body instead.
            response = BoltResponse(status=200, body="")
        await send_async_response(client, req, response, started)
