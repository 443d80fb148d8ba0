"""Window instances and their bounds: local midnights across DST, month ends, Monday weeks, leap
days, epoch-aligned fixed windows, lifetime budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from stargate.governance.windows import (
    EPOCH,
    CalendarUnit,
    CalendarWindow,
    FixedWindow,
    LifetimeWindow,
    utc_now,
)

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_a_day_runs_from_local_midnight_to_local_midnight() -> None:
    day = CalendarWindow("day", timezone="Europe/Berlin")
    now = utc(2026, 11, 22, 12, 0)
    assert day.key_at(now) == "d:2026-11-22@Europe/Berlin"
    assert day.bounds_at(now) == (utc(2026, 11, 21, 23, 0), utc(2026, 11, 22, 23, 0))


def test_the_day_changes_exactly_at_local_midnight_not_utc_midnight() -> None:
    day = CalendarWindow("day", timezone="Europe/Berlin")
    before = berlin(2026, 11, 22, 23, 59, 59)
    at = berlin(2026, 11, 23, 0, 0, 0)
    assert day.key_at(before) == "d:2026-11-22@Europe/Berlin"
    assert day.key_at(at) == "d:2026-11-23@Europe/Berlin"
    assert day.bounds_at(before)[1] == at
    # UTC midnight is 01:00 in Berlin: still the same Berlin day.
    assert day.key_at(utc(2026, 11, 23, 0, 0)) == "d:2026-11-23@Europe/Berlin"
    assert day.key_at(utc(2026, 11, 22, 22, 59)) == "d:2026-11-22@Europe/Berlin"


@pytest.mark.parametrize(
    ("date", "hours"),
    [((2026, 3, 29), 23), ((2026, 10, 25), 25), ((2026, 6, 1), 24)],
    ids=["spring-forward", "fall-back", "summer"],
)
def test_a_day_across_a_dst_change_is_23_or_25_hours(
    date: tuple[int, int, int], hours: int
) -> None:
    day = CalendarWindow("day", timezone="Europe/Berlin")
    start, reset = day.bounds_at(berlin(*date, 12))
    assert start == berlin(*date)
    assert reset is not None
    assert reset - start == timedelta(hours=hours)


def test_the_fall_back_hour_that_happens_twice_is_one_day() -> None:
    day = CalendarWindow("day", timezone="Europe/Berlin")
    first = utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    second = utc(2026, 10, 25, 1, 30)  # 02:30 CET, an hour later
    assert day.key_at(first) == day.key_at(second) == "d:2026-10-25@Europe/Berlin"


def test_a_midnight_skipped_by_dst_starts_the_day_at_the_first_instant_after_the_gap() -> None:
    # Sao Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04: that day had no midnight.
    day = CalendarWindow("day", timezone="America/Sao_Paulo")
    start, reset = day.bounds_at(utc(2018, 11, 4, 12))
    assert start == utc(2018, 11, 4, 3, 0)  # 01:00 -02:00, the day's first instant
    assert reset == utc(2018, 11, 5, 2, 0)
    assert day.key_at(start - timedelta(microseconds=1)) == "d:2018-11-03@America/Sao_Paulo"
    assert day.key_at(start) == "d:2018-11-04@America/Sao_Paulo"


def test_a_month_ends_on_its_last_day_across_the_year_end() -> None:
    month = CalendarWindow("month", timezone="Europe/Berlin")
    now = berlin(2026, 12, 31, 23, 59, 59)
    assert month.key_at(now) == "m:2026-12@Europe/Berlin"
    assert month.bounds_at(now) == (berlin(2026, 12, 1), berlin(2027, 1, 1))
    assert month.key_at(berlin(2027, 1, 1)) == "m:2027-01@Europe/Berlin"


@pytest.mark.parametrize(
    ("year", "month", "days"),
    [(2026, 1, 31), (2026, 2, 28), (2028, 2, 29), (2026, 4, 30), (2026, 3, 31)],
)
def test_month_lengths(year: int, month: int, days: int) -> None:
    window = CalendarWindow("month")
    start, reset = window.bounds_at(utc(year, month, 15))
    assert start == utc(year, month, 1)
    assert reset is not None
    assert (reset - start).days == days


def test_leap_day_is_a_day_of_its_own_and_february_2028_has_29() -> None:
    day = CalendarWindow("day")
    assert day.key_at(utc(2028, 2, 29, 8)) == "d:2028-02-29@UTC"
    assert day.bounds_at(utc(2028, 2, 29, 8)) == (utc(2028, 2, 29), utc(2028, 3, 1))
    month = CalendarWindow("month")
    assert month.bounds_at(utc(2028, 2, 29, 23, 59)) == (utc(2028, 2, 1), utc(2028, 3, 1))


def test_a_week_starts_on_monday() -> None:
    week = CalendarWindow("week", timezone="Europe/Berlin")
    sunday_night = berlin(2026, 11, 22, 23, 59)
    monday = berlin(2026, 11, 23, 0, 0)
    assert week.key_at(sunday_night) == "w:2026-11-16@Europe/Berlin"
    assert week.bounds_at(sunday_night) == (berlin(2026, 11, 16), monday)
    assert week.key_at(monday) == "w:2026-11-23@Europe/Berlin"
    # A week spanning the fall-back change is 7 days and one hour long.
    start, reset = week.bounds_at(berlin(2026, 10, 21))
    assert reset is not None
    assert (start, reset - start) == (berlin(2026, 10, 19), timedelta(days=7, hours=1))


def test_a_week_across_the_year_end_is_keyed_by_its_monday() -> None:
    week = CalendarWindow("week")
    assert week.key_at(utc(2027, 1, 1)) == "w:2026-12-28@UTC"
    assert week.bounds_at(utc(2027, 1, 3, 23)) == (utc(2026, 12, 28), utc(2027, 1, 4))


def test_multiples_of_weeks_and_months_align_so_every_replica_agrees() -> None:
    quarter = CalendarWindow("month", 3)
    assert quarter.bounds_at(utc(2026, 11, 22)) == (utc(2026, 10, 1), utc(2027, 1, 1))
    assert quarter.key_at(utc(2026, 12, 31)) == "3mo:2026-10@UTC"
    fortnight = CalendarWindow("week", 2)
    start, reset = fortnight.bounds_at(utc(2026, 11, 22))
    assert start.weekday() == 0
    assert reset == start + timedelta(weeks=2)
    assert start <= utc(2026, 11, 22) < reset


def test_fixed_windows_align_to_the_unix_epoch() -> None:
    hour = FixedWindow(3600)
    now = utc(2026, 11, 22, 13, 45, 10)
    assert hour.bounds_at(now) == (utc(2026, 11, 22, 13), utc(2026, 11, 22, 14))
    assert hour.key_at(now) == f"1h:{int(utc(2026, 11, 22, 13).timestamp())}"
    thirty = FixedWindow(30)
    assert thirty.bounds_at(now) == (utc(2026, 11, 22, 13, 45), utc(2026, 11, 22, 13, 45, 30))
    two_days = FixedWindow(2 * 86_400)
    start, _ = two_days.bounds_at(now)
    assert (start - EPOCH).total_seconds() % (2 * 86_400) == 0
    assert [FixedWindow(s).spec for s in (30, 300, 3600, 172_800, 90)] == [
        "30s",
        "5m",
        "1h",
        "2d",
        "90s",
    ]


def test_a_fixed_window_ignores_the_timezone_of_now() -> None:
    hour = FixedWindow(3600)
    same = utc(2026, 11, 22, 13, 5)
    assert hour.key_at(same) == hour.key_at(same.astimezone(BERLIN))


def test_a_lifetime_window_never_resets() -> None:
    window = LifetimeWindow()
    assert window.key_at(utc(2026, 1, 1)) == window.key_at(utc(2099, 1, 1)) == "all"
    assert window.bounds_at(utc(2026, 1, 1)) == (EPOCH, None)


def test_naive_datetimes_and_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CalendarWindow("day").key_at(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedWindow(60).bounds_at(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        CalendarWindow("day", 0)
    with pytest.raises(ValueError):
        FixedWindow(0)
    with pytest.raises(KeyError):  # ZoneInfoNotFoundError
        CalendarWindow("day", timezone="Mars/Olympus")


def test_the_default_clock_is_aware_utc() -> None:
    now = utc_now()
    assert now.tzinfo is UTC


@pytest.mark.parametrize(
    "window",
    [
        CalendarWindow("day", timezone="Europe/Berlin"),
        CalendarWindow("week", 2, "America/Sao_Paulo"),
        CalendarWindow("month", 3, "Asia/Kolkata"),
        FixedWindow(90),
        LifetimeWindow(),
    ],
)
def test_instance_at_agrees_with_key_at_and_bounds_at(
    window: CalendarWindow | FixedWindow | LifetimeWindow,
) -> None:
    moment = utc(2026, 10, 25, 0, 30)
    for step in range(0, 24 * 40, 7):
        now = moment + timedelta(hours=step)
        assert window.instance_at(now) == (window.key_at(now), window.bounds_at(now)[1])


@pytest.mark.parametrize(("unit", "count"), [("day", 1), ("month", 1), ("week", 2)])
def test_a_kept_instance_is_never_used_outside_its_window(unit: CalendarUnit, count: int) -> None:
    """``instance_at`` reuses the last instance while ``now`` is inside it: walking hour by hour
    across DST changes and month ends, in any order, it agrees with ``key_at``/``bounds_at``."""
    window = CalendarWindow(unit, count, timezone="America/New_York")
    start = datetime(2026, 10, 25, tzinfo=UTC)
    moments = [start + timedelta(hours=h) for h in range(0, 24 * 40, 5)]
    for now in [*moments, *reversed(moments), *moments[::7]]:
        assert window.instance_at(now) == (window.key_at(now), window.bounds_at(now)[1])
