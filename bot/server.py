"""The bot as a service: one aiohttp server for every platform adapter, the durable inbox
and its workers, the outbox worker and the background jobs; the shutdown order.

Each adapter (`bot.adapters.base.Adapter`) brings a sub-application, mounted at its
`mount` path (Slack `/slack` → `POST /slack/events`; Teams `/api` → `POST /api/messages`),
beside `GET /healthz` (liveness), `GET /readyz` and `GET /metrics` (`bot.ops_http`).
What it translates goes to `BotCore.accept`: the inbox stores it with its dedupe claim in
one durable commit (grouped: one `fsync` for every request that arrived meanwhile; with the
engine in its own process, waiting for the write lock without stopping the loop:
`bot.inbox.writer`), then the adapter acknowledges. That is all the serving event loop does.

The engine's side (`bot.inbox.engine_side`) runs the rest: the inbox workers take each
stored message through the engine, its replies and effects commit together; the outbox
worker renders each outbox row once (`bot.outbox.render`) and hands it to the transport
of the platform it is for (`PlatformTransports`); the jobs (outbox, SLA scan, reports,
expired secrets). Where it runs is decided here:

- **Its own process** (`bot.inbox.engine_process`, what `helpdesk serve` does on a machine
  with more than one core; HELPDESK_ENGINE_PROCESS): the engine's CPU work (the sentence
  encoder, the tokenizer, fusion: 6-11 ms a question) then never holds the GIL the
  acknowledging loop needs. Measured (README, "The message path"): on a thread, the ack
  p99 at 200 events/s followed the engine's load (91-416 ms) although the commit itself
  costs 0.1-0.4 ms. The processes share the database (WAL, busy timeouts, short
  transactions) and a wake-up pipe; the engine's counts are added into `GET /metrics`.
- **A thread** of this process (`bot.inbox.engine_thread`): one process, for tests that
  drive a server in-process and for a single-core machine, where a second process would
  only compete for the one core.

With replicas (`bot.replicas`), the serving side stores each message claimed by this
replica (`claimed_by`, `lease_until`); everything else of the replica logic -- the
heartbeat that renews the replica's, its inbox rows' and its outbox claims' leases and
takes over a dead replica's rows, the outbox claims, and the leader-only scheduler -- runs
in the engine's side, in whichever process that is. Decision: they run where the store
work they guard happens (the inbox workers and the outbox worker are there), and the
engine's process is the one that lives as long as the work: the serving process only
acknowledges. Both processes of a replica use the same `HELPDESK_REPLICA_ID`, so the rows
the serving process claims are the engine process's to process.

`stop()` (SIGTERM or SIGINT in `helpdesk serve`) goes in this order: the adapters stop
accepting (HTTP answers 503 with Retry-After, so the platform sends the event again
later; Socket Mode disconnects, so Slack keeps what it did not get acknowledged), what was
being accepted is stored, the inbox workers finish what is stored (`DRAIN_S`; the rest
waits in the inbox for the next start), the outbox delivers its due messages (`DRAIN_S`),
then the engine's process exits (or its thread stops) and the server stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web

from bot import metrics
from bot.adapters.base import Adapter
from bot.engine import Engine
from bot.errors import ConfigError
from bot.inbox import HeldSecrets, Inbox, Stored
from bot.inbox.engine_process import EngineProcess, EngineRecipe
from bot.inbox.engine_side import DRAIN_S, EngineSide, PlatformTransports, delete_secrets
from bot.inbox.engine_thread import EngineThread
from bot.inbox.writer import InboxWriter
from bot.messages import Incoming, Reply
from bot.ops_http import ops_routes
from bot.replicas import Replica
from bot.services import Services, on_connection
from bot.store import open_store
from bot.store.connection import SqliteConnection

log = logging.getLogger(__name__)

ACCEPTED_GRACE_S = 0.2
"""After the listening socket closes, how long a connection accepted just before has to
send its request and hear the 503 (`_stop_listening`)."""

__all__ = [
    "DRAIN_S",
    "BotCore",
    "EngineRecipe",
    "Listen",
    "PlatformTransports",
    "Server",
    "delete_secrets",
]


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


class BotCore:
    """What the adapters see of the bot (`bot.adapters.base.Core`): the inbox on the event
    loop; the home screen drawn on the engine's thread, or, with the engine in its own
    process, on the event loop itself (rare, and it reads the store only)."""

    def __init__(self, inbox: Inbox, engine: Engine, thread: EngineThread | None) -> None:
        self._inbox = inbox
        self._engine = engine
        self._thread = thread

    async def accept(self, msg: Incoming, route: Mapping[str, Any]) -> bool:
        stored = await self._inbox.accept(msg, route)
        if not stored:
            log.info("dropping redelivered event %s", msg.event_id)
        return stored

    async def home(self, msg: Incoming) -> Reply | None:
        if self._thread is None:
            return await self._home(msg)
        return await self._thread.call(self._home(msg))

    async def _home(self, msg: Incoming) -> Reply | None:
        events = self._engine.services.events
        if msg.event_id and not events.claim(msg.platform, msg.event_id):
            return None
        return await self._engine.home(msg)


class Server:
    """The bot's service. The event loop `start` is awaited on serves HTTP and stores what
    the adapters accept in the inbox (its own SQLite connection, `loop_services`): nothing
    else runs there, so an ack waits only for its commit. The engine's side
    (`bot.inbox.engine_side.EngineSide`: the inbox workers, the outbox worker with every
    adapter's transport, the jobs) runs in the engine's own process when a `recipe` says
    how to build it there (`helpdesk serve`), else on the engine's thread in this process
    (`EngineThread`, with `services` and their connection; the tests that drive a server
    in-process)."""

    def __init__(
        self,
        services: Services,
        engine: Engine,
        adapters: Sequence[Adapter],
        channels: str | None = None,
        replica: Replica | None = None,
        recipe: EngineRecipe | None = None,
    ) -> None:
        """`channels`: the platform channel messages go to (None: the first adapter's);
        `replica`: this process among those on the store (None: alone, `local`);
        `recipe`: how to build the engine's side in its own process (None: on a thread)."""
        self.services = services
        self.replica = replica or Replica("local")
        self.channels = channels
        self.engine = engine
        self.adapters = tuple(adapters)
        self.recipe = recipe
        self.held = HeldSecrets()
        self.thread = EngineThread()
        self.process: EngineProcess | None = None
        self.loop_services = on_connection(services, open_store(services.settings.store))
        self.inbox: Inbox | None = None
        self.side: EngineSide | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None
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

    async def _start_behind(self) -> EngineSide:
        """On the engine's thread: its side, on the engine's connection, with every
        adapter's transport on the thread's own aiohttp session."""
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        transports = [a.make_transport(self._session) for a in self.adapters]
        side = EngineSide(
            self.services, self.engine, transports, self.held, self.channels, self.replica
        )
        side.start()
        return side

    async def _start_engine(self) -> Callable[[Stored], None]:
        """The engine's side, in its process or on its thread; returns how the inbox tells
        it of a stored message."""
        if self.recipe is not None:
            process = EngineProcess(
                replace(self.recipe, channels=self.channels, replica=self.replica)
            )
            self.process = process
            await process.start()
            return lambda _: process.wake()
        self.thread.start()
        side = await self.thread.call(self._start_behind())
        self.side = side
        return lambda message: self.thread.call_soon(side.submit, message)

    async def start(self, listen: Listen | None = None) -> int:
        """Start the engine's side (workers, outbox, jobs), the adapters and the inbox;
        serve HTTP when `listen` is given. Returns the port. Raises `ConfigError` for
        refused credentials."""
        services = self.loop_services
        stored = await self._start_engine()
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
        core = BotCore(inbox, self.engine, self.thread if self.process is None else None)
        for adapter in self.adapters:
            await adapter.start(core)
            metrics.platform_contact(adapter.platform, ok=True)  # its credentials answered
        path = services.db.path
        # On SQLite the engine's process holds the write lock often: wait for it off the
        # loop's back. On PostgreSQL (no path) writers lock rows, not the store: the
        # inbox's plain transaction on the serving process's own connection waits for no one.
        writer = (
            None
            if self.process is None or path is None
            else InboxWriter(SqliteConnection.open(str(path)))
        )
        inbox.start(writer)
        if listen is not None:
            self._runner = web.AppRunner(self.web(), access_log=None, handle_signals=False)
            await self._runner.setup()
            await web.TCPSite(self._runner, listen.host, listen.port).start()
            addresses = self._runner.addresses
            self.port = addresses[0][1] if addresses else listen.port
        return self.port

    def describe(self) -> str:
        where = "engine in its own process" if self.recipe is not None else "engine on a thread"
        return "; ".join([*(adapter.describe() for adapter in self.adapters), where])

    async def _stop_behind(self) -> None:
        if self.side is not None:
            await self.side.stop()
        if self._session is not None:
            await self._session.close()

    async def stop(self) -> None:
        """Stop accepting, store, drain, deliver, stop (the order in the module docstring)."""
        for adapter in self.adapters:
            await adapter.stop_accepting()
        if self.inbox is not None:
            await self.inbox.close()
        if self.process is not None:
            await self.process.stop()
        elif self.thread.running:
            await self.thread.call(self._stop_behind())
        if self._runner is not None:
            await _stop_listening(self._runner)
        self.thread.stop()
        self.loop_services.db.conn.close()


async def _stop_listening(runner: web.AppRunner) -> None:
    """Close the listening sockets, let what was accepted just before be answered, then
    stop the server.

    Why not `runner.cleanup()` at once: it closes the sockets and, one loop turn later,
    marks every open connection closing. A connection accepted in that last moment (a
    platform sending during the drain) has a handler that has not yet asked for its
    request; aiohttp then ignores the request's bytes (the connection is closing) and
    waits for that handler for its whole shutdown timeout (60 s): the sender gets no
    answer at all, neither the 503 that makes the platform send again nor a closed
    connection. Seen with the engine in its own process, whose end (`EngineProcess.stop`)
    lets the serving loop meet a burst of connections at that moment. After the grace the
    accepted connections have been answered 503 (the adapters accept nothing any more)
    or are idle, and the cleanup closes them at once; a connection the kernel held but
    nobody accepted is reset when its socket closes, which the platform also retries."""
    for site in list(runner.sites):
        await site.stop()
    await asyncio.sleep(ACCEPTED_GRACE_S)
    await runner.cleanup()
