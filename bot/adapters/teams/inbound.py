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

The `Incoming` goes to the core (`Core.accept`: the durable inbox, dedupe on the
activity id, in the same commit); only then 202 (an invoke: 200 with its invoke
response). The turn itself and every reply go out later through the outbox, proactively
(Teams gives up after ~15 s). Each `Incoming` carries the sender's conversation reference
(`Incoming.address`: service URL, member id, tenant, and the 1:1 chat when it came from
there), which the inbox stores: later notices about their tickets reach them with it.

Teams has no ephemeral message: what the bot answers to a click on a card in a channel (a
triage post) or to a message inside a channel thread (a ticket's triage thread) is for
that person alone, so its route is `aside`: their 1:1 chat (Slack answers those
ephemerally). A top-level channel @mention is answered in its own thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Coroutine
from dataclasses import asdict
from typing import Any

import aiohttp
from aiohttp import web

from bot.adapters.base import Core
from bot.adapters.teams import cards
from bot.adapters.teams.auth import Refused, TokenCheck
from bot.adapters.teams.config import TeamsConfig
from bot.adapters.teams.connector import Connector
from bot.adapters.teams.identity import Member, People, lang_of
from bot.adapters.teams.manifest import IN_CHANNELS, PERSONAL
from bot.adapters.teams.transport import Route, ServiceUrl, thread_ref
from bot.messages import TEXT_FORM, Command, Incoming, MessageRef
from bot.outbox.transport import DeliveryFailed

log = logging.getLogger(__name__)

PLATFORM = "teams"
_AT = re.compile(r"<at>[^<]*</at>")


def _in_a_thread(thread: MessageRef | None, activity_id: str) -> bool:
    """A reply inside a channel thread (not the thread's own first post)."""
    return thread is not None and thread.message != activity_id


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
        core: Core,
        config: TeamsConfig,
        session: aiohttp.ClientSession,
        connector: Connector,
        service_url: ServiceUrl,
    ) -> None:
        self.core = core
        self.config = config
        self.tokens = TokenCheck(config, session)
        self.connector = connector
        self.people = People(connector, config.tenant_id, config.user_cache_s)
        self.service_url = service_url
        self._tasks: set[asyncio.Task[None]] = set()

    async def http(self, request: web.Request) -> web.StreamResponse:
        try:
            activity = _dict(json.loads(await request.read()), "body")
            service_url = str(activity.get("serviceUrl") or "")
            if self.config.anonymous:
                self.tokens.check_service_url(service_url)
            else:
                await self.tokens.verify(request.headers.get("Authorization", ""), service_url)
            if tenant_of(activity) != self.config.tenant_id:
                raise Refused("another tenant")
            self.service_url.current = service_url
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
        member = await self._member(activity, service_url)
        full = str(conversation["id"])
        thread = thread_ref(full)
        lang = lang_of(activity.get("locale"))
        route = Route(
            service_url=service_url,
            conversation=full,
            member=member.id,
            tenant=self.config.tenant_id,
            personal=personal,
            aside=not personal and (choice is not None or _in_a_thread(thread, event_id)),
            lang=lang,
            # a card in the 1:1 chat shows the choice after a click; a triage card in a
            # channel is redrawn by the outbox with the ticket's new state instead
            card=str(activity.get("replyToId") or "") if personal and choice and not form else "",
            label=label,
        )
        text = as_command(text)
        if form is not None and choice == TEXT_FORM:
            text, choice, form = form.get("text", ""), None, None
        said = label if choice and not form else text.strip()
        msg = Incoming(
            actor=member.actor,
            conversation_id=full.partition(";messageid=")[0],
            text=said,
            lang=lang,
            thread_id=str(thread) if thread else None,
            choice=choice,
            form=form,
            event_id=event_id,
            forms=True,
            command=Command.typed(said) if choice is None else None,
            address=self._address(member, service_url, full if personal else ""),
        )
        try:
            stored = await self.core.accept(msg, asdict(route))
        except Exception:  # not stored: Teams sends it again
            log.exception("Teams activity not stored")
            return web.Response(status=503, headers={"Retry-After": "5"})
        if stored and personal:
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

    async def _member(self, activity: dict[str, Any], service_url: str) -> Member:
        sender, conversation = activity["from"], activity["conversation"]
        return await self.people.member(
            service_url,
            str(conversation["id"]),
            str(sender["id"]),
            str(sender.get("aadObjectId") or ""),
            str(sender.get("name") or ""),
        )

    def _address(self, member: Member, service_url: str, chat: str) -> dict[str, str]:
        """How to reach the sender later: the 1:1 chat when this came from it, else the
        member id to open it with."""
        return {
            "service_url": service_url,
            "member": member.id,
            "tenant": self.config.tenant_id,
            "conversation": chat,
        }

    def _typing(self, service_url: str, conversation: str) -> None:
        """The typing indicator while the turn runs (after the ack; a failure only logs)."""

        async def send() -> None:
            try:
                await self.connector.send(service_url, conversation, {"type": "typing"})
            except DeliveryFailed as failed:
                log.info("typing indicator not shown: %s", failed.reason)

        self._spawn(send())

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
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

    def _welcome(self, activity: dict[str, Any], service_url: str) -> None:
        """The welcome card (the home screen) after the bot is added to a 1:1 chat, drawn
        after the ack like Slack's App Home; once per install activity."""
        if activity["conversation"].get("conversationType") not in (None, "personal"):
            return
        self._spawn(self._send_welcome(activity, service_url))

    async def _send_welcome(self, activity: dict[str, Any], service_url: str) -> None:
        chat = str(activity["conversation"]["id"])
        member = await self._member(activity, service_url)
        lang = lang_of(activity.get("locale"))
        event = f"welcome:{activity.get('id') or chat}"
        msg = Incoming(member.actor, chat, "", lang=lang, forms=True, event_id=event)
        reply = await self.core.home(msg)
        if reply is None:
            return  # a redelivered install
        try:
            await self.connector.send(service_url, chat, cards.message(reply))
        except DeliveryFailed as failed:
            log.warning("Teams welcome not sent: %s", failed.reason)
