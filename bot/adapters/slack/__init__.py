"""The Slack adapter: Slack payloads → `Incoming`, `Reply` → Block Kit, the outbox → Slack.

It only translates; the engine decides. `SlackAdapter` is what the server mounts
(`bot.adapters.base.Adapter`): its sub-application answers `POST /slack/events` (events,
slash commands, interactivity, shortcuts; signed), and with SLACK_APP_TOKEN set Slack
Socket Mode feeds the same slack-bolt app. One Web API client on the server's shared
aiohttp session; 429s on the listeners' own calls are retried after Retry-After.

Modules, as in every adapter: `config` (credentials from the environment), `identity`
(who a Slack user is), `checks` (every request verified at the door), `inbound` (the
listeners: payload → `Incoming`), `outbound` (where a reply goes, forms), `blocks`
(`Reply` → Block Kit), `transport` (the outbox's deliveries), `manifest` (the app's
manifest), `CHECKLIST.md` (what an adapter must do, each item tested).
"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.base import Core, Shelf
from bot.adapters.slack.checks import CheckedSocketModeHandler, Dropped, checked
from bot.adapters.slack.config import SlackConfig, slack_error
from bot.adapters.slack.identity import People
from bot.adapters.slack.inbound import COMMAND, SHORTCUT, SlackInbound
from bot.adapters.slack.outbound import Forms, Where
from bot.adapters.slack.transport import SlackTransport
from bot.errors import ConfigError

RATE_LIMIT_RETRIES = 3


class SlackAdapter:
    platform = "slack"
    mount = "/slack"

    def __init__(
        self,
        config: SlackConfig,
        session: aiohttp.ClientSession,
        shelf: Shelf | None = None,
    ) -> None:
        """`shelf`: where forms wait behind their buttons (default: this process's memory)."""
        self.config = config
        self.session = session
        self.client = AsyncWebClient(
            token=config.bot_token, base_url=config.api_url, session=session, timeout=15
        )
        self.client.retry_handlers.append(
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)
        )
        self.people = People(self.client, config.user_cache_s)
        self.forms = Forms(self.client) if shelf is None else Forms(self.client, shelf)
        self._verifier = SignatureVerifier(config.signing_secret)
        self.inbound: SlackInbound | None = None
        self.team_id = ""
        self.app_id = ""
        self.accepting = True
        """False once shutting down: a request is then refused (503) and Slack sends it again."""
        self._socket: CheckedSocketModeHandler | None = None

    def make_transport(self, session: aiohttp.ClientSession) -> SlackTransport:
        return SlackTransport(self.config, session, self.forms)

    async def check_token(self) -> None:
        """Check the token with `auth.test`; learn our workspace, bot user and app id."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            raise ConfigError("SLACK_BOT_TOKEN", f"Slack refused it ({slack_error(exc)})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConfigError(
                "SLACK_API_URL", f"cannot reach {self.config.api_url} ({type(exc).__name__})"
            ) from None
        self.team_id = str(auth.get("team_id") or "")
        self.people.bot_user = str(auth.get("user_id") or "")
        named, configured = str(auth.get("app_id") or ""), self.config.app_id
        if configured and named and configured != named:
            raise ConfigError("slack.app_id", f"is {configured} but the token is app {named}")
        self.app_id = configured or named
        if not self.app_id:
            raise ConfigError(
                "slack.app_id",
                "is not set and auth.test names no app: set it to the App ID (Basic Information)",
            )

    async def start(self, core: Core) -> None:
        await self.check_token()
        self.inbound = SlackInbound(
            self.client, self.config.signing_secret, self.people, self.forms, core
        )
        if self.config.app_token:
            self._socket = CheckedSocketModeHandler(
                self.inbound.app, self.config.app_token, self.app_id, self.team_id
            )
            await self._socket.connect_async()  # type: ignore[no-untyped-call]

    def sub_app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/events", self.http)
        return app

    async def http(self, request: web.Request) -> web.StreamResponse:
        """POST /slack/events: events, slash commands, interactivity and shortcuts."""
        if not self.accepting or self.inbound is None:
            return web.Response(status=503, headers={"Retry-After": "5"})
        try:
            bolt_request = await checked(request, self._verifier, self.app_id, self.team_id)
        except Dropped as dropped:
            dropped.log("HTTP")
            return web.Response(status=dropped.status)
        return await to_aiohttp_response(await self.inbound.app.async_dispatch(bolt_request))

    async def stop_accepting(self) -> None:
        """Answer 503 from now on; Socket Mode disconnects (Slack keeps what it did not get
        acknowledged)."""
        self.accepting = False
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]

    def describe(self) -> str:
        socket = "on" if self._socket else "off"
        return f"Slack: POST {self.mount}/events, Socket Mode {socket}, workspace {self.team_id}"


__all__ = [
    "COMMAND",
    "SHORTCUT",
    "SlackAdapter",
    "SlackConfig",
    "SlackTransport",
    "Where",
]
