"""SLA clocks: calendars, DST, holidays, pauses (pure functions, no store)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.tickets.sla import (
    ALWAYS,
    Calendar,
    Target,
    clocks,
    deadline,
    parse_days,
    parse_duration,
)

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
HK = ZoneInfo("Asia/Hong_Kong")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def office(zone: ZoneInfo, holidays: tuple[date, ...] = ()) -> Calendar:
    return Calendar("office", zone, parse_days("Mon-Fri"), time(9), time(17), frozenset(holidays))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("4h", 14400), ("3d", 259200), ("1w", 604800), ("1.5h", 5400), ("2 H", 7200)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "4", "4 hours", "-1h", "0m", "h"])
def test_parse_duration_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer"):
        parse_duration(text)


def test_parse_days_ranges_lists_and_wraparound() -> None:
    assert parse_days("Mon-Fri") == frozenset({0, 1, 2, 3, 4})
    assert parse_days("mon,wed,fri") == frozenset({0, 2, 4})
    assert parse_days("Sun-Thu") == frozenset({6, 0, 1, 2, 3})
    with pytest.raises(ValueError, match="days"):
        parse_days("Monday to Friday")


def test_24x7_counts_real_hours_across_both_dst_changes() -> None:
    # New York springs forward on 8 March 2026 and falls back on 1 November 2026.
    spring = datetime(2026, 3, 8, 0, 30, tzinfo=NY)
    fall = datetime(2026, 11, 1, 0, 30, tzinfo=NY)
    for start in (spring, fall):
        due = deadline(ALWAYS, start, timedelta(hours=4))
        assert due is not None
        assert (due - start).total_seconds() == 4 * 3600
    # on the wall clock the spring one ends at 05:30, the autumn one at 03:30
    assert deadline(ALWAYS, spring, timedelta(hours=4)).astimezone(NY).hour == 5  # type: ignore[union-attr]
    assert deadline(ALWAYS, fall, timedelta(hours=4)).astimezone(NY).hour == 3  # type: ignore[union-attr]


def test_business_hours_skip_nights_weekends_and_holidays() -> None:
    cal = office(HK, holidays=(date(2026, 12, 25),))
    # Thursday 24 Dec 16:00 HKT, 4 working hours: 1 h on Thursday, Friday is a holiday,
    # then the weekend, so it ends Monday 28 Dec 12:00 HKT.
    start = datetime(2026, 12, 24, 16, 0, tzinfo=HK)
    due = deadline(cal, start, timedelta(hours=4))
    assert due == datetime(2026, 12, 28, 12, 0, tzinfo=HK)
    assert cal.working_seconds(start, due) == 4 * 3600


def test_business_hours_opened_out_of_hours_start_at_opening() -> None:
    cal = office(LONDON)
    saturday_night = datetime(2026, 3, 28, 23, 0, tzinfo=LONDON)
    due = deadline(cal, saturday_night, timedelta(hours=1))
    # Monday 30 March, after the clocks went forward: 10:00 BST = 09:00 UTC
    assert due == datetime(2026, 3, 30, 10, 0, tzinfo=LONDON)
    assert due.astimezone(UTC).hour == 9


def test_night_shift_calendar_crossing_midnight_and_dst() -> None:
    nights = Calendar("nights", LONDON, frozenset(range(7)), time(22), time(6))
    # The night of 28→29 March 2026 loses an hour: 22:00 GMT to 06:00 BST is 7 h.
    start = datetime(2026, 3, 28, 22, 0, tzinfo=LONDON)
    end = datetime(2026, 3, 29, 6, 0, tzinfo=LONDON)
    assert nights.working_seconds(start, end) == 7 * 3600
    # The night of 24→25 October 2026 gains one: 9 h.
    start = datetime(2026, 10, 24, 22, 0, tzinfo=LONDON)
    end = datetime(2026, 10, 25, 6, 0, tzinfo=LONDON)
    assert nights.working_seconds(start, end) == 9 * 3600
    # daytime is not working time on this calendar
    noon = datetime(2026, 10, 26, 12, 0, tzinfo=LONDON)
    assert nights.add(noon, 60) == datetime(2026, 10, 26, 22, 1, tzinfo=LONDON)


def test_new_york_business_day_on_the_dst_monday_is_still_eight_hours() -> None:
    cal = office(NY)
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=NY)
    assert cal.working_seconds(monday, monday + timedelta(days=1)) == 8 * 3600
    friday = datetime(2026, 3, 6, 9, 0, tzinfo=NY)
    # Friday 9:00 + 16 working hours = Monday 17:00 (the weekend holds the DST change)
    assert cal.add(friday, 16 * 3600) == datetime(2026, 3, 9, 17, 0, tzinfo=NY)


def test_waiting_on_user_pauses_the_clock() -> None:
    start = utc(2026, 11, 21, 2, 0)
    pauses = [(utc(2026, 11, 21, 3, 0), utc(2026, 11, 21, 5, 30))]
    assert deadline(ALWAYS, start, timedelta(hours=4), pauses) == utc(2026, 11, 21, 8, 30)
    # a pause after the deadline changes nothing; an open pause stops the clock
    late = [(utc(2026, 11, 21, 7, 0), utc(2026, 11, 21, 9, 0))]
    assert deadline(ALWAYS, start, timedelta(hours=4), late) == utc(2026, 11, 21, 6, 0)
    assert deadline(ALWAYS, start, timedelta(hours=4), [(utc(2026, 11, 21, 3, 0), None)]) is None


def test_pause_outside_working_hours_costs_nothing() -> None:
    cal = office(HK)
    start = datetime(2026, 11, 23, 16, 0, tzinfo=HK)  # Monday
    overnight = [
        (datetime(2026, 11, 23, 18, 0, tzinfo=HK), datetime(2026, 11, 24, 8, 0, tzinfo=HK))
    ]
    assert deadline(cal, start, timedelta(hours=2), overnight) == deadline(
        cal, start, timedelta(hours=2)
    )


def test_clocks_at_risk_and_first_response() -> None:
    start = utc(2026, 11, 21, 2, 0)
    target = Target(timedelta(minutes=15), timedelta(hours=4))
    c = clocks(ALWAYS, target, 0.75, created=start, responded=None)
    assert c.response_due == start + timedelta(minutes=15)
    assert c.response_risk == start + timedelta(minutes=11, seconds=15)
    assert c.resolution_risk == start + timedelta(hours=3)
    answered = clocks(ALWAYS, target, 0.75, created=start, responded=start + timedelta(minutes=5))
    assert answered.response_due is None
    assert answered.resolution_due == start + timedelta(hours=4)


def test_calendar_without_working_days_is_an_error() -> None:
    never = Calendar("never", HK, frozenset(), time(9), time(17))
    with pytest.raises(ValueError, match="no working time"):
        never.add(utc(2026, 1, 1), 60)
