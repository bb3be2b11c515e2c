"""Delivering the outbox in Slack: replies to users' messages, triage posts (updated in
place with `chat.update`), thread mirrors and SLA alerts in the triage thread, notices
and pages by DM.

Every send raises `DeliveryFailed` when Slack refuses it, and the outbox worker
(`bot.notify`) decides when to try again: after a 429's `Retry-After` (this client never
sleeps on one: it would hold every other conversation), after a backoff for a 5xx, a
network error or a transient `ok:false` (`TRANSIENT`), never for a permanent refusal.

A reply goes where its route (`Where`, stored with the message) says: in the thread or
the channel; privately through the command's `response_url` (only a Slack-hosted one,
`slack_hosted`), falling back to `chat.postEphemeral` when that URL fails; a `Form`
opens as a modal when the trigger id still works, else behind a button. A reply with a
secret (`delete_after_s`) goes to the user's DM only, its text from `HeldSecrets`
(never the store), and is deleted after that many seconds, also across a restart
(`scheduled_deletions`); the notification text never carries it.

Each new post carries its outbox key in message metadata (`helpdesk_outbox`), so after a
crash mid-send `was_delivered` finds it in the channel's history. An ephemeral reply
leaves no history: after such a crash it is sent again (a duplicate, never a loss).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_blocks import escape, reply_blocks
from bot.clock import iso, parse_iso
from bot.i18n import Translator, bilingual
from bot.inbox import HeldSecrets
from bot.inbox.codec import reply as reply_of
from bot.messages import Choice, Reply
from bot.notify import REPLY, DeliveryFailed, Outbound
from bot.store.audit import AuditEntry
from bot.tickets.triage import triage_view

if TYPE_CHECKING:
    from bot.adapters.slack import SlackBot, Where

log = logging.getLogger(__name__)

METADATA_EVENT = "helpdesk_outbox"
"""Message metadata event type carrying an outbox key, so `was_delivered` can check."""
HISTORY_PAGES = 10
"""`was_delivered` reads at most this many pages of 200 messages (2,000) posted since the
send began; a message found in none of them is sent again (a duplicate, never a loss)."""
CLOCK_SKEW_S = 120.0
"""History is read from this long before the send began (our clock against Slack's)."""
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
"""`ok:false` errors worth trying again; any other is permanent."""


def refused(method: str, exc: SlackApiError) -> DeliveryFailed:
    """What a Slack error means for the outbox (the error code only, never its text)."""
    from bot.adapters.slack import slack_error

    status = exc.response.status_code
    error = f"{method}: {slack_error(exc)}"
    if status == 429:
        headers = {str(k).lower(): v for k, v in (exc.response.headers or {}).items()}
        wait = str(headers.get("retry-after") or "1")
        return DeliveryFailed(error, retry_after=float(wait) if wait.isdigit() else 1.0)
    transient = status >= 500 or slack_error(exc) in TRANSIENT
    return DeliveryFailed(error, permanent=not transient)


class SlackTransport:
    def __init__(self, slack: SlackBot, held: HeldSecrets) -> None:
        self._slack = slack
        self._held = held
        # Its own client on the shared session, with no retry handler that sleeps on a 429.
        self._client = AsyncWebClient(
            token=slack.config.bot_token,
            base_url=slack.config.api_url,
            session=slack.session,
            timeout=15,
        )

    async def _api(self, method: str, **params: Any) -> dict[str, Any]:
        try:
            response = await self._client.api_call(method, json=params)
        except SlackApiError as exc:
            raise refused(method, exc) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    # -- replies ---------------------------------------------------------------------------

    async def _reply(self, message: Outbound) -> str:
        from bot.adapters.slack import Where

        where = Where(**message.payload["route"])
        if message.payload.get("secret"):
            return await self._secret(message, where)
        reply = reply_of(message.payload["reply"])
        slack = self._slack
        if reply.form is not None and await slack._open_form(reply.form, where):
            return "views.open"
        token = slack._stash(reply.form) if reply.form is not None else None
        text, blocks = reply_blocks(reply, token)
        return await self._post(where, text, blocks, private=reply.private, key=message.key)

    async def _post(
        self, where: Where, text: str, blocks: list[dict[str, Any]], *, private: bool, key: str
    ) -> str:
        from bot.adapters.slack import slack_hosted

        thread = {"thread_ts": where.thread_ts} if where.thread_ts else {}
        if where.ephemeral or (private and not where.dm):
            url = where.response_url
            hosted = bool(url) and slack_hosted(str(url), self._slack.config.api_url)
            if hosted and await self._respond(str(url), text, blocks):
                return "response_url"
            await self._api(
                "chat.postEphemeral",
                channel=where.channel,
                user=where.user,
                text=text,
                blocks=blocks,
                **thread,
            )
            return "ephemeral"
        posted = await self._api(
            "chat.postMessage",
            channel=where.channel,
            text=text,
            blocks=blocks,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
            **thread,
        )
        return f"{posted['channel']}/{posted['ts']}"

    async def _respond(self, url: str, text: str, blocks: list[dict[str, Any]]) -> bool:
        """Post to a response URL; False when it failed (the caller falls back)."""
        body = {"response_type": "ephemeral", "replace_original": False, "text": text}
        try:
            async with self._slack.session.post(url, json={**body, "blocks": blocks}) as response:
                if response.status < 400:
                    return True
                log.warning("response_url post failed: HTTP %s", response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url post failed: %s", type(exc).__name__)
        return False

    async def _secret(self, message: Outbound, where: Where) -> str:
        """A secret goes to the user's DM only, and is deleted after `delete_after_s`."""
        reply = self._held.get(message.key)
        if reply is None:  # the process restarted: the secret was never stored
            self._slack.services.audit.append(
                AuditEntry(
                    actor_platform="slack",
                    actor_id=where.user,
                    actor_directory_id=None,
                    target=None,
                    action="secret_delivery",
                    verification="none",
                    outcome="failed",
                    reason="the secret was lost in a restart before it was posted",
                )
            )
            return await self._post(
                where,
                escape(bilingual("delivery.private_not_sent")),
                [],
                private=True,
                key=message.key,
            )
        dm = await self._slack._dm(where.user)
        _, blocks = reply_blocks(replace(reply, form=None))
        # The fallback text shows in notifications and e-mail digests, which chat.delete
        # cannot recall: it never carries the secret, only the blocks do.
        posted = await self._api(
            "chat.postMessage",
            channel=dm,
            text=bilingual("delivery.private_fallback"),
            blocks=blocks,
        )
        self._held.drop(message.key)
        services = self._slack.services
        delete_at = services.clock() + timedelta(seconds=reply.delete_after_s or 0)
        with services.db.conn:
            services.db.conn.execute(
                "INSERT INTO scheduled_deletions (platform, message_ref, delete_at)"
                " VALUES ('slack', ?, ?) ON CONFLICT DO NOTHING",
                (f"{posted['channel']}/{posted['ts']}", iso(delete_at)),
            )
        if not where.dm:
            with_note = escape(bilingual("delivery.sent_in_dm"))
            try:
                await self._post(where, with_note, [], private=True, key=message.key)
            except DeliveryFailed as failed:  # the secret went: never send it twice
                log.warning("note about a secret in the DM not shown: %s", failed.reason)
        return f"{posted['channel']}/{posted['ts']}"

    # -- the other kinds -------------------------------------------------------------------

    async def _channel(self, message: Outbound) -> str:
        recipient = message.recipient
        slack = self._slack
        if recipient.startswith("channel:"):
            return recipient.removeprefix("channel:")
        if recipient.startswith("user:slack:"):
            return await slack._dm(recipient.removeprefix("user:slack:"))
        email = recipient.removeprefix("email:") if recipient.startswith("email:") else ""
        if recipient.startswith("user:") and "ticket" in message.payload:
            # a requester from another platform: by the ticket's email
            ticket = slack.services.tickets.get(int(message.payload["ticket"]))
            email = ticket.requester_email if ticket else ""
        elif recipient.startswith("user:"):
            raise LookupError(f"no Slack user for {recipient}")
        if email:
            found = await self._api("users.lookupByEmail", email=email)
            return await slack._dm(str(found["user"]["id"]))
        return recipient  # a bare name: a channel (e.g. tickets.oncall_recipient)

    def _thread(self, ticket: int) -> tuple[str, str] | None:
        row = self._slack.services.db.conn.execute(
            "SELECT message_ref FROM triage_posts WHERE ticket_id = ?", (ticket,)
        ).fetchone()
        if row is None:
            return None
        channel, _, ts = str(row[0]).partition("/")
        return channel, ts

    async def deliver(self, message: Outbound) -> str:
        if message.kind == REPLY:
            return await self._reply(message)
        payload = message.payload
        en = Translator("en")
        services = self._slack.services
        thread: tuple[str, str] | None = None
        if message.kind == "triage":
            ticket = services.tickets.require(int(payload["ticket"]))
            text, blocks = reply_blocks(triage_view(ticket, Translator("en")))
            if message.update_ref:
                channel, _, ts = message.update_ref.partition("/")
                await self._api("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)
                return message.update_ref
        elif message.kind in ("thread", "sla"):
            thread = self._thread(int(payload["ticket"]))
            if thread is None:
                raise LookupError("the ticket's triage post is not delivered yet")
            if message.kind == "thread":
                line = en("delivery.thread", **payload)
            else:
                line = en("delivery.sla", **payload)
            text, blocks = reply_blocks(Reply(line))
        elif message.kind == "page":
            line = en("delivery.page", **payload)
            text, blocks = reply_blocks(Reply(line))
        else:
            choices = tuple(Choice(str(label), str(value)) for label, value in payload["choices"])
            text, blocks = reply_blocks(Reply(str(payload["text"]), choices=choices))
        channel = thread[0] if thread else await self._channel(message)
        posted = await self._api(
            "chat.postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": message.key}},
            **({"thread_ts": thread[1]} if thread else {}),
        )
        if message.kind == "handoff":
            await self._attach_chart(message, posted)
        return f"{posted['channel']}/{posted['ts']}"

    async def _attach_chart(self, message: Outbound, posted: dict[str, Any]) -> None:
        """A handoff summary's chart, uploaded into the summary message's thread."""
        png = await asyncio.to_thread(self._chart, message)
        if png is None:
            return
        upload = await self._api(
            "files.getUploadURLExternal", filename="handoff.png", length=len(png)
        )
        session = self._slack.session
        async with session.post(str(upload["upload_url"]), data=png) as response:
            if response.status >= 400:
                log.warning("chart upload failed: HTTP %s", response.status)
                return
        await self._api(
            "files.completeUploadExternal",
            files=[{"id": upload["file_id"], "title": "Shift handoff"}],
            channel_id=posted["channel"],
            thread_ts=posted["ts"],
        )

    def _chart(self, message: Outbound) -> bytes | None:
        """Draw the chart of the shift the summary is about (None if it cannot be drawn)."""
        import tempfile
        from pathlib import Path

        from bot.reports.chart import handoff_chart
        from bot.reports.shift_handoff import build_handoff

        services = self._slack.services
        rotation = services.settings.rotation
        try:
            shift = rotation.shift_at(
                str(message.payload["team"]), parse_iso(str(message.payload["start"]))
            )
            summary = build_handoff(services, shift)
            with tempfile.TemporaryDirectory() as folder:
                path = handoff_chart(
                    summary, Path(folder) / "handoff.png", services.settings.reports.language
                )
                return path.read_bytes()
        except (KeyError, ValueError, OSError) as exc:
            log.warning("handoff chart not drawn: %s", type(exc).__name__)
            return None

    async def was_delivered(self, message: Outbound) -> bool:
        if message.update_ref:
            return False  # an update in place is safe to repeat
        thread: tuple[str, str] | None = None
        if message.kind == REPLY:
            from bot.adapters.slack import Where

            where = Where(**message.payload["route"])
            if message.payload.get("secret") or where.ephemeral:
                return False  # no history to read: an ephemeral is sent again
            if where.thread_ts:
                thread = (where.channel, where.thread_ts)
            channel = where.channel
        else:
            if message.kind in ("thread", "sla"):
                thread = self._thread(int(message.payload["ticket"]))
            channel = thread[0] if thread else await self._channel(message)
        params: dict[str, Any] = {"channel": channel, "limit": 200, "include_all_metadata": True}
        if message.attempted_at:
            since = parse_iso(message.attempted_at).timestamp() - CLOCK_SKEW_S
            params["oldest"] = f"{since:.6f}"
        if thread:
            params["ts"] = thread[1]
        method = "conversations.replies" if thread else "conversations.history"
        for _ in range(HISTORY_PAGES):
            history = await self._api(method, **params)
            for posted in history.get("messages", []):
                meta = posted.get("metadata") or {}
                if (meta.get("event_payload") or {}).get("key") == message.key:
                    return True
            params["cursor"] = (history.get("response_metadata") or {}).get("next_cursor")
            if not params["cursor"]:
                return False
        log.warning("outbox key not found in %s pages of history: sending again", HISTORY_PAGES)
        return False
