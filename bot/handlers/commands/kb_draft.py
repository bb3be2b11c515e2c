"""`/helpdesk kb draft HD-n`: a resolved ticket's resolution into article drafts for review
(`bot.knowledge.drafts`)."""

from __future__ import annotations

from bot.handlers.commands.registry import Call, command
from bot.handlers.roles import Role
from bot.knowledge.drafts import DraftSource, write_drafts
from bot.language import written_in
from bot.messages import Reply
from bot.redact import redact
from bot.tickets.model import CLOSED, RESOLVED, TicketError, parse_ticket_ref


@command("kb draft", "kb draft <ID>", Role.ENGINEER, 1)
async def kb_draft(call: Call) -> list[Reply]:
    turn, t = call.turn, call.turn.t
    services = turn.services
    number = parse_ticket_ref(call.args[0])
    if number is None:
        raise TicketError("ticket.unknown", ref=call.args[0])
    ticket = services.tickets.require(number)
    if ticket.state not in (RESOLVED, CLOSED):
        return [Reply(t("kb_draft.not_resolved", ref=ticket.ref), private=True)]
    events = services.tickets.events(number)
    resolution = [
        e.body
        for e in events
        if e.kind == "state" and e.data.get("to") == RESOLVED and e.body.strip()
    ][-1:]
    replies = [
        e.body
        for e in events
        if e.kind == "comment" and e.public and e.actor != ticket.requester_email and e.body
    ]
    notes = tuple(redact(text).text for text in [*replies, *resolution])
    if not notes:
        return [Reply(t("kb_draft.no_notes", ref=ticket.ref), private=True)]
    source = DraftSource(
        ticket=ticket.ref,
        title=redact(ticket.summary).text,
        # the engineers' words are the article, so their language makes the original
        # (a Cantonese requester's ticket resolved in English gives an English original)
        lang=written_in(notes[-1])
        or written_in(" ".join(notes))
        or ("zh-Hant" if ticket.requester_lang == "zh-Hant" else "en"),
        category=ticket.category,
        notes=notes,
        day=services.clock().astimezone(services.timezone).date(),
    )
    paths = write_drafts(services.settings.kb.drafts_path, source)
    turn.audit(
        action="kb.draft",
        outcome="done",
        target=None,
        actor=None,
        ticket=ticket.ref,
        reason=f"drafts {', '.join(p.name for p in paths)} from {ticket.ref}",
    )
    return [
        Reply(
            t(
                "kb_draft.written",
                ref=ticket.ref,
                original=str(paths[0]),
                other=str(paths[1]),
            ),
            private=True,
        )
    ]
