"""LiteLLM durations (``30s``, ``30m``, ``1h``, ``24h``, ``1d``, ``7d``, ``30d``, ``1mo``) and the
seeds' words (``daily``, ``weekly``, ``monthly``), parsed into windows and expiry times.

As budget windows (:func:`parse_window`):

* ``1d``, ``24h``, ``daily`` are the calendar day; ``7d``, ``1w``, ``weekly`` the calendar week
  starting Monday; ``30d``, ``1mo``, ``monthly`` the calendar month; ``Nw`` and ``Nmo`` are
  multiples of those. All of them in the configured timezone.
* Any other length (``30s``, ``5m``, ``1h``, ``2d``, ``90d``) is a fixed window of that length
  aligned to the Unix epoch.
* No duration at all (``None`` or ``""``) is a lifetime budget that never resets.

As an expiry (:func:`expires_after`, a key's ``duration``): a plain length from ``now``, with
``Nmo`` meaning N calendar months later (the day clamped to the month's end).
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from stargate.governance.windows import CalendarWindow, FixedWindow, LifetimeWindow, Window

__all__ = ["InvalidDuration", "expires_after", "parse_window"]

_PATTERN = re.compile(r"(\d+)\s*(mo|s|m|h|d|w)")
_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_WORDS = {"daily": "1d", "weekly": "1w", "monthly": "1mo"}
_DAY = 86_400
_WEEK = 604_800


class InvalidDuration(ValueError):
    """The text is not a duration Stargate understands; the message says what would be."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"{text!r} is not a duration: use a number and a unit (30s, 5m, 1h, 1d, 7d, 1w, 1mo) "
            "or daily, weekly, monthly"
        )
        self.text = text


def _split(text: str) -> tuple[int, str]:
    normalized = text.strip().lower()
    normalized = _WORDS.get(normalized, normalized)
    match = _PATTERN.fullmatch(normalized)
    if match is None or int(match.group(1)) == 0:
        raise InvalidDuration(text)
    return int(match.group(1)), match.group(2)


def parse_window(text: str | None, *, timezone: str = "UTC") -> Window:
    """The budget window a duration names, calendar windows in ``timezone``.

    Raises :class:`InvalidDuration` for text that is not a duration, and ``ZoneInfoNotFoundError``
    (a ``KeyError``) for an unknown timezone.
    """
    if text is None or not text.strip():
        return LifetimeWindow()
    count, unit = _split(text)
    if unit == "mo":
        return CalendarWindow("month", count, timezone)
    seconds = count * _SECONDS[unit]
    if seconds == _DAY:
        return CalendarWindow("day", 1, timezone)
    if unit == "w" or seconds == _WEEK:
        return CalendarWindow("week", seconds // _WEEK, timezone)
    if seconds == 30 * _DAY:
        return CalendarWindow("month", 1, timezone)
    return FixedWindow(seconds)


def expires_after(text: str, now: datetime) -> datetime:
    """The moment a thing made at ``now`` with lifetime ``text`` expires."""
    count, unit = _split(text)
    if unit != "mo":
        return now + timedelta(seconds=count * _SECONDS[unit])
    months = now.year * 12 + now.month - 1 + count
    year, month = divmod(months, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)
