"""Requests: a ticket proposal pre-filled from the words, confirmed by the user.

A request goes through the request catalogue (`settings.catalogue`, see
`bot/handlers/catalogue_requests.py`): an item it names (a monitor, Power BI Pro, access to
a share) is offered with its approver and team and opens a pre-filled request ticket with
its approval; access to a group, share or mailbox offers the closest requestable groups.
A request the catalogue does not name goes to the closest behaviour that exists: a product
or licence goes to the licence check (which offers a request ticket when you don't have
it), a named group to the group check, anything else proposes a ticket whose summary says
it is a request; it then runs as any ticket proposal: open, change the text, category or
urgency, or cancel. Outages are `bot.handlers.outage`.
"""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.base import Turn
from bot.handlers.catalogue_requests import closest_groups, offer, offer_groups, resume
from bot.handlers.directory_checks import LicenceCheck
from bot.handlers.tickets import propose_ticket
from bot.intents import find_entities
from bot.messages import Reply
from bot.request_catalogue import find_item
from bot.store.conversations import PendingFlow


class Request:
    """Ask for something new (hardware, software, access): `can I get Visio?`, `申請Visio`."""

    intent: ClassVar[str] = "request"

    async def handle(self, turn: Turn) -> list[Reply]:
        text = turn.msg.text
        entities = find_entities(text)
        item = find_item(turn.services.settings.catalogue, text)
        named_group = entities.groups or entities.shares or closest_groups(turn, strong=True)
        if item.access if item else named_group:
            return await offer_groups(turn)
        if item is not None:
            return await offer(turn, item)
        if entities.products:
            return await LicenceCheck().handle(turn)
        summary = turn.t("request.summary", text=text)
        return await propose_ticket(turn, summary=summary, description=text, category="other")

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return await resume(turn, pending)
