"""Browsing the ledger for the admin UI: lean pages of ``spend_logs`` (no prompt or response
text) filtered by key, user, team, model, status and time, and a sample of recent latencies.

Pages are keyset-paginated newest first on ``(started_at, request_id)``, with the cursor of
:mod:`stargate.store.ledger_queries`: each page is one index range scan of ``limit + 1`` rows,
so the thousandth page costs what the first does, however many millions of rows there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, tuple_

from stargate.store.database import Database
from stargate.store.ledger_queries import decode_cursor, encode_cursor
from stargate.store.ledger_tables import spend_logs

__all__ = ["BrowseFilter", "BrowsePage", "BrowseRow", "browse_logs", "recent_latencies"]

_COLUMNS = (
    "request_id",
    "started_at",
    "key_hash",
    "key_alias",
    "user_id",
    "team_id",
    "requested_model",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_micro",
    "latency_ms",
    "status",
    "http_status",
    "error_type",
)


@dataclass(frozen=True, slots=True)
class BrowseFilter:
    """Every field given must match; ``start``/``end`` bound ``started_at`` as ``[start, end)``."""

    key_hash: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    model: str | None = None
    status: str | None = None  # success | error | cancelled
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class BrowseRow:
    request_id: str
    started_at: datetime
    key_hash: str | None
    key_alias: str | None
    user_id: str | None
    team_id: str | None
    requested_model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_micro: int | None
    latency_ms: int
    status: str
    http_status: int | None
    error_type: str | None

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )


@dataclass(frozen=True, slots=True)
class BrowsePage:
    rows: list[BrowseRow]
    next_cursor: str | None  # None: the last page


def _conditions(which: BrowseFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        column == value
        for column, value in (
            (spend_logs.c.key_hash, which.key_hash),
            (spend_logs.c.user_id, which.user_id),
            (spend_logs.c.team_id, which.team_id),
            (spend_logs.c.requested_model, which.model),
            (spend_logs.c.status, which.status),
        )
        if value is not None
    ]
    if which.start is not None:
        conditions.append(spend_logs.c.started_at >= which.start)
    if which.end is not None:
        conditions.append(spend_logs.c.started_at < which.end)
    return conditions


async def browse_logs(
    database: Database, which: BrowseFilter, *, limit: int = 50, cursor: str | None = None
) -> BrowsePage:
    """One page of rows, newest first, after ``cursor`` (a ``ValueError`` for a cursor this
    module did not make)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    conditions = _conditions(which)
    if cursor is not None:
        after_time, after_id = decode_cursor(cursor)
        conditions.append(
            tuple_(spend_logs.c.started_at, spend_logs.c.request_id) < tuple_(after_time, after_id)
        )
    query = (
        select(*(spend_logs.c[name] for name in _COLUMNS))
        .where(and_(True, *conditions))
        .order_by(spend_logs.c.started_at.desc(), spend_logs.c.request_id.desc())
        .limit(limit + 1)
    )
    async with database.read() as conn:
        fetched = (await conn.execute(query)).mappings().all()
    rows = [BrowseRow(**{name: found[name] for name in _COLUMNS}) for found in fetched[:limit]]
    last = rows[-1] if rows and len(fetched) > limit else None
    return BrowsePage(rows, encode_cursor(last.started_at, last.request_id) if last else None)


async def recent_latencies(database: Database, *, since: datetime, limit: int = 1000) -> list[int]:
    """The latencies (ms) of the newest ``limit`` requests started since ``since``, read through
    the ``(started_at, request_id)`` index: a bounded sample, never a scan."""
    query = (
        select(spend_logs.c.latency_ms)
        .where(spend_logs.c.started_at >= since)
        .order_by(spend_logs.c.started_at.desc())
        .limit(limit)
    )
    async with database.read() as conn:
        return [int(value) for value in (await conn.scalars(query)).all()]
