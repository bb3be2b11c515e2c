"""The user's home screen (Slack's App Home tab): open tickets, quick actions, and for
engineers a summary of the queue. Built here, platform-neutral, as one `Reply`; the
adapter lays it out (a Home tab view on Slack).
"""

from __future__ import annotations

from bot.handlers.base import Turn, intent_choice
from bot.handlers.roles import is_engineer
from bot.handlers.tickets import ACTION, ticket_line
from bot.messages import TEXT_FORM, Choice, Form, FormField, Reply
from bot.tickets.model import OPEN

HOME_TICKETS = 5
"""How many of the user's open tickets the home screen lists (newest first)."""


async def home(turn: Turn) -> Reply:
    t, services, actor = turn.t, turn.services, turn.msg.actor
    lines = [t("home.hello", name=actor.display_name or actor.email or "")]
    mine = [
        ticket
        for ticket in services.tickets.for_requester(actor.email or "", limit=50)
        if ticket.state in OPEN
    ][:HOME_TICKETS]
    lines.append(t("home.tickets") if mine else t("home.no_tickets"))
    lines += [ticket_line(turn, ticket) for ticket in mine]
    choices = [intent_choice(t, intent) for intent in ("unlock", "password_reset", "human")]
    choices += [Choice(ticket.ref, f"{ACTION}show:{ticket.number}") for ticket in mine]
    if actor.email and await is_engineer(turn):
        me = actor.email
        lines.append(
            t(
                "home.queue",
                unassigned=services.tickets.queue_size("unassigned"),
                mine=services.tickets.queue_size("mine", engineer=me),
                breaching=services.tickets.queue_size("breaching"),
            )
        )
    search = Form(
        TEXT_FORM,
        t("home.search_title"),
        (FormField("text", t("home.search_label")),),
        t("home.search_submit"),
    )
    return Reply("\n".join(lines), choices=tuple(choices), form=search)
