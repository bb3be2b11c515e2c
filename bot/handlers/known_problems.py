"""Problems IT already knows of: what "is there an outage?" lists, and what a later report
of the same problem is told before it is offered another P1 page.

A known problem is an open major incident (`bot.incidents`), or an open P1 ticket reported
as an outage (its words say trading stopped or something many depend on failed,
`bot.tickets.outage`) that no open incident holds yet: one person's "order entry is down",
opened and paged a minute ago, is as known to IT as an incident is. A ticket is shown by
its summary and when it was reported only: never its number, requester or description,
which belong to the person who reported it. A security ticket is never shown.

A new report matches a known problem when their signatures are similar by the same rule
that groups reports into an incident (`bot.incidents.signature`: the same service, else
enough shared words, never different sites).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.handlers.base import Turn
from bot.handlers.commands.incident import incidents
from bot.incidents.signature import Signature, signature
from bot.tickets.outage import outage_words

_LOOKED_AT = 50
"""How many open P1 tickets are looked at: more open outages than that is no quiet day."""
_NEVER_SHOWN = frozenset({"security"})


@dataclass(frozen=True)
class KnownProblem:
    """One problem IT knows of, as anyone may be told of it."""

    title: str
    since: datetime
    incident: str
    """The incident's ref (`INC-1`), or "" for a ticket not grouped into one."""
    signature: Signature


def known_problems(turn: Turn) -> list[KnownProblem]:
    """The open major incidents, then the open outage P1 tickets outside them."""
    settings = turn.services.settings.incidents
    service = incidents(turn)
    found: list[KnownProblem] = []
    held: set[int] = set()
    for incident in service.open_ones():
        held.update(service.tickets(incident.number))
        found.append(
            KnownProblem(
                incident.title,
                datetime.fromisoformat(incident.opened_at),
                incident.ref,
                incident.signature,
            )
        )
    for ticket in turn.services.tickets.queue("open", limit=_LOOKED_AT):
        if ticket.priority != "P1" or ticket.number in held:
            continue
        if ticket.category in _NEVER_SHOWN or not outage_words(ticket.summary):
            continue
        sig = signature(ticket.summary, settings.services, settings.sites)
        if any(sig.similar(other.signature, settings.similarity) for other in found):
            continue  # the same problem told twice: listed once
        found.append(
            KnownProblem(ticket.summary, datetime.fromisoformat(ticket.created_at), "", sig)
        )
    return found


def known_problem_like(turn: Turn, text: str) -> KnownProblem | None:
    """The known problem a new report `text` is about, if any."""
    settings = turn.services.settings.incidents
    sig = signature(text, settings.services, settings.sites)
    return next(
        (p for p in known_problems(turn) if sig.similar(p.signature, settings.similarity)), None
    )


def known_line(turn: Turn, problem: KnownProblem) -> str:
    """One line about a known problem: an incident by its ref, a ticket by when it came."""
    t = turn.t
    if problem.incident:
        return t("urgent.known_line", incident=problem.incident, title=problem.title)
    return t("urgent.known_report", title=problem.title, since=turn.local_time(problem.since))
