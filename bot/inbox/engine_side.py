"""The engine's side of the bot: the inbox workers, the outbox worker with every
platform's transport, and the background jobs, on one event loop and one SQLite connection.

It runs either on the engine's thread (`bot.inbox.engine_thread`) or in the engine's own
process (`bot.inbox.engine_process`), and is the same in both: what the serving loop has
stored in the inbox is handed to `submit` (a thread) or found by `take_new` (a process,
woken through a pipe or every `POLL_S`); the workers process it; `stop` drains.

The jobs: the outbox (woken after every message, else every `OUTBOX_EVERY_S`); the
replica's heartbeat (every `Replica.tick_s`: renews its alive lease, its inbox rows' and
outbox claims' leases, takes over the rows of a replica that died); the leader-only
scheduler (`bot.replicas.Scheduler`: on the one replica that leads, the SLA scan and the
handoff and weekly reports every `HELPDESK_SCHEDULE_EVERY_S`, the deletion of expired
secrets at most every `DELETIONS_EVERY_S`).

Decision: the replica logic lives here, with the store work it guards, not on the serving
loop: the claims and leases are taken by the processes that process and deliver, and a
replica whose engine's process dies stops renewing, so another replica takes over its rows
after the lease even if its serving process still acknowledges (the restarted engine's
process takes them back at start: same replica id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from bot.clock import Clock
from bot.engine import Engine
from bot.inbox.held import HeldSecrets
from bot.inbox.store import Inbox, Stored
from bot.inbox.worker import InboxWorker
from bot.messages import MessageRef
from bot.outbox.render import Renderer
from bot.outbox.transport import Delivery, DeliveryFailed, Transport
from bot.outbox.worker import OutboxWorker
from bot.replicas import Job, Replica, Scheduler, alive_lease
from bot.reports.schedule import queue_due_handoffs, queue_weekly_report
from bot.services import Services
from bot.store.deletions import Deletions
from bot.store.leases import Leases
from bot.store.scheduled_runs import ScheduledRuns

log = logging.getLogger(__name__)

OUTBOX_EVERY_S = 1.0
DELETIONS_EVERY_S = 5.0
DRAIN_S = 10.0
"""At shutdown, at most this long for the inbox workers, and as long again for the outbox."""


async def every(
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


class EngineSide:
    """Started and stopped on the loop it runs on; `services` are its own connection's."""

    def __init__(
        self,
        services: Services,
        engine: Engine,
        transports: Sequence[Transport],
        held: HeldSecrets,
        channels: str | None = None,
        replica: Replica | None = None,
    ) -> None:
        """`channels`: the platform channel messages go to (`PlatformTransports`);
        `replica`: this process's replica (None: alone, `local`)."""
        self.services = services
        self.replica = replica or Replica("local")
        self.scheduler: Scheduler | None = None
        self.engine = engine
        self.transports = PlatformTransports(transports, channels)
        self.held = held
        self.workers: InboxWorker | None = None
        self.outbox: OutboxWorker | None = None
        self._finisher: Inbox | None = None
        self._taken: set[int] = set()
        """The inbox rows handed to the workers and not finished (a row's id is reused
        once it is gone, so the newest id would not do)."""
        self._jobs: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """The inbox workers (what the last run left unfinished first), the outbox, the jobs."""
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
        self._finisher = finisher
        replica = self.replica
        leases = Leases(services.db.conn)
        leases.acquire(alive_lease(replica.id), replica.id, services.clock(), replica.lease)
        workers = InboxWorker(finisher, self.engine, wake.set, self._finished)
        self.workers = workers
        left = finisher.unfinished()
        self._taken = {stored.row_id for stored in left}
        workers.start(left)
        transports = self.transports
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
            taken = workers.take_over()
            self._taken.update(stored.row_id for stored in taken)
            if taken:
                wake.set()

        period = replica.schedule_every
        scheduler = Scheduler(
            leases,
            ScheduledRuns(services.db.conn),
            replica,
            [
                Job("reports", period, reports),
                Job("sla_scan", period, scan),
                Job(
                    "secret_deletions",
                    min(period, timedelta(seconds=DELETIONS_EVERY_S)),
                    delete_due,
                ),
            ],
            services.clock,
        )
        self.scheduler = scheduler
        self._jobs = [
            asyncio.create_task(every(OUTBOX_EVERY_S, outbox.run_once, wake)),
            asyncio.create_task(every(replica.tick_s, heartbeat)),
            asyncio.create_task(every(replica.tick_s, scheduler.tick)),
        ]

    def submit(self, stored: Stored) -> None:
        """A message the serving loop stored (same process): to its lane."""
        if self.workers is not None:
            self.workers.submit(stored)

    def take_new(self) -> int:
        """The messages stored since the last look (another process stored them): to their
        lanes; returns how many."""
        if self._finisher is None or self.workers is None:
            return 0
        new = self._finisher.stored_since(besides=self._taken)
        for stored in new:
            self._taken.add(stored.row_id)
            self.workers.submit(stored)
        return len(new)

    def _finished(self, stored: Stored) -> None:
        self._taken.discard(stored.row_id)

    async def stop(self) -> None:
        """Finish what is stored (`DRAIN_S`), deliver what is due (`DRAIN_S`), stop the jobs."""
        if self.workers is not None:
            await self.workers.drain(DRAIN_S)
        for job in self._jobs:
            job.cancel()
        if self.outbox is not None:
            await _deliver_due(self.outbox.run_once, DRAIN_S)
        if self.scheduler is not None:
            self.scheduler.release()  # another replica leads at once, not after the lease


async def _deliver_due(run_once: Callable[[], Awaitable[int]], seconds: float) -> None:
    """Deliver until nothing more goes out or time is up (what is left waits in the outbox)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        try:
            if not await asyncio.wait_for(run_once(), deadline - asyncio.get_running_loop().time()):
                return
        except TimeoutError:
            return
