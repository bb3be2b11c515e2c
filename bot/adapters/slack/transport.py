"""Delivering the outbox in Slack: each `Delivery` (rendered already by
`bot.outbox.render`) becomes a post, an update in place (`chat.update`), a post in a
thread (a ticket's triage thread) or a DM (a person, or an email looked up).

Every send raises `DeliveryFailed` when Slack refuses it, and the outbox worker
(`bot.outbox.worker`) decides when to try again: after a 429's `Retry-After` (this client never
sleeps on one: it would hold every other conversation), after a backoff for a 5xx, a
network error or a transient `ok:false` (`TRANSIENT`), never for a permanent refusal.

A reply goes where its route (`Where`, stored with the message) says: in the thread or
the channel; privately through the command's `response_url` (only a Slack-hosted one,
`slack_hosted`), falling back to `chat.postEphemeral` when that URL fails; a `Form`
opens as a modal when the trigger id still works, else behind a button. A reply with a
secret (`delete_after_s`) goes to the user's DM only (the outbox schedules its deletion,
`delete` removes it); the notification text never carries it.

Each new post carries its outbox key in message metadata (`helpdesk_outbox`), so after a
crash mid-send `was_delivered` finds it in the channel's history. An ephemeral reply
leaves no history: after such a crash it is sent again (a duplicate, never a loss).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.blocks import reply_blocks
from bot.adapters.slack.config import SlackConfig, slack_error
from bot.adapters.slack.outbound import Forms, Where, slack_hosted
from bot.clock import parse_iso
from bot.i18n import bilingual
from bot.markup import escape
from bot.messages import MessageRef
from bot.outbox.transport import REPLY, Attachment, Delivery, DeliveryFailed

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
    status = exc.response.status_code
    error = f"{method}: {slack_error(exc)}"
    if status == 429:
        headers = {str(k).lower(): v for k, v in (exc.response.headers or {}).items()}
        wait = str(headers.get("retry-after") or "1")
        return DeliveryFailed(error, retry_after=float(wait) if wait.isdigit() else 1.0)
    transient = status >= 500 or slack_error(exc) in TRANSIENT
    return DeliveryFailed(error, permanent=not transient)


class SlackTransport:
    platform = "slack"

    def __init__(self, config: SlackConfig, session: aiohttp.ClientSession, forms: Forms) -> None:
        """Its own Web API client on `session` (the outbox's, on the outbox's event loop);
        `forms` is shared with the listeners (a form stashed here opens from a click)."""
        self._config = config
        self._session = session
        self._forms = forms
        self._dms: dict[str, str] = {}
        # Its own client on the shared session, with no retry handler that sleeps on a 429.
        self._client = AsyncWebClient(
            token=config.bot_token, base_url=config.api_url, session=session, timeout=15
        )

    async def _dm(self, user: str) -> str:
        """The DM channel with `user` (opened once, then remembered)."""
        if user not in self._dms:
            opened = await self._api("conversations.open", users=user)
            self._dms[user] = str(opened["channel"]["id"])
        return self._dms[user]

    async def _api(self, method: str, **params: Any) -> dict[str, Any]:
        try:
            response = await self._client.api_call(method, json=params)
        except SlackApiError as exc:
            raise refused(method, exc) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    # -- replies ---------------------------------------------------------------------------

    async def _reply(self, delivery: Delivery) -> str:
        where = Where(**(delivery.route or {}))
        reply = delivery.reply
        if reply.delete_after_s is not None:
            return await self._secret(delivery, where)
        if reply.form is not None and await self._forms.open(reply.form, where, self._client):
            return "views.open"
        token = self._forms.stash(reply.form) if reply.form is not None else None
        text, blocks = reply_blocks(reply, token)
        return await self._post(where, text, blocks, private=reply.private, key=delivery.key)

    async def _post(
        self, where: Where, text: str, blocks: list[dict[str, Any]], *, private: bool, key: str
    ) -> str:
        thread = {"thread_ts": where.thread_ts} if where.thread_ts else {}
        if where.ephemeral or (private and not where.dm):
            url = where.response_url
            hosted = bool(url) and slack_hosted(str(url), self._config.api_url)
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
            async with self._session.post(url, json={**body, "blocks": blocks}) as response:
                if response.status < 400:
                    return True
                log.warning("response_url post failed: HTTP %s", response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url post failed: %s", type(exc).__name__)
        return False

    async def _secret(self, delivery: Delivery, where: Where) -> str:
        """A secret goes to the user's DM only (the outbox schedules its deletion)."""
        dm = await self._dm(where.user)
        _, blocks = reply_blocks(replace(delivery.reply, form=None))
        # The fallback text shows in notifications and e-mail digests, which chat.delete
        # cannot recall: it never carries the secret, only the blocks do.
        posted = await self._api(
            "chat.postMessage",
            channel=dm,
            text=bilingual("delivery.private_fallback"),
            blocks=blocks,
        )
        if not where.dm:
            with_note = escape(bilingual("delivery.sent_in_dm"))
            try:
                await self._post(where, with_note, [], private=True, key=delivery.key)
            except DeliveryFailed as failed:  # the secret went: never send it twice
                log.warning("note about a secret in the DM not shown: %s", failed.reason)
        return f"{posted['channel']}/{posted['ts']}"

    # -- the other kinds -------------------------------------------------------------------

    async def _channel(self, delivery: Delivery) -> str:
        recipient = delivery.recipient
        if delivery.address and delivery.address.get("channel"):
            return delivery.address["channel"]  # the DM the person wrote to us in
        if recipient.kind == "channel":
            return recipient.address
        if recipient.kind == "person" and recipient.platform == self.platform:
            return await self._dm(recipient.address)
        if recipient.kind == "email":
            found = await self._api("users.lookupByEmail", email=recipient.address)
            return await self._dm(str(found["user"]["id"]))
        raise LookupError(f"no Slack address for {recipient}")

    async def deliver(self, delivery: Delivery) -> str:
        if delivery.kind == REPLY:
            return await self._reply(delivery)
        text, blocks = reply_blocks(delivery.reply)
        if delivery.update is not None:
            update = delivery.update
            await self._api(
                "chat.update",
                channel=update.conversation,
                ts=update.message,
                text=text,
                blocks=blocks,
            )
            return str(update)
        thread = delivery.thread
        channel = thread.conversation if thread else await self._channel(delivery)
        posted = await self._api(
            "chat.postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": delivery.key}},
            **({"thread_ts": thread.message} if thread else {}),
        )
        ref = MessageRef(str(posted["channel"]), str(posted["ts"]))
        if delivery.attachment is not None:
            await self._attach(delivery.attachment, ref)
        return str(ref)

    async def _attach(self, attachment: Attachment, post: MessageRef) -> None:
        """A file (a handoff summary's chart), uploaded into the post's thread."""
        upload = await self._api(
            "files.getUploadURLExternal",
            filename=attachment.filename,
            length=len(attachment.data),
        )
        async with self._session.post(str(upload["upload_url"]), data=attachment.data) as response:
            if response.status >= 400:
                log.warning("file upload failed: HTTP %s", response.status)
                return
        await self._api(
            "files.completeUploadExternal",
            files=[{"id": upload["file_id"], "title": attachment.title}],
            channel_id=post.conversation,
            thread_ts=post.message,
        )

    async def delete(self, ref: MessageRef) -> None:
        try:
            await self._client.chat_delete(channel=ref.conversation, ts=ref.message)
        except SlackApiError as exc:
            if slack_error(exc) not in ("message_not_found", "channel_not_found"):
                raise refused("chat.delete", exc) from None

    async def was_delivered(self, delivery: Delivery) -> bool:
        if delivery.update is not None:
            return False  # an update in place is safe to repeat
        thread: MessageRef | None = None
        if delivery.kind == REPLY:
            where = Where(**(delivery.route or {}))
            if delivery.reply.delete_after_s is not None or where.ephemeral:
                return False  # no history to read: an ephemeral is sent again
            if where.thread_ts:
                thread = MessageRef(where.channel, where.thread_ts)
            channel = where.channel
        else:
            thread = delivery.thread
            channel = thread.conversation if thread else await self._channel(delivery)
        params: dict[str, Any] = {"channel": channel, "limit": 200, "include_all_metadata": True}
        if delivery.message.attempted_at:
            since = parse_iso(delivery.message.attempted_at).timestamp() - CLOCK_SKEW_S
            params["oldest"] = f"{since:.6f}"
        if thread:
            params["ts"] = thread.message
        method = "conversations.replies" if thread else "conversations.history"
        for _ in range(HISTORY_PAGES):
            history = await self._api(method, **params)
            for posted in history.get("messages", []):
                meta = posted.get("metadata") or {}
                if (meta.get("event_payload") or {}).get("key") == delivery.key:
                    return True
            params["cursor"] = (history.get("response_metadata") or {}).get("next_cursor")
            if not params["cursor"]:
                return False
        log.warning("outbox key not found in %s pages of history: sending again", HISTORY_PAGES)
        return False
