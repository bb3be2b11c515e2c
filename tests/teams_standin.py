"""A stand-in for Microsoft Teams: the Bot Connector, an OpenID authority and a token endpoint.

No Teams emulator runs headless, so tests run this aiohttp server over TLS (its own CA,
`ca_file`, so the bot really validates https) on a random loopback port in a background
thread. It plays three parts:

- **the Bot Connector** (`service_url`): `POST /v3/conversations/{id}/activities` (and
  `…/activities/{aid}`, a reply), `PUT` / `DELETE …/activities/{aid}`, `POST
  /v3/conversations` (a 1:1 chat with a user) and `GET /v3/conversations/{id}/members/{mid}`
  (the member with `aadObjectId` and `userPrincipalName`). Every call needs a bearer token
  this stand-in issued, and is recorded in `calls`; `fail_next` injects a 429 (with
  Retry-After) or a 5xx.
- **the OpenID authority** that signs Teams' inbound requests: `/.well-known/openid-configuration`
  and the JWKS of its own RSA keys (`rotate_key` adds a new one the bot has not cached).
- **the token endpoint** (`token_url`) where the bot gets its outgoing token with the
  client-credentials grant (`app_id` / `APP_SECRET`).

Drivers for the other direction: `mint` makes an inbound JWT, good or forged (wrong key,
wrong audience, wrong issuer, expired, `alg: none`, another service URL); `message`,
`mention`, `submit`, `install` build activities; `post_activity` sends one to the bot.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.samba_dc import make_ca, make_server_cert

APP_ID = "00000000-0000-4000-8000-00000000b07a"
APP_SECRET = "teams-test-secret"
TENANT_ID = "11111111-1111-4111-8111-111111111111"
OTHER_TENANT = "22222222-2222-4222-8222-222222222222"
ISSUER = "https://api.botframework.com"
BOT_ID = f"28:{APP_ID}"


@dataclass
class Call:
    method: str  # "send", "typing", "reply", "update", "delete", "create", "member", "token"
    conversation: str
    activity_id: str
    body: dict[str, Any]
    token: str = ""
    at: float = field(default_factory=time.monotonic)


@dataclass
class Member:
    """A Teams user as the connector knows them."""

    id: str  # "29:…"
    aad: str  # aadObjectId
    upn: str
    name: str = ""
    locale: str = "en-US"


@dataclass
class TeamsStandIn:
    tmp: Path
    members: dict[str, Member] = field(default_factory=dict)
    app_id: str = APP_ID
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    ca_file: Path = Path()
    _keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    _kid: str = ""
    _endorsements: dict[str, list[str]] = field(default_factory=dict)
    _tokens: set[str] = field(default_factory=set)
    _failures: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> TeamsStandIn:
        ca = make_ca(self.tmp, "teams-ca")
        cert, key = make_server_cert(self.tmp, ca)
        self.ca_file = ca[0]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.rotate_key()
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._serve(context))
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="teams-standin")
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the Teams stand-in did not start")
        return self

    def stop(self) -> None:
        loop, runner = self._loop, self._runner
        if loop is None or runner is None:
            return
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._runner = None

    async def _serve(self, context: ssl.SSLContext) -> None:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._openid)
        app.router.add_get("/keys", self._jwks)
        app.router.add_post("/token", self._token)
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{cid}/activities", self._activity)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._activity)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._activity)
        app.router.add_delete("/v3/conversations/{cid}/activities/{aid}", self._activity)
        app.router.add_get("/v3/conversations/{cid}/members/{mid}", self._member)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def service_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    @property
    def metadata_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/.well-known/openid-configuration"

    @property
    def token_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/token"

    def rotate_key(self, endorsements: tuple[str, ...] = ("msteams",)) -> str:
        """A new signing key, published in the JWKS from now on (endorsed for these
        channels); tokens are signed with it."""
        kid = "key-" + secrets.token_hex(4)
        self._keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._endorsements[kid] = list(endorsements)
        self._kid = kid
        return kid

    # -- inbound tokens ------------------------------------------------------------------

    def mint(
        self,
        *,
        audience: str | None = None,
        issuer: str = ISSUER,
        expires_in: float = 600,
        service_url: str | None = None,
        forged: str = "",
    ) -> str:
        """A Bot Framework token for an inbound activity. `forged`: "wrong_key" (signed by a
        key the authority never published, under a published kid), "none" (`alg: none`)."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience or self.app_id,
            "iat": now - 5,
            "nbf": now - 5,
            "exp": int(now + expires_in),
            "serviceurl": service_url or self.service_url,
        }
        if forged == "none":
            header = {"alg": "none", "typ": "JWT", "kid": self._kid}
            parts = [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), ""]
            return ".".join(parts)
        key = self._keys[self._kid]
        if forged == "wrong_key":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self._kid})

    # -- activities ----------------------------------------------------------------------

    def _base(self, member: Member, conversation: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "id": "act-" + secrets.token_hex(6),
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "from": {"id": member.id, "name": member.name, "aadObjectId": member.aad},
            "recipient": {"id": BOT_ID, "name": "Helpdesk"},
            "conversation": conversation,
            "channelData": {"tenant": {"id": TENANT_ID}},
            "locale": member.locale,
            **extra,
        }

    def personal(self, member: Member, tenant: str = TENANT_ID) -> dict[str, Any]:
        return {"id": "a:1:" + member.id, "conversationType": "personal", "tenantId": tenant}

    def message(self, member: Member, text: str, **extra: Any) -> dict[str, Any]:
        """A message in the member's 1:1 chat with the bot."""
        return self._base(member, self.personal(member), type="message", text=text, **extra)

    def mention(
        self,
        member: Member,
        text: str,
        channel: str = "19:general@thread.tacv2",
        thread: str | None = None,
    ) -> dict[str, Any]:
        """A channel message @mentioning the bot (as Teams sends it: `<at>` markup), in a
        new thread or in `thread` (a conversation id `<channel>;messageid=<id>`). A new
        thread's first post names itself: its `messageid` is its own activity id."""
        root = str(next(self._ids) + 1700000000000)
        conversation = {
            "id": thread or f"{channel};messageid={root}",
            "conversationType": "channel",
            "tenantId": TENANT_ID,
        }
        entity = {
            "type": "mention",
            "mentioned": {"id": BOT_ID, "name": "Helpdesk"},
            "text": "<at>Helpdesk</at>",
        }
        activity = self._base(
            member,
            conversation,
            type="message",
            text=f"<at>Helpdesk</at> {text}",
            entities=[entity],
        )
        if thread is None:
            activity["id"] = root
        activity["channelData"] |= {"channel": {"id": channel}, "team": {"id": "19:team"}}
        return activity

    def execute(self, member: Member, data: dict[str, Any]) -> dict[str, Any]:
        """An `Action.Execute` click: an `adaptiveCard/action` invoke."""
        value = {"action": {"type": "Action.Execute", "verb": "hd", "data": data}}
        return self._base(
            member, self.personal(member), type="invoke", name="adaptiveCard/action", value=value
        )

    def submit(
        self, member: Member, data: dict[str, Any], reply_to: str, thread: str | None = None
    ) -> dict[str, Any]:
        """An `Action.Submit` click on a card the bot posted (`reply_to`: its activity id),
        in the 1:1 chat or on a channel post (`thread`: its conversation id)."""
        if thread is None:
            conversation = self.personal(member)
        else:
            conversation = {"id": thread, "conversationType": "channel", "tenantId": TENANT_ID}
        activity = self._base(member, conversation, type="message", value=data, replyToId=reply_to)
        if thread is not None:
            activity["channelData"]["channel"] = {"id": thread.partition(";")[0]}
        return activity

    def team_install(self, member: Member, channel: str) -> dict[str, Any]:
        """`conversationUpdate`: the app was added to a team (seen from one of its channels)."""
        conversation = {"id": channel, "conversationType": "channel", "tenantId": TENANT_ID}
        activity = self._base(
            member, conversation, type="conversationUpdate", membersAdded=[{"id": BOT_ID}]
        )
        activity["channelData"] |= {"channel": {"id": channel}, "team": {"id": "19:team"}}
        return activity

    def install(self, member: Member) -> dict[str, Any]:
        """`conversationUpdate`: the bot was added to the member's personal scope."""
        return self._base(
            member,
            self.personal(member),
            type="conversationUpdate",
            membersAdded=[{"id": BOT_ID}],
        )

    # -- what the bot did ----------------------------------------------------------------

    def fail_next(self, method: str, status: int, count: int = 1, retry_after: int = 0) -> None:
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, retry_after)] * count)

    def called(self, *methods: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method in methods]

    def wait_for(
        self,
        *methods: str,
        count: int = 1,
        timeout: float = 15.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.called(*methods) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = sorted({c.method for c in self.calls})
                raise AssertionError(f"{methods} seen {len(found)}x, wanted {count} ({seen})")
            time.sleep(0.02)

    # -- handlers ------------------------------------------------------------------------

    async def _openid(self, _: web.Request) -> web.Response:
        base = f"https://127.0.0.1:{self.port}"
        return web.json_response(
            {
                "issuer": ISSUER,
                "jwks_uri": f"{base}/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _jwks(self, _: web.Request) -> web.Response:
        keys = []
        for kid, key in self._keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            endorsed = {"endorsements": self._endorsements.get(kid, ["msteams"])}
            keys.append(jwk | {"kid": kid, "use": "sig", "alg": "RS256"} | endorsed)
        return web.json_response({"keys": keys})

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.app_id
            or form.get("client_secret") != APP_SECRET
            or form.get("scope") != "https://api.botframework.com/.default"
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = "bf-" + secrets.token_urlsafe(16)
        with self._lock:
            self._tokens.add(token)
            self.calls.append(Call("token", "", "", {}))
        return web.json_response(
            {"token_type": "Bearer", "access_token": token, "expires_in": 3600}
        )

    def _check(self, request: web.Request, method: str) -> web.Response | str:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            if token not in self._tokens:
                return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
            queued = self._failures.get(method)
            if queued:
                status, retry_after = queued.pop(0)
                headers = {"Retry-After": str(retry_after)} if retry_after else {}
                return web.json_response({"error": {"code": "x"}}, status=status, headers=headers)
        return token

    async def _activity(self, request: web.Request) -> web.Response:
        cid, aid = request.match_info["cid"], request.match_info.get("aid", "")
        method = {"POST": "reply" if aid else "send", "PUT": "update", "DELETE": "delete"}[
            request.method
        ]
        body = json.loads(await request.read() or b"{}")
        if method == "send" and body.get("type") == "typing":
            method = "typing"
        checked = self._check(request, method)
        if isinstance(checked, web.Response):
            return checked
        new_id = aid if method in ("update", "delete") else f"{next(self._ids) + 1800000000000}"
        with self._lock:
            self.calls.append(Call(method, cid, new_id, body, checked))
        return web.json_response({"id": new_id} if method != "delete" else {})

    async def _create(self, request: web.Request) -> web.Response:
        checked = self._check(request, "create")
        if isinstance(checked, web.Response):
            return checked
        body = json.loads(await request.read())
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
        if channel:  # a new thread in a channel, started by body["activity"]
            aid = f"{next(self._ids) + 1800000000000}"
            with self._lock:
                self.calls.append(Call("create", str(channel), aid, body, checked))
            return web.json_response({"id": f"{channel};messageid={aid}", "activityId": aid})
        member = str(body["members"][0]["id"])
        with self._lock:
            self.calls.append(Call("create", "", "", body, checked))
        return web.json_response({"id": "a:1:" + member})

    async def _member(self, request: web.Request) -> web.Response:
        checked = self._check(request, "member")
        if isinstance(checked, web.Response):
            return checked
        mid = request.match_info["mid"]
        found = next((m for m in self.members.values() if mid in (m.id, m.aad)), None)
        with self._lock:
            self.calls.append(Call("member", request.match_info["cid"], "", {"id": mid}, checked))
        if found is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, 404)
        return web.json_response(
            {
                "id": found.id,
                "name": found.name,
                "aadObjectId": found.aad,
                "userPrincipalName": found.upn,
                "email": found.upn,
                "tenantId": TENANT_ID,
                "userRole": "user",
            }
        )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def post_activity(url: str, activity: dict[str, Any], token: str | None) -> tuple[int, str]:
    """POST an activity to the bot's /api/messages as the Bot Connector does."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, json.dumps(activity).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()
