"""The Teams adapter: activities → `Incoming`, `Reply` → Adaptive Cards, the outbox → Teams.

It only translates; the engine decides. Modules: `config` ([teams] + TEAMS_APP_PASSWORD),
`auth` (our own JWT check: the Agents SDK's let forged tokens through, issue 19),
`connector` (the Bot Connector REST calls and the bot's token; why no SDK is in its
docstring), `identity` (the member API's verified object id and UPN), `inbound`
(`POST /api/messages`), `cards` (Adaptive Card 1.5), `transport` (the outbox), `manifest`
(the app package). `auth` and `connector` are modules of their own because the inbound
check and the outbound calls each are one concept; the layout is otherwise Slack's.

`mount` is the one place this adapter is fitted to today's `bot.serve`: it adds the
sub-app at `/api/messages`, shares the inbox, and wraps the Slack transport so the
outbox worker sends Teams' messages here and everything else to Slack.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from aiohttp import web

from bot.adapters.teams.config import TeamsConfig
from bot.adapters.teams.connector import Connector
from bot.adapters.teams.inbound import TeamsInbound
from bot.adapters.teams.transport import TeamsTransport
from bot.engine import Engine
from bot.inbox import HeldSecrets, Inbox
from bot.notify import Outbound, Transport
from bot.store.addresses import Addresses
from bot.store.deletions import Deletions


@dataclass
class Teams:
    inbound: TeamsInbound
    transport: TeamsTransport


class WithTeams:
    """A `Transport`: Teams' messages to Teams, the rest to `other` (Slack)."""

    def __init__(self, other: Transport, teams: TeamsTransport) -> None:
        self._other = other
        self._teams = teams

    def _for(self, message: Outbound) -> Transport:
        return self._teams if self._teams.reaches(message) else self._other

    async def deliver(self, message: Outbound) -> str:
        return await self._for(message).deliver(message)

    async def was_delivered(self, message: Outbound) -> bool:
        return await self._for(message).was_delivered(message)


def mount(
    app: web.Application,
    config: TeamsConfig,
    engine: Engine,
    session: aiohttp.ClientSession,
    inbox: Inbox,
    held: HeldSecrets,
) -> Teams:
    """Teams on `app` (`POST /api/messages`), feeding `inbox`."""
    services = engine.services
    connector = Connector(config, session)
    addresses = Addresses(services.db, services.clock)
    inbound = TeamsInbound(engine, config, session, connector, addresses)
    inbound.inbox = inbox
    app.add_subapp("/api", inbound.app())
    transport = TeamsTransport(
        connector,
        addresses,
        Deletions(services.db),
        held,
        services.clock,
        tickets=services.tickets,
        triage_channel=config.triage_channel,
    )
    return Teams(inbound, transport)


__all__ = ["Teams", "TeamsConfig", "WithTeams", "mount"]
