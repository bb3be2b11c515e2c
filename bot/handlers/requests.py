"""Requests and outages: a ticket proposal pre-filled from the words, confirmed by the user.

A request (`can I get a second monitor?`, `我想申請Visio`) proposes a ticket whose summary
says it is a request and whose category comes from the words. An outage (`trading system
is down for the whole floor`, `成層冇網`) proposes a P1 (business impact, critical
urgency) and gives the service desk's phone number first. Both then run as any ticket
proposal: open, change the text, category or urgency, or cancel. The request catalogue
and paging on-call come with their own items.
"""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.base import Turn
from bot.handlers.tickets import propose_ticket
from bot.messages import Reply
from bot.store.conversations import PendingFlow


class Request:
    """Ask for something new (hardware, software, access): `can I get Visio?`, `申請Visio`."""

    intent: ClassVar[str] = "request"

    async def handle(self, turn: Turn) -> list[Reply]:
        text = turn.msg.text
        summary = turn.t("request.summary", text=text)
        return propose_ticket(turn, summary=summary, description=text, category="other")

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None


class UrgentOutage:
    """Report an outage that stops work: `trading system is down`, `成層冇網`."""

    intent: ClassVar[str] = "urgent_outage"

    async def handle(self, turn: Turn) -> list[Reply]:
        text = turn.msg.text
        phone = turn.services.settings.bot.support_phone
        proposal = propose_ticket(
            turn,
            summary=text,
            description=text,
            category="other",
            impact="business",
            urgency="critical",
        )
        return [Reply(turn.t("urgent.call", phone=phone)), *proposal]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None
