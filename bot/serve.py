"""`helpdesk serve`: the bot as a service, one asyncio process.

One aiohttp web server on HELPDESK_HTTP_HOST:HELPDESK_HTTP_PORT serves
`POST /slack/events` (Slack events, slash commands, interactivity, shortcuts; signed)
and `GET /healthz`. With SLACK_APP_TOKEN set, Slack Socket Mode runs too (no public
URL needed). Both feed the same slack-bolt `AsyncApp`, whose Web API client shares
one aiohttp session. Beside them run the background jobs: the outbox worker (woken
after every message, else every second), the SLA scan (every 30 s) and the deletion
of expired secret messages (every 5 s). SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web

from bot.adapters.slack import SlackBot, SlackConfig, SlackTransport
from bot.config import Settings
from bot.engine import Engine
from bot.handlers import default_handlers
from bot.notify import OutboxWorker
from bot.reports.schedule import queue_due_handoffs, queue_weekly_report
from bot.services import build_services

log = logging.getLogger(__name__)

OUTBOX_EVERY_S = 1.0
SLA_SCAN_EVERY_S = 30.0
DELETIONS_EVERY_S = 5.0


async def _every(
    seconds: float, job: Callable[[], Awaitable[object]], wake: asyncio.Event | None = None
) -> None:
    """Run `job` every `seconds` (sooner when `wake` is set); a failing run is logged."""
    while True:
        try:
            await job()
        except Exception:
            log.exception("background job %s failed", getattr(job, "__name__", job))
        if wake is None:
            await asyncio.sleep(seconds)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)
        wake.clear()


def web_app(slack: SlackBot) -> web.Application:
    """The HTTP side: `POST /slack/events` and `GET /healthz` (the tests serve this too)."""
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/slack/events", slack.http)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "team": slack.team_id})

    app.router.add_get("/healthz", healthz)
    return app


async def serve(settings: Settings, env: Mapping[str, str], ready: Callable[[str], None]) -> None:
    """Run until SIGTERM/SIGINT. Raises `ConfigError` for a bad setting or a refused token."""
    config = SlackConfig.from_env(env, settings.slack.user_cache_minutes, settings.slack.app_id)
    services = build_services(settings)
    engine = Engine(services, default_handlers())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        slack = SlackBot(engine, config, session)
        await slack.start()
        slack.start_lanes()
        runner = web.AppRunner(web_app(slack), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else config.port
        socket_mode = None
        if config.app_token:
            from bot.adapters.slack_inbound import CheckedSocketModeHandler

            socket_mode = CheckedSocketModeHandler(
                slack.app, config.app_token, slack.app_id, slack.team_id
            )
            await socket_mode.connect_async()  # type: ignore[no-untyped-call]
        worker = OutboxWorker(services.db, SlackTransport(slack), services.clock)

        async def scan() -> None:
            if any(services.tickets.scan().values()):
                slack.wake.set()

        started_at = services.clock()

        async def handoffs() -> None:
            if queue_due_handoffs(services, started_at) or queue_weekly_report(
                services, started_at
            ):
                slack.wake.set()

        jobs = [
            asyncio.create_task(_every(SLA_SCAN_EVERY_S, handoffs)),
            asyncio.create_task(_every(OUTBOX_EVERY_S, worker.run_once, slack.wake)),
            asyncio.create_task(_every(SLA_SCAN_EVERY_S, scan)),
            asyncio.create_task(_every(DELETIONS_EVERY_S, slack.delete_due)),
        ]
        ready(
            f"helpdesk serve: listening on http://{config.host}:{port}"
            f" (POST /slack/events, GET /healthz); Socket Mode {'on' if socket_mode else 'off'};"
            f" Slack workspace {slack.team_id}"
        )
        try:
            await stop.wait()
        finally:
            await slack.drain()
            for job in jobs:
                job.cancel()
            if socket_mode is not None:
                await socket_mode.close_async()  # type: ignore[no-untyped-call]
            await runner.cleanup()
            services.db.conn.close()


def run(settings: Settings, env: Mapping[str, str]) -> None:
    def ready(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    asyncio.run(serve(settings, env, ready))
