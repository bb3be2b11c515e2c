"""`POST /api/messages`: an activity from Teams, checked, translated, stored, then 202.

At the door (401 and nothing runs otherwise): the bearer token (`auth`), the tenant pinned
(`channelData.tenant.id` and `conversation.tenantId` must name `teams.tenant_id`: Bot
Framework tokens carry no tenant), the service URL allowed. A body that is no activity is
a 400, never a 5xx. Then:

- a message in the 1:1 chat, or a channel / group-chat message @mentioning the bot (the
  mention's text is stripped; answered in the channel thread);
- an Adaptive Card submission (`Action.Submit` arrives as a message with `value`,
  `Action.Execute` as an `adaptiveCard/action` invoke) → `Incoming.choice` / `form`;
- `conversationUpdate` adding the bot to a personal chat → the welcome card (the home
  screen, in the user's language), drawn after the ack like Slack's App Home;
- the bot's own activities and anything else: 200, ignored.

In the 1:1 chat a typing indicator goes out once the activity is stored.

The `Incoming` goes into the durable inbox (dedupe on the activity id, in the same
commit); only then 202 (an invoke: 200 with its invoke response). The turn itself and
every reply go out later through the outbox, proactively (Teams gives up after ~15 s).
Each verified activity also refreshes the sender's and the channel's conversation
reference (`bot.store.addresses`), so a ticket update can reach them later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import aiohttp
from aiohttp import web

from bot.adapters.teams import cards
from bot.adapters.teams.auth import Refused, TokenCheck
from bot.adapters.teams.config import TeamsConfig
from bot.adapters.teams.connector import Connector
from bot.adapters.teams.identity import People, lang_of
from bot.adapters.teams.manifest import IN_CHANNELS, PERSONAL
from bot.engine import Engine
from bot.inbox import Inbox
from bot.messages import TEXT_FORM, Incoming
from bot.notify import DeliveryFailed
from bot.store.addresses import Addresses

log = logging.getLogger(__name__)

PLATFORM = "teams"
_AT = re.compile(r"<at>[^<]*</at>")


class Malformed(Exception):
    """Not an activity we can read: 400."""


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(what)
    return value


def tenant_of(activity: dict[str, Any]) -> str:
    """The tenant an activity names; both places must agree when both are given."""
    data = activity.get("channelData")
    data_tenant = ((data or {}).get("tenant") or {}).get("id") if isinstance(data, dict) else None
    conversation = _dict(activity.get("conversation"), "conversation")
    named = {str(t) for t in (data_tenant, conversation.get("tenantId")) if t}
    if len(named) != 1:
        raise Refused("no tenant" if not named else "two tenants")
    return named.pop()


def as_command(text: str) -> str:
    """`helpdesk queue` (typed) or `queue` alone (picked from the bot's command menu) as the
    `/helpdesk queue` command Slack sends; anything else as it is."""
    words = text.split()
    if len(words) > 1 and words[0].lower() in ("helpdesk", "/helpdesk"):
        return "/helpdesk " + " ".join(words[1:])
    if len(words) == 1 and words[0].lower() in {*PERSONAL, *IN_CHANNELS} - {"new", "kb"}:
        return "/helpdesk " + words[0].lower()
    return text


class TeamsInbound:
    def __init__(
        self,
        engine: Engine,
        config: TeamsConfig,
        session: aiohttp.ClientSession,
        connector: Connector,
        addresses: Addresses,
    ) -> None:
        self.engine = engine
        self.config = config
        self.tokens = TokenCheck(config, session)
        self.connector = connector
        self.people = People(connector, config.tenant_id, config.user_cache_s)
        self.addresses = addresses
        self.inbox: Inbox | None = None
        self.accepting = True
        self._remembered: dict[tuple[str, str], dict[str, Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        """The sub-app mounted at `/api`: its own routes only (no middleware of it covers
        `/slack/events` or `/healthz`)."""
        app = web.Application(client_max_size=256 * 1024)
        app.router.add_post("/messages", self.http)
        return app

    async def http(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting:
            return web.Response(status=503, headers={"Retry-After": "5"})
        try:
            activity = _dict(json.loads(await request.read()), "body")
            service_url = str(activity.get("serviceUrl") or "")
            if self.config.anonymous:
                self.tokens.check_service_url(service_url)
            else:
                await self.tokens.verify(request.headers.get("Authorization", ""), service_url)
            if tenant_of(activity) != self.config.tenant_id:
                raise Refused("another tenant")
            return await self._activity(activity, service_url)
        except Refused as refused:
            log.warning("Teams request refused: %s", refused.reason)
            return web.Response(status=401)
        except (Malformed, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("Teams request malformed: %s", type(exc).__name__)
            return web.Response(status=400)

    async def _activity(self, activity: dict[str, Any], service_url: str) -> web.StreamResponse:
        sender = _dict(activity.get("from"), "from")
        bot = _dict(activity.get("recipient"), "recipient")
        conversation = _dict(activity.get("conversation"), "conversation")
        kind = activity.get("type")
        if sender.get("id") == bot.get("id") or str(sender.get("id", "")).startswith("28:"):
            return web.Response(status=200)  # the bot's own
        if activity.get("channelId") not in (None, "msteams"):
            return web.Response(status=200)
        if kind == "conversationUpdate":
            channel = ((activity.get("channelData") or {}).get("channel") or {}).get("id")
            if channel:  # the app added to a team: its channels can be posted to now
                self._remember_channel(str(channel), service_url, self.config.tenant_id)
            added = activity.get("membersAdded") or []
            if any(isinstance(m, dict) and m.get("id") == bot.get("id") for m in added):
                self._welcome(activity, service_url)
            return web.Response(status=200)
        invoke = kind == "invoke" and activity.get("name") == "adaptiveCard/action"
        if kind != "message" and not invoke:
            return web.Response(status=200)
        choice, form, label = cards.submitted(activity.get("value"))
        text = str(activity.get("text") or "")
        personal = conversation.get("conversationType") in (None, "personal")
        if not personal and choice is None:
            stripped = self._without_mention(activity, text, str(bot.get("id")))
            if stripped is None:
                return web.Response(status=200)  # channel chatter not for the bot
            text = stripped
        if choice is None and not text.strip():
            return web.Response(status=200)
        event_id = str(activity.get("id") or "")
        if not event_id:
            raise Malformed("no activity id")  # nothing to deduplicate on
        member = await self.people.member(
            service_url,
            str(conversation["id"]),
            str(sender["id"]),
            str(sender.get("aadObjectId") or ""),
            str(sender.get("name") or ""),
        )
        tenant = self.config.tenant_id
        full = str(conversation["id"])
        place, _, thread = full.partition(";messageid=")
        self._remember(
            member.actor.user_id,
            member.actor.email,
            service_url,
            member.id,
            tenant,
            full if personal else None,
        )
        if not personal:
            channel = ((activity.get("channelData") or {}).get("channel") or {}).get("id")
            if channel:
                self._remember_channel(str(channel), service_url, tenant)
        # Teams has no ephemeral message: what the bot answers to a click on a card in a
        # channel (a triage post) or to a message in a ticket's triage thread is for that
        # engineer alone, so it goes to their 1:1 chat (Slack answers those ephemerally).
        tickets = self.engine.services.tickets
        aside = not personal and (choice is not None or tickets.for_thread(full) is not None)
        route = {
            "platform": PLATFORM,
            "aside": aside,
            "service_url": service_url,
            "conversation": full,
            "member": member.id,
            "tenant": tenant,
            "personal": personal,
            "lang": lang_of(activity.get("locale")),
            # a card in the 1:1 chat shows the choice after a click; a triage card in a
            # channel is redrawn by the outbox with the ticket's new state instead
            "card": str(activity.get("replyToId") or "")
            if personal and choice and not form
            else "",
            "label": label,
        }
        text = as_command(text)
        if form is not None and choice == TEXT_FORM:
            text, choice, form = form.get("text", ""), None, None
        msg = Incoming(
            actor=member.actor,
            conversation_id=place,
            text=label if choice and not form else text.strip(),
            lang=lang_of(activity.get("locale")),
            thread_id=full if thread else None,
            choice=choice,
            form=form,
            event_id=event_id,
            forms=True,
        )
        assert self.inbox is not None, "the inbox is set before serving"
        try:
            stored = await self.inbox.accept(msg, route)
        except Exception:  # not stored: Teams sends it again
            log.exception("Teams activity not stored")
            return web.Response(status=503, headers={"Retry-After": "5"})
        if not stored:
            log.info("dropping redelivered Teams activity")
        elif personal:
            self._typing(service_url, full)
        if invoke:
            return web.json_response(
                {
                    "statusCode": 200,
                    "type": "application/vnd.microsoft.activity.message",
                    "value": "✓",
                }
            )
        return web.Response(status=202)

    def _typing(self, service_url: str, conversation: str) -> None:
        """The typing indicator while the turn runs (after the ack; a failure only logs)."""

        async def send() -> None:
            try:
                await self.connector.send(service_url, conversation, {"type": "typing"})
            except DeliveryFailed as failed:
                log.info("typing indicator not shown: %s", failed.reason)

        task = asyncio.create_task(send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _without_mention(activity: dict[str, Any], text: str, bot_id: str) -> str | None:
        """The text with the bot's @mention taken out; None when the bot is not mentioned."""
        mentioned = False
        for entity in activity.get("entities") or []:
            if not isinstance(entity, dict) or entity.get("type") != "mention":
                continue
            if (entity.get("mentioned") or {}).get("id") == bot_id:
                mentioned = True
                text = text.replace(str(entity.get("text") or ""), " ")
        return " ".join(_AT.sub(" ", text).split()) if mentioned else None

    def _remember(
        self,
        user: str,
        email: str | None,
        service_url: str,
        member: str,
        tenant: str,
        conversation: str | None,
    ) -> None:
        known = self._remembered.get(("user", user)) or self.addresses.get(PLATFORM, "user", user)
        reference = {
            "service_url": service_url,
            "member": member,
            "tenant": tenant,
            "conversation": conversation or (known or {}).get("conversation"),
        }
        if known != reference or self._remembered.get(("user", user)) is None:
            self.addresses.remember(PLATFORM, "user", user, reference, email)
        self._remembered[("user", user)] = reference

    def _remember_channel(self, channel: str, service_url: str, tenant: str) -> None:
        reference = {"service_url": service_url, "conversation": channel, "tenant": tenant}
        if self._remembered.get(("channel", channel)) != reference:
            self.addresses.remember(PLATFORM, "channel", channel, reference)
            self._remembered[("channel", channel)] = reference

    def _welcome(self, activity: dict[str, Any], service_url: str) -> None:
        conversation = activity["conversation"]
        if conversation.get("conversationType") not in (None, "personal"):
            return
        if not self.engine.services.events.claim(PLATFORM, f"welcome:{activity.get('id')}"):
            return
        task = asyncio.create_task(self._send_welcome(activity, service_url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_welcome(self, activity: dict[str, Any], service_url: str) -> None:
        sender, conversation = activity["from"], activity["conversation"]
        member = await self.people.member(
            service_url,
            str(conversation["id"]),
            str(sender["id"]),
            str(sender.get("aadObjectId") or ""),
            str(sender.get("name") or ""),
        )
        self._remember(
            member.actor.user_id,
            member.actor.email,
            service_url,
            member.id,
            self.config.tenant_id,
            str(conversation["id"]),
        )
        lang = lang_of(activity.get("locale"))
        msg = Incoming(member.actor, str(conversation["id"]), "", lang=lang, forms=True)
        reply = await self.engine.home(msg)
        try:
            await self.connector.send(service_url, str(conversation["id"]), cards.message(reply))
        except DeliveryFailed as failed:
            log.warning("Teams welcome not sent: %s", failed.reason)
