"""Requests: a ticket proposal pre-filled from the words, confirmed by the user.

A request goes to the closest behaviour that exists: access to a group the bot can grant
(`graph.requestable_groups`) or a named group, share or mailbox goes to the group check,
which asks the group's owner to approve; a product or licence (`我想申請Visio`) goes to the
licence check, which offers a pre-filled request ticket when you don't have it; anything
else (`can I get a second monitor?`) proposes a ticket whose summary says it is a request
and whose category comes from the words; it then runs as any ticket proposal: open, change
the text, category or urgency, or cancel. Outages are `bot.handlers.outage`. The request
catalogue comes with its own item.
"""

from __future__ import annotations

from typing import ClassVar

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from bot.handlers.base import Turn
from bot.handlers.directory_checks import GroupCheck, LicenceCheck
from bot.handlers.tickets import propose_ticket
from bot.intents import find_entities
from bot.messages import Reply
from bot.store.conversations import PendingFlow


class Request:
    """Ask for something new (hardware, software, access): `can I get Visio?`, `申請Visio`."""

    intent: ClassVar[str] = "request"

    async def handle(self, turn: Turn) -> list[Reply]:
        text = turn.msg.text
        entities = find_entities(text)
        requestable = list(turn.services.settings.graph.requestable_groups)
        named = process.extractOne(
            text, requestable, scorer=fuzz.token_set_ratio, processor=default_process
        )
        if entities.groups or entities.shares or (named is not None and named[1] >= 80):
            return await GroupCheck().handle(turn)
        if entities.products:
            return await LicenceCheck().handle(turn)
        summary = turn.t("request.summary", text=text)
        return await propose_ticket(turn, summary=summary, description=text, category="other")

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None
