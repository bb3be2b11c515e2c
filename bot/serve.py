"""`helpdesk serve`: the bot as a service, one asyncio process (`bot.server`), with the
adapters the environment configures: Slack (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, and
SLACK_APP_TOKEN for Socket Mode). It runs until SIGTERM or SIGINT, then stops in the
server's order (stop accepting, store, drain, deliver)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Mapping

import aiohttp

from bot.adapters.slack import SlackAdapter, SlackConfig
from bot.config import Settings
from bot.engine import Engine
from bot.handlers import default_handlers
from bot.server import Listen, Server
from bot.services import build_services


async def serve(settings: Settings, env: Mapping[str, str], ready: Callable[[str], None]) -> None:
    """Run until SIGTERM/SIGINT. Raises `ConfigError` for a bad setting or a refused token."""
    config = SlackConfig.from_env(env, settings.slack.user_cache_minutes, settings.slack.app_id)
    listen = Listen.from_env(env)
    services = build_services(settings)
    engine = Engine(services, default_handlers())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        server = Server(services, engine, [SlackAdapter(config, session)])
        try:
            port = await server.start(listen)
            ready(
                f"helpdesk serve: listening on http://{listen.host}:{port} (GET /healthz);"
                f" {server.describe()}"
            )
            await stop.wait()
        finally:
            await server.stop()
            services.db.conn.close()


def run(settings: Settings, env: Mapping[str, str]) -> None:
    def ready(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    asyncio.run(serve(settings, env, ready))
