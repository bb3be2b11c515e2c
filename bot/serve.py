"""`helpdesk serve`: the bot as a service, one asyncio process.

One aiohttp web server on HELPDESK_HTTP_HOST:HELPDESK_HTTP_PORT serves
`POST /slack/events` (Slack events, slash commands, interactivity, shortcuts; signed)
and `GET /healthz`. With SLACK_APP_TOKEN set, Slack Socket Mode runs too (no public
URL needed). Both feed the same slack-bolt `AsyncApp`, whose Web API client shares
one aiohttp session. Beside them run the background jobs: the inbox workers
(`bot.inbox`: each acknowledged message through the engine, its replies into the
outbox), the outbox worker (woken after every message, else every second), the SLA scan
(every 30 s) and the deletion of expired secret messages (every 5 s).

SIGTERM or SIGINT stops it in this order: stop accepting (HTTP answers 503 with
Retry-After, so Slack sends the event again later; Socket Mode disconnects, so Slack
keeps what it did not get acknowledged), store what was being accepted, let the inbox
workers finish what is stored (`DRAIN_S`; the rest waits in the inbox for the next
start), deliver the outbox's due replies (`DRAIN_S`), then stop.
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

from bot.adapters.slack import SlackBot, SlackConfig
from bot.adapters.slack_transport import SlackTransport
from bot.config import Settings
from bot.engine import Engine
from bot.handlers import default_handlers
from bot.inbox import HeldSecrets, Inbox, InboxWorker, Stored
from bot.notify import OutboxWorker
from bot.reports.schedule import queue_due_handoffs, queue_weekly_report
from bot.services import build_services

log = logging.getLogger(__name__)

OUTBOX_EVERY_S = 1.0
SLA_SCAN_EVERY_S = 30.0
DELETIONS_EVERY_S = 5.0
DRAIN_S = 10.0
"""At shutdown, at most this long for the inbox workers, and as long again for the outbox."""


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


def start_inbox(slack: SlackBot, held: HeldSecrets) -> tuple[Inbox, InboxWorker]:
    """The inbox behind `slack` and its workers, started: first what the last run left
    unfinished, then each message as soon as it is stored."""
    services = slack.services
    workers: InboxWorker | None = None

    def stored(message: Stored) -> None:
        assert workers is not None
        workers.submit(message)

    inbox = Inbox(
        services.db, services.conversations, services.tickets, held, stored, services.clock
    )
    workers = InboxWorker(inbox, slack.engine, slack.wake.set)
    slack.inbox = inbox
    inbox.start()
    workers.start()
    return inbox, workers


async def serve(settings: Settings, env: Mapping[str, str], ready: Callable[[str], None]) -> None:
    """Run until SIGTERM/SIGINT. Raises `ConfigError` for a bad setting or a refused token."""
    config = SlackConfig.from_env(env, settings.slack.user_cache_minutes, settings.slack.app_id)
    teams_config = None
    if settings.teams.app_id:  # imported only then: a Slack-only start does not pay for it
        from bot.adapters.teams import TeamsConfig, WithTeams, mount

        teams_config = TeamsConfig.from_settings(settings, env)
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
        held = HeldSecrets()
        inbox, workers = start_inbox(slack, held)
        app = web_app(slack)
        teams = None
        if teams_config is not None:
            teams = mount(app, teams_config, engine, session, inbox, held)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
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
        transport = SlackTransport(slack, held)
        worker = OutboxWorker(
            services.db,
            WithTeams(transport, teams.transport) if teams else transport,
            services.clock,
            inbox.given_up,
        )

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
        if teams:
            jobs.append(asyncio.create_task(_every(DELETIONS_EVERY_S, teams.transport.delete_due)))
        ready(
            f"helpdesk serve: listening on http://{config.host}:{port}"
            f" (POST /slack/events, GET /healthz); Socket Mode {'on' if socket_mode else 'off'};"
            f" Slack workspace {slack.team_id};"
            f" Teams {'on (POST /api/messages)' if teams else 'off'}"
        )
        try:
            await stop.wait()
        finally:
            slack.accepting = False
            if teams:
                teams.inbound.accepting = False
            if socket_mode is not None:
                await socket_mode.close_async()  # type: ignore[no-untyped-call]
            await inbox.close()
            await workers.drain(DRAIN_S)
            for job in jobs:
                job.cancel()
            await _deliver_due(worker.run_once, DRAIN_S)
            await runner.cleanup()
            services.db.conn.close()


async def _deliver_due(run_once: Callable[[], Awaitable[int]], seconds: float) -> None:
    """Deliver until nothing more goes out or time is up (what is left waits in the outbox)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        try:
            if not await asyncio.wait_for(run_once(), deadline - asyncio.get_running_loop().time()):
                return
        except TimeoutError:
            return


def run(settings: Settings, env: Mapping[str, str]) -> None:
    def ready(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    asyncio.run(serve(settings, env, ready))
