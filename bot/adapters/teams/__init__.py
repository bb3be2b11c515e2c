"""The Teams adapter: activities → `Incoming`, `Reply` → Adaptive Cards, the outbox → Teams.

It only translates; the engine decides. `TeamsAdapter` is what the server mounts
(`bot.adapters.base.Adapter`): its sub-application answers `POST /api/messages` (every
activity; bearer token checked by us). One connector on the server's shared aiohttp
session for the listener's own calls (member lookups, the typing indicator, the welcome);
the outbox's transport has its own on the outbox's session.

Modules, as in every adapter (Slack's names where the concept is the same): `config`
([teams] + TEAMS_APP_PASSWORD), `identity` (the member API's verified object id and UPN),
`auth` (the checks at the door: our own JWT check, as the Agents SDK's let forged tokens
through, issue 19; Slack's is `checks`), `inbound` (activity → `Incoming`), `cards`
(`Reply` → Adaptive Card 1.5; Slack's `blocks`), `transport` (the outbox's deliveries and
the reply's `Route`; Slack's `outbound` + `transport`), `manifest` (the app package),
`connector` (the Bot Connector REST calls and the bot's token; why no SDK is in its
docstring), `CHECKLIST.md` (what an adapter must do, each item tested).
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.adapters.base import Core
from bot.adapters.teams.config import TeamsConfig
from bot.adapters.teams.connector import Connector
from bot.adapters.teams.inbound import TeamsInbound
from bot.adapters.teams.transport import ServiceUrl, TeamsTransport
from bot.errors import ConfigError
from bot.outbox.transport import DeliveryFailed


class TeamsAdapter:
    platform = "teams"
    mount = "/api"

    def __init__(self, config: TeamsConfig, session: aiohttp.ClientSession) -> None:
        self.config = config
        self.session = session
        self.connector = Connector(config, session)
        self.service_url = ServiceUrl(config.default_service_url)
        self.inbound: TeamsInbound | None = None
        self.accepting = True
        """False once shutting down: a request is then refused (503) and Teams sends it again."""

    def make_transport(self, session: aiohttp.ClientSession) -> TeamsTransport:
        return TeamsTransport(self.config, session, self.service_url)

    async def check_token(self) -> None:
        """Get the bot's own token from the authority (client credentials): the app id and
        secret are right and the authority answers. Raises `ConfigError`."""
        if self.config.anonymous:
            return
        try:
            await self.connector.token()
        except DeliveryFailed as failed:
            where = "TEAMS_APP_PASSWORD" if failed.permanent else "teams.token_url"
            raise ConfigError(where, f"the bot's token was refused ({failed.reason})") from None

    async def start(self, core: Core) -> None:
        await self.check_token()
        self.inbound = TeamsInbound(
            core, self.config, self.session, self.connector, self.service_url
        )

    def sub_app(self) -> web.Application:
        """Its own routes only (no middleware of it covers `/slack/events` or `/healthz`)."""
        app = web.Application(client_max_size=256 * 1024)
        app.router.add_post("/messages", self.http)
        return app

    async def http(self, request: web.Request) -> web.StreamResponse:
        """POST /api/messages: every activity Teams sends the bot."""
        if not self.accepting or self.inbound is None:
            return web.Response(status=503, headers={"Retry-After": "5"})
        return await self.inbound.http(request)

    async def stop_accepting(self) -> None:
        self.accepting = False

    def describe(self) -> str:
        return f"Teams: POST {self.mount}/messages, tenant {self.config.tenant_id}"


__all__ = ["TeamsAdapter", "TeamsConfig", "TeamsTransport"]
