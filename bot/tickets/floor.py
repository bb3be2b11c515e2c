"""The priority floor: people whose tickets are never proposed below a priority.

Two kinds, both from `[priority]`, each a list of emails and/or directory groups (members
counted transitively, names compared without case):

- **VIPs** (`vip_people`, `vip_groups`): at least `vip_floor` (P2 by default), at any time.
- **The trading desk** (`trading_desk_people`, `trading_desk_groups`): at least
  `trading_desk_floor` (P2 by default) while the market is open (`[market_hours]`: trading
  days, opens–closes, holidays, in its own zone or the rotation's). Decision: a floor of
  P2, not P1, because a desk member's second monitor is not an outage; what stops trading
  ("can't trade", "order entry is down", 「落唔到單」) is a P1 from the words themselves
  (`bot.tickets.outage`), for anyone and at any hour.

A floor only ever raises: words that already make a P1 stay a P1. The higher of two
floors wins. The requester sees the priority in the proposal; the reason is an internal
note on the ticket for the engineers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.config import Settings
from bot.tickets.sla import Calendar, hours_calendar

FloorReason = Literal["vip", "trading_desk"]


@dataclass(frozen=True)
class Floor:
    """The lowest priority a requester's ticket may be proposed at, and why."""

    priority: str
    reason: FloorReason


def market_calendar(settings: Settings) -> Calendar:
    """`[market_hours]` as a calendar (its zone, else the rotation's first team's)."""
    market = settings.market_hours
    rotation = settings.rotation
    zone = market.timezone or rotation.team(rotation.teams[0]).timezone
    return hours_calendar("market hours", zone, market)


def market_open(settings: Settings, moment: datetime) -> bool:
    return bool(market_calendar(settings).windows(moment, moment + timedelta(seconds=1)))


def needs_groups(settings: Settings) -> bool:
    """Whether the floor depends on directory groups (else no directory call is needed)."""
    p = settings.priority
    return bool(p.vip_groups or p.trading_desk_groups)


def floor_for(
    settings: Settings, email: str, groups: Collection[str], moment: datetime
) -> Floor | None:
    """The floor for a requester with this email and these groups at `moment`, if any."""
    p = settings.priority
    member_of = {g.casefold() for g in groups}

    def named(people: Collection[str], group_names: Collection[str]) -> bool:
        return email.casefold() in {x.casefold() for x in people} or any(
            g.casefold() in member_of for g in group_names
        )

    floors: list[Floor] = []
    if named(p.vip_people, p.vip_groups):
        floors.append(Floor(p.vip_floor, "vip"))
    if named(p.trading_desk_people, p.trading_desk_groups) and market_open(settings, moment):
        floors.append(Floor(p.trading_desk_floor, "trading_desk"))
    return min(floors, key=lambda f: f.priority) if floors else None


def raised(priority: str, floor: str | None) -> str:
    """`priority`, or the floor when the floor is more urgent (P1 is the most urgent)."""
    return min(priority, floor) if floor else priority
