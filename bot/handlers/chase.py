"""Chasing a ticket: a contact note on it, the assignee told, the person told what was done.

`催吓我張單`, "HD-1042 any news? nobody has replied": the person's words become a contact
note on the ticket (it stops no SLA clock: it is not a response). The engineer who has the
ticket gets them by DM; when nobody has it, they go to the ticket's triage thread, where
the team sees them. Both are queued in the same transaction as the note
(`TicketService.chase`), in the team's language (`reports.language`). At most once per
ticket per hour (`CHASE_INTERVAL`): a second chase within the hour changes nothing and says
when the last one went out and from when another can.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from bot.clock import parse_iso
from bot.handlers.base import Turn
from bot.i18n import Translator
from bot.messages import Reply
from bot.tickets.model import Ticket, TicketEvent

CHASE_INTERVAL: Final = timedelta(hours=1)


def last_chase(events: list[TicketEvent]) -> datetime | None:
    """When the ticket was last chased, if ever."""
    chased = [e for e in events if e.kind == "contact" and e.data.get("chase")]
    return parse_iso(chased[-1].at) if chased else None


def said_before(turn: Turn) -> str:
    """What the person last typed in this conversation ("HD-1042 any news?" before they
    clicked "Chase it"), for the chase's note; empty when they typed nothing yet."""
    typed = [
        text
        for speaker, text in turn.services.transcripts.recent(turn.key)
        if speaker == "user" and text and not text.startswith("[")
    ]
    return typed[-1] if typed else ""


def chase(turn: Turn, ticket: Ticket, words: str | None = None) -> list[Reply]:
    """Chase the person's open `ticket` with what they just wrote (`words` when the chase
    was a click: what they wrote before it; a line of the team's language when nothing)."""
    t, services = turn.t, turn.services
    last = last_chase(services.tickets.events(ticket.number))
    if last is not None and services.clock() - last < CHASE_INTERVAL:
        return [
            Reply(
                t(
                    "chase.already",
                    ref=ticket.ref,
                    at=turn.local_time(last),
                    again=turn.local_time(last + CHASE_INTERVAL),
                )
            )
        ]
    requester = turn.msg.actor.email or ""
    team = Translator("zh-Hant" if services.settings.reports.language == "zh-Hant" else "en")
    text = (turn.msg.text if words is None else words) or team("chase.no_words")
    tell = team(
        "chase.tell", ref=ticket.ref, requester=requester, summary=ticket.summary, text=text
    )
    chased = services.tickets.chase(ticket.number, requester, text, tell)
    if chased.assignee:
        return [Reply(t("chase.told_assignee", ref=chased.ref, assignee=chased.assignee))]
    return [Reply(t("chase.told_team", ref=chased.ref, team=chased.team))]
