"""Delivering the outbox in Teams, proactively through the Bot Connector.

- **A reply** goes to the conversation its route names (the 1:1 chat, or the channel
  thread: the conversation id with `;messageid=`); never as a reply to an old activity.
  After a click, the clicked card is first replaced in place (`cards.chosen`).
- **Private** (`Reply.private`, or a secret): only in the 1:1 chat (created through the
  connector if needed), with a note in the channel that it went there. A secret's text
  comes from `HeldSecrets` (never the store); its activity is deleted after
  `delete_after_s`, also across a restart (`bot.store.deletions`).
- **Ticket notices, pages, the rest**: to `user:teams:<object id>` or an `email:` with a
  Teams reference (`bot.store.addresses`), in the person's 1:1 chat.

Failures are `DeliveryFailed` from the connector (429 Retry-After, 5xx again, other 4xx
for good); the outbox worker retries. `was_delivered` says False: the Bot API cannot
search a chat's history, so a crash between a send and its record repeats that one
message (a duplicate, never a loss).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.adapters.teams import cards
from bot.adapters.teams.connector import Connector
from bot.clock import Clock
from bot.i18n import Translator
from bot.inbox import HeldSecrets
from bot.inbox.codec import reply as reply_of
from bot.messages import Choice, Lang, Reply
from bot.notify import REPLY, DeliveryFailed, Outbound
from bot.store.addresses import Addresses
from bot.store.deletions import Deletions
from bot.tickets.service import TicketService
from bot.tickets.triage import triage_view

log = logging.getLogger(__name__)

PLATFORM = "teams"
_CARDS_KEPT = 2000


class TeamsTransport:
    def __init__(
        self,
        connector: Connector,
        addresses: Addresses,
        deletions: Deletions,
        held: HeldSecrets,
        clock: Clock,
        *,
        tickets: TicketService | None = None,
        triage_channel: str = "",
    ) -> None:
        """`tickets` and `triage_channel`: the triage channel in Teams (else in Slack)."""
        self._tickets = tickets
        self._triage_channel = triage_channel
        self._connector = connector
        self._addresses = addresses
        self._deletions = deletions
        self._held = held
        self._clock = clock
        self._card_texts: OrderedDict[str, str] = OrderedDict()

    def reaches(self, message: Outbound) -> bool:
        """Whether this message is Teams' to deliver."""
        if message.kind == REPLY:
            return bool((message.payload.get("route") or {}).get("platform") == PLATFORM)
        recipient = message.recipient
        if message.kind in ("triage", "thread", "sla"):
            return bool(self._triage_channel and self._tickets) and recipient.startswith("channel:")
        if recipient.startswith("user:teams:"):
            return True
        if recipient.startswith("email:"):
            return self._addresses.by_email(PLATFORM, recipient.removeprefix("email:")) is not None
        return False

    async def was_delivered(self, message: Outbound) -> bool:
        return False

    async def deliver(self, message: Outbound) -> str:
        if message.kind == REPLY:
            return await self._reply(message)
        payload = message.payload
        if message.kind in ("triage", "thread", "sla"):
            return await self._triage(message)
        if message.kind == "page":
            text = f"PAGE {payload['priority']} HD-{payload['ticket']}: {payload['summary']}"
            reply = Reply(text)
        else:
            choices = tuple(Choice(str(a), str(b)) for a, b in payload.get("choices") or ())
            reply = Reply(str(payload.get("text") or ""), choices=choices)
        recipient = message.recipient
        if recipient.startswith("user:teams:"):
            ref = self._addresses.get(PLATFORM, "user", recipient.removeprefix("user:teams:"))
        else:
            ref = self._addresses.by_email(PLATFORM, recipient.removeprefix("email:"))
        if ref is None:
            raise DeliveryFailed("no Teams conversation for the recipient", permanent=True)
        return await self._post(await self._personal(ref), ref["service_url"], reply)

    async def _triage(self, message: Outbound) -> str:
        """The ticket's post in the triage channel (a new thread, then updated in place), and
        the comments and SLA alerts in its thread. A post's reference is its thread's
        conversation id, which is what an @mention in that thread arrives with."""
        assert self._tickets is not None, "reaches() sends triage here only with the tickets"
        channel = self._addresses.get(PLATFORM, "channel", self._triage_channel)
        if channel is None:  # retried: the bot learns the channel when it is added to the team
            raise DeliveryFailed("the bot has not been added to the triage channel's team")
        service_url = str(channel["service_url"])
        payload = message.payload
        number = int(payload["ticket"])
        if message.kind == "triage":
            view = cards.message(triage_view(self._tickets.require(number), Translator("en")))
            if message.update_ref:
                post = message.update_ref
                await self._connector.update(
                    service_url, post, post.partition(";messageid=")[2], view
                )
                return post
            return await self._connector.channel_thread(
                service_url, self._triage_channel, str(channel["tenant"]), view
            )
        thread = self._tickets.triage_post(number)
        if thread is None:
            raise LookupError("the ticket's triage post is not delivered yet")
        if message.kind == "thread":
            line = f"*{payload['actor']}* ({payload['kind']}): {payload['text']}"
        else:
            line = f"SLA {payload['clock']} {payload['kind']} (due {payload['due']})"
        return await self._post(thread, service_url, Reply(line))

    async def _personal(self, ref: dict[str, Any]) -> str:
        if ref.get("conversation"):
            return str(ref["conversation"])
        return await self._connector.personal_chat(
            str(ref["service_url"]), str(ref["member"]), str(ref["tenant"])
        )

    async def _post(self, conversation: str, service_url: str, reply: Reply) -> str:
        activity_id = await self._connector.send(service_url, conversation, cards.message(reply))
        if reply.choices:
            self._card_texts[activity_id] = reply.text
            while len(self._card_texts) > _CARDS_KEPT:
                self._card_texts.popitem(last=False)
        return f"{conversation}|{activity_id}"

    async def _reply(self, message: Outbound) -> str:
        route = message.payload["route"]
        service_url = str(route["service_url"])
        if route.get("card") and message.key.endswith(":0"):
            text = self._card_texts.pop(str(route["card"]), "")
            try:
                await self._connector.update(
                    service_url,
                    str(route["conversation"]),
                    str(route["card"]),
                    cards.chosen(text, str(route.get("label") or "")),
                )
            except DeliveryFailed as failed:  # the answer matters more than the old card
                log.warning("clicked card not updated: %s", failed.reason)
        lang: Lang = "zh-Hant" if route.get("lang") == "zh-Hant" else "en"
        if message.payload.get("secret"):
            return await self._secret(message, route, lang)
        reply = reply_of(message.payload["reply"])
        if route.get("aside"):  # for the engineer alone (see `inbound`): their 1:1 chat
            chat = await self._personal({**route, "conversation": None})
            return await self._post(chat, service_url, reply)
        if reply.private and not route.get("personal"):
            chat = await self._personal({**route, "conversation": None})
            posted = await self._post(chat, service_url, reply)
            note = Reply(Translator(lang)("teams.sent_in_chat"))
            await self._post(str(route["conversation"]), service_url, note)
            return posted
        return await self._post(str(route["conversation"]), service_url, reply)

    async def _secret(self, message: Outbound, route: dict[str, Any], lang: Lang) -> str:
        service_url = str(route["service_url"])
        personal = bool(route.get("personal"))
        chat = str(route["conversation"]) if personal else None
        chat = chat or await self._personal({**route, "conversation": None})
        reply = self._held.get(message.key)
        if reply is None:  # the process restarted: the secret was never stored
            return await self._post(chat, service_url, Reply(Translator(lang)("teams.secret_lost")))
        posted = await self._post(chat, service_url, replace(reply, form=None, choices=()))
        self._held.drop(message.key)
        delete_at = self._clock() + timedelta(seconds=reply.delete_after_s or 0)
        self._deletions.schedule(PLATFORM, f"{service_url}|{posted}", delete_at)
        if not personal:
            note = Reply(Translator(lang)("teams.sent_in_chat"))
            try:
                await self._post(str(route["conversation"]), service_url, note)
            except DeliveryFailed as failed:  # the secret went: never send it twice
                log.warning("note about a secret in the chat not shown: %s", failed.reason)
        return posted

    async def delete_due(self) -> int:
        """Delete the secret messages whose time is up; return how many went."""
        done = 0
        for ref in self._deletions.due(PLATFORM, self._clock()):
            service_url, conversation, activity_id = ref.split("|", 2)
            try:
                await self._connector.delete(service_url, conversation, activity_id)
            except DeliveryFailed as failed:
                if "404" not in failed.reason:
                    log.warning("Teams delete failed: %s", failed.reason)
                    continue
            self._deletions.done(PLATFORM, ref)
            done += 1
        return done
