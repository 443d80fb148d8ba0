"""Query parameters of the spend and usage routes, in LiteLLM's names.

Dates are UTC days, ``YYYY-MM-DD`` (a full ISO timestamp is read for its date); a range includes
both its start and its end day. ``api_key`` may be a key (``sk-...``) or its SHA-256 hash.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from stargate.admin.fields import AdminRequest, Text, key_hash_of

__all__ = [
    "DailyActivityQuery",
    "Day",
    "GlobalSpendReportQuery",
    "RetentionRequest",
    "SpendLogsQuery",
    "day_after",
    "day_start",
    "hash_of",
]

MAX_PAGE = 1000


def _day(value: str) -> str:
    text = value.strip()
    try:
        parsed = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("expected a date, YYYY-MM-DD") from exc
    return parsed.isoformat()[:10]


Day = Annotated[str, AfterValidator(_day)]


def day_start(day: str) -> datetime:
    """The first instant (UTC) of a ``YYYY-MM-DD`` day."""
    parsed = date.fromisoformat(day)
    return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)


def day_after(day: str) -> datetime:
    return day_start(day) + timedelta(days=1)


def hash_of(api_key: str | None) -> str | None:
    return None if api_key is None else key_hash_of(api_key)


class SpendLogsQuery(AdminRequest):
    """``GET /spend/logs``. With ``start_date`` and ``end_date`` and ``summarize`` (LiteLLM's
    default) the answer is spend per day; otherwise the rows themselves, newest first, one page
    of ``limit`` (or LiteLLM's ``page``/``page_size``); the next page starts at ``cursor``."""

    api_key: Text | None = None
    user_id: Text | None = None
    team_id: Text | None = None
    model: Text | None = None
    request_id: Text | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    summarize: bool = True
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)
    cursor: Text | None = None
    page: int | None = Field(default=None, ge=1)
    page_size: int | None = Field(default=None, ge=1, le=MAX_PAGE)


class GlobalSpendReportQuery(AdminRequest):
    """``GET /global/spend/report``: spend between two days, grouped."""

    start_date: Day
    end_date: Day
    group_by: Literal["team", "api_key", "user", "model"] = "team"
    api_key: Text | None = None
    internal_user_id: Text | None = None
    team_id: Text | None = None


class DailyActivityQuery(AdminRequest):
    """``GET /user/daily/activity`` and ``/team/daily/activity``: one entry per day."""

    start_date: Day
    end_date: Day
    model: Text | None = None
    api_key: Text | None = None
    user_id: Text | None = None
    team_ids: Text | None = None  # comma-separated (team activity)
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=50, ge=1, le=MAX_PAGE)


class RetentionRequest(AdminRequest):
    """Delete ledger rows that started more than ``days`` days ago."""

    days: int = Field(ge=1, le=36_500)
