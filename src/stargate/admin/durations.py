"""LiteLLM durations (``30s``, ``30m``, ``1h``, ``1d``, ``7d``, ``1w``, ``30d``, ``1mo``) and the
seeds' words (``daily``, ``weekly``, ``monthly``).

Two uses: a key's ``duration`` (when it expires: now plus the duration, months on the calendar)
and a ``budget_duration`` (the window a budget resets in). Budget windows are the governance
engine's business; here a ``budget_duration`` is only checked to be one it can read and kept as
written.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = ["Duration", "check_budget_duration", "expires_at", "parse_duration"]

Unit = Literal["s", "m", "h", "d", "w", "mo"]
_PATTERN = re.compile(r"(\d{1,6})\s*(mo|s|m|h|d|w)")
_WORDS: dict[str, tuple[int, Unit]] = {"daily": (1, "d"), "weekly": (1, "w"), "monthly": (1, "mo")}
_UNITS: dict[str, Unit] = {"s": "s", "m": "m", "h": "h", "d": "d", "w": "w", "mo": "mo"}
_SECONDS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Budget windows longer than a month are not calendar windows the engine knows.
_BUDGET_MAX_MONTHS = 1


@dataclass(frozen=True, slots=True)
class Duration:
    amount: int
    unit: Unit

    def after(self, start: datetime) -> datetime:
        """``start`` plus this duration; months move on the calendar (Jan 31 + 1mo = Feb 28)."""
        if self.unit == "mo":
            return _add_months(start, self.amount)
        return start + timedelta(seconds=self.amount * _SECONDS[self.unit])


def parse_duration(text: str) -> Duration:
    """``"30d"`` → ``Duration(30, "d")``; ``"monthly"`` → ``Duration(1, "mo")``. A
    :class:`ValueError` says what is accepted."""
    cleaned = text.strip().lower()
    if cleaned in _WORDS:
        amount, unit = _WORDS[cleaned]
        return Duration(amount, unit)
    match = _PATTERN.fullmatch(cleaned)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration: write a positive number and a unit (30s, 30m, 1h, "
            "1d, 7d, 1w, 30d, 1mo) or daily, weekly, monthly"
        )
    return Duration(int(match.group(1)), _UNITS[match.group(2)])


def check_budget_duration(text: str) -> str:
    """A budget window as written (trimmed), once checked; :class:`ValueError` otherwise."""
    duration = parse_duration(text)
    if duration.unit == "mo" and duration.amount > _BUDGET_MAX_MONTHS:
        raise ValueError(
            f"{text!r}: a budget window is at most a calendar month (1mo or monthly); use "
            "budget_limits for several windows"
        )
    return text.strip()


def expires_at(duration: str, now: datetime) -> datetime:
    """When a key made ``now`` with this ``duration`` expires."""
    return parse_duration(duration).after(now)


def _add_months(start: datetime, months: int) -> datetime:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)
