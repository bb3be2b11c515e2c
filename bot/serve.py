"""`helpdesk serve`: the bot as a service (`bot.server`), with the adapters the
environment configures: Slack (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, and SLACK_APP_TOKEN
for Socket Mode). The engine runs in its own process (`bot.inbox.engine_process`) when
HELPDESK_ENGINE_PROCESS says so (`auto`, the default: on a machine with more than one
core), else on a thread. It runs until SIGTERM or SIGINT, then stops in the server's order
(stop accepting, store, drain, deliver)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Mapping

import aiohttp

from bot.adapters.slack import SlackAdapter, SlackConfig
from bot.config import Settings
from bot.engine import Engine
from bot.errors import ConfigError
from bot.handlers import default_handlers
from bot.outbox.transport import Transport
from bot.server import EngineRecipe, Listen, Server
from bot.services import build_services


def transports(
    settings: Settings, env: Mapping[str, str], session: aiohttp.ClientSession
) -> list[Transport]:
    """Every configured adapter's transport on `session`: the engine's process builds its
    own from the same settings (no credential check: the serving process made it)."""
    config = SlackConfig.from_env(env, settings.slack.user_cache_minutes, settings.slack.app_id)
    return [SlackAdapter(config, session).make_transport(session)]


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
        recipe = EngineRecipe(settings, dict(env), transports) if engine_process(env) else None
        server = Server(services, engine, [SlackAdapter(config, session)], recipe)
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
