"""Durations as LiteLLM and the seeds write them: key expiry and budget windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stargate.admin.durations import Duration, check_budget_duration, expires_at, parse_duration

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", Duration(30, "s")),
        ("30m", Duration(30, "m")),
        ("1h", Duration(1, "h")),
        ("24h", Duration(24, "h")),
        ("1d", Duration(1, "d")),
        ("7d", Duration(7, "d")),
        ("1w", Duration(1, "w")),
        ("30d", Duration(30, "d")),
        ("1mo", Duration(1, "mo")),
        ("daily", Duration(1, "d")),
        ("weekly", Duration(1, "w")),
        ("monthly", Duration(1, "mo")),
        (" Monthly ", Duration(1, "mo")),
    ],
)
def test_litellm_durations_and_the_seed_words_parse(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "0d", "1y", "d", "-1d", "1.5h", "forever", "1 month"])
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="30s, 30m, 1h"):
        parse_duration(text)


def test_expiry_adds_fixed_durations() -> None:
    assert expires_at("30s", NOW) == NOW + timedelta(seconds=30)
    assert expires_at("1h", NOW) == NOW + timedelta(hours=1)
    assert expires_at("30d", NOW) == NOW + timedelta(days=30)
    assert expires_at("1w", NOW) == NOW + timedelta(days=7)


def test_a_month_is_a_calendar_month_clamped_at_its_end() -> None:
    assert expires_at("1mo", NOW) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert expires_at("12mo", NOW) == datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    leap = datetime(2028, 1, 31, tzinfo=UTC)
    assert expires_at("monthly", leap) == datetime(2028, 2, 29, tzinfo=UTC)
    assert expires_at("1mo", datetime(2026, 12, 15, tzinfo=UTC)) == datetime(
        2027, 1, 15, tzinfo=UTC
    )


def test_budget_durations_are_kept_as_written() -> None:
    assert check_budget_duration("monthly") == "monthly"
    assert check_budget_duration(" 1d ") == "1d"
    assert check_budget_duration("30d") == "30d"


def test_a_budget_window_longer_than_a_month_is_refused() -> None:
    with pytest.raises(ValueError, match="at most a calendar month"):
        check_budget_duration("2mo")
