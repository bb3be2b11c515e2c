"""The durable inbox: an acknowledged message is on disk before the platform hears "OK".

`accept` masks the secrets in a translated `Incoming` (with its conversation's
`SecretContext`, as the engine does), then stores it with its dedupe claim
(`processed_events`) in one `synchronous=FULL` transaction and returns; only then does the
adapter acknowledge. A redelivery (the claim exists) is acknowledged and not stored.

Group commit keeps the ack fast without weakening that: one writer task takes every
message waiting, commits them in one transaction (one `fsync` for all) and answers each;
messages arriving meanwhile form the next batch. No timer: under load the batch is
whatever arrived while the last commit ran, alone a message waits for nothing. The
commit runs on the event loop (0.2-0.3 ms of work, plus the `fsync`): a commit in a worker
thread measured worse, as that thread must win the GIL back for every SQLite call. With
the engine in its own process, the writer has a connection of its own
(`bot.inbox.writer.InboxWriter`) that waits for the write lock the engine's process holds
without stopping the loop and takes it as soon as it is free.

`finish` ends a message: its replies become outbox rows (kind `reply`, typed payload: the
adapter's route and the `Reply`) and the inbox row is deleted, in one transaction. That
transaction commits under `synchronous=NORMAL` (`bookkeeping`): lost only with the OS, and
then the row is still there and the message is processed again, which repeats no effect
(`bot.store.request_scope`); a delivery's own `FULL` commit syncs it first. A reply with a
secret keeps its text out of the row (`HeldSecrets`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot import metrics
from bot.clock import Clock, iso, parse_iso, utcnow
from bot.i18n import Translator
from bot.inbox import codec, lease
from bot.inbox.held import HeldSecrets
from bot.inbox.writer import InboxWriter
from bot.messages import Incoming, Recipient, Reply
from bot.outbox.transport import REPLY, Outbound
from bot.redact import SecretContext, redact_incoming
from bot.replicas import alive_lease
from bot.store.addresses import remember_in
from bot.store.connection import Connection
from bot.store.conversations import ConversationStore, conversation_key
from bot.store.database import Database, bookkeeping, transaction
from bot.store.events import claim_in
from bot.store.outbox import Outbox
from bot.tickets.model import TicketError
from bot.tickets.service import TicketService

log = logging.getLogger(__name__)

BOT_ACTOR = "helpdesk-bot"
"""Who a note the bot writes on a ticket is from."""

LOCAL = "local"
"""The replica name of a process that does not say (one process alone on its store)."""
DEFAULT_LEASE = timedelta(seconds=30)


class TakenOver(Exception):
    """The message's lease ran out while it was processed and another replica took it:
    nothing of this run is kept (the other replica's run writes the same replies)."""


def request_of(msg: Incoming) -> str:
    """The id a message's effects are stamped with (`bot.store.request_scope`)."""
    return f"{msg.platform}:{msg.event_id}"


@dataclass(frozen=True)
class Stored:
    """A message in the inbox: its row, the conversation it is ordered in, and where its
    replies go (the adapter's own route, opaque here)."""

    row_id: int
    conversation: str
    msg: Incoming
    route: Mapping[str, Any]
    received_at: datetime | None = None
    """When the inbox stored it (for the reply latency)."""


class InboxClosed(RuntimeError):
    """The inbox stores no more (shutting down): the message is not acknowledged, so the
    platform sends it again."""


@dataclass(frozen=True)
class _Arrival:
    msg: Incoming
    route: Mapping[str, Any]
    future: asyncio.Future[Stored | None]


class Inbox:
    def __init__(
        self,
        db: Database,
        conversations: ConversationStore,
        tickets: TicketService,
        held: HeldSecrets,
        on_stored: Callable[[Stored], None],
        clock: Clock = utcnow,
        replica: str = LOCAL,
        lease_length: timedelta = DEFAULT_LEASE,
    ) -> None:
        """`replica` names this process among those on the store (`bot.replicas`): the
        messages it stores are its own for `lease_length`, renewed while it lives."""
        self._conn = db.conn
        self.replica = replica
        self.lease_length = lease_length
        self._conversations = conversations
        self._tickets = tickets
        self._outbox = Outbox(db, clock)
        self._held = held
        self._on_stored = on_stored
        self._clock = clock
        self._arrivals: list[_Arrival] = []
        self._arrived = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._commits: InboxWriter | None = None
        self._committing = False
        self._closed = False

    def start(self, commits: InboxWriter | None = None) -> None:
        """Start the writer: its commits through `commits` (a connection of their own),
        else on the inbox's connection under its busy timeout."""
        self._commits = commits
        self._writer = asyncio.create_task(self._write())

    async def close(self) -> None:
        """Store what is waiting, then stop the writer (the adapter accepts no more; a
        message its handler was still translating is refused: `InboxClosed`)."""
        self._closed = True
        while self._arrivals or self._committing:
            await asyncio.sleep(0.005)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self._commits is not None:
            self._commits.close()

    async def accept(self, msg: Incoming, route: Mapping[str, Any]) -> bool:
        """Store `msg` durably with its claim; False for a redelivery (nothing stored).
        Raises if it could not be stored (`InboxClosed` once shutting down): the adapter
        must then not acknowledge it."""
        if self._closed:
            raise InboxClosed("the inbox is closed")
        pending = self._conversations.get(conversation_key(msg))
        msg, found = redact_incoming(msg, pending.context if pending else SecretContext.NONE)
        msg = replace(msg, redacted=msg.redacted or found)
        future: asyncio.Future[Stored | None] = asyncio.get_running_loop().create_future()
        self._arrivals.append(_Arrival(msg, route, future))
        self._arrived.set()
        metrics.EVENTS_RECEIVED.inc(msg.platform)
        try:
            stored = await future
        except Exception:
            metrics.EVENTS_NOT_STORED.inc(msg.platform)
            raise
        metrics.EVENTS_ACKED.inc(msg.platform, "duplicate" if stored is None else "new")
        return stored is not None

    async def _write(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            await asyncio.sleep(0)  # what else is ready to arrive joins this batch
            batch, self._arrivals = self._arrivals, []
            if not batch:
                continue
            self._committing = True
            try:
                stored = await self._commit(batch)
            except Exception as exc:  # noqa: BLE001 - each sender hears it and does not ack
                log.error("inbox commit failed: %s", type(exc).__name__)
                for arrival in batch:
                    if not arrival.future.done():
                        arrival.future.set_exception(exc)
                continue
            finally:
                self._committing = False
            for arrival, row in zip(batch, stored, strict=True):
                if not arrival.future.done():  # its sender may have gone (cancelled)
                    arrival.future.set_result(row)
                if row is not None:
                    self._on_stored(row)

    async def _commit(self, batch: Sequence[_Arrival]) -> list[Stored | None]:
        """One durable transaction for the whole batch."""
        if self._commits is not None:
            return await self._commits.run(lambda conn: self._rows(conn, batch))
        with transaction(self._conn) as conn:
            return self._rows(conn, batch)

    def _rows(self, conn: Connection, batch: Sequence[_Arrival]) -> list[Stored | None]:
        """The batch's claims and rows, inside the caller's transaction."""
        moment = self._clock()
        now = iso(moment)
        until = iso(moment + self.lease_length)
        stored: list[Stored | None] = []
        for arrival in batch:
            msg = arrival.msg
            if not claim_in(conn, msg.platform, str(msg.event_id), now):
                stored.append(None)
                continue
            conversation = ordered_in(msg)
            if msg.address:
                remember_in(
                    conn, msg.platform, msg.actor.user_id, msg.actor.email, msg.address, now
                )
            cursor = conn.execute(
                "INSERT INTO inbox (platform, event_id, conversation, incoming_json,"
                " route_json, received_at, claimed_by, lease_until)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    msg.platform,
                    msg.event_id,
                    conversation,
                    codec.dump(msg),
                    json.dumps(dict(arrival.route)),
                    now,
                    self.replica,
                    until,
                ),
            )
            row = Stored(int(cursor.fetchone()[0]), conversation, msg, arrival.route, moment)
            stored.append(row)
        return stored

    def unfinished(self) -> list[Stored]:
        """At start: the messages acknowledged but not finished by this replica's previous
        run, or by a replica whose lease ran out, or by nobody (now this replica's); oldest
        first."""
        return self._taken(own_too=True)

    def taken_over(self) -> list[Stored]:
        """The messages of replicas whose lease ran out (they died), now this replica's."""
        return self._taken(own_too=False)

    def stored_since(self, besides: Set[int]) -> list[Stored]:
        """In the engine's process: the messages this replica's serving process stored
        (claimed by this replica) that it does not have yet (`besides`); oldest first."""
        ids = [
            r[0]
            for r in self._conn.execute(
                "SELECT id FROM inbox WHERE claimed_by = ? ORDER BY id", (self.replica,)
            )
        ]
        new = [i for i in ids if i not in besides]
        if not new:
            return []
        marks = ",".join("?" * len(new))
        rows = self._conn.execute(
            "SELECT id, conversation, incoming_json, route_json, received_at FROM inbox"
            f" WHERE id IN ({marks}) ORDER BY id",
            tuple(new),
        ).fetchall()
        return self._stored(rows)

    def _taken(self, *, own_too: bool) -> list[Stored]:
        rows = lease.take_over(
            self._conn, self.replica, self._clock(), self.lease_length, own_too=own_too
        )
        return self._stored(rows)

    @staticmethod
    def _stored(rows: Sequence[Any]) -> list[Stored]:
        return [
            Stored(r[0], r[1], codec.incoming(r[2]), json.loads(r[3]), parse_iso(r[4]))
            for r in rows
        ]

    def renew(self) -> int:
        """Extend the leases of the messages this replica holds (its heartbeat)."""
        return lease.renew(self._conn, self.replica, self._clock(), self.lease_length)

    def held_elsewhere(self, stored: Stored) -> bool:
        """Whether an earlier message of its conversation is another live replica's."""
        return lease.held_elsewhere(
            self._conn, stored.conversation, stored.row_id, self.replica, self._clock()
        )

    def finish(self, stored: Stored, replies: Sequence[Reply]) -> None:
        """The replies into the outbox and the message out of the inbox, in one transaction."""
        msg = stored.msg
        ticket = self._tickets.for_request(request_of(msg))
        with bookkeeping(self._conn):
            for number, reply in enumerate(replies):
                key = f"reply:{request_of(msg)}:{number}"
                payload: dict[str, Any] = {
                    "route": dict(stored.route),
                    "ticket": ticket,
                    "lang": msg.lang,
                }
                held_by = None
                if reply.delete_after_s is not None:
                    self._held.hold(key, reply)
                    payload["secret"] = True
                    held_by = alive_lease(self.replica)  # only this replica has its text
                else:
                    payload["reply"] = asdict(reply)
                    payload["scrub"] = True  # buttons may carry one-time values
                to = Recipient.conversation(msg.platform, msg.conversation_id, msg.actor.user_id)
                self._outbox.put(key, REPLY, to, payload, stored.conversation, held_by)
            gone = self._conn.execute(
                "DELETE FROM inbox WHERE id = ? AND (claimed_by = ? OR claimed_by IS NULL)",
                (stored.row_id, self.replica),
            )
            if gone.rowcount != 1:
                raise TakenOver(stored.row_id)
        if stored.received_at is not None:
            waited = (self._clock() - stored.received_at).total_seconds()
            metrics.REPLY_LATENCY.observe(waited, msg.platform)

    def given_up(self, message: Outbound, error: str) -> None:
        """A reply that could not be delivered after its retries: the log says so (the
        outbox worker), and so does an internal note on the ticket the message was about."""
        self._held.drop(message.key)
        ticket = message.payload.get("ticket") if message.kind == REPLY else None
        if ticket is None:
            return
        note = Translator("en")("triage.reply_not_delivered", error=error)
        try:
            self._tickets.note(int(ticket), BOT_ACTOR, note)
        except TicketError as exc:
            log.warning("no note on ticket %s: %s", ticket, exc.key)


def ordered_in(msg: Incoming) -> str:
    """The conversation a message is answered in order within: one person in one place."""
    return str(Recipient.conversation(msg.platform, msg.conversation_id, msg.actor.user_id))
