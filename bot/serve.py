"""`helpdesk serve`: the bot as a service, one asyncio process (`bot.server`), with the
adapters the settings and environment configure: Slack (SLACK_BOT_TOKEN,
SLACK_SIGNING_SECRET, and SLACK_APP_TOKEN for Socket Mode), Teams (`teams.app_id` and
TEAMS_APP_PASSWORD), or both. With Teams configured and no SLACK_BOT_TOKEN it serves Teams
alone; with neither it asks for Slack's token. Channel messages (the triage posts) go to
Teams when `teams.triage_channel` is set or Teams is alone, else to Slack. It runs until
SIGTERM or SIGINT, then stops in the server's order (stop accepting, store, drain, deliver)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Mapping

import aiohttp

from bot.adapters.base import Adapter
from bot.adapters.slack import SlackAdapter, SlackConfig
from bot.config import Settings
from bot.engine import Engine
from bot.handlers import default_handlers
from bot.replicas import Replica
from bot.server import Listen, Server
from bot.services import build_services
from bot.store.shelf import StoreShelf


async def serve(settings: Settings, env: Mapping[str, str], ready: Callable[[str], None]) -> None:
    """Run until SIGTERM/SIGINT. Raises `ConfigError` for a bad setting or a refused token."""
    teams_config = None
    if settings.teams.app_id:  # imported only then: a Slack-only start does not load PyJWT
        from bot.adapters.teams import TeamsConfig

        teams_config = TeamsConfig.from_settings(settings.teams, settings.directory.backend, env)
    slack_config = None
    if teams_config is None or env.get("SLACK_BOT_TOKEN", "").strip():
        slack_config = SlackConfig.from_env(
            env, settings.slack.user_cache_minutes, settings.slack.app_id
        )
    listen = Listen.from_env(env)
    replica = Replica.from_env(env, listen.port)
    services = build_services(settings)
    shelf = StoreShelf(settings.store, services.clock)  # any replica sees what one kept
    engine = Engine(services, default_handlers())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        adapters: list[Adapter] = []
        if slack_config is not None:
            adapters.append(SlackAdapter(slack_config, session, shelf))
        if teams_config is not None:
            from bot.adapters.teams import TeamsAdapter

            adapters.append(TeamsAdapter(teams_config, session, shelf))
        teams_channels = teams_config is not None and (
            slack_config is None or bool(teams_config.triage_channel)
        )
        server = Server(
            services,
            engine,
            adapters,
            channels="teams" if teams_channels else None,
            replica=replica,
        )
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
