"""Processing the inbox: each stored message through the engine, in order per conversation.

A message goes to one of `LANES` lanes by its conversation (`ordered_in`), so one
person's messages in one place are answered in the order they came, and the event loop
is never held by more than a few messages' worth of engine work (acks stay fast). At
start the messages left unfinished by the last run go first, in the order they came.

All the log lines of a message's work carry its request id (`bot.logs.working_on`).
While the engine handles a message, `current_request` names it, so a message run again
after a crash changes no ticket twice; its replies and the inbox row's end are then one
transaction (`Inbox.finish`). A message whose processing fails outside the engine's own
error boundary (which answers every user error) stays in the inbox for the next start.

With more than one replica on the store (`bot.replicas`), a replica processes the
messages it stored, and the heartbeat calls `take_over` to process those of a replica
that died (their leases ran out, `bot.inbox.lease`); a message waits while an earlier one
of its conversation is held by another live replica (polled every `ORDER_POLL_S`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable, Sequence

from bot import metrics
from bot.engine import Engine
from bot.inbox.store import Inbox, Stored, TakenOver, request_of
from bot.logs import working_on
from bot.store.request_scope import current_request

log = logging.getLogger(__name__)

LANES = 2
"""Engine work runs in this many ordered lanes."""
ORDER_POLL_S = 0.05
"""How often a message waiting behind another replica's earlier message looks again."""


class InboxWorker:
    def __init__(
        self,
        inbox: Inbox,
        engine: Engine,
        replied: Callable[[], None],
        finished: Callable[[Stored], None] = lambda _: None,
    ) -> None:
        self._inbox = inbox
        self._engine = engine
        self._replied = replied
        self._finished = finished
        """Told of each message whose inbox row is gone (its replies committed)."""
        self._lanes: list[asyncio.Queue[Stored]] = [asyncio.Queue() for _ in range(LANES)]
        self._tasks: list[asyncio.Task[None]] = []
        self._queued: set[int] = set()

    def start(self, left: Sequence[Stored] | None = None) -> int:
        """Queue the unfinished messages (`left`, else read now), start the lanes; return
        how many were unfinished."""
        left = self._inbox.unfinished() if left is None else left
        for stored in left:
            self.submit(stored)
        self._tasks = [asyncio.create_task(self._lane(queue)) for queue in self._lanes]
        if left:
            log.info("processing %s messages left unfinished by the last run", len(left))
        return len(left)

    def submit(self, stored: Stored) -> None:
        if stored.row_id in self._queued:  # taken over from itself after a stall
            return
        self._queued.add(stored.row_id)
        lane = zlib.crc32(stored.conversation.encode()) % LANES
        self._lanes[lane].put_nowait(stored)

    def take_over(self) -> list[Stored]:
        """Renew this replica's leases, then queue the messages of replicas that died;
        return those taken over."""
        self._inbox.renew()
        taken = self._inbox.taken_over()
        for stored in taken:
            self.submit(stored)
        if taken:
            log.warning("took over %s messages from a replica that stopped", len(taken))
        return taken

    async def drain(self, timeout: float) -> None:
        """Finish what is queued (at shutdown, after the adapters stopped accepting), then
        stop the lanes; what is not finished in time is processed at the next start."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._lanes)), timeout)
        for task in self._tasks:
            task.cancel()

    async def _lane(self, queue: asyncio.Queue[Stored]) -> None:
        while True:
            stored = await queue.get()
            platform = stored.msg.platform
            with working_on(request_of(stored.msg)):
                try:
                    await self._process(stored)
                    metrics.EVENTS_PROCESSED.inc(platform, "ok")
                except TakenOver:
                    log.warning("message %s was taken over by another replica", stored.row_id)
                except Exception:
                    metrics.EVENTS_PROCESSED.inc(platform, "failed")
                    log.exception("message %s left in the inbox", stored.row_id)
                finally:
                    self._queued.discard(stored.row_id)
                    queue.task_done()

    async def _process(self, stored: Stored) -> None:
        while self._inbox.held_elsewhere(stored):
            await asyncio.sleep(ORDER_POLL_S)
        token = current_request.set(request_of(stored.msg))
        try:
            replies = await self._engine.handle(stored.msg, claimed=True)
        finally:
            current_request.reset(token)
        self._inbox.finish(stored, replies)
        self._finished(stored)
        log.info("message %s handled: %d replies queued", stored.row_id, len(replies))
        self._replied()
