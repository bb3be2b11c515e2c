"""A stand-in for Slack: its Web API, response URLs and a Socket Mode websocket, on loopback.

No maintained Slack emulator exists, so tests and the benchmark run this small aiohttp
server on a random port in a background thread, point `SLACK_API_URL` at it and read
what the bot called from `calls`. Unknown methods answer 501, so a call the stand-in
does not know fails a test loudly instead of passing silently. `fail_next` injects a
429 (with Retry-After) or a 5xx for the next calls of one method.

Drivers for the other direction live here too: `signed_headers` signs a request body
as Slack does, `post_signed` sends it to the bot, and `socket_send` pushes a Socket
Mode envelope down the websocket the bot opened and returns the bot's ack.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TEAM_ID = "T0CORP"
BOT_USER = "UHELPBOT"
BOT_ID = "BHELPBOT"
APP_ID = "AHELPDESK"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    token: str = ""
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class SlackStandIn:
    """Start with `start()`; `calls` lists every Web API call and response-URL post."""

    users: dict[str, str] = field(default_factory=dict)  # user id -> email
    app_id: str | None = APP_ID
    """What auth.test names as the app (None: no app id, as for some tokens)."""
    tokens: frozenset[str] | None = None
    """The tokens Slack knows (None: any); another is answered `invalid_auth`, as Slack does."""
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    post_latency_s: float = 0.0
    """How long `chat.postMessage` takes, after the call is recorded and before the message
    is in the channel's history (a slow Slack: what two senders of one message race in)."""
    _failures: dict[str, list[tuple[int, int, str | None]]] = field(default_factory=dict)
    _messages: list[dict[str, Any]] = field(default_factory=list)
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _acks: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _socket_ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._serve())
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="slack-standin")
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the Slack stand-in did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_get("/socket", self._socket)
        app.router.add_put("/upload/{id}", self._upload)
        app.router.add_post("/upload/{id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # -- what the bot did ----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        channel: str | None = None,
    ) -> None:
        """Fail the next `times` calls of `method` (in `channel` only, if given): HTTP
        `status` (429 with `Retry-After`), or 200 with `ok:false` (`internal_error`).
        `method` "response_url" fails posts to response URLs."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, retry_after, channel)] * times)

    def _failure(self, method: str, channel: str | None) -> tuple[int, int] | None:
        queued = self._failures.get(method) or []
        for n, (status, retry_after, only) in enumerate(queued):
            if only is None or only == channel:
                del queued[n]
                return status, retry_after
        return None

    def called(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until `method` was called `count` times (matching `where`); return those calls."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.called(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = sorted({c.method for c in self.calls})
                raise AssertionError(f"{method} called {len(found)}x, wanted {count} (saw {seen})")
            time.sleep(0.02)

    def posted_texts(self) -> list[str]:
        """Every text the bot showed (messages, ephemerals, updates, response URLs, views)."""
        texts = []
        for call in self.calls:
            if call.method in (
                "chat.postMessage",
                "chat.postEphemeral",
                "chat.update",
                "response_url",
                "views.open",
                "views.publish",
            ):
                texts.append(json.dumps(call.params, ensure_ascii=False))
        return texts

    # -- the Web API ---------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        raw = await request.read()
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            return params | dict(json.loads(raw or b"{}"))
        parsed = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
        params |= {k: v[0] for k, v in parsed.items()}
        for key in ("blocks", "view", "metadata", "files"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "").removeprefix("Bearer ")
        call = Call(method, params, time.monotonic(), auth)
        with self._lock:
            self.calls.append(call)
            failure = self._failure(method, params.get("channel"))
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": str(retry_after)} if status == 429 else {}
            body = {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
            return web.json_response(body, status=status, headers=headers)
        if self.tokens is not None and auth not in self.tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "chat.postMessage" and self.post_latency_s:
            await asyncio.sleep(self.post_latency_s)
        answer = self._answer(method, params)
        if answer is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=501)
        call.response = answer
        return web.json_response({"ok": True, **answer})

    def _channel_id(self, channel: str) -> str:
        if channel[:1] in "CDG" and channel[1:].isalnum() and channel.upper() == channel:
            return channel
        return "C" + hashlib.sha1(channel.lstrip("#").encode()).hexdigest()[:8].upper()

    def _next_ts(self) -> str:
        """Now, as Slack writes a message's ts (unique and increasing: a counter in the
        microseconds)."""
        return f"{int(time.time())}.{next(self._ts) % 1_000_000:06d}"

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any] | None:
        if method == "auth.test":
            return {
                "url": "https://corp.slack.example/",
                "team": "Corp",
                "user": "helpdesk",
                "team_id": TEAM_ID,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            } | ({"app_id": self.app_id} if self.app_id else {})
        if method == "chat.postMessage":
            channel = self._channel_id(str(p.get("channel", "")))
            ts = self._next_ts()
            self._remember(channel, p.get("thread_ts"), ts, p.get("text"), p.get("metadata"))
            return {"channel": channel, "ts": ts, "message": {"ts": ts, "text": p.get("text")}}
        if method == "chat.update":
            return {"channel": p.get("channel"), "ts": p.get("ts"), "text": p.get("text")}
        if method == "chat.postEphemeral":
            return {"message_ts": self._next_ts()}
        if method == "chat.delete":
            return {"channel": p.get("channel"), "ts": p.get("ts")}
        if method == "chat.getPermalink":
            return {
                "permalink": f"https://corp.slack.example/archives/{p.get('channel')}/p{p.get('message_ts')}"
            }
        if method == "conversations.open":
            return {"channel": {"id": "D" + str(p.get("users", "")).lstrip("U")}}
        if method == "conversations.history":
            return self._history(p, None)
        if method == "conversations.replies":
            return self._history(p, str(p.get("ts")))
        if method in ("views.open", "views.publish", "views.update"):
            return {"view": {"id": "V" + str(next(self._ts)), **(p.get("view") or {})}}
        if method == "users.info":
            user = str(p.get("user", ""))
            if user not in self.users:
                return None if not user else {"user": {"id": user, "is_bot": False, "profile": {}}}
            return {"user": self._user(user)}
        if method == "users.lookupByEmail":
            for user, email in self.users.items():
                if email == p.get("email"):
                    return {"user": self._user(user)}
            return {"ok": False, "error": "users_not_found"} | {"user": None}
        if method == "apps.connections.open":
            return {"url": f"ws://127.0.0.1:{self.port}/socket"}
        if method == "files.getUploadURLExternal":
            upload = next(self._ts)
            return {
                "upload_url": f"http://127.0.0.1:{self.port}/upload/{upload}",
                "file_id": f"F{upload}",
            }
        if method == "files.completeUploadExternal":
            return {
                "files": [{"id": f["id"], "title": f.get("title", "")} for f in p.get("files", [])]
            }
        return None

    def _user(self, user: str) -> dict[str, Any]:
        email = self.users[user]
        name = email.split("@")[0]
        return {
            "id": user,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": name.replace(".", " ").title(),
            "is_bot": False,
            "tz": "Asia/Hong_Kong",
            "profile": {"email": email, "display_name": name},
        }

    def _remember(
        self, channel: str, thread: Any, ts: str, text: Any, metadata: Any = None
    ) -> None:
        message = {"channel": channel, "thread": thread, "ts": ts, "text": text or ""}
        if metadata:
            message["metadata"] = metadata
        with self._lock:
            self._messages.append(message)

    def chatter(self, channel: str, count: int, thread: str | None = None) -> None:
        """`count` messages by people in a channel (or thread), after what is there."""
        for n in range(count):
            self._remember(self._channel_id(channel), thread, self._next_ts(), f"chatter {n}")

    def _history(self, p: dict[str, Any], thread: str | None) -> dict[str, Any]:
        """Newest first, from `oldest`, `limit` a page, paged by `cursor` as Slack does."""
        channel = self._channel_id(str(p.get("channel", "")))
        oldest = float(p.get("oldest") or 0)
        with self._lock:
            found = [
                {k: v for k, v in m.items() if k not in ("channel", "thread")}
                for m in reversed(self._messages)
                if m["channel"] == channel and m["thread"] == thread and float(m["ts"]) >= oldest
            ]
        start, limit = int(p.get("cursor") or 0), int(p.get("limit") or 100)
        more = start + limit < len(found)
        return {
            "messages": found[start : start + limit],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _response_url(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        params["response_id"] = request.match_info["id"]
        with self._lock:
            self.calls.append(Call("response_url", params, time.monotonic()))
            failure = self._failure("response_url", None)
        if failure is not None:
            return web.Response(status=failure[0], text="failed")
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self.calls.append(Call("upload", {"bytes": len(body)}, time.monotonic()))
        return web.Response(text="OK")

    # -- Socket Mode ---------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "debug_info": {"host": "standin"}}
        )
        self._socket_ready.set()
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            ack = json.loads(message.data)
            future = self._acks.pop(ack.get("envelope_id", ""), None)
            if future is not None and not future.done():
                future.set_result(ack)
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws

    def wait_socket(self, timeout: float = 10.0) -> None:
        if not self._socket_ready.wait(timeout):
            raise AssertionError("the bot never opened a Socket Mode connection")

    def socket_send(
        self, kind: str, payload: dict[str, Any], timeout: float = 5.0
    ) -> dict[str, Any]:
        """Push one envelope (`events_api`, `slash_commands`, `interactive`); return the ack."""
        assert self._loop is not None
        envelope_id = f"env-{next(self._ts)}"

        async def send() -> dict[str, Any]:
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._acks[envelope_id] = future
            envelope = {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
            }
            await self._sockets[-1].send_json(envelope)
            return await asyncio.wait_for(future, timeout)

        return asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout + 1)


# -- signed requests to the bot ----------------------------------------------------------


def signed_headers(body: str | bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:".encode() + (body.encode() if isinstance(body, str) else body)
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def post_signed(
    url: str,
    body: str | bytes,
    secret: str,
    *,
    content_type: str = "application/json",
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """POST a body signed with `secret` (the bot's signing secret, or a wrong one)."""
    all_headers = {"Content-Type": content_type, **signed_headers(body, secret, timestamp)}
    all_headers.update(headers or {})
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def event_body(event: dict[str, Any], event_id: str, team_id: str = TEAM_ID) -> str:
    return json.dumps(
        {
            "token": "unused",
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "user_id": BOT_USER, "is_bot": True}],
        }
    )


def form_body(fields: dict[str, str]) -> str:
    return urllib.parse.urlencode({"api_app_id": APP_ID, **fields})


def interactive_body(payload: dict[str, Any]) -> str:
    return urllib.parse.urlencode({"payload": json.dumps({"api_app_id": APP_ID, **payload})})
