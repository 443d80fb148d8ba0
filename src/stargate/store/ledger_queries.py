"""Reading the ledger: pages of ``spend_logs`` and totals from the ``spend_daily`` rollups.

Totals never scan raw rows: they sum rollups (one row per day, key, user, team, model and
provider). Raw rows are read one page at a time, newest first, through an index that starts with
the filtered column and ``started_at``; the next page starts after a keyset cursor (the last
row's start time and request id), so page 1000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, and_, cast, func, select, text, tuple_

from stargate.store.database import Database
from stargate.store.ledger_rows import SpendRow
from stargate.store.ledger_tables import ROLLUP_COUNTS, spend_daily, spend_logs

__all__ = [
    "GROUPABLE",
    "LogPage",
    "RollupTotals",
    "SpendFilter",
    "decode_cursor",
    "encode_cursor",
    "logs_page",
    "rollup_rows",
    "rollup_totals",
    "spend_between",
]

GROUPABLE = frozenset({"day", "key_hash", "key_id", "user_id", "team_id", "model", "provider"})
_SUMS = ROLLUP_COUNTS
_ROW_FIELDS = tuple(column.name for column in spend_logs.columns)


@dataclass(frozen=True, slots=True)
class SpendFilter:
    """Which requests: every field given must match (``model`` is the requested model name)."""

    key_hash: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    model: str | None = None
    key_id: str | None = None

    @classmethod
    def of_scope(cls, scope: str) -> SpendFilter:
        """A governance scope (``key:<key_id>``, ``user:<id>``, ``team:<id>``,
        ``member:<team>:<user>``) → the requests it covers."""
        kind, _, rest = scope.partition(":")
        match kind:
            case "key" if rest:
                return cls(key_id=rest)
            case "user" if rest:
                return cls(user_id=rest)
            case "team" if rest:
                return cls(team_id=rest)
            case "member":
                team, _, user = rest.partition(":")
                if team and user:
                    return cls(user_id=user, team_id=team)
        raise ValueError(f"not a spend scope: {scope!r}")


@dataclass(frozen=True, slots=True)
class RollupTotals:
    """Sums over the rollups of one group (``group`` holds the grouped columns' values)."""

    group: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    failed_requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_micro: int = 0  # the known costs only
    unpriced_requests: int = 0  # requests whose cost is unknown
    key_alias: str | None = None

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class LogPage:
    rows: list[SpendRow]
    next_cursor: str | None  # None: this was the last page


def encode_cursor(started_at: datetime, request_id: str) -> str:
    raw = f"{started_at.astimezone(UTC).isoformat()}|{request_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ``ValueError`` for a cursor this module did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, request_id = raw.partition("|")
        started_at = datetime.fromisoformat(moment)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("not a cursor from a previous page") from exc
    if started_at.tzinfo is None or not request_id:
        raise ValueError("not a cursor from a previous page")
    return started_at, request_id


def _log_conditions(
    which: SpendFilter, start: datetime | None, end: datetime | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (spend_logs.c.key_hash, which.key_hash),
        (spend_logs.c.key_id, which.key_id),
        (spend_logs.c.user_id, which.user_id),
        (spend_logs.c.team_id, which.team_id),
        (spend_logs.c.requested_model, which.model),
    ):
        if value is not None:
            conditions.append(column == value)
    if start is not None:
        conditions.append(spend_logs.c.started_at >= start)
    if end is not None:
        conditions.append(spend_logs.c.started_at < end)
    return conditions


async def logs_page(
    database: Database,
    which: SpendFilter,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
    offset: int = 0,
    request_id: str | None = None,
) -> LogPage:
    """Rows started in ``[start, end)``, newest first: ``limit`` of them after ``cursor``
    (or after skipping ``offset``; the cursor is the fast way)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    conditions = _log_conditions(which, start, end)
    if request_id is not None:
        conditions.append(spend_logs.c.request_id == request_id)
    if cursor is not None:
        after_time, after_id = decode_cursor(cursor)
        conditions.append(
            tuple_(spend_logs.c.started_at, spend_logs.c.request_id) < tuple_(after_time, after_id)
        )
    query = (
        select(spend_logs)
        .where(and_(True, *conditions))
        .order_by(spend_logs.c.started_at.desc(), spend_logs.c.request_id.desc())
        .limit(limit + 1)
        .offset(offset if cursor is None else 0)
    )
    async with database.read() as conn:
        fetched = (await conn.execute(query)).mappings().all()
    rows = [SpendRow(**{name: found[name] for name in _ROW_FIELDS}) for found in fetched[:limit]]
    more = len(fetched) > limit
    last = rows[-1] if rows else None
    next_cursor = encode_cursor(last.started_at, last.request_id) if more and last else None
    return LogPage(rows, next_cursor)


def _rollup_conditions(
    which: SpendFilter, first_day: date | None, last_day: date | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (spend_daily.c.key_hash, which.key_hash),
        (spend_daily.c.key_id, which.key_id),
        (spend_daily.c.user_id, which.user_id),
        (spend_daily.c.team_id, which.team_id),
        (spend_daily.c.model, which.model),
    ):
        if value is not None:
            conditions.append(column == value)
    if first_day is not None:
        conditions.append(spend_daily.c.day >= first_day)
    if last_day is not None:
        conditions.append(spend_daily.c.day <= last_day)
    return conditions


def _rollup_query(
    which: SpendFilter, first_day: date | None, last_day: date | None, group_by: Sequence[str]
) -> Select[Any]:
    unknown = set(group_by) - GROUPABLE
    if unknown:
        raise ValueError(f"cannot group spend by {sorted(unknown)}")
    groups = [spend_daily.c[name] for name in group_by]
    sums = [func.coalesce(func.sum(spend_daily.c[name]), 0).label(name) for name in _SUMS]
    query = select(*groups, *sums, func.max(spend_daily.c.key_alias).label("key_alias")).where(
        *_rollup_conditions(which, first_day, last_day)
    )
    if groups:
        query = query.group_by(*groups).order_by(*groups)
    return query


async def rollup_totals(
    database: Database,
    which: SpendFilter,
    *,
    first_day: date | None = None,
    last_day: date | None = None,
    group_by: Sequence[str] = (),
) -> list[RollupTotals]:
    """Totals of the requests ``which`` selects, started on UTC days ``first_day`` to
    ``last_day`` (both included; ``None``: unbounded), one per group (ordered by the group
    columns). Without ``group_by`` there is exactly one entry, the grand total. Absent
    dimensions read as ``''``."""
    query = _rollup_query(which, first_day, last_day, group_by)
    async with database.read() as conn:
        found = (await conn.execute(query)).all()
    width = len(group_by)
    names = tuple(group_by)
    # Positional access: reports read hundreds of thousands of these.
    return [_totals(names, width, entry) for entry in found]


def _totals(names: tuple[str, ...], width: int, entry: Any) -> RollupTotals:
    """A result row (group values, the ``_SUMS`` in order, the alias) → totals."""
    sums = [int(value) for value in entry[width : width + len(_SUMS)]]
    return RollupTotals(
        dict(zip(names, entry[:width], strict=True)),
        requests=sums[0],
        failed_requests=sums[1],
        input_tokens=sums[2],
        output_tokens=sums[3],
        cache_read_tokens=sums[4],
        cache_write_tokens=sums[5],
        cost_micro=sums[6],
        unpriced_requests=sums[7],
        key_alias=entry[-1],
    )


_DERIVED = {
    "prompt_tokens": (
        spend_daily.c.input_tokens
        + spend_daily.c.cache_read_tokens
        + spend_daily.c.cache_write_tokens
    ),
    "total_tokens": (
        spend_daily.c.input_tokens
        + spend_daily.c.cache_read_tokens
        + spend_daily.c.cache_write_tokens
        + spend_daily.c.output_tokens
    ),
}


async def rollup_rows(
    database: Database,
    which: SpendFilter,
    *,
    first_day: date,
    last_day: date,
    group_by: Sequence[str],
    sums: Sequence[str],
) -> list[tuple[Any, ...]]:
    """The lean form of :func:`rollup_totals` for big reports: plain tuples of the group values
    followed by the asked sums (``_SUMS`` names, ``prompt_tokens`` or ``total_tokens``), in no
    particular order. On PostgreSQL the aggregation gets enough memory to hash in memory."""
    unknown = (set(group_by) - GROUPABLE) | (set(sums) - set(_SUMS) - set(_DERIVED))
    if unknown:
        raise ValueError(f"cannot report {sorted(unknown)}")
    groups = [spend_daily.c[name] for name in group_by]
    # Cast back to bigint: PostgreSQL sums bigints as numeric, which the driver would hand back
    # as Decimal, slow to read by the hundred thousand.
    totals = [
        cast(func.sum(_DERIVED[name] if name in _DERIVED else spend_daily.c[name]), BigInteger)
        for name in sums
    ]
    query = (
        select(*groups, *totals)
        .where(*_rollup_conditions(which, first_day, last_day))
        .group_by(*groups)
    )
    async with database.read() as conn:
        if database.dialect == "postgresql":
            await conn.execute(text("SET LOCAL work_mem = '64MB'"))
        return [tuple(entry) for entry in await conn.execute(query)]


async def spend_between(
    database: Database, which: SpendFilter, start: datetime, end: datetime | None
) -> tuple[int, int]:
    """``(known cost in micro-USD, requests of unknown cost)`` of the requests started in
    ``[start, end)``: whole UTC days from the rollups, the partial days at either edge from the
    raw rows (through their ``(column, started_at)`` index). For rebuilding budget counters."""
    start = start.astimezone(UTC)
    end = None if end is None else end.astimezone(UTC)
    first_full = _day_start(start)
    if first_full < start:
        first_full += _DAY
    last_full = None if end is None else _day_start(end)
    if end is not None and last_full is not None and first_full >= last_full:
        return await _raw_spend(database, which, start, end)  # no whole day inside
    last_day = None if last_full is None else (last_full - _DAY).date()
    (total,) = await rollup_totals(database, which, first_day=first_full.date(), last_day=last_day)
    cost, unpriced = total.cost_micro, total.unpriced_requests
    edges = [(start, first_full)]
    if end is not None and last_full is not None:
        edges.append((last_full, end))
    for edge_start, edge_end in edges:
        if edge_start < edge_end:
            edge_cost, edge_unpriced = await _raw_spend(database, which, edge_start, edge_end)
            cost, unpriced = cost + edge_cost, unpriced + edge_unpriced
    return cost, unpriced


_DAY = timedelta(days=1)


def _day_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


async def _raw_spend(
    database: Database, which: SpendFilter, start: datetime, end: datetime
) -> tuple[int, int]:
    conditions = _log_conditions(which, start, end)
    query = select(
        func.coalesce(func.sum(spend_logs.c.cost_micro), 0),
        func.count().filter(spend_logs.c.cost_micro.is_(None)),
    ).where(and_(True, *conditions))
    async with database.read() as conn:
        cost, unpriced = (await conn.execute(query)).one()
    return int(cost), int(unpriced)
