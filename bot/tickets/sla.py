"""SLA clocks: pure functions over calendars, targets and pauses.

A `Calendar` says when the clock runs: always (24x7, the default) or on working
days between two local times, outside holidays, in one IANA time zone. Working
time is measured in real seconds, so a DST change shortens or lengthens the day
as the wall clock does, and "4 hours" on a 24x7 calendar is always 4 real hours.

A ticket's clock also stops while it waits on the user: `deadline` takes those
pauses (`(start, end)`; `end` None while still waiting) and pushes the due time
back by the working time each pause took before it. The store keeps the results
(due and at-risk times) as columns so the breach scan is one indexed query;
they are recomputed whenever priority or pauses change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DAYS = 3 * 366  # a deadline further than this is a configuration mistake

Pause = tuple[datetime, datetime | None]


def parse_duration(text: str) -> timedelta:
    """`15m`, `4h`, `3d`, `1w`, `1.5h` → timedelta; ValueError otherwise.

    On a business-hours calendar `d` still means 24 hours of *working* time; write
    targets for such calendars in hours (`9h` is one 09:00–18:00 day).
    """
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 15m, 4h, 3d or 1w")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def _day(name: str, text: str) -> int:
    for i, day in enumerate(_DAY_NAMES):
        if name in (day[:3], day):
            return i
    raise ValueError(f"{text!r} is not a list of days like Mon-Fri")


def parse_days(text: str) -> frozenset[int]:
    """`Mon-Fri`, `Mon-Sat`, `Mon,Wed,Fri`, `Sun-Thu` → weekday numbers (Monday 0)."""
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        i = _day(first, text)
        j = _day(last, text) if last else i
        out.add(i)
        while i != j:
            i = (i + 1) % 7
            out.add(i)
    return frozenset(out)


class WorkingHours(Protocol):
    """Working hours as configured (`[calendars.NAME]`, `[market_hours]`)."""

    @property
    def days(self) -> str: ...
    @property
    def opens(self) -> str: ...
    @property
    def closes(self) -> str: ...
    @property
    def holidays(self) -> tuple[str, ...]: ...


def hours_calendar(name: str, zone: str, hours: WorkingHours) -> Calendar:
    """The `Calendar` of configured working hours (their text checked by `bot.config`)."""
    return Calendar(
        name,
        ZoneInfo(zone),
        parse_days(hours.days),
        time.fromisoformat(hours.opens),
        time.fromisoformat(hours.closes),
        frozenset(date.fromisoformat(d) for d in hours.holidays),
    )


@dataclass(frozen=True)
class Calendar:
    """When SLA clocks run. `zone` None means always (24x7)."""

    name: str = "24x7"
    zone: ZoneInfo | None = None
    days: frozenset[int] = frozenset(range(7))
    opens: time = time(0, 0)
    closes: time = time(0, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def always(self) -> bool:
        return self.zone is None

    def windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working intervals (UTC) that overlap [start, end), in order."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if self.zone is None:
            return [(start, end)] if end > start else []
        out: list[tuple[datetime, datetime]] = []
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        while day <= last:
            window = self._window(day)
            if window is not None:
                a, b = max(window[0], start), min(window[1], end)
                if b > a:
                    out.append((a, b))
            day += timedelta(days=1)
        return out

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        assert self.zone is not None
        if day.weekday() not in self.days or day in self.holidays:
            return None
        opens = datetime.combine(day, self.opens, self.zone).astimezone(UTC)
        close_day = day if self.closes > self.opens else day + timedelta(days=1)
        closes = datetime.combine(close_day, self.closes, self.zone).astimezone(UTC)
        return (opens, closes) if closes > opens else None

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working time between two moments (0 when end is not after start)."""
        return sum((b - a).total_seconds() for a, b in self.windows(start, end))

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment when `seconds` of working time have passed since `start` (UTC).

        Arithmetic is done in UTC: aware datetimes in one zone add wall-clock time.
        """
        start = start.astimezone(UTC)
        if self.zone is None:
            return start + timedelta(seconds=seconds)
        remaining = seconds
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(MAX_DAYS):
            window = self._window(day)
            day += timedelta(days=1)
            if window is None or window[1] <= start:
                continue
            a = max(window[0], start)
            available = (window[1] - a).total_seconds()
            if remaining <= available:
                return a + timedelta(seconds=remaining)
            remaining -= available
        raise ValueError(f"calendar {self.name!r} has no working time within {MAX_DAYS} days")


ALWAYS = Calendar()


def deadline(
    calendar: Calendar, start: datetime, target: timedelta, pauses: Sequence[Pause] = ()
) -> datetime | None:
    """When `target` of working time has run since `start`, not counting pauses.

    None while a pause that began before the deadline is still open: a clock that
    is stopped has no due time.
    """
    due = calendar.add(start, target.total_seconds())
    for begin, end in sorted(pauses, key=lambda p: p[0]):
        if begin >= due:
            break
        if end is None:
            return None
        due = calendar.add(due, calendar.working_seconds(max(begin, start), end))
    return due


@dataclass(frozen=True)
class Target:
    response: timedelta
    resolution: timedelta


@dataclass(frozen=True)
class Clocks:
    """A ticket's SLA times (UTC); None where the clock is stopped or already met."""

    response_due: datetime | None
    response_risk: datetime | None
    resolution_due: datetime | None
    resolution_risk: datetime | None


def clocks(
    calendar: Calendar,
    target: Target,
    at_risk_fraction: float,
    *,
    created: datetime,
    responded: datetime | None,
    pauses: Sequence[Pause] = (),
) -> Clocks:
    """Due and at-risk times for a ticket opened at `created`.

    The response clock stops at the first response; both clocks stop (None) while
    the ticket waits on the user.
    """

    def at(fraction: float, span: timedelta) -> datetime | None:
        return deadline(calendar, created, span * fraction, pauses)

    waiting_response = responded is None
    return Clocks(
        response_due=at(1.0, target.response) if waiting_response else None,
        response_risk=at(at_risk_fraction, target.response) if waiting_response else None,
        resolution_due=at(1.0, target.resolution),
        resolution_risk=at(at_risk_fraction, target.resolution),
    )
