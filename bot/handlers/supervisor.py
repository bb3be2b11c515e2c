"""Rotation commands: `/helpdesk oncall [team]`, `/helpdesk handoff …`.

`oncall` is for everyone (who is on now and next, in the asker's time zone, i.e. the
bot's `bot.timezone`). `handoff note <text>` is for engineers: the note is shown in the
summary of the shift it was left in. `handoff [previous|current|<date> <shift>] [team]`
shows a summary on demand: engineers see the teams they are rostered in (or the first
team when the rotation names nobody), supervisors any team; anyone else is refused and
audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from bot.handlers.base import Turn
from bot.integrations.directory import DirectoryError
from bot.messages import Reply
from bot.reports.handoff import render_text
from bot.reports.shift_handoff import build_handoff
from bot.rotation import Rotation, Shift


def _team(turn: Turn, words: list[str]) -> str | None:
    rotation = turn.services.settings.rotation
    wanted = " ".join(words).strip().lower()
    if not wanted:
        return rotation.teams[0]
    return next((t for t in rotation.teams if t.lower() == wanted), None)


def _when(turn: Turn, shift: Shift) -> str:
    return f"{turn.local_time(shift.start)}–{turn.local_time(shift.end)[-5:]}"


def oncall(turn: Turn, words: list[str]) -> list[Reply]:
    t = turn.t
    rotation = turn.services.settings.rotation
    team = _team(turn, words)
    if team is None:
        return [Reply(t("rotation.unknown_team", teams=", ".join(rotation.teams)), private=True)]
    now = rotation.shift_at(team, turn.services.clock())
    nxt = rotation.next_shift(now)
    nobody = t("rotation.nobody")
    return [
        Reply(
            t(
                "rotation.oncall",
                team=team,
                now=now.name,
                now_when=_when(turn, now),
                now_who=rotation.oncall(now) or nobody,
                next=nxt.name,
                next_when=_when(turn, nxt),
                next_who=rotation.oncall(nxt) or nobody,
            ),
            private=True,
        )
    ]


async def is_supervisor(turn: Turn) -> bool:
    try:
        groups = await turn.services.directory.groups(await turn.account("role_check"))
    except DirectoryError:
        return False
    return bool(set(turn.services.settings.roles.supervisor_groups) & set(groups))


def teams_of(turn: Turn) -> tuple[str, ...]:
    """The teams the actor is rostered in (all teams' first when nobody is rostered)."""
    rotation = turn.services.settings.rotation
    email = (turn.msg.actor.email or "").lower()
    mine = tuple(
        name for name in rotation.teams if email in (m.lower() for m in rotation.team(name).members)
    )
    if mine:
        return mine
    if not any(rotation.team(name).members for name in rotation.teams):
        return (rotation.teams[0],)
    return ()


def note(turn: Turn, text: str) -> list[Reply]:
    t = turn.t
    rotation = turn.services.settings.rotation
    teams = teams_of(turn) or (rotation.teams[0],)
    shift = rotation.shift_at(teams[0], turn.services.clock())
    turn.services.handoffs.add_note(
        shift.team, shift.key, turn.msg.actor.email or turn.msg.actor.user_id, text
    )
    return [Reply(t("rotation.noted", shift=shift.name, team=shift.team), private=True)]


def shift_asked(rotation: Rotation, team: str, now: datetime, words: Sequence[str]) -> Shift | None:
    """The shift `words` name for `team`: `previous` (also when empty), `current`, or
    `<YYYY-MM-DD> <shift name>`; None for anything else, trailing words included (a team
    name that is not in the rotation must not be ignored silently)."""
    current = rotation.shift_at(team, now)
    if len(words) <= 1 and (not words or words[0].lower() == "previous"):
        return rotation.previous_shift(current)
    if len(words) == 1 and words[0].lower() == "current":
        return current
    try:
        day = date.fromisoformat(words[0])
    except ValueError:
        return None
    name = " ".join(words[1:]).strip().lower()
    for shift in rotation.team(team).shifts:
        if shift.name.lower() == name:
            return rotation.shift_named(team, day, shift.name)
    return None


async def handoff_command(turn: Turn, words: list[str]) -> list[Reply]:
    """`/helpdesk handoff [previous|current|<date> <shift>] [team]` (engineers; other teams:
    supervisors only)."""
    t = turn.t
    rotation = turn.services.settings.rotation
    team = rotation.teams[0]
    for name in rotation.teams:  # a team name may close the command
        if " ".join(words).lower().endswith(name.lower()):
            team = name
            words = " ".join(words)[: -len(name)].split()
            break
    else:
        team = (teams_of(turn) or (team,))[0]
    if team not in teams_of(turn) and not await is_supervisor(turn):
        turn.audit(
            action="handoff",
            outcome="refused",
            target=None,
            actor=None,
            reason=f"not rostered in {team} and not a supervisor",
        )
        return [Reply(t("rotation.refused"), private=True)]
    shift = shift_asked(rotation, team, turn.services.clock(), words)
    if shift is None:
        return [Reply(t("rotation.bad_shift", teams=", ".join(rotation.teams)), private=True)]
    if shift.start > turn.services.clock():
        when = shift.local_date.isoformat()
        return [Reply(t("rotation.not_started", shift=shift.name, date=when), private=True)]
    summary = build_handoff(turn.services, shift)
    return [Reply(render_text(summary, t.lang), private=True)]
