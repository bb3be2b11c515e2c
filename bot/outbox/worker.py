"""Delivering the outbox: each queued message reaches its recipient exactly once.

Changes write their messages into the `outbox` table in the same transaction as
the change (`bot.tickets.service`), so a crash can lose neither. The worker then:

1. picks due rows (not delivered, `available_at` reached, attempts left);
2. marks a row `sending_at` and commits *before* it sends;
3. renders it (`bot.outbox.render`: a `Delivery`, the same for every platform), sends it
   through the platform's `Transport`, then marks it `delivered_at` (and records what
   the post stands for: a ticket's triage post, a requester's notice, a secret's
   deletion time — `bot.store.message_links`, `bot.store.deletions`).

Each row is tried on its own: whatever one row raises (the send, the check below, its
payload) is that row's failure, retried later, and the rows after it still go out.
A failed send is retried with exponential backoff (`BASE_DELAY` doubling up to
`MAX_DELAY`, `MAX_ATTEMPTS` in all; then the row stays undelivered with its error
for `helpdesk outbox list`). A `DeliveryFailed` from the transport says more: a 429's
`Retry-After` is the delay, and a permanent refusal is not tried again.

With more than one replica on the store, each run first claims its due rows with a
lease (`bot.outbox.claim`): a row is delivered by the one replica that claimed it, in
the order above across replicas, and a replica that died mid-send leaves rows another
takes over once their lease ran out (`sending_at` set: asked about first, as below). The
claims are renewed by the replica's heartbeat (`renew`) and given up at the end of the
run for what was not delivered.

Replies to a user's message (kind `reply`, written by `bot.inbox`) carry their
conversation: within one conversation they go out in order, one at a time, and a reply
waiting (a 429's `Retry-After`, a backoff) holds back only the later replies of its own
conversation; the conversations are delivered side by side (`REPLY_LANES` at once; the
replies of one run are marked sending in one durable commit before and delivered in one
after, so a burst costs two `fsync`s, not two per reply), and beside the other kinds,
which go out one after another in order, as before. Their first retry comes after
`REPLY_BASE_DELAY` (a person is waiting). A row given up on (out of attempts, or refused
for good) is logged and handed to `on_given_up` (the service notes
it on the ticket the message was about): never dropped silently.

A crash between 2 and 3 leaves a row that was maybe
sent: on restart the worker asks the transport whether that key was delivered
(Slack: the key rides in the message metadata; the console and test transports
remember it) and resends only if it was not. So nothing is lost and nothing goes
out twice. Triage posts are special: only the newest version of a ticket's view
is posted (older queued versions are skipped), and the first post's reference is
kept so later versions update that message in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from bot import metrics
from bot.clock import Clock, iso, utcnow
from bot.logs import working_on
from bot.messages import MessageRef, Recipient
from bot.outbox import claim
from bot.outbox.render import Renderer
from bot.outbox.transport import REPLY, Delivery, DeliveryFailed, Outbound, Transport
from bot.store.connection import Connection
from bot.store.database import Database, transaction
from bot.store.deletions import Deletions
from bot.store.message_links import MessageLinks

log = logging.getLogger(__name__)

BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(minutes=30)
MAX_ATTEMPTS = claim.MAX_ATTEMPTS
REPLY_BASE_DELAY = timedelta(seconds=1)
REPLY_LANES = 16
"""Conversations whose replies are being delivered at the same time."""


_Row = tuple[int, str, str, str, str, int, "str | None"]
_Sent = tuple[int, Outbound, Delivery, "str | None"]
"""A reply sent in this run: its row, message, delivery and the platform's reference."""


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        renderer: Renderer,
        clock: Clock = utcnow,
        on_given_up: Callable[[Outbound, str], None] | None = None,
        platform: str = "",
        replica: str = "local",
        lease: timedelta = timedelta(seconds=30),
    ):
        """`platform` names the transport's platform in metrics and `/readyz` (default: the
        transport's own `platform`); `replica` this process among those on the store, whose
        claims last `lease` unless renewed (`bot.replicas`)."""
        self._conn = db.conn
        self.replica = replica
        self._lease = lease
        self._transport = transport
        self.platform = platform or transport.platform
        self._renderer = renderer
        self._links = MessageLinks(db.conn)
        self._deletions = Deletions(db.conn)
        self._clock = clock
        self._on_given_up = on_given_up
        self._lanes = asyncio.Semaphore(REPLY_LANES)

    async def run_once(self, limit: int = 100) -> int:
        """Deliver what is due; return how many messages were delivered.

        A reply is due only when no earlier reply of its conversation is still waiting."""
        moment = self._clock()
        now = iso(moment)
        rows = claim.claim_due(self._conn, self.replica, moment, self._lease, limit)
        try:
            return await self._deliver(rows, now)
        finally:
            claim.release(self._conn, self.replica, [row[0] for row in rows])

    def renew(self) -> int:
        """Extend the claims of the rows this replica is delivering (its heartbeat)."""
        return claim.renew(self._conn, self.replica, self._clock(), self._lease)

    async def _deliver(self, rows: list[claim.ClaimedRow], now: str) -> int:
        groups: dict[str, list[_Row]] = {}
        for row in rows:
            groups.setdefault(row[7] or "", []).append(row[:7])
        replies = [row[0] for c, g in groups.items() if c for row in g]
        if replies:  # one durable mark for every reply about to be sent
            with transaction(self._conn) as conn:
                conn.executemany(
                    "UPDATE outbox SET sending_at = ? WHERE id = ?",
                    [(now, row_id) for row_id in replies],
                )
        sent: list[_Sent] = []
        # "" holds every other kind: one after another, in order, as before.
        done = await asyncio.gather(
            *(self._in_order(g, sent if c else None) for c, g in groups.items())
        )
        self._replies_sent(sent)
        return sum(done)

    def _replies_sent(self, sent: list[_Sent]) -> None:
        """Mark the replies sent in this run delivered, in one durable transaction."""
        if not sent:
            return
        with transaction(self._conn) as conn:
            for row_id, message, _, ref in sent:
                self._record(conn, row_id, message, ref)
        for _, message, delivery, ref in sent:
            self._after(message, delivery, ref)

    async def _in_order(self, rows: list[_Row], sent: list[_Sent] | None) -> int:
        """Deliver rows in order; in a conversation (`sent` collects its replies, marked
        delivered together at the end of the run), stop at the first that fails."""
        delivered = 0
        conversation = sent is not None
        async with self._lanes if conversation else contextlib.nullcontext():
            for at, (row_id, key, kind, recipient, payload_json, attempts, sending_at) in enumerate(
                rows
            ):
                with working_on(_request_of(key)):
                    try:
                        delivered += await self._one(
                            row_id, key, kind, recipient, payload_json, sending_at, sent
                        )
                    except Exception as exc:  # noqa: BLE001 - this row is retried later
                        stored = Outbound(key, kind, Recipient.parse(recipient), {})
                        self._failed(row_id, attempts + 1, exc, stored)
                        if conversation:
                            self._not_tried(rows[at + 1 :])
                            break
        return delivered

    def _not_tried(self, rows: list[_Row]) -> None:
        """Rows marked sending for this run but not tried: back as they were."""
        if rows:
            with transaction(self._conn) as conn:
                conn.executemany(
                    "UPDATE outbox SET sending_at = ? WHERE id = ?",
                    [(row[6], row[0]) for row in rows],
                )

    async def _one(
        self,
        row_id: int,
        key: str,
        kind: str,
        recipient: str,
        payload_json: str,
        sending_at: str | None,
        sent: list[_Sent] | None = None,
    ) -> int:
        """Deliver one row (1), or skip it (0); raises for the row to be retried. A reply
        (`sent` given) was marked sending by the run and is marked delivered by it."""
        to = Recipient.parse(recipient)
        message = Outbound(key, kind, to, json.loads(payload_json), None, sending_at)
        if kind == "triage":
            current = self._triage(row_id, message)
            if current is None:
                return 0
            message = current
        delivery = await self._renderer.render(message)
        if sending_at is not None and await self._transport.was_delivered(delivery):
            self._delivered(row_id, message, None)
            return 1
        if sent is None:
            with transaction(self._conn):
                self._conn.execute(
                    "UPDATE outbox SET sending_at = ? WHERE id = ?", (iso(self._clock()), row_id)
                )
        try:
            ref = await self._transport.deliver(delivery)
        except Exception:
            with transaction(self._conn):  # not sent: the next try needs no was_delivered check
                self._conn.execute("UPDATE outbox SET sending_at = NULL WHERE id = ?", (row_id,))
            raise
        platform = delivery.recipient.platform or self.platform
        metrics.platform_contact(platform, ok=True)
        metrics.DELIVERIES.inc(platform, kind)
        log.info("outbox message %s (%s) delivered", row_id, kind)
        if sent is not None:
            sent.append((row_id, message, delivery, ref))
            return 1
        self._delivered(row_id, message, ref)
        self._after(message, delivery, ref)
        return 1

    def _after(self, message: Outbound, delivery: Delivery, ref: str | None) -> None:
        """Once its delivery is recorded: a secret's deletion is scheduled, its text let go."""
        if delivery.reply.delete_after_s is not None and ref is not None:
            at = self._clock() + timedelta(seconds=delivery.reply.delete_after_s)
            platform = delivery.recipient.platform or self._transport.platform
            self._deletions.schedule(platform, MessageRef.parse(ref), at)
        self._renderer.delivered(message)

    def _triage(self, row_id: int, message: Outbound) -> Outbound | None:
        """Skip a triage view that a newer one replaces; else say which post it updates."""
        ticket = message.payload["ticket"]
        newer = self._conn.execute(
            "SELECT 1 FROM outbox WHERE kind = 'triage' AND dedupe_key LIKE ? AND id > ? LIMIT 1",
            (f"triage:{ticket}:%", row_id),
        ).fetchone()
        if newer is not None:
            with transaction(self._conn):
                self._conn.execute(
                    "UPDATE outbox SET delivered_at = ?, last_error = 'superseded' WHERE id = ?",
                    (iso(self._clock()), row_id),
                )
            return None
        post = self._links.triage_post(int(ticket))
        return replace(message, update_ref=str(post) if post else None)

    def _delivered(self, row_id: int, message: Outbound, ref: str | None) -> None:
        with transaction(self._conn) as conn:
            self._record(conn, row_id, message, ref)

    def _record(self, conn: Connection, row_id: int, message: Outbound, ref: str | None) -> None:
        """Mark one row delivered, inside the caller's transaction."""
        conn.execute(
            "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
            (iso(self._clock()), row_id),
        )
        if message.payload.get("scrub"):
            # One-time values (an approval's nonce in its buttons) leave the store once
            # delivered: only the text stays, for the record.
            said = message.payload.get("text") or (message.payload.get("reply") or {})
            text = said.get("text", "") if isinstance(said, dict) else said
            kept = {"text": text, "choices": [], "scrubbed": True}
            conn.execute(
                "UPDATE outbox SET payload_json = ? WHERE id = ?",
                (json.dumps(kept, ensure_ascii=False), row_id),
            )
        if message.kind == "notice" and ref is not None and "conversation" in message.payload:
            # The requester's copy: a reply in its thread is a comment on the ticket.
            self._links.record_notice_copy(ref, int(message.payload["ticket"]))
        if message.kind == "triage" and ref is not None:
            self._links.record_triage_post(
                int(message.payload["ticket"]),
                str(message.recipient),
                ref,
                int(message.payload["version"]),
            )

    def _failed(self, row_id: int, attempts: int, exc: Exception, message: Outbound) -> None:
        """Retry the row later (or give up on it). `sending_at` is left as it is: a row
        whose check failed may still have been sent, so its next try checks again."""
        base = REPLY_BASE_DELAY if message.kind == REPLY else BASE_DELAY
        delay = min(base * (2 ** (attempts - 1)), MAX_DELAY)
        # The class name or the platform's error code only: an exception text could quote
        # a token or a message body.
        error = type(exc).__name__
        # The platform answered (a refusal, a 429), could not be reached (a 5xx, a network
        # error: what `/readyz` reports), or the row failed on our side (its payload).
        reason = "unreachable" if isinstance(exc, OSError | TimeoutError) else "error"
        if isinstance(exc, DeliveryFailed):
            error = exc.reason
            answered = exc.permanent or exc.retry_after is not None
            reason = "refused" if answered else "unreachable"
            if exc.retry_after is not None:
                delay = timedelta(seconds=exc.retry_after)
            if exc.permanent:
                attempts = MAX_ATTEMPTS
        platform = message.recipient.platform or self.platform
        if reason != "error":
            metrics.platform_contact(platform, ok=reason == "refused")
        metrics.DELIVERY_FAILURES.inc(platform, message.kind, reason)
        log.warning("outbox message %s failed (attempt %s): %s", row_id, attempts, error)
        with transaction(self._conn):
            self._conn.execute(
                "UPDATE outbox SET attempts = ?, last_error = ?, available_at = ? WHERE id = ?",
                (attempts, error, iso(self._clock() + delay), row_id),
            )
        if attempts >= MAX_ATTEMPTS:
            metrics.DELIVERIES_GIVEN_UP.inc(message.kind)
            log.error("outbox message %s (%s) given up: %s", row_id, message.kind, error)
            if self._on_given_up is not None:
                payload = self._conn.execute(
                    "SELECT payload_json FROM outbox WHERE id = ?", (row_id,)
                ).fetchone()[0]
                self._on_given_up(replace(message, payload=json.loads(payload)), error)


def _request_of(key: str) -> str | None:
    """The request a reply row answers (`reply:slack:Ev1:0` -> `slack:Ev1`), for the logs."""
    if not key.startswith(REPLY + ":"):
        return None
    return key[len(REPLY) + 1 :].rpartition(":")[0] or None
