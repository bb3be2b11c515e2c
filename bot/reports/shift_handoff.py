"""The handoff summary of one shift, from the services: the store's numbers, the notes left
in it, who is on call now and next. Used by the scheduler, the `handoff` command, the CLI
and the chart drawn when the summary is delivered (reports never import a handler)."""

from __future__ import annotations

from bot.reports.handoff import Handoff, handoff
from bot.rotation import Shift
from bot.services import Services


def build_handoff(services: Services, shift: Shift) -> Handoff:
    """The summary of one shift: the store's numbers, the notes left in it, on-call now/next."""
    rotation = services.settings.rotation
    nxt = rotation.next_shift(shift)
    return handoff(
        services.db.conn,
        shift.start,
        shift.end,
        trend_windows=[(s.start, s.end) for s in rotation.same_shift_last_days(shift, 7)],
        now=services.clock(),
        notes=services.handoffs.notes(shift.key),
        oncall_now=rotation.oncall(nxt),
        oncall_next=rotation.oncall(rotation.next_shift(nxt)),
        team=shift.team if len(rotation.teams) > 1 else None,
        zone=rotation.team(shift.team).timezone,
        desk=shift.team,
    )
