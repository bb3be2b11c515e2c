"""The requester's priority floor in a conversation: VIPs, the trading desk (`bot.tickets.floor`).

The directory is asked for the requester's groups only when `[priority]` names groups; when
it cannot answer, the emails listed still count and the ticket opens all the same.
"""

from __future__ import annotations

from bot.handlers.base import Turn
from bot.i18n import Translator
from bot.integrations.directory import DirectoryError
from bot.tickets.floor import Floor, floor_for, needs_groups, raised
from bot.tickets.model import Ticket

_NOTES = {"vip": "priority.floor_vip", "trading_desk": "priority.floor_trading_desk"}


async def requester_floor(turn: Turn) -> Floor | None:
    """The floor for the person writing, now."""
    services = turn.services
    groups: tuple[str, ...] = ()
    if needs_groups(services.settings):
        account = await turn.requester()
        if account is not None:
            try:
                groups = await services.directory.groups(account)
            except DirectoryError:
                groups = ()
    email = turn.msg.actor.email or ""
    return floor_for(services.settings, email, groups, services.clock())


def note_floor(turn: Turn, ticket: Ticket, words: str, floor: str | None, reason: str) -> None:
    """Tell the engineers, in an internal note, why a ticket is above what its words say."""
    if floor is None or raised(words, floor) == words or reason not in _NOTES:
        return
    t = Translator("zh-Hant" if turn.services.settings.reports.language == "zh-Hant" else "en")
    text = t(_NOTES[reason], priority=floor)
    turn.services.tickets.note(ticket.number, "helpdesk", text)
