"""Delivering the outbox in Teams, proactively through the Bot Connector. Each `Delivery`
is rendered already (`bot.outbox.render`); this only says where it goes in Teams.

- **A reply** goes to the conversation its route (`Route`) names (the 1:1 chat, or the
  channel thread: the conversation id with `;messageid=`); never as a reply to an old
  activity. After a click in the 1:1 chat, the clicked card is first replaced in place
  (`cards.chosen`).
- **Private** (`Reply.private`, or a route `aside`: Teams has no ephemeral message): only
  in the 1:1 chat (created through the connector if needed), with a note in the channel
  that it went there. **A secret** (`delete_after_s`) goes to the 1:1 chat only; the
  outbox schedules its deletion and `delete` removes it.
- **A person** (a ticket notice, an approval, a page to someone on call): through their
  stored conversation reference (`Delivery.address`: service URL, member id, tenant, 1:1
  chat), in their 1:1 chat.
- **A channel** (the triage post, its thread lines and SLA alerts, pages and summaries
  for a channel): Teams posts by channel id, not by name, so every channel message goes to
  `teams.triage_channel`. Decision: one Teams channel for the desk, as the Teams-only
  deployments here have one; a channel message with no channel set is refused for good.
  A triage post is a new channel thread, its reference `MessageRef(<channel>, <root
  activity id>)`: a message in that thread arrives with `<channel>;messageid=<root>` and
  is named the same way (`inbound`), so an engineer's reply there reaches the requester.
  A chart (`Delivery.attachment`) goes inline in the card as a PNG data URI.

Failures are `DeliveryFailed` from the connector (429 Retry-After, 5xx again, other 4xx
for good); the outbox worker retries. `was_delivered` says False: the Bot API cannot
search a chat's history, so a crash between a send and its record repeats that one
message (a duplicate, never a loss).
"""

from __future__ import annotations

import base64
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace

import aiohttp

from bot.adapters.teams import cards
from bot.adapters.teams.config import TeamsConfig
from bot.adapters.teams.connector import Connector
from bot.i18n import Translator
from bot.messages import Lang, MessageRef, Reply
from bot.outbox.transport import REPLY, Delivery, DeliveryFailed

log = logging.getLogger(__name__)

PLATFORM = "teams"
_CARDS_KEPT = 2000
THREAD = ";messageid="


@dataclass(frozen=True)
class Route:
    """Where a reply to an activity goes (stored with the message in the inbox)."""

    service_url: str
    conversation: str
    """The conversation the activity came in (a channel thread keeps its `;messageid=`)."""
    member: str
    tenant: str
    personal: bool = True
    aside: bool = False
    """For the sender alone (a click in a channel, a message in a channel thread): their
    1:1 chat."""
    lang: str = "en"
    card: str = ""
    """The clicked card's activity id in the 1:1 chat, redrawn with the choice."""
    label: str = ""


class ServiceUrl:
    """The connector URL Teams last named in a verified activity (shared by the listener
    and the transport); before any, the configured default. Proactive channel posts and
    deletions use it. With the engine in its own process (`bot.inbox.engine_process`) the
    listener's is out of reach: the transport then learns it from each reply's route (the
    listener checked that URL before the activity was stored)."""

    def __init__(self, default: str) -> None:
        self.current = default


def thread_ref(conversation: str) -> MessageRef | None:
    """A channel thread's conversation id as the reference of its root post."""
    channel, marker, root = conversation.partition(THREAD)
    return MessageRef(channel, root) if marker and root else None


def in_thread(ref: MessageRef) -> str:
    return f"{ref.conversation}{THREAD}{ref.message}"


class TeamsTransport:
    platform = PLATFORM

    def __init__(
        self, config: TeamsConfig, session: aiohttp.ClientSession, service_url: ServiceUrl
    ) -> None:
        """Its own connector on `session` (the outbox's, on the outbox's event loop)."""
        self._config = config
        self._connector = Connector(config, session)
        self._service_url = service_url
        self._card_texts: OrderedDict[str, str] = OrderedDict()

    async def was_delivered(self, delivery: Delivery) -> bool:
        return False

    async def deliver(self, delivery: Delivery) -> str:
        if delivery.kind == REPLY:
            return await self._reply(delivery)
        reply, image = delivery.reply, ""
        if delivery.attachment is not None:
            data = base64.b64encode(delivery.attachment.data).decode("ascii")
            image = f"data:image/png;base64,{data}"
        recipient = delivery.recipient
        if delivery.address:
            return await self._to_person(delivery.address, reply, image)
        if recipient.kind != "channel":
            raise DeliveryFailed(f"no Teams conversation for {recipient.kind}", permanent=True)
        channel = self._config.triage_channel
        if not channel:
            raise DeliveryFailed("teams.triage_channel is not set", permanent=True)
        url = self._service_url.current
        if delivery.update is not None:
            update = delivery.update
            await self._connector.update(
                url, in_thread(update), update.message, cards.message(reply)
            )
            return str(update)
        if delivery.thread is not None:
            return await self._post(in_thread(delivery.thread), url, reply, image)
        thread = await self._connector.channel_thread(
            url, channel, self._config.tenant_id, cards.message(reply, image)
        )
        root = thread_ref(thread)
        if root is None:
            raise DeliveryFailed("the connector named no thread", permanent=True)
        return str(root)

    async def _to_person(self, address: Mapping[str, str], reply: Reply, image: str) -> str:
        url = address.get("service_url") or self._service_url.current
        chat = address.get("conversation") or await self._connector.personal_chat(
            url, address["member"], address.get("tenant") or self._config.tenant_id
        )
        return await self._post(chat, url, reply, image)

    async def _personal(self, route: Route) -> str:
        if route.personal:
            return route.conversation
        return await self._connector.personal_chat(route.service_url, route.member, route.tenant)

    async def _post(
        self, conversation: str, service_url: str, reply: Reply, image: str = ""
    ) -> str:
        activity = cards.message(reply, image)
        activity_id = await self._connector.send(service_url, conversation, activity)
        if reply.choices:
            self._card_texts[activity_id] = reply.text
            while len(self._card_texts) > _CARDS_KEPT:
                self._card_texts.popitem(last=False)
        return str(MessageRef(conversation, activity_id))

    async def _reply(self, delivery: Delivery) -> str:
        route = Route(**(delivery.route or {}))
        if route.service_url:
            self._service_url.current = route.service_url
        if route.card and delivery.key.endswith(":0"):
            text = self._card_texts.pop(route.card, "")
            try:
                await self._connector.update(
                    route.service_url,
                    route.conversation,
                    route.card,
                    cards.chosen(text, route.label),
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
