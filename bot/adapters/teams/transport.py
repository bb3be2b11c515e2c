"""Delivering the outbox in Teams, proactively through the Bot Connector. Each `Delivery`
is rendered already (`bot.outbox.render`); this only says where it goes in Teams.

- **A reply** goes to the conversation its route (`Route`) names (the 1:1 chat, or the
  channel thread: the conversation id with `;messageid=`); never as a reply to an old
  activity. After a click in the 1:1 chat, the clicked card is first replaced in place
  (`blocks.chosen`).
- **Private** (`Reply.private`, or a route `aside`: Teams has no ephemeral message): only
  in the 1:1 chat (created through the connector if needed), with a note in the channel
  that it went there. **A secret** (`delete_after_s`) goes to the 1:1 chat only; the
  outbox schedules its deletion and `delete` removes it.
- **A person** (a ticket notice, an approval, a page to someone on call): through their
  stored conversation reference (`Delivery.address`: service URL, member id, tenant, 1:1
  chat), in their 1:1 chat.
- **A channel** (the triage post, its thread lines and SLA alerts, pages and summaries
  for a channel): Teams posts by channel id, not by name. A channel message whose name is a
  Teams channel id (`19:…@thread.tacv2`) goes there: set `reports.supervisors_channel` to
  the supervisors' channel's id and each shift's handoff summary and the weekly report go
  to it (as `self_service.security_channel` and `tickets.oncall_recipient` may be); every
  other channel name means `teams.triage_channel`, and with none set it is refused for
  good. A channel message is a new channel thread, its reference `MessageRef(<channel>,
  <root activity id>)`: a message in that thread arrives with `<channel>;messageid=<root>`
  and is named the same way (`inbound`), so an engineer's reply there reaches the requester.
- **A chart** (`Delivery.attachment`, a handoff summary's): decision, an inline image (a
  PNG as a base64 data URI, `blocks.picture`) posted as its own message in the summary's
  thread, as Slack uploads it into the thread; not an `Image` in the summary's card: the
  chart is ~40 KB (~55 KB in base64) and an Adaptive Card in Teams is kept under ~28 KB,
  while a message may have 100 KB. Nothing to host, no Graph permission. A chart that does
  not go is logged; the summary is not sent again for it.

Failures are `DeliveryFailed` from the connector (429 Retry-After, 5xx again, other 4xx
for good); the outbox worker retries.

`was_delivered` is the outbox's question after a crash between a send and its record
(`outbox.sending_at` still set at the next start): is the message there already, so it is
not sent twice? Slack answers it from the channel's history (the outbox key is in each
post's metadata). Teams cannot: the Bot Connector has no read of a conversation, and
Microsoft Graph reads chats only under other ids (a 1:1 chat's `a:1:…` is no Graph chat id)
with a permission this bot does not ask for (`ChatMessage.Read.Chat` by resource-specific
consent). So it answers False and the message is sent again: a duplicate, never a loss,
only for messages whose send was cut by a crash (the outbox clears `sending_at` on every
failure it sees, so an ordinary failure needs no answer).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace

import aiohttp

from bot.adapters.base import MemoryShelf, Shelf
from bot.adapters.teams import blocks
from bot.adapters.teams.config import TeamsConfig
from bot.adapters.teams.connector import Connector
from bot.adapters.teams.outbound import CHANNEL_ID, Route, ServiceUrl, in_thread, thread_ref
from bot.i18n import Translator
from bot.messages import Lang, MessageRef, Reply
from bot.outbox.transport import REPLY, Attachment, Delivery, DeliveryFailed

log = logging.getLogger(__name__)

PLATFORM = "teams"
_CARDS_KEPT = 2000
MAX_ACTIVITY_BYTES = 100_000
"""The largest message a bot may post (Microsoft, "Format your bot messages": 100 KB,
raised from 40 KB; the connector answers 413 above it)."""


class TeamsTransport:
    platform = PLATFORM

    def __init__(
        self,
        config: TeamsConfig,
        session: aiohttp.ClientSession,
        service_url: ServiceUrl,
        shelf: Shelf | None = None,
    ) -> None:
        """Its own connector on `session` (the outbox's, on the outbox's event loop);
        a card's text waits on `shelf` until a click redraws it."""
        self._config = config
        self._connector = Connector(config, session)
        self._service_url = service_url
        self._card_texts: Shelf = shelf or MemoryShelf(_CARDS_KEPT)

    async def was_delivered(self, delivery: Delivery) -> bool:
        """False: Teams has no history to look in (the module's docstring)."""
        return False

    async def deliver(self, delivery: Delivery) -> str:
        if delivery.kind == REPLY:
            return await self._reply(delivery)
        reply, recipient = delivery.reply, delivery.recipient
        if delivery.address:
            url = delivery.address.get("service_url") or self._service_url.current
            chat = await self._to_person(delivery.address, url)
            posted = await self._post(chat, url, reply)
            where = chat
        elif recipient.kind != "channel":
            raise DeliveryFailed(f"no Teams conversation for {recipient.kind}", permanent=True)
        else:
            url = self._service_url.current
            posted, where = await self._in_channel(delivery, url)
        if delivery.attachment is not None and delivery.update is None:
            await self._picture(where, url, delivery.attachment)
        return posted

    def channel_for(self, name: str) -> str:
        """The Teams channel a channel message goes to: its name when that is a Teams
        channel id (`19:…@thread…`: `reports.supervisors_channel`,
        `self_service.security_channel` or `tickets.oncall_recipient` set to one), else
        `teams.triage_channel`."""
        if CHANNEL_ID.fullmatch(name):
            return name
        if not self._config.triage_channel:
            raise DeliveryFailed("teams.triage_channel is not set", permanent=True)
        return self._config.triage_channel

    async def _in_channel(self, delivery: Delivery, url: str) -> tuple[str, str]:
        """(the post's reference, the conversation its thread is) for a channel message."""
        reply = delivery.reply
        if delivery.update is not None:
            update = delivery.update
            await self._connector.update(
                url, in_thread(update), update.message, blocks.message(reply)
            )
            return str(update), in_thread(update)
        if delivery.thread is not None:
            thread = in_thread(delivery.thread)
            return await self._post(thread, url, reply), thread
        channel = self.channel_for(delivery.recipient.address)
        thread = await self._connector.channel_thread(
            url, channel, self._config.tenant_id, blocks.message(reply)
        )
        root = thread_ref(thread)
        if root is None:
            raise DeliveryFailed("the connector named no thread", permanent=True)
        return str(root), thread

    async def _picture(self, conversation: str, url: str, attachment: Attachment) -> None:
        """A chart under the message it belongs to (in its channel thread, or next in the
        chat). The message went already: a picture that fails or is too big for Teams is
        logged, never a reason to send the message again."""
        activity = blocks.picture(attachment.data, attachment.filename, attachment.title)
        size = len(json.dumps(activity))
        if size > MAX_ACTIVITY_BYTES:
            log.warning("chart not posted: %d bytes, Teams takes %d", size, MAX_ACTIVITY_BYTES)
            return
        try:
            await self._connector.send(url, conversation, activity)
        except DeliveryFailed as failed:
            log.warning("chart not posted: %s", failed.reason)

    async def _to_person(self, address: Mapping[str, str], url: str) -> str:
        """The person's 1:1 chat: the stored one, or opened through the connector."""
        return address.get("conversation") or await self._connector.personal_chat(
            url, address["member"], address.get("tenant") or self._config.tenant_id
        )

    async def _personal(self, route: Route) -> str:
        if route.personal:
            return route.conversation
        return await self._connector.personal_chat(route.service_url, route.member, route.tenant)

    async def _post(self, conversation: str, service_url: str, reply: Reply) -> str:
        activity = blocks.message(reply)
        activity_id = await self._connector.send(service_url, conversation, activity)
        if reply.choices:
            self._card_texts.put(f"teams:card:{activity_id}", reply.text)
        return str(MessageRef(conversation, activity_id))

    async def _reply(self, delivery: Delivery) -> str:
        route = Route(**(delivery.route or {}))
        if route.card and delivery.key.endswith(":0"):
            text = self._card_texts.take(f"teams:card:{route.card}") or ""
            try:
                await self._connector.update(
                    route.service_url,
                    route.conversation,
                    route.card,
                    blocks.chosen(text, route.label),
                )
            except DeliveryFailed as failed:  # the answer matters more than the old card
                log.warning("clicked card not updated: %s", failed.reason)
        reply = delivery.reply
        secret = reply.delete_after_s is not None
        if secret:
            reply = replace(reply, form=None, choices=())
        if not (secret or reply.private or route.aside) or route.personal:
            return await self._post(route.conversation, route.service_url, reply)
        posted = await self._post(await self._personal(route), route.service_url, reply)
        if not route.aside:
            lang: Lang = "zh-Hant" if route.lang == "zh-Hant" else "en"
            note = Reply(Translator(lang)("teams.sent_in_chat"))
            try:
                await self._post(route.conversation, route.service_url, note)
            except DeliveryFailed as failed:  # what mattered went: never send it twice
                log.warning("note about a private reply not shown: %s", failed.reason)
        return posted

    async def delete(self, ref: MessageRef) -> None:
        try:
            await self._connector.delete(self._service_url.current, ref.conversation, ref.message)
        except DeliveryFailed as failed:
            if "404" not in failed.reason:
                raise
