"""Cancel, reopen, chase or rate a ticket from a message (`cancel HD-1042`, `重開返張單`,
`催吓我張單`, `俾五粒星`).

With a ticket ref, or with exactly one ticket the action applies to, the bot acts on it
through the ticket's own buttons (cancel asks to confirm, reopen asks why); a ticket the
action does not apply to is shown with the buttons it has. Otherwise the person's tickets
are listed to pick from. Reopening takes the reason already given: the message itself
("reopen HD-1042, Outlook crashes again"), else what the person said just before ("又壞咗，
outlook 又 crash", then "reopen my ticket"); it asks why only when there is none. Chasing
adds a contact note and tells the assignee (`bot.handlers.chase`).

A typed rating ("5 stars", 「俾五粒星」, "HD-1042 4/5") rates the named ticket, or the one
resolved ticket not yet rated; the engine sends any message that is a rating here (it is
read from the words, not by the intent model, so it is no intent of its own). A rating that
opens a longer message ("5/5 好快手 多謝") rates too, and its words are the comment.
"""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.base import Turn
from bot.handlers.chase import chase
from bot.handlers.context import forget, gives_reason, last_said
from bot.handlers.tickets import TicketStatus, can_reopen, detail, own_ticket
from bot.intents import find_entities, rating, rating_with_words
from bot.messages import Reply
from bot.store.conversations import PendingFlow
from bot.tickets.model import OPEN, RESOLVED, Ticket

RATE_INTENT = "ticket_rate"


class _TicketAction:
    intent: ClassVar[str]
    action: ClassVar[str]
    """The ticket action: `cancel`, `reopen` (the ticket's buttons), `chase` or `rate`."""

    def applies(self, turn: Turn, ticket: Ticket) -> bool:
        return can_reopen(turn, ticket) if self.action == "reopen" else ticket.state in OPEN

    def target(self, turn: Turn) -> Ticket | None:
        """The ticket named, else the one ticket the action applies to; None: not one."""
        refs = find_entities(turn.msg.text).tickets
        if refs:
            return own_ticket(turn, refs[0].number, refs[0].text.upper())
        mine = turn.services.tickets.for_requester(turn.msg.actor.email or "")
        candidates = [t for t in mine if self.applies(turn, t)]
        return candidates[0] if len(candidates) == 1 else None

    async def handle(self, turn: Turn) -> list[Reply]:
        ticket = self.target(turn)
        if ticket is None:
            return await TicketStatus().handle(turn)
        if self.applies(turn, ticket):
            return await self.act(turn, ticket)
        return [await detail(turn, ticket)]

    async def act(self, turn: Turn, ticket: Ticket) -> list[Reply]:
        """Run the action on a ticket it applies to: the ticket's own button."""
        return await TicketStatus().act(turn, f"{self.action}:{ticket.number}")

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None


class TicketCancel(_TicketAction):
    """Cancel one of your tickets: `cancel HD-1042`, `唔使搞喇，取消張單`."""

    intent: ClassVar[str] = "ticket_cancel"
    action: ClassVar[str] = "cancel"


class TicketReopen(_TicketAction):
    """Reopen a ticket that was resolved but is not fixed: `reopen HD-1042`, `重開返張單`."""

    intent: ClassVar[str] = "ticket_reopen"
    action: ClassVar[str] = "reopen"

    async def act(self, turn: Turn, ticket: Ticket) -> list[Reply]:
        """Reopen with the reason already given (this message, else what was said just
        before it, `bot.handlers.context`); ask why only when neither says anything."""
        text = turn.msg.text
        reason = text if gives_reason(text) else last_said(turn)
        if not reason:
            return await super().act(turn, ticket)
        turn.done()
        forget(turn)
        actor = turn.msg.actor.email or ""
        reopened = turn.services.tickets.reopen(ticket.number, actor, reason, requester=True)
        return [Reply(turn.t("ticket.reopened", ref=reopened.ref))]


class TicketChase(_TicketAction):
    """Chase a ticket nobody has answered: `any news on HD-1042? it's been days`, `催吓我張單`."""

    intent: ClassVar[str] = "ticket_chase"
    action: ClassVar[str] = "chase"

    async def act(self, turn: Turn, ticket: Ticket) -> list[Reply]:
        return chase(turn, ticket)


class TicketRate(_TicketAction):
    """Rate the help on a resolved ticket: `5 stars`, `HD-1042 4/5`, `俾五粒星`."""

    intent: ClassVar[str] = RATE_INTENT
    action: ClassVar[str] = "rate"

    def applies(self, turn: Turn, ticket: Ticket) -> bool:
        return ticket.state in (RESOLVED, "closed") and ticket.csat_score is None

    async def act(self, turn: Turn, ticket: Ticket) -> list[Reply]:
        text = turn.msg.text
        with_words = rating_with_words(text)
        score = rating(text) or (with_words[0] if with_words else None)
        if score is None:
            return [await detail(turn, ticket)]
        comment = with_words[1] if with_words else ""
        return TicketStatus().rate(turn, ticket.number, score, comment)
