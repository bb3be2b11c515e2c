"""The support rotation: shifts tile time across DST, handoffs, on-call, overrides, config."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError
from bot.rotation import Rotation, Shift, default_rotation, parse_rotation

SD = "Service Desk"
HK = ZoneInfo("Asia/Hong_Kong")
HOUR = timedelta(hours=1)
MEMBERS = [
    "ho.kawai@corp.example.com",
    "lam.chiming@corp.example.com",
    "tsang.hoiyan@corp.example.com",
]

EXAMPLE = """
[rotation]
timezone = "Asia/Hong_Kong"
shifts = ["Day 07:00-15:00", "Swing 15:00-23:00", "Night 23:00-07:00"]

[rotation.teams."Service Desk"]
members = ["ho.kawai@corp.example.com", "lam.chiming@corp.example.com",
           "tsang.hoiyan@corp.example.com"]
start = "2026-11-02"
overrides = ["2026-11-21 Night lam.chiming@corp.example.com"]

[rotation.teams.Network]
timezone = "Europe/London"
shifts = ["Early 06:00-18:00", "Late 18:00-06:00"]
members = ["a@corp.example.com", "b@corp.example.com"]
start = 2026-11-02
"""

THREE = ["Day 07:00-15:00", "Swing 15:00-23:00", "Night 23:00-07:00"]
# Boundaries at 01:30 and 02:30: inside the skipped or repeated hour in New York and London.
AWKWARD = [
    "Graveyard 01:30-02:30",
    "Early 02:30-09:30",
    "Day 09:30-17:30",
    "Late 17:30-01:30",
]

# (zone, date of the change, the shift hit by it (starts the evening before), its length)
CHANGES = [
    ("America/New_York", date(2026, 3, 8), 7),
    ("America/New_York", date(2026, 11, 1), 9),
    ("Europe/London", date(2026, 3, 29), 7),
    ("Europe/London", date(2026, 10, 25), 9),
]


def rotation(timezone: str, shifts: list[str] | None = None) -> Rotation:
    return parse_rotation({"timezone": timezone, "shifts": shifts or THREE})


def hk(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HK)


def walk(rota: Rotation, first: Shift, last_start: datetime) -> list[Shift]:
    shifts = [first]
    while shifts[-1].end <= last_start:
        shifts.append(rota.next_shift(shifts[-1]))
    return shifts


def assert_tiles(shifts: list[Shift]) -> None:
    for before, after in pairwise(shifts):
        assert before.end == after.start, (before, after)
        assert before.start < before.end
    assert len({s.key for s in shifts}) == len(shifts)


# -- the day and the night --


def test_default_rotation_is_the_hong_kong_service_desk_with_nobody_known() -> None:
    rota = default_rotation()
    assert rota == parse_rotation({})
    assert rota.teams == (SD,)
    shift = rota.shift_at(SD, hk(2026, 11, 21, 12, 0))
    assert shift.name == "Day" and rota.oncall(shift) is None


def test_hong_kong_three_shifts_tile_the_day() -> None:
    rota = default_rotation()
    day = [rota.shift_named(SD, date(2026, 11, 21), name) for name in ("Day", "Swing", "Night")]
    assert_tiles(day)
    assert day[0].start == hk(2026, 11, 21, 7, 0) == datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    assert day[-1].end == hk(2026, 11, 22, 7, 0)
    assert [s.duration for s in day] == [8 * HOUR] * 3
    assert sum((s.duration for s in day), timedelta()) == timedelta(hours=24)
    assert rota.next_shift(day[-1]) == rota.shift_named(SD, date(2026, 11, 22), "Day")
    assert rota.previous_shift(day[0]) == rota.shift_named(SD, date(2026, 11, 20), "Night")
    assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in day)


def test_night_crosses_midnight_and_belongs_to_its_start_date() -> None:
    rota = default_rotation()
    for moment in (hk(2026, 11, 21, 23, 0), hk(2026, 11, 22, 0, 0), hk(2026, 11, 22, 6, 59)):
        shift = rota.shift_at(SD, moment)
        assert shift.name == "Night" and shift.local_date == date(2026, 11, 21)
        assert shift.key == "Service Desk|2026-11-21|Night"
        assert (shift.start, shift.end) == (hk(2026, 11, 21, 23, 0), hk(2026, 11, 22, 7, 0))
    assert rota.shift_at(SD, hk(2026, 11, 22, 7, 0)).key == "Service Desk|2026-11-22|Day"
    assert rota.shift_at(SD, hk(2026, 11, 21, 22, 59)).name == "Swing"


# -- daylight saving time --


@pytest.mark.parametrize(("zone", "change", "hours"), CHANGES)
def test_the_night_of_a_clock_change_is_an_hour_shorter_or_longer(
    zone: str, change: date, hours: int
) -> None:
    rota = rotation(zone)
    eve = change - timedelta(days=1)
    night = rota.shift_named(SD, eve, "Night")
    assert night.duration == timedelta(hours=hours)
    local = ZoneInfo(zone)
    assert night.start.astimezone(local).time() == time(23, 0)
    assert night.end.astimezone(local).time() == time(7, 0)
    shifts = walk(rota, rota.shift_named(SD, eve - timedelta(days=2), "Day"), night.end + 48 * HOUR)
    assert_tiles(shifts)
    assert [s.duration for s in shifts if s != night] == [8 * HOUR] * (len(shifts) - 1)


@pytest.mark.parametrize("shifts", [THREE, AWKWARD], ids=["three", "awkward"])
@pytest.mark.parametrize(("zone", "change", "hours"), CHANGES)
def test_every_minute_around_a_change_is_in_exactly_one_shift(
    zone: str, change: date, hours: int, shifts: list[str]
) -> None:
    rota = rotation(zone, shifts)
    first = datetime.combine(change - timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))
    first = first.astimezone(UTC)
    last = first + timedelta(days=3)
    covering = walk(rota, rota.shift_at(SD, first - timedelta(days=1)), last + timedelta(days=1))
    assert_tiles(covering)
    moment = first
    while moment < last:
        shift = rota.shift_at(SD, moment)
        assert shift.start <= moment < shift.end
        assert [s for s in covering if s.contains(moment)] == [shift]
        moment += timedelta(minutes=1)
    # the same answer for the instant in another zone's clothes
    assert rota.shift_at(SD, first.astimezone(HK)) == rota.shift_at(SD, first)


def test_skipped_and_repeated_start_times_are_resolved_deterministically() -> None:
    ny = rotation("America/New_York", AWKWARD)
    # 02:30 does not exist on 8 March: Early starts when the clock jumps (03:00 EDT, 07:00Z).
    spring = date(2026, 3, 8)
    grave = ny.shift_named(SD, spring, "Graveyard")
    early = ny.shift_named(SD, spring, "Early")
    assert grave.start == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert grave.end == early.start == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    # 01:30 happens twice on 1 November: Graveyard starts at the first (EDT) 01:30.
    fall = ny.shift_named(SD, date(2026, 11, 1), "Graveyard")
    assert fall.start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert fall.end == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # 02:30 EST
    assert fall.duration == 2 * HOUR
    london = rotation("Europe/London", AWKWARD)
    # 01:30 does not exist on 29 March in London: Graveyard starts at 01:00Z (02:00 BST).
    grave = london.shift_named(SD, date(2026, 3, 29), "Graveyard")
    assert (grave.start, grave.end) == (
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    )


def test_a_shift_wholly_inside_the_skipped_hour_is_empty_and_skipped() -> None:
    rota = rotation("America/New_York", ["Blink 02:15-02:45", "Rest 02:45-02:15"])
    blink = rota.shift_named(SD, date(2026, 3, 8), "Blink")
    assert blink.start == blink.end == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    before = rota.shift_named(SD, date(2026, 3, 7), "Rest")
    after = rota.shift_named(SD, date(2026, 3, 8), "Rest")
    assert rota.next_shift(before) == after and rota.previous_shift(after) == before
    assert rota.shift_at(SD, blink.start) == after
    moment = before.start
    while moment < after.end:
        shift = rota.shift_at(SD, moment)
        assert shift.start <= moment < shift.end and shift != blink
        moment += timedelta(minutes=1)
    between = rota.shifts_between(SD, before.start, after.end)
    assert [s.key for s in between] == [after.key, "Service Desk|2026-03-09|Blink"]
    assert rota.same_shift_last_days(rota.shift_named(SD, date(2026, 3, 9), "Blink"), 1) == [blink]


# -- handoffs --


def test_shifts_between_returns_the_boundaries_missed_during_downtime() -> None:
    rota = default_rotation()
    down, up = hk(2026, 11, 21, 13, 0), hk(2026, 11, 21, 23, 0)  # 10 hours
    missed = rota.shifts_between(SD, down, up)
    assert [s.key for s in missed] == [
        "Service Desk|2026-11-21|Swing",
        "Service Desk|2026-11-21|Night",  # starts exactly at `up`: included
    ]
    assert rota.shifts_between(SD, up, up + timedelta(minutes=5)) == []  # not twice
    assert rota.shifts_between(SD, up, down) == []
    assert [s.key for s in rota.shifts_between(SD, up - HOUR, up + 8 * HOUR)] == [
        "Service Desk|2026-11-21|Night",
        "Service Desk|2026-11-22|Day",
    ]


@pytest.mark.parametrize(("zone", "change", "hours"), CHANGES)
def test_polling_in_uneven_steps_posts_every_handoff_once_in_order(
    zone: str, change: date, hours: int
) -> None:
    rota = rotation(zone, AWKWARD)
    start = datetime.combine(change, time(0), tzinfo=ZoneInfo(zone)) - timedelta(days=1)
    end = start + timedelta(days=3)
    posted: list[Shift] = []
    last, step = start, 0
    while last < end:
        step = step % 11 + 1
        now = min(last + timedelta(minutes=37 * step), end)
        if step == 7:
            now = min(last + 10 * HOUR, end)  # a downtime
        posted += rota.shifts_between(SD, last, now)
        last = now
    assert posted == rota.shifts_between(SD, start, end)
    assert len({s.key for s in posted}) == len(posted) == 12
    assert all(start < s.start <= end for s in posted)
    assert [s.start for s in posted] == sorted(s.start for s in posted)
    assert_tiles(posted)


# -- on call --


def test_oncall_rotates_through_members_from_the_start_date() -> None:
    rota = parse_rotation(tomllib.loads(EXAMPLE)["rotation"])
    assert rota.teams == (SD, "Network")
    first = rota.shift_named(SD, date(2026, 11, 2), "Day")
    shift, people = first, []
    for _ in range(7):
        people.append(rota.oncall(shift))
        shift = rota.next_shift(shift)
    assert people == [*MEMBERS, *MEMBERS, MEMBERS[0]]
    assert rota.oncall(rota.previous_shift(first)) is None  # before the start
    network = rota.shift_named("Network", date(2026, 11, 3), "Early")  # shift 2: a again
    assert rota.oncall(network) == "a@corp.example.com"
    assert rota.oncall(rota.next_shift(network)) == "b@corp.example.com"
    assert network.start == datetime(2026, 11, 3, 6, 0, tzinfo=UTC)  # GMT


def test_an_override_replaces_the_rotating_member_for_that_shift_only() -> None:
    rota = parse_rotation(tomllib.loads(EXAMPLE)["rotation"])
    night = rota.shift_named(SD, date(2026, 11, 21), "Night")
    assert rota.oncall(night) == "lam.chiming@corp.example.com"
    # the override is by the date the shift starts: the small hours of the 22nd too
    assert rota.oncall(rota.shift_at(SD, hk(2026, 11, 22, 3, 0))) == "lam.chiming@corp.example.com"
    assert rota.oncall(rota.next_shift(night)) == MEMBERS[0]
    assert rota.oncall(rota.previous_shift(night)) == MEMBERS[1]
    assert rota.oncall(rota.shift_named(SD, date(2026, 11, 20), "Night")) == MEMBERS[2]


def test_oncall_with_two_members_alternates_across_days() -> None:
    rota = parse_rotation(
        {"teams": {SD: {"members": MEMBERS[:2], "start": "2026-11-02"}}, "shifts": THREE}
    )
    days = [date(2026, 11, 2) + timedelta(days=n) for n in range(2)]
    people = [
        rota.oncall(rota.shift_named(SD, d, n)) for d in days for n in ("Day", "Swing", "Night")
    ]
    assert people == [MEMBERS[0], MEMBERS[1]] * 3


def test_same_shift_last_days_for_trends() -> None:
    rota = rotation("America/New_York")
    night = rota.shift_named(SD, date(2026, 3, 10), "Night")
    week = rota.same_shift_last_days(night)
    assert [s.local_date for s in week] == [date(2026, 3, d) for d in range(3, 10)]
    assert {s.name for s in week} == {"Night"}
    assert [s.duration.total_seconds() / 3600 for s in week] == [8, 8, 8, 8, 7, 8, 8]
    assert rota.same_shift_last_days(night, days=0) == []
    with pytest.raises(ValueError, match="negative"):
        rota.same_shift_last_days(night, days=-1)


def test_naive_instants_and_unknown_names_are_refused() -> None:
    rota = default_rotation()
    with pytest.raises(ValueError, match="timezone-aware"):
        rota.shift_at(SD, datetime(2026, 11, 21, 12, 0))
    with pytest.raises(KeyError, match="Desktop"):
        rota.shift_at("Desktop", hk(2026, 11, 21, 12, 0))
    with pytest.raises(KeyError, match="Graveyard"):
        rota.shift_named(SD, date(2026, 11, 21), "Graveyard")


# -- configuration errors name the setting --

TEAM: dict[str, Any] = {"members": MEMBERS, "start": "2026-11-02"}


def team(**changes: Any) -> dict[str, Any]:
    """A [rotation] with one valid team, changed; a None value removes the key."""
    merged = {**TEAM, **changes}
    return {"teams": {SD: {k: v for k, v in merged.items() if v is not None}}}


@pytest.mark.parametrize(
    ("table", "setting", "problem"),
    [
        ({"shifts": ["Day 07:00-15:00", "Night 16:00-07:00"]}, "rotation.shifts", "gap"),
        ({"shifts": ["Day 07:00-15:00", "Night 14:00-07:00"]}, "rotation.shifts", "overlap"),
        (
            {"shifts": ["A 07:00-15:00", "B 07:00-15:00", "C 15:00-07:00"]},
            "rotation.shifts",
            "overlap",
        ),
        ({"shifts": ["Day 07:00-19:00"]}, "rotation.shifts", "gap"),
        ({"shifts": ["All 07:00-07:00", "B 07:00-19:00"]}, "rotation.shifts", "overlap"),
        ({"shifts": ["Day 07:00-15:00", "Day 15:00-07:00"]}, "rotation.shifts", "twice"),
        ({"shifts": ["Day 7:00-19:00", "Night 19:00-07:00"]}, "rotation.shifts", "like"),
        ({"shifts": ["Day 07:00-25:00", "Night 01:00-07:00"]}, "rotation.shifts", "time of day"),
        ({"shifts": ["D|y 07:00-19:00", "Night 19:00-07:00"]}, "rotation.shifts", "'|'"),
        ({"shifts": []}, "rotation.shifts", "non-empty"),
        ({"timezone": "Asia/Hong Kong"}, "rotation.timezone", "IANA"),
        ({"timezone": "Mars/Olympus"}, "rotation.timezone", "IANA"),
        ({"timezon": "UTC"}, "rotation.timezon", "unknown"),
        ({"teams": "Service Desk"}, "rotation.teams", "tables"),
        (team(timezone="HKT"), 'rotation.teams."Service Desk".timezone', "IANA"),
        (team(shifts=["Day 07:00-15:00"]), 'rotation.teams."Service Desk".shifts', "gap"),
        (team(members=[]), 'rotation.teams."Service Desk".members', "non-empty"),
        (team(members=None), 'rotation.teams."Service Desk".members', "required"),
        (team(members=["ho kawai"]), 'rotation.teams."Service Desk".members', "email"),
        (team(start=None), 'rotation.teams."Service Desk".start', "required"),
        (team(start="2026-02-30"), 'rotation.teams."Service Desk".start', "date"),
        (team(rota="x"), 'rotation.teams."Service Desk".rota', "unknown"),
        (team(overrides=["2026-11-21 Night"]), 'rotation.teams."Service Desk".overrides', "like"),
        (
            team(overrides=["2026-11-31 Night a@corp.example.com"]),
            'rotation.teams."Service Desk".overrides',
            "date",
        ),
        (
            team(overrides=["2026-11-21 Nite a@corp.example.com"]),
            'rotation.teams."Service Desk".overrides',
            "no shift 'Nite'",
        ),
        (
            team(overrides=["2026-11-21 Night a@corp.example.com", "2026-11-21 Night b@x.com"]),
            'rotation.teams."Service Desk".overrides',
            "already",
        ),
        (
            team(overrides="2026-11-21 Night a@corp.example.com"),
            'rotation.teams."Service Desk".overrides',
            "list",
        ),
        ({"teams": {"Net": {**TEAM, "members": ["x"]}}}, "rotation.teams.Net.members", "email"),
        ({"teams": {"A|B": TEAM}}, 'rotation.teams."A|B"', "'|'"),
        ({"teams": {SD: ["x"]}}, 'rotation.teams."Service Desk"', "table"),
    ],
)
def test_config_errors_name_the_setting(table: dict[str, Any], setting: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_rotation(table)
    assert raised.value.setting == setting
    assert problem in raised.value.problem


def test_config_details() -> None:
    rota = parse_rotation(
        {
            "timezone": "Europe/London",
            "shifts": ["All Day 00:00-24:00"],
            "teams": {SD: {**TEAM, "start": date(2026, 11, 2), "timezone": "Asia/Hong_Kong"}},
        }
    )
    shift = rota.shift_at(SD, hk(2026, 11, 21, 12, 0))
    assert shift.name == "All Day" and shift.duration == timedelta(hours=24)
    assert shift.start == hk(2026, 11, 21, 0, 0)
    # [rotation] without teams: the default team with the rotation's zone and shifts
    bare = parse_rotation({"timezone": "Europe/London"})
    assert bare.teams == (SD,)
    assert bare.shift_named(SD, date(2026, 7, 1), "Day").start == datetime(
        2026, 7, 1, 6, 0, tzinfo=UTC
    )
    assert bare.oncall(bare.shift_named(SD, date(2026, 7, 1), "Day")) is None
