"""`helpdesk serve`: the bot as a service (`bot.server`), with the adapters the settings
and environment configure: Slack (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, and
SLACK_APP_TOKEN for Socket Mode), Teams (`teams.app_id` and
TEAMS_APP_PASSWORD), or both. With Teams configured and no SLACK_BOT_TOKEN it serves Teams
alone; with neither it asks for Slack's token. Channel messages (the triage posts) go to
Teams when `teams.triage_channel` is set or Teams is alone, else to Slack. It runs until
SIGTERM or SIGINT, then stops in the server's order (stop accepting, store, drain, deliver).

The engine runs in its own process (`bot.inbox.engine_process`) when
HELPDESK_ENGINE_PROCESS says so (`auto`, the default: on a machine with more than one
core), else on a thread. That process builds the same adapters' transports from the same
settings (`transports`) and sends channel messages to the same platform."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from bot.adapters.base import Adapter, Shelf
from bot.adapters.slack import SlackAdapter, SlackConfig
from bot.config import Settings
from bot.engine import Engine
from bot.errors import ConfigError
from bot.handlers import default_handlers
from bot.outbox.transport import Transport
from bot.replicas import Replica
from bot.server import EngineRecipe, Listen, Server
from bot.services import build_services
from bot.store.shelf import StoreShelf

if TYPE_CHECKING:
    from bot.adapters.teams import TeamsConfig


@dataclass(frozen=True)
class Platforms:
    """The adapters the settings and environment configure, checked."""

    slack: SlackConfig | None
    teams: TeamsConfig | None

    @classmethod
    def configured(cls, settings: Settings, env: Mapping[str, str]) -> Platforms:
        """Teams with `teams.app_id`; Slack with SLACK_BOT_TOKEN, or when Teams is off (then
        its missing token is the `ConfigError`)."""
        teams = None
        if settings.teams.app_id:  # imported only then: a Slack-only start does not load PyJWT
            from bot.adapters.teams import TeamsConfig

            teams = TeamsConfig.from_settings(settings.teams, settings.directory.backend, env)
        slack = None
        if teams is None or env.get("SLACK_BOT_TOKEN", "").strip():
            slack = SlackConfig.from_env(
                env, settings.slack.user_cache_minutes, settings.slack.app_id
            )
        return cls(slack, teams)

    @property
    def channels(self) -> str | None:
        """Where channel messages go: Teams when it is alone or has `teams.triage_channel`,
        else None (the first adapter's, Slack)."""
        teams = self.teams
        if teams is not None and (self.slack is None or bool(teams.triage_channel)):
            return "teams"
        return None

    def adapters(self, session: aiohttp.ClientSession, shelf: Shelf) -> list[Adapter]:
        """`shelf`: the store's, so what one process (or replica) kept another finds."""
        adapters: list[Adapter] = []
        if self.slack is not None:
            adapters.append(SlackAdapter(self.slack, session, shelf))
        if self.teams is not None:
            from bot.adapters.teams import TeamsAdapter

            adapters.append(TeamsAdapter(self.teams, session, shelf))
        return adapters


def transports(
    settings: Settings, env: Mapping[str, str], session: aiohttp.ClientSession, shelf: Shelf
) -> list[Transport]:
    """Every configured adapter's transport on `session`, in the adapters' order: the
    engine's process builds its own from the same settings (no credential check: the
    serving process made it), with a shelf of its own on the same store: the connector URL
    the serving process's Teams listener learnt is there (`ServiceUrl`), as for a replica."""
    platforms = Platforms.configured(settings, env)
    return [a.make_transport(session) for a in platforms.adapters(session, shelf)]


def engine_process(env: Mapping[str, str]) -> bool:
    """HELPDESK_ENGINE_PROCESS: `auto` (default: yes with more than one core), `1`, `0`."""
    raw = env.get("HELPDESK_ENGINE_PROCESS", "").strip().lower() or "auto"
    if raw == "auto":
        return (os.cpu_count() or 1) > 1
    if raw in ("1", "0"):
        return raw == "1"
    raise ConfigError("HELPDESK_ENGINE_PROCESS", f"{raw!r} is not auto, 1 or 0")


async def serve(settings: Settings, env: Mapping[str, str], ready: Callable[[str], None]) -> None:
    """Run until SIGTERM/SIGINT. Raises `ConfigError` for a bad setting or a refused token."""
    platforms = Platforms.configured(settings, env)
    listen = Listen.from_env(env)
    replica = Replica.from_env(env, listen.port)
    recipe = EngineRecipe(settings, dict(env), transports) if engine_process(env) else None
    services = build_services(settings)
    shelf = StoreShelf(settings.store, services.clock)  # any replica sees what one kept
    engine = Engine(services, default_handlers())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        adapters = platforms.adapters(session, shelf)
        server = Server(services, engine, adapters, platforms.channels, replica, recipe)
        try:
            port = await server.start(listen)
            ready(
                f"helpdesk serve: listening on http://{listen.host}:{port} (GET /healthz);"
                f" {server.describe()}; replica {replica.id}"
            )
            await stop.wait()
        finally:
            await server.stop()
            shelf.close()
            services.db.conn.close()


def run(settings: Settings, env: Mapping[str, str]) -> None:
    def ready(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    asyncio.run(serve(settings, env, ready))
