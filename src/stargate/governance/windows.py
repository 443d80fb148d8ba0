"""Budget windows: which window instance a moment falls in, and when that instance resets.

A window is one of three kinds:

* :class:`CalendarWindow`: ``count`` calendar days, weeks (starting Monday) or months in an IANA
  timezone. Boundaries are local midnights, so a day is 23 or 25 hours long across a daylight
  saving change, and a month ends on its last day (28, 29, 30 or 31). Multiples (``2w``, ``3mo``)
  are aligned to the first Monday of 1970 and to January 1970, so every replica agrees on them.
* :class:`FixedWindow`: ``seconds`` long, aligned to the Unix epoch (``30s``, ``1h``, ``2d``).
* :class:`LifetimeWindow`: never resets (a LiteLLM ``max_budget`` without ``budget_duration``).

Counters are keyed by :meth:`key_at`, the id of the window instance a moment falls in, so a new
instance simply starts at zero: resets are lazy and need no sweep job. :meth:`instance_at` gives
the id and the reset time together (what an admission needs). Every datetime given to or
returned from a window is timezone-aware; returned ones are in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

__all__ = [
    "EPOCH",
    "CalendarUnit",
    "CalendarWindow",
    "Clock",
    "FixedWindow",
    "LifetimeWindow",
    "Window",
    "utc_now",
]

Clock: TypeAlias = Callable[[], datetime]
CalendarUnit = Literal["day", "week", "month"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST_MONDAY = date(1970, 1, 5)
_UNIT_PREFIX: dict[CalendarUnit, str] = {"day": "d", "week": "w", "month": "m"}
_UNIT_SUFFIX: dict[CalendarUnit, str] = {"day": "d", "week": "w", "month": "mo"}


def utc_now() -> datetime:
    """The default clock: now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("window arithmetic needs a timezone-aware datetime")
    return now


@dataclass(frozen=True, slots=True)
class CalendarWindow:
    """``count`` calendar days, weeks or months in ``timezone``."""

    unit: CalendarUnit
    count: int = 1
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("a window spans at least one unit")
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at the first request

    @property
    def spec(self) -> str:
        """The duration as LiteLLM writes it (``1d``, ``1w``, ``1mo``, ``3mo``)."""
        return f"{self.count}{_UNIT_SUFFIX[self.unit]}"

    def _start_date(self, now: datetime) -> date:
        local = _aware(now).astimezone(ZoneInfo(self.timezone)).date()
        match self.unit:
            case "day":
                if self.count == 1:
                    return local
                days = (local - EPOCH.date()).days
                return local - timedelta(days=days % self.count)
            case "week":
                weeks = (local - _FIRST_MONDAY).days // 7
                monday = _FIRST_MONDAY + timedelta(weeks=weeks)
                return monday - timedelta(weeks=weeks % self.count)
            case "month":
                months = (local.year - 1970) * 12 + local.month - 1
                months -= months % self.count
                return date(1970 + months // 12, months % 12 + 1, 1)

    def _next_date(self, start: date) -> date:
        match self.unit:
            case "day":
                return start + timedelta(days=self.count)
            case "week":
                return start + timedelta(weeks=self.count)
            case "month":
                months = start.year * 12 + start.month - 1 + self.count
                return date(months // 12, months % 12 + 1, 1)

    def _midnight(self, day: date) -> datetime:
        # fold=0 maps a midnight that a DST gap skips to the first instant after the gap, and an
        # ambiguous one to its first occurrence: either way, the first instant of the local day.
        local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC)

    def bounds_at(self, now: datetime) -> tuple[datetime, datetime | None]:
        start = self._start_date(now)
        return self._midnight(start), self._midnight(self._next_date(start))

    def key_at(self, now: datetime) -> str:
        return self._key(self._start_date(now))

    def instance_at(self, now: datetime) -> tuple[str, datetime | None]:
        """``key_at(now)`` and the ``reset_at`` of ``bounds_at(now)``. Asked on every admission
        for every budget window, and the same for a whole day or month: the last instance is
        kept with its bounds and reused while ``now`` is inside them."""
        known = _INSTANCES.get(self)
        if known is not None and known[0] <= now < known[1]:
            return known[2], known[1]
        start = self._start_date(now)
        began, ends = self._midnight(start), self._midnight(self._next_date(start))
        key = self._key(start)
        if now.tzinfo is not None:  # a naive ``now`` is taken as UTC and cannot be compared
            if len(_INSTANCES) > 1024:
                _INSTANCES.clear()
            _INSTANCES[self] = (began, ends, key)
        return key, ends

    def _key(self, start: date) -> str:
        text = f"{start:%Y-%m}" if self.unit == "month" else start.isoformat()
        kind = _UNIT_PREFIX[self.unit] if self.count == 1 else self.spec
        return f"{kind}:{text}@{self.timezone}"


_INSTANCES: dict[CalendarWindow, tuple[datetime, datetime, str]] = {}


@dataclass(frozen=True, slots=True)
class FixedWindow:
    """``seconds`` long, aligned to the Unix epoch (UTC); no calendar, no timezone."""

    seconds: int

    def __post_init__(self) -> None:
        if self.seconds < 1:
            raise ValueError("a window lasts at least one second")

    @property
    def spec(self) -> str:
        for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
            if self.seconds % size == 0:
                return f"{self.seconds // size}{unit}"
        return f"{self.seconds}s"

    def _start(self, now: datetime) -> int:
        elapsed = int((_aware(now) - EPOCH) // timedelta(seconds=1))
        return elapsed - elapsed % self.seconds

    def bounds_at(self, now: datetime) -> tuple[datetime, datetime | None]:
        start = EPOCH + timedelta(seconds=self._start(now))
        return start, start + timedelta(seconds=self.seconds)

    def key_at(self, now: datetime) -> str:
        return f"{self.spec}:{self._start(now)}"

    def instance_at(self, now: datetime) -> tuple[str, datetime | None]:
        start = self._start(now)
        return f"{self.spec}:{start}", EPOCH + timedelta(seconds=start + self.seconds)


@dataclass(frozen=True, slots=True)
class LifetimeWindow:
    """One window for all time: the budget never resets."""

    @property
    def spec(self) -> str:
        return "lifetime"

    def bounds_at(self, now: datetime) -> tuple[datetime, datetime | None]:
        _aware(now)
        return EPOCH, None

    def key_at(self, now: datetime) -> str:
        _aware(now)
        return "all"

    def instance_at(self, now: datetime) -> tuple[str, datetime | None]:
        return self.key_at(now), None


Window: TypeAlias = CalendarWindow | FixedWindow | LifetimeWindow
