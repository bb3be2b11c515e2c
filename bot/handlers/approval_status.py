"""Where the person's approvals stand: "has it been approved?" answered from the approval
requests themselves, not only from tickets.

A password reset, a one-time pass, an unlock or a group's access waits for its approver
with no ticket at all: each unexpired one still pending (or approved but not yet collected)
is one line, who is asked, what for and until when (`approval_lines`). A catalogue request
waits on its ticket, whose history says where its approval stands: its ticket is the
answer (`requests_waiting`). `TicketStatus` answers with these when the message asks about
an approval ("approved", 「批咗未」), or when the person has no ticket.
"""

from __future__ import annotations

import re
from typing import Final

from bot.handlers.base import Turn
from bot.handlers.people import display_name
from bot.selfservice.approvals import wording
from bot.store.approvals import Approval

_ASKS_ABOUT_APPROVAL: Final = re.compile(r"approv|批|授權", re.IGNORECASE)
_CATALOGUE_REQUEST: Final = "catalogue_request"
"""`bot.handlers.catalogue_requests.CATALOGUE_REQUEST` (that module imports the tickets
handler, which imports this one)."""


def asks_about_approval(text: str) -> bool:
    """ "has it been approved?", 「批咗未呀」: the message is about an approval."""
    return bool(_ASKS_ABOUT_APPROVAL.search(text))


def _asked(turn: Turn) -> list[Approval]:
    return turn.services.approvals.asked_by(turn.msg.actor.email or "")


def requests_waiting(turn: Turn) -> list[int]:
    """The tickets of the person's catalogue requests still waiting for approval."""
    return [
        int(a.subject)
        for a in _asked(turn)
        if a.action == _CATALOGUE_REQUEST and a.state == "pending" and a.subject.isdecimal()
    ]


async def approval_lines(turn: Turn) -> list[str]:
    """One line per self-service approval of the person's still waiting or not collected."""
    lines: list[str] = []
    for approval in _asked(turn):
        if approval.action == _CATALOGUE_REQUEST:
            continue
        lines.append(
            turn.t(
                f"approval.status.{approval.state}",
                approver=await display_name(turn, approval.approver_email),
                what=turn.t(
                    f"approval.you.{wording(approval.action, approval.subject_name)}",
                    group=approval.subject_name,
                ),
                until=turn.local_time(approval.expires_at),
            )
        )
    return lines
