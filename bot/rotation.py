"""The 24x7 support rotation: shifts, teams, who is on call, overrides. Pure: no I/O.

Configured by the TOML table `[rotation]` (parsed by `parse_rotation`)::

    [rotation]
    timezone = "Asia/Hong_Kong"          # default zone of every team
    shifts = ["Day 07:00-15:00", "Swing 15:00-23:00", "Night 23:00-07:00"]

    [rotation.teams."Service Desk"]
    timezone = "Asia/Hong_Kong"          # optional, else the rotation's
    shifts = ["..."]                     # optional, else the rotation's
    members = ["ho.kawai@corp.example.com", "lam.chiming@corp.example.com"]
    start = "2026-11-02"                 # a string or a TOML date
    overrides = ["2026-11-21 Night tsang.hoiyan@corp.example.com"]

Decisions (what the brief left open):

- Shifts are "NAME HH:MM-HH:MM" in the team's local wall-clock time. A name may contain
  spaces but not "|"; names are unique within a team. An end of 24:00 means midnight. A shift
  whose end is not after its start crosses midnight; a lone shift with start == end lasts the
  whole day. Sorted by start time, each shift must end exactly where the next one starts
  (cyclically), so the definitions tile the 24 h day; otherwise the error says "gap" or
  "overlap" and names the `shifts` setting.
- A shift belongs to the team-local date on which it starts (Night 23:00-07:00 on 21 Nov
  runs into 22 Nov but is the 21 Nov Night). Within a date the shifts are ordered by start
  time; the first of them on `start` is shift 0. Shift k (counting every shift of every date)
  is covered by `members[k % len(members)]`; shifts before `start` have no rotating member.
- An override "YYYY-MM-DD NAME PERSON" replaces whoever covers the shift NAME that starts on
  that team-local date (also before `start`). Members and override persons must be email
  addresses (contain "@", no spaces); the same person may appear several times in `members`.
  Two overrides for one shift, or one naming an unknown shift or a bad date, are errors.
- `[rotation]` absent (or empty): one team "Service Desk", Asia/Hong_Kong, the three shifts
  above, no members (`oncall` returns None). `[rotation]` without `teams` gives that same one
  team with the rotation's timezone and shifts. A team that is configured must list members
  and a start date. Team names may not contain "|" (they are part of `Shift.key`).
- Daylight saving time: a shift keeps its local wall-clock times, so it is an hour shorter
  or longer on the night the clocks change. A shift starts at the FIRST instant at which the
  team's wall clock reads its start time or later, and ends where the next one starts.
  So an ambiguous start (clocks fall back) is the first occurrence (`fold=0`), and a start
  that does not exist (clocks spring forward) is the instant of the jump (e.g. a 02:30 start
  in New York on the spring-forward night starts at 03:00 EDT). This rule is monotonic, so
  shifts tile UTC with no gap or overlap: every instant is in exactly one shift
  (`start <= instant < end`). A shift whose whole span falls in a skipped hour would be empty
  that day; `shift_at`, `next_shift`, `previous_shift` and `shifts_between` skip empty shifts,
  `shift_named` and `same_shift_last_days` still return them (start == end).
- All `Shift` instants are UTC-aware. API instants must be timezone-aware (ValueError
  otherwise); an unknown team or shift name raises KeyError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import check_timezone
from bot.errors import ConfigError

DEFAULT_TEAM = "Service Desk"
DEFAULT_TIMEZONE = "Asia/Hong_Kong"
DEFAULT_SHIFTS = ("Day 07:00-15:00", "Swing 15:00-23:00", "Night 23:00-07:00")

_ROTATION_KEYS = ("timezone", "shifts", "teams")
_TEAM_KEYS = ("timezone", "shifts", "members", "start", "overrides")
_SHIFT_RE = re.compile(r"\s*(?P<name>\S.*?)\s+(?P<start>\d\d:\d\d)\s*-\s*(?P<end>\d\d:\d\d)\s*")
_OVERRIDE_RE = re.compile(r"\s*(?P<day>\S+)\s+(?P<name>\S.*?)\s+(?P<person>\S+)\s*")
_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Shift:
    """One occurrence of a team's shift: [start, end) in UTC, on the team-local `local_date`."""

    team: str
    name: str
    start: datetime
    end: datetime
    local_date: date

    @property
    def key(self) -> str:
        """`Service Desk|2026-11-21|Night`: unique per team and shift (to post a handoff once)."""
        return f"{self.team}|{self.local_date.isoformat()}|{self.name}"

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class ShiftDef:
    """A shift as configured: local wall-clock start and end (end <= start crosses midnight)."""

    name: str
    start: time
    end: time


@dataclass(frozen=True)
class TeamRotation:
    name: str
    timezone: str
    shifts: tuple[ShiftDef, ...]
    """Sorted by start time; they tile the day."""
    members: tuple[str, ...] = ()
    start: date | None = None
    overrides: Mapping[tuple[date, str], str] = field(default_factory=dict)
    """(team-local date, shift name) -> who covers that shift instead."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def index_of(self, name: str) -> int:
        for i, shift in enumerate(self.shifts):
            if shift.name == name:
                return i
        raise KeyError(f"team {self.name!r} has no shift {name!r}")


@dataclass(frozen=True)
class Rotation:
    by_team: Mapping[str, TeamRotation]

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(self.by_team)

    def team(self, team: str) -> TeamRotation:
        try:
            return self.by_team[team]
        except KeyError:
            raise KeyError(f"no rotation team {team!r}") from None

    # -- shifts are numbered: n = ordinal(local date) * len(shifts) + position in the day --

    def _number(self, shift: Shift) -> int:
        rota = self.team(shift.team)
        return shift.local_date.toordinal() * len(rota.shifts) + rota.index_of(shift.name)

    def _start(self, rota: TeamRotation, number: int) -> datetime:
        day, position = divmod(number, len(rota.shifts))
        return _resolve(date.fromordinal(day), rota.shifts[position].start, rota.timezone)

    def _shift(self, rota: TeamRotation, number: int) -> Shift:
        day, position = divmod(number, len(rota.shifts))
        return Shift(
            team=rota.name,
            name=rota.shifts[position].name,
            start=self._start(rota, number),
            end=self._start(rota, number + 1),
            local_date=date.fromordinal(day),
        )

    def shift_at(self, team: str, instant: datetime) -> Shift:
        """The shift of `team` whose [start, end) contains `instant`."""
        rota = self.team(team)
        instant = _aware(instant)
        local_day = instant.astimezone(rota.zone).date().toordinal()
        count = len(rota.shifts)
        # Starts never decrease with the number; the one sought is the last start <= instant.
        # It started on the local date of `instant` or the day before (a shift is < 2 days).
        number = (local_day - 2) * count
        while self._start(rota, number) > instant:  # pragma: no cover - zones that jump a day
            number -= count
        while self._start(rota, number + 1) <= instant:
            number += 1
        return self._shift(rota, number)

    def next_shift(self, shift: Shift) -> Shift:
        """The shift that follows `shift` (starts at its end)."""
        rota = self.team(shift.team)
        number = self._number(shift) + 1
        while self._start(rota, number) == self._start(rota, number + 1):
            number += 1  # empty (skipped by a clock change)
        return self._shift(rota, number)

    def previous_shift(self, shift: Shift) -> Shift:
        """The shift before `shift` (ends at its start)."""
        rota = self.team(shift.team)
        number = self._number(shift) - 1
        while self._start(rota, number) == self._start(rota, number + 1):
            number -= 1
        return self._shift(rota, number)

    def shifts_between(self, team: str, start: datetime, end: datetime) -> list[Shift]:
        """Every shift of `team` starting in (start, end], in order: the handoffs a scheduler
        must post for, including those missed while it was down. Empty if end <= start."""
        start, end = _aware(start), _aware(end)
        if end <= start:
            return []
        shift = self.next_shift(self.shift_at(team, start))
        found = []
        while shift.start <= end:
            found.append(shift)
            shift = self.next_shift(shift)
        return found

    def shift_named(self, team: str, local_date: date, name: str) -> Shift:
        """The shift `name` of `team` that starts on the team-local `local_date`."""
        rota = self.team(team)
        return self._shift(rota, local_date.toordinal() * len(rota.shifts) + rota.index_of(name))

    def oncall(self, shift: Shift) -> str | None:
        """Who covers `shift`: its override, else the rotating member; None if nobody is known
        (no members, or a shift before the team's start date)."""
        rota = self.team(shift.team)
        person = rota.overrides.get((shift.local_date, shift.name))
        if person is not None:
            return person
        if not rota.members or rota.start is None or shift.local_date < rota.start:
            return None
        k = self._number(shift) - rota.start.toordinal() * len(rota.shifts)
        return rota.members[k % len(rota.members)]

    def same_shift_last_days(self, shift: Shift, days: int = 7) -> list[Shift]:
        """The same named shift on each of the `days` previous local dates, oldest first."""
        if days < 0:
            raise ValueError(f"days must not be negative, not {days}")
        return [
            self.shift_named(shift.team, shift.local_date - timedelta(days=back), shift.name)
            for back in range(days, 0, -1)
        ]


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant!r} must be timezone-aware")
    return instant


@lru_cache(maxsize=8192)
def _resolve(day: date, at: time, timezone: str) -> datetime:
    """The first UTC instant at which the wall clock in `timezone` reads `day at` or later."""
    zone = ZoneInfo(timezone)
    wall = datetime.combine(day, at)

    def local(instant: datetime) -> datetime:
        return instant.astimezone(zone).replace(tzinfo=None)

    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # fold=0: earlier if ambiguous
    if local(first) == wall:
        return first
    # `wall` is skipped (clocks spring forward): the answer is the instant of the jump, which
    # lies between the readings of `wall` with the offsets before and after the transition.
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = int(min(first, other).timestamp()), int(max(first, other).timestamp())
    while local(datetime.fromtimestamp(low, UTC)) >= wall:  # pragma: no cover - defensive
        low -= 3600
    while high - low > 1:  # transitions fall on whole seconds
        middle = (low + high) // 2
        if local(datetime.fromtimestamp(middle, UTC)) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


# -- configuration --


def default_rotation() -> Rotation:
    """The rotation used when `[rotation]` is absent."""
    return parse_rotation({})


def parse_rotation(table: Mapping[str, Any]) -> Rotation:
    """Build a `Rotation` from the `[rotation]` table; raise `ConfigError` naming the setting."""
    if not isinstance(table, Mapping):
        raise ConfigError("rotation", "must be a table ([rotation])")
    for key in table:
        if key not in _ROTATION_KEYS:
            raise ConfigError(
                f"rotation.{key}", f"unknown setting (known: {', '.join(_ROTATION_KEYS)})"
            )
    timezone = _timezone("rotation.timezone", table.get("timezone", DEFAULT_TIMEZONE))
    shifts = _shifts("rotation.shifts", table.get("shifts", list(DEFAULT_SHIFTS)))
    teams = table.get("teams", {})
    if not isinstance(teams, Mapping):
        raise ConfigError("rotation.teams", 'must be tables ([rotation.teams."NAME"])')
    if not teams:
        return Rotation({DEFAULT_TEAM: TeamRotation(DEFAULT_TEAM, timezone, shifts)})
    by_team = {}
    for name, team_table in teams.items():
        prefix = f"rotation.teams.{_toml_key(name)}"
        if not name.strip() or "|" in name:
            raise ConfigError(prefix, "a team name must be non-empty and without '|'")
        by_team[name] = _team(prefix, name, team_table, timezone, shifts)
    return Rotation(by_team)


def _toml_key(name: str) -> str:
    return name if _BARE_KEY_RE.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _team(
    prefix: str, name: str, table: Any, timezone: str, shifts: tuple[ShiftDef, ...]
) -> TeamRotation:
    if not isinstance(table, Mapping):
        raise ConfigError(prefix, "must be a table")
    for key in table:
        if key not in _TEAM_KEYS:
            raise ConfigError(
                f"{prefix}.{key}", f"unknown setting (known: {', '.join(_TEAM_KEYS)})"
            )
    if "timezone" in table:
        timezone = _timezone(f"{prefix}.timezone", table["timezone"])
    if "shifts" in table:
        shifts = _shifts(f"{prefix}.shifts", table["shifts"])
    members = table.get("members")
    if members is None:
        raise ConfigError(f"{prefix}.members", "is required: the people on the rotation")
    if not isinstance(members, list) or not members:
        raise ConfigError(f"{prefix}.members", f"must be a non-empty list, not {members!r}")
    for member in members:
        _person(f"{prefix}.members", member)
    if "start" not in table:
        raise ConfigError(f"{prefix}.start", "is required: the date the rotation starts")
    start = _date(f"{prefix}.start", table["start"])
    names = {shift.name for shift in shifts}
    overrides: dict[tuple[date, str], str] = {}
    lines = table.get("overrides", [])
    if not isinstance(lines, list):
        raise ConfigError(f"{prefix}.overrides", f"must be a list of strings, not {lines!r}")
    for line in lines:
        setting = f"{prefix}.overrides"
        match = _OVERRIDE_RE.fullmatch(line) if isinstance(line, str) else None
        if match is None:
            raise ConfigError(
                setting, f'{line!r} is not like "2026-11-21 Night someone@corp.example.com"'
            )
        day = _date(setting, match["day"])
        if match["name"] not in names:
            raise ConfigError(
                setting, f"{line!r}: no shift {match['name']!r} (shifts: {', '.join(names)})"
            )
        person = _person(setting, match["person"])
        if (day, match["name"]) in overrides:
            raise ConfigError(setting, f"{line!r}: that shift is already overridden")
        overrides[(day, match["name"])] = person
    return TeamRotation(name, timezone, shifts, tuple(members), start, overrides)


def _timezone(setting: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(setting, f"must be an IANA time zone name, not {value!r}")
    check_timezone(setting, value)
    return value


def _date(setting: str, value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(setting, f"{value!r} is not a date like 2026-11-02")


def _person(setting: str, value: Any) -> str:
    if not isinstance(value, str) or "@" not in value or re.search(r"\s", value):
        raise ConfigError(setting, f"{value!r} is not an email address")
    return value


def _minutes(setting: str, line: str, text: str) -> int:
    hours, minutes = int(text[:2]), int(text[3:])
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ConfigError(setting, f"{line!r}: {text} is not a time of day")
    return hours * 60 + minutes


def _shifts(setting: str, value: Any) -> tuple[ShiftDef, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(setting, f"must be a non-empty list of shifts, not {value!r}")
    parsed: list[tuple[str, int, int]] = []
    for line in value:
        match = _SHIFT_RE.fullmatch(line) if isinstance(line, str) else None
        if match is None:
            raise ConfigError(setting, f'{line!r} is not like "Night 23:00-07:00"')
        name = match["name"]
        if "|" in name:
            raise ConfigError(setting, f"{line!r}: a shift name may not contain '|'")
        if any(name == other for other, _, _ in parsed):
            raise ConfigError(setting, f"{line!r}: shift {name!r} is defined twice")
        start = _minutes(setting, line, match["start"]) % _DAY_MINUTES
        end = _minutes(setting, line, match["end"]) % _DAY_MINUTES
        parsed.append((name, start, end))
    parsed.sort(key=lambda shift: shift[1])
    for i, (name, start, end) in enumerate(parsed):
        following, next_start, _ = parsed[(i + 1) % len(parsed)]
        length = (end - start) % _DAY_MINUTES or _DAY_MINUTES
        room = (next_start - start) % _DAY_MINUTES
        if len(parsed) == 1:
            room = room or _DAY_MINUTES
        if length < room:
            raise ConfigError(
                setting,
                f"gap: nothing covers {_hhmm(end)}-{_hhmm(next_start)} "
                f"(between {name} and {following})",
            )
        if length > room:
            raise ConfigError(
                setting,
                f"overlap: {name} ends at {_hhmm(end)} but {following} "
                f"starts at {_hhmm(next_start)}",
            )
    return tuple(ShiftDef(name, _time(start), _time(end)) for name, start, end in parsed)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)
