"""What an incident says, and to whom: every message goes through the outbox in the
transaction of the change that causes it, under a key that makes it go out once.

- The triage channel gets a status post on each change (opened, linked, update, resolved),
  in `reports.language`.
- Each linked ticket's requester is told once that their report is a known problem and
  they are added to it (`incident:<n>:known:<ticket>`), in the ticket's language.
- On resolution each linked requester (a person, by email: someone with two linked tickets
  hears once) is told once (`incident:<n>:resolved:<email>`), in their ticket's language.
"""

from __future__ import annotations

from bot.config import Settings
from bot.i18n import Translator
from bot.incidents.model import Incident
from bot.messages import Lang, Recipient
from bot.store.outbox import Outbox
from bot.tickets.model import Ticket


def _lang(lang: str) -> Lang:
    return "zh-Hant" if lang == "zh-Hant" else "en"


def status_post(
    outbox: Outbox, settings: Settings, key: str, message: str, **params: object
) -> None:
    """A status line in the triage channel (`incident.post.<message>`)."""
    t = Translator(_lang(settings.reports.language))
    outbox.put(
        key,
        "notice",
        Recipient.channel(settings.tickets.triage_channel),
        {"text": t(f"incident.post.{message}", **params), "choices": []},
    )


def _requester(outbox: Outbox, ticket: Ticket, key: str, text: str) -> None:
    outbox.put(
        key,
        "notice",
        Recipient.person(ticket.requester_platform, ticket.requester_user_id),
        {
            "ticket": ticket.number,
            "conversation": ticket.requester_conversation,
            "text": text,
            "choices": [],
        },
    )


def tell_known(outbox: Outbox, incident: Incident, ticket: Ticket) -> None:
    t = Translator(_lang(ticket.requester_lang))
    text = t("incident.known", incident=incident.ref, title=incident.title, ref=ticket.ref)
    _requester(outbox, ticket, f"incident:{incident.number}:known:{ticket.number}", text)


def tell_resolved(outbox: Outbox, incident: Incident, ticket: Ticket) -> bool:
    """False when this person was already told (another of their tickets)."""
    t = Translator(_lang(ticket.requester_lang))
    text = t(
        "incident.resolved",
        incident=incident.ref,
        title=incident.title,
        resolution=incident.resolution or "",
        ref=ticket.ref,
    )
    key = f"incident:{incident.number}:resolved:{ticket.requester_email.lower()}"
    if outbox.exists(key):
        return False
    _requester(outbox, ticket, key, text)
    return True
