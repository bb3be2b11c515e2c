"""Outages: the urgent phone line first, then a P1 in one click that pages the on-call engineer.

A message reads as an outage when it says trading has stopped or that something many
people depend on has failed (`bot.tickets.outage`: "order entry is down", 「成層都用唔到」).
It is answered here whatever the intent model said, when that intent would only have
answered with articles, a greeting or a ticket proposal (`urgent_intent`); an intent that
acts on the person's own account (unlock, password, licence and group checks) or on one of
their tickets keeps its answer, and any ticket it proposes is a P1 from the same words.

When the intent model reads a message as an outage but it has no outage words and its
words give less than a P1 ("my whole team can't print": several people, can't work → P2),
it gets the ordinary ticket proposal at that priority: a P1 pages someone, and the model's
guess alone is not enough for that. Asked as a question ("is there an outage?", 「係咪有
outage呀？」), it is answered with the major incidents IT is working on (`bot.incidents`),
or that none is known, instead of a ticket whose summary would be the question.

The first reply gives `bot.support_phone` and offers "Open P1 now": one click opens the
ticket at P1 (business impact, critical urgency) and the ticket service pages the engineer
on call by DM in the same transaction (`bot.tickets.service`). "Change it first" goes to
the ordinary proposal (text, category, urgency); "Not now" opens nothing.
"""

from __future__ import annotations

import re
from typing import ClassVar

from bot.handlers.base import Turn, menu
from bot.handlers.commands.incident import incidents
from bot.handlers.tickets import propose_ticket, summary_line
from bot.messages import Choice, Reply
from bot.store.conversations import PendingFlow
from bot.tickets.outage import outage_words
from bot.tickets.proposal import propose

URGENT_INTENT = "urgent_outage"
_ANSWERED_HERE = frozenset({"kb_question", "greeting", "human", "request", URGENT_INTENT})
"""Intents an outage report is taken from: their own answer would only delay the P1."""
_OPEN = "urgent:open"
_CHANGE = "urgent:change"
_NOT_NOW = "urgent:not_now"
_ASKING = re.compile(
    r"[?？]\s*$|^\s*(is|are|any|anything|has|have|does|do)\b|有冇|係咪|是否|是不是|嗎",
    re.IGNORECASE,
)


def urgent_intent(intent: str, text: str) -> str:
    """The intent to answer `text` with: `urgent_outage` for an outage reported as a
    question, a greeting, a request or an ask for a person; otherwise `intent`."""
    if intent in _ANSWERED_HERE and outage_words(text):
        return URGENT_INTENT
    return intent


def _choices(turn: Turn) -> tuple[Choice, ...]:
    t = turn.t
    return (
        Choice(t("urgent.open"), _OPEN, "primary"),
        Choice(t("urgent.change"), _CHANGE),
        Choice(t("urgent.not_now"), _NOT_NOW),
    )


class UrgentOutage:
    """Report an outage that stops work: `trading system is down`, `成層冇網`."""

    intent: ClassVar[str] = URGENT_INTENT

    async def handle(self, turn: Turn) -> list[Reply]:
        text = turn.msg.text
        guess = propose(text, turn.services.tickets.categories)
        category = guess.category
        if not outage_words(text) and guess.priority != "P1":
            # the model's reading alone ("my whole team can't print"): no page at night
            if _ASKING.search(text):
                return known_outages(turn)
            return await propose_ticket(turn, summary=text, description=text, category=category)
        summary = summary_line(text)
        turn.expect(
            "urgent_outage.offer", {"summary": summary, "description": text, "category": category}
        )
        phone = turn.services.settings.bot.support_phone
        return [Reply(turn.t("urgent.call", phone=phone, summary=summary), choices=_choices(turn))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t, msg = turn.t, turn.msg
        picked = turn.picked(_choices(turn), yes=_OPEN, no=_NOT_NOW)
        if picked is None:
            return None
        state = pending.state
        if picked == _NOT_NOW:
            turn.done()
            return [Reply(t("ticket.cancelled"), choices=menu(t))]
        if picked == _CHANGE:
            return await propose_ticket(
                turn,
                summary=str(state["summary"]),
                description=str(state["description"]),
                category=str(state["category"]),
                impact="business",
                urgency="critical",
            )
        turn.done()
        ticket, _ = turn.open_ticket(
            summary=str(state["summary"]),
            description=str(state["description"]),
            category=str(state["category"]),
            impact="business",
            urgency="critical",
            key=f"{msg.platform}:{msg.event_id}" if msg.event_id else f"flow:{turn.request_id}",
            requester=await turn.requester(),
        )
        phone = turn.services.settings.bot.support_phone
        return [Reply(t("urgent.opened", ref=ticket.ref, priority=ticket.priority, phone=phone))]


def known_outages(turn: Turn) -> list[Reply]:
    """ "Is there an outage?": the open major incidents, or that IT knows of none."""
    t = turn.t
    phone = turn.services.settings.bot.support_phone
    known = incidents(turn).open_ones()
    if not known:
        return [Reply(t("urgent.none_known", phone=phone), choices=menu(t))]
    lines = "\n".join(
        t("urgent.known_line", incident=incident.ref, title=incident.title) for incident in known
    )
    return [Reply(f"{t('urgent.known', count=len(known))}\n{lines}", choices=menu(t))]
