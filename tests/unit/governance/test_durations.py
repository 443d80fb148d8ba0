"""LiteLLM durations and the seeds' words, as budget windows and as expiry times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stargate.governance.durations import InvalidDuration, expires_after, parse_window
from stargate.governance.windows import CalendarWindow, FixedWindow, LifetimeWindow


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("1d", CalendarWindow("day", 1, "Europe/Berlin")),
        ("24h", CalendarWindow("day", 1, "Europe/Berlin")),
        ("daily", CalendarWindow("day", 1, "Europe/Berlin")),
        ("1440m", CalendarWindow("day", 1, "Europe/Berlin")),
        ("7d", CalendarWindow("week", 1, "Europe/Berlin")),
        ("1w", CalendarWindow("week", 1, "Europe/Berlin")),
        ("Weekly", CalendarWindow("week", 1, "Europe/Berlin")),
        ("2w", CalendarWindow("week", 2, "Europe/Berlin")),
        ("14d", FixedWindow(14 * 86_400)),  # only 7d, 24h and 30d are calendar day counts
        ("30d", CalendarWindow("month", 1, "Europe/Berlin")),
        ("1mo", CalendarWindow("month", 1, "Europe/Berlin")),
        (" monthly ", CalendarWindow("month", 1, "Europe/Berlin")),
        ("3mo", CalendarWindow("month", 3, "Europe/Berlin")),
        ("30s", FixedWindow(30)),
        ("30m", FixedWindow(1800)),
        ("1h", FixedWindow(3600)),
        ("2d", FixedWindow(172_800)),
        ("90d", FixedWindow(90 * 86_400)),
        (None, LifetimeWindow()),
        ("", LifetimeWindow()),
    ],
)
def test_durations_become_windows(text: str | None, window: object) -> None:
    assert parse_window(text, timezone="Europe/Berlin") == window


def test_calendar_windows_default_to_utc() -> None:
    assert parse_window("1d") == CalendarWindow("day", 1, "UTC")


@pytest.mark.parametrize("text", ["0d", "1y", "d", "1.5h", "-1d", "fortnightly", "1 day", "1dd"])
def test_what_is_not_a_duration_is_refused_with_the_forms_that_are(text: str) -> None:
    with pytest.raises(InvalidDuration, match="30s, 5m, 1h, 1d, 7d, 1w, 1mo"):
        parse_window(text)


def test_an_unknown_timezone_is_refused() -> None:
    with pytest.raises(KeyError):
        parse_window("1d", timezone="Nowhere/City")


def test_expiry_is_a_plain_length_or_calendar_months() -> None:
    now = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
    assert expires_after("30s", now) == now + timedelta(seconds=30)
    assert expires_after("1h", now) == now + timedelta(hours=1)
    assert expires_after("30d", now) == now + timedelta(days=30)
    assert expires_after("1w", now) == now + timedelta(weeks=1)
    assert expires_after("1mo", now) == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    assert expires_after("1mo", datetime(2028, 1, 31, tzinfo=UTC)) == datetime(
        2028, 2, 29, tzinfo=UTC
    )
    assert expires_after("12mo", now) == datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
    assert expires_after("monthly", datetime(2026, 12, 15, tzinfo=UTC)) == datetime(
        2027, 1, 15, tzinfo=UTC
    )
    with pytest.raises(InvalidDuration):
        expires_after("soon", now)
