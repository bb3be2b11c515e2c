"""The engine in its own process, so its CPU work never holds the GIL the acknowledging
event loop needs: an ack waits for its inbox commit only.

`helpdesk serve` (`bot.server.Server` with an `EngineRecipe`) starts one child process
(multiprocessing *spawn*: a fresh interpreter, nothing inherited but the recipe) that runs
`bot.inbox.engine_side.EngineSide` with its own services, SQLite connection and aiohttp
session, and the adapters' transports built from the same settings (`EngineRecipe.
transports`). The two processes share only the store (`HELPDESK_STORE_URL` or the SQLite
file: on SQLite, WAL, one writer at a time, each connection waits up to its busy timeout,
both write in short transactions; on PostgreSQL, row locks), the replica they work for
(`EngineRecipe.replica`: the serving process stores rows claimed by it, this process
processes them and keeps their leases; `bot.server` for the decision) and two pipes:

- serving → engine, raw bytes: `w` after every inbox commit (written without blocking: a
  full pipe means a wake is already pending), `d` to drain. The engine also looks at the
  inbox every `POLL_S`, so a lost wake delays a message by that much at most.
- engine → serving, pickled: `ready` once the workers run, the engine's metric counts
  (`bot.metrics.Registry.snapshot`) every `METRICS_EVERY_S` and at the end (`drained`).
  `GET /metrics` shows the serving process's counts with the engine's added.

The engine's process starts a session of its own (`setsid`). On Linux with scheduler
autogroups (the default of most distributions) a session is a scheduling group: the CPU
is shared fairly between groups first, then between the processes of a group. In the
serving process's group, the engine's CPU-bound work took most of that group's share and
the acknowledging loop waited for the rest; in a group of its own it competes with the
machine's other work, and the serving process, which needs little CPU, gets it as soon
as it wakes. Measured at 200 events/s on the shared 2-core machine (README, "The message
path"): ack p99 see there. Where every process of a service shares one cgroup (a systemd
unit with CPU accounting), this changes nothing.

The engine's process dies with the serving one: `PR_SET_PDEATHSIG` (Linux) kills it when
its parent dies, even by SIGKILL; elsewhere it checks its parent at every look at the
inbox and exits when the wake-up pipe closes. It ignores SIGTERM and SIGINT (a terminal's
Ctrl-C or a service manager signals the whole group): the serving process tells it when
to drain. If it dies, the
serving process logs it and starts another after `RESTART_AFTER_S`; what was acknowledged
is in the inbox and is processed by the new one (a reply with a secret held in the dead
one's memory is lost, as after any crash: `bot.inbox.held`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from bot import log_redaction, logs, metrics
from bot.config import Settings
from bot.engine import Engine
from bot.handlers import default_handlers
from bot.inbox.engine_side import DRAIN_S, EngineSide
from bot.inbox.held import HeldSecrets
from bot.outbox.transport import Transport
from bot.replicas import Replica
from bot.services import build_services
from bot.store.shelf import StoreShelf

log = logging.getLogger(__name__)

POLL_S = 0.05
"""The engine looks at the inbox at least this often (and when woken)."""
METRICS_EVERY_S = 0.5
START_S = 120.0
"""How long the serving process waits for the engine's to be ready."""
RESTART_AFTER_S = 1.0
WAKE = b"w"
DRAIN = b"d"
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class EngineRecipe:
    """What the engine's process is built from (pickled to it: module-level functions)."""

    settings: Settings
    env: Mapping[str, str]
    transports: Callable[
        [Settings, Mapping[str, str], aiohttp.ClientSession, StoreShelf], Sequence[Transport]
    ]
    """Every configured adapter's transport on `session`, keeping what must outlive a
    request on the store's `shelf` (`bot.serve.transports`)."""
    channels: str | None = None
    """The platform channel messages go to (`bot.inbox.engine_side.PlatformTransports`)."""
    replica: Replica | None = None
    """The replica the engine's process works for: the serving process's (same id)."""


class EngineDied(RuntimeError):
    """The engine's process exited before it was ready."""


class EngineProcess:
    """The serving side's handle on the engine's process: start, wake, supervise, stop."""

    def __init__(self, recipe: EngineRecipe) -> None:
        self._recipe = recipe
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._wake: Connection | None = None
        self._control: Connection | None = None
        self._ready = asyncio.Event()
        self._drained = asyncio.Event()
        self._stopping = False
        self._latest: list[metrics.Family] = []
        self._retired: list[metrics.Family] = []
        self.restarts = 0
        self._restarting: asyncio.Task[None] | None = None
        metrics.REGISTRY.count_with(self.counts)

    def counts(self) -> list[metrics.Family]:
        """The engine's counts: its earlier processes' and the current one's."""
        return metrics.added_up(self._retired, self._latest)

    async def start(self) -> None:
        """Start the engine's process and wait until its workers run."""
        loop = asyncio.get_running_loop()
        self._ready.clear()
        self._drained.clear()
        engine_wake, serving_wake = self._context.Pipe(duplex=False)
        serving_control, engine_control = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_engine,
            args=(self._recipe, engine_wake, engine_control, os.getpid()),
            name="helpdesk-engine",
            daemon=True,
        )
        process.start()
        engine_wake.close()
        engine_control.close()
        self._process = process
        self._wake = serving_wake
        os.set_blocking(serving_wake.fileno(), False)
        self._control = serving_control
        loop.add_reader(serving_control.fileno(), self._heard)
        loop.add_reader(process.sentinel, self._exited)
        try:
            await asyncio.wait_for(self._ready.wait(), START_S)
        except TimeoutError:
            process.kill()
            raise EngineDied("the engine's process did not start in time") from None
        if not process.is_alive():
            raise EngineDied(f"the engine's process exited ({process.exitcode})")
        log.info("engine process %s started", process.pid)

    def wake(self) -> None:
        """New rows are in the inbox (never blocks: a full pipe already means awake)."""
        if self._wake is not None:
            with contextlib.suppress(OSError):  # BlockingIOError: a wake is pending
                os.write(self._wake.fileno(), WAKE)

    async def _tell(self, what: bytes) -> None:
        """Write `what` to the engine (waiting while its pipe is full, at most 5 s)."""
        for _ in range(500):
            if self._wake is None:
                return
            try:
                os.write(self._wake.fileno(), what)
                return
            except BlockingIOError:
                await asyncio.sleep(0.01)
            except OSError:
                return

    def _heard(self) -> None:
        control = self._control
        if control is None:
            return
        try:
            while control.poll():
                kind, payload = control.recv()
                if kind == "ready":
                    self._ready.set()
                    continue
                self._latest = payload
                metrics.REGISTRY.take_gauges(payload)
                if kind == "drained":
                    self._drained.set()
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(control.fileno())

    def _exited(self) -> None:
        loop = asyncio.get_running_loop()
        process = self._process
        loop.remove_reader(process.sentinel)
        self._heard()  # its last words
        if self._control is not None:
            loop.remove_reader(self._control.fileno())
            self._control.close()
            self._control = None
        if self._wake is not None:
            self._wake.close()
            self._wake = None
        self._retired = self.counts()
        self._latest = []
        self._ready.set()  # a start waiting for it fails
        self._drained.set()
        if self._stopping:
            return
        log.error(
            "engine process %s exited (%s); starting another: the inbox keeps its messages",
            process.pid,
            process.exitcode,
        )
        self.restarts += 1
        self._restarting = loop.create_task(self._restart())

    async def _restart(self) -> None:
        while not self._stopping:
            await asyncio.sleep(RESTART_AFTER_S)
            if self._stopping:
                return
            try:
                await self.start()
                return
            except EngineDied as died:
                log.error("%s; trying again", died)

    async def stop(self) -> None:
        """Drain (the inbox workers, then the outbox: `DRAIN_S` each) and end the process."""
        self._stopping = True
        process = self._process
        if process is None or not process.is_alive():
            return
        await self._tell(DRAIN)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), 2 * DRAIN_S + 5)
        for _ in range(50):
            if not process.is_alive():
                break
            await asyncio.sleep(0.1)
        if process.is_alive():
            log.error("engine process %s did not stop; killing it", process.pid)
            process.kill()
        process.join(1)


def _die_with(parent: int) -> None:
    """Be killed when the serving process dies (Linux), and check it is still there."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def run_engine(
    recipe: EngineRecipe, wake: Connection, control: Connection, parent: int
) -> None:  # pragma: no cover - runs in the child process (tests drive it through `helpdesk serve`)
    """The engine's process: its main function."""
    _die_with(parent)
    with contextlib.suppress(OSError):
        os.setsid()  # a session, hence a scheduling group, of its own (module docstring)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = recipe.settings
    logs.configure(settings.log_level, settings.log_format)
    log_redaction.install()
    asyncio.run(_engine(recipe, wake, control, parent))


async def _engine(recipe: EngineRecipe, wake: Connection, control: Connection, parent: int) -> None:
    services = build_services(recipe.settings)
    engine = Engine(services, default_handlers())
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()
    draining = asyncio.Event()

    def heard() -> None:
        try:
            data = os.read(wake.fileno(), 4096)
        except BlockingIOError:
            return
        if not data:  # the serving process is gone
            os._exit(1)
        if DRAIN in data:
            draining.set()
        woken.set()

    os.set_blocking(wake.fileno(), False)
    connector = aiohttp.TCPConnector(limit=100)
    shelf = StoreShelf(recipe.settings.store, services.clock)
    async with aiohttp.ClientSession(connector=connector) as session:
        side = EngineSide(
            services,
            engine,
            recipe.transports(recipe.settings, recipe.env, session, shelf),
            HeldSecrets(),
            recipe.channels,
            recipe.replica,
        )
        side.start()
        loop.add_reader(wake.fileno(), heard)
        control.send(("ready", None))
        sent = time.monotonic()
        while not draining.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), POLL_S)
            woken.clear()
            if os.getppid() != parent:
                os._exit(1)
            side.take_new()
            if time.monotonic() - sent >= METRICS_EVERY_S:
                control.send(("metrics", metrics.REGISTRY.snapshot()))
                sent = time.monotonic()
        side.take_new()
        await side.stop()
    control.send(("drained", metrics.REGISTRY.snapshot()))
    shelf.close()
    services.db.conn.close()
