"""The bot as a service: one aiohttp server for every platform adapter, the durable inbox
and its workers, the outbox worker and the background jobs; the shutdown order.

Each adapter (`bot.adapters.base.Adapter`) brings a sub-application, mounted at its
`mount` path (Slack `/slack` → `POST /slack/events`; Teams `/api` → `POST /api/messages`),
beside `GET /healthz` (liveness), `GET /readyz` and `GET /metrics` (`bot.ops_http`).
What it translates goes to `BotCore.accept`: the inbox stores it with its dedupe claim in
one durable commit (grouped: one `fsync` for every request that arrived meanwhile), then
the adapter acknowledges. That is all the serving event loop does.

The engine's thread (`bot.inbox.engine_thread`, its own event loop and SQLite connection)
runs the rest: the inbox workers take each stored message through the engine, its replies
and effects commit together; the outbox worker renders each outbox row once
(`bot.outbox.render`) and hands it to the transport of the platform it is for
(`PlatformTransports`, each adapter's transport on the thread's own aiohttp session); the
jobs: the outbox (woken after every message, else every second), the SLA scan and the
handoff and weekly reports (every 30 s), the deletion of expired secrets (every 5 s).

`stop()` (SIGTERM or SIGINT in `helpdesk serve`) goes in this order: the adapters stop
accepting (HTTP answers 503 with Retry-After, so the platform sends the event again
later; Socket Mode disconnects, so Slack keeps what it did not get acknowledged), what was
being accepted is stored, the inbox workers finish what is stored (`DRAIN_S`; the rest
waits in the inbox for the next start), the outbox delivers its due messages (`DRAIN_S`),
then the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot import metrics
from bot.adapters.base import Adapter
from bot.clock import Clock
from bot.engine import Engine
from bot.errors import ConfigError
from bot.inbox import HeldSecrets, Inbox, InboxWorker, Stored
from bot.inbox.engine_thread import EngineThread
from bot.messages import Incoming, MessageRef, Reply
from bot.ops_http import ops_routes
from bot.outbox.render import Renderer
from bot.outbox.transport import Delivery, DeliveryFailed, Transport
from bot.outbox.worker import OutboxWorker
from bot.replicas import Job, Replica, Scheduler, alive_lease
from bot.reports.schedule import queue_due_handoffs, queue_weekly_report
from bot.services import Services, on_connection
from bot.store import open_store
from bot.store.deletions import Deletions
from bot.store.leases import Leases
from bot.store.scheduled_runs import ScheduledRuns

log = logging.getLogger(__name__)

OUTBOX_EVERY_S = 1.0
DELETIONS_EVERY_S = 5.0
DRAIN_S = 10.0
"""At shutdown, at most this long for the inbox workers, and as long again for the outbox."""


@dataclass(frozen=True)
class Listen:
    """Where the server listens: HELPDESK_HTTP_HOST and HELPDESK_HTTP_PORT."""

    host: str = "127.0.0.1"
    port: int = 3000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Listen:
        host = env.get("HELPDESK_HTTP_HOST", "").strip() or "127.0.0.1"
        raw_port = env.get("HELPDESK_HTTP_PORT", "").strip() or "3000"
        if not raw_port.isdigit() or not 0 <= int(raw_port) <= 65535:
            raise ConfigError("HELPDESK_HTTP_PORT", f"{raw_port!r} is not a port (0-65535)")
        return cls(host, int(raw_port))


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


class BotCore:
    """What the adapters see of the bot (`bot.adapters.base.Core`): the inbox on the event
    loop, the home screen drawn on the engine's thread."""

    def __init__(self, inbox: Inbox, engine: Engine, thread: EngineThread) -> None:
        self._inbox = inbox
        self._engine = engine
        self._thread = thread

    async def accept(self, msg: Incoming, route: Mapping[str, Any]) -> bool:
        stored = await self._inbox.accept(msg, route)
        if not stored:
            log.info("dropping redelivered event %s", msg.event_id)
        return stored

    async def home(self, msg: Incoming) -> Reply | None:
        return await self._thread.call(self._home(msg))

    async def _home(self, msg: Incoming) -> Reply | None:
        events = self._engine.services.events
        if msg.event_id and not events.claim(msg.platform, msg.event_id):
            return None
        return await self._engine.home(msg)


class PlatformTransports:
    """The outbox's one transport over every adapter's: a message for a person or a
    conversation goes by their platform; one for a channel by `channels`' (the platform
    the desk's channels live on: Teams with `teams.triage_channel`), else the first
    adapter's; one for an email by the first adapter's."""

    def __init__(self, transports: Sequence[Transport], channels: str | None = None) -> None:
        if not transports:
            raise ValueError("no adapter to deliver with")
        self._by_platform = {t.platform: t for t in transports}
        self._first = transports[0]
        self._channels = self._by_platform.get(channels or "", self._first)
        self.platform = self._first.platform
        self.platforms = tuple(self._by_platform)

    def of(self, platform: str) -> Transport:
        return self._by_platform.get(platform, self._first)

    def _for(self, delivery: Delivery) -> Transport:
        if delivery.recipient.kind == "channel":
            return self._channels
        return self.of(delivery.recipient.platform)

    async def deliver(self, delivery: Delivery) -> str:
        return await self._for(delivery).deliver(delivery)

    async def was_delivered(self, delivery: Delivery) -> bool:
        return await self._for(delivery).was_delivered(delivery)

    async def delete(self, ref: MessageRef) -> None:
        await self._first.delete(ref)


async def delete_secrets(transport: Transport, deletions: Deletions, clock: Clock) -> int:
    """Delete the messages whose time is up (secrets, rule 5); return how many went. One the
    platform refuses stays scheduled and is tried again on the next run."""
    done = 0
    for ref in deletions.due(transport.platform, clock()):
        try:
            await transport.delete(ref)
        except DeliveryFailed as failed:
            log.warning("deleting a secret message failed: %s", failed.reason)
            continue
        deletions.done(transport.platform, ref)
        done += 1
    return done


class Server:
    """The bot's process, on two threads. The event loop `start` is awaited on serves HTTP
    and stores what the adapters accept in the inbox (its own SQLite connection,
    `loop_services`): nothing else runs there, so an ack waits only for its commit. The
    engine's thread (`EngineThread`, with `services` and their connection) runs the inbox
    workers, the outbox worker with every adapter's transport on its own aiohttp session,
    and the background jobs."""

    def __init__(
        self,
        services: Services,
        engine: Engine,
        adapters: Sequence[Adapter],
        channels: str | None = None,
        replica: Replica | None = None,
    ) -> None:
        """`channels`: the platform channel messages go to (None: the first adapter's);
        `replica`: this process among those on the store (None: alone, `local`)."""
        self.services = services
        self.replica = replica or Replica("local")
        self.scheduler: Scheduler | None = None
        self.channels = channels
        self.engine = engine
        self.adapters = tuple(adapters)
        self.held = HeldSecrets()
        self.thread = EngineThread()
        self.loop_services = on_connection(services, open_store(services.settings.store))
        self.inbox: Inbox | None = None
        self.workers: InboxWorker | None = None
        self.outbox: OutboxWorker | None = None
        self.transports: PlatformTransports | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._jobs: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    def web(self) -> web.Application:
        """Every adapter's routes under its mount path, and `GET /healthz`."""
        app = web.Application(client_max_size=1024 * 1024)
        platforms = [a.platform for a in self.adapters]

        async def healthz(_: web.Request) -> web.Response:
            return web.json_response({"ok": True, "platforms": platforms})

        app.router.add_get("/healthz", healthz)
        app.add_routes(ops_routes(self.loop_services.db))  # GET /metrics, /readyz (bot.ops_http)
        for adapter in self.adapters:
            app.add_subapp(adapter.mount, adapter.sub_app())
        return app

    async def _start_behind(self) -> InboxWorker:
        """On the engine's thread: the inbox workers (what the last run left unfinished
        first), the outbox and the jobs, on the engine's connection."""
        services = self.services
        wake = asyncio.Event()
        finisher = Inbox(
            services.db,
            services.conversations,
            services.tickets,
            self.held,
            lambda _: None,
            services.clock,
            self.replica.id,
            self.replica.lease,
        )
        replica = self.replica
        leases = Leases(services.db.conn)
        leases.acquire(alive_lease(replica.id), replica.id, services.clock(), replica.lease)
        workers = InboxWorker(finisher, self.engine, wake.set)
        workers.start()
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        transports = PlatformTransports(
            [a.make_transport(self._session) for a in self.adapters], self.channels
        )
        self.transports = transports
        renderer = Renderer(services, self.held, transports.platforms)
        outbox = OutboxWorker(
            services.db,
            transports,
            renderer,
            services.clock,
            finisher.given_up,
            replica=replica.id,
            lease=replica.lease,
        )
        self.outbox = outbox
        deletions = Deletions(services.db.conn)

        async def delete_due() -> int:
            return sum(
                [
                    await delete_secrets(transports.of(p), deletions, services.clock)
                    for p in transports.platforms
                ]
            )

        async def scan() -> None:
            if any(services.tickets.scan().values()):
                wake.set()

        started_at = services.clock()

        async def reports() -> None:
            if queue_due_handoffs(services, started_at) or queue_weekly_report(
                services, started_at
            ):
                wake.set()

        async def heartbeat() -> None:
            leases.acquire(alive_lease(replica.id), replica.id, services.clock(), replica.lease)
            outbox.renew()
            if workers.take_over():
                wake.set()

        every = replica.schedule_every
        scheduler = Scheduler(
            leases,
            ScheduledRuns(services.db.conn),
            replica,
            [
                Job("reports", every, reports),
                Job("sla_scan", every, scan),
                Job(
                    "secret_deletions", min(every, timedelta(seconds=DELETIONS_EVERY_S)), delete_due
                ),
            ],
            services.clock,
        )
        self.scheduler = scheduler
        self._jobs = [
            asyncio.create_task(_every(OUTBOX_EVERY_S, outbox.run_once, wake)),
            asyncio.create_task(_every(replica.tick_s, heartbeat)),
            asyncio.create_task(_every(replica.tick_s, scheduler.tick)),
        ]
        return workers

    async def start(self, listen: Listen | None = None) -> int:
        """Start the engine's thread (workers, outbox, jobs), the adapters and the inbox;
        serve HTTP when `listen` is given. Returns the port. Raises `ConfigError` for
        refused credentials."""
        services = self.loop_services
        self.thread.start()
        workers = await self.thread.call(self._start_behind())
        self.workers = workers

        def stored(message: Stored) -> None:
            self.thread.call_soon(workers.submit, message)

        inbox = Inbox(
            services.db,
            services.conversations,
            services.tickets,
            self.held,
            stored,
            services.clock,
            self.replica.id,
            self.replica.lease,
        )
        self.inbox = inbox
        core = BotCore(inbox, self.engine, self.thread)
        for adapter in self.adapters:
            await adapter.start(core)
            metrics.platform_contact(adapter.platform, ok=True)  # its credentials answered
        inbox.start()
        if listen is not None:
            self._runner = web.AppRunner(self.web(), access_log=None, handle_signals=False)
            await self._runner.setup()
            await web.TCPSite(self._runner, listen.host, listen.port).start()
            addresses = self._runner.addresses
            self.port = addresses[0][1] if addresses else listen.port
        return self.port

    def describe(self) -> str:
        return "; ".join(adapter.describe() for adapter in self.adapters)

    async def _stop_behind(self) -> None:
        if self.workers is not None:
            await self.workers.drain(DRAIN_S)
        for job in self._jobs:
            job.cancel()
        if self.outbox is not None:
            await _deliver_due(self.outbox.run_once, DRAIN_S)
        if self.scheduler is not None:
            self.scheduler.release()  # another replica leads at once, not after the lease
        if self._session is not None:
            await self._session.close()

    async def stop(self) -> None:
        """Stop accepting, store, drain, deliver, stop (the order in the module docstring)."""
        for adapter in self.adapters:
            await adapter.stop_accepting()
        if self.inbox is not None:
            await self.inbox.close()
        if self.thread.running:
            await self.thread.call(self._stop_behind())
        if self._runner is not None:
            await self._runner.cleanup()
        self.thread.stop()
        self.loop_services.db.conn.close()


async def _deliver_due(run_once: Callable[[], Awaitable[int]], seconds: float) -> None:
    """Deliver until nothing more goes out or time is up (what is left waits in the outbox)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        try:
            if not await asyncio.wait_for(run_once(), deadline - asyncio.get_running_loop().time()):
                return
        except TimeoutError:
            return
