"""Ledger batches as the database driver takes them: no per-row SQLAlchemy binds.

SQLAlchemy Core ran every value of every row through its bind processors (the datetimes, the
JSON columns) and built a parameter dict per row and per rollup; for a table written on every
request that was most of the ledger's CPU. Here each row becomes a list of driver-ready values,
exactly what those types bind (:func:`log_values`), and the statements go out as raw SQL through
``AsyncConnection.exec_driver_sql``: SQLAlchemy still wraps the driver's errors
(``DataError``, ``IntegrityError``, ...), and pooling, transactions and the asyncpg prepared
statement cache (off with ``pgbouncer=true``) are as before. Table names are unqualified, so
PostgreSQL's ``search_path`` (``schema=``) picks the schema, as for the Core statements.

* ``spend_logs``: multi-row ``INSERT ... VALUES (...), (...) ON CONFLICT (request_id) DO NOTHING
  RETURNING request_id``, as SQLAlchemy's "insertmanyvalues" sent it, cut into chunks of
  power-of-two sizes (at most 256 rows, and within the driver's parameter limit) so that only a
  few distinct statements exist, each prepared once per connection and then cached. On
  PostgreSQL every parameter carries the cast SQLAlchemy's asyncpg dialect renders for its
  column (``$1::varchar``, ``$2::timestamptz``, ...).
* ``spend_daily``: on PostgreSQL one ``INSERT ... SELECT * FROM unnest($1::date[], ...)`` (one
  array per column, whatever the number of rollups); on SQLite one ``executemany``. Both
  ``ON CONFLICT (day, dimensions) DO UPDATE`` add to the stored counts.

Rows and rollups go in the order given (request id, then rollup key), as before. Values bound:
datetimes as the aware UTC datetime (PostgreSQL) or SQLAlchemy's SQLite ``DATETIME`` text
(naive UTC, always with microseconds), dates as ``date`` or ISO text, JSON as ``json.dumps``
text (SQLAlchemy's ``JSON`` type; ``JSONB`` on PostgreSQL), booleans and integers as they are.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Integer, String
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.ledger_rows import COLUMNS, SpendRow, clipped_values, json_safe
from stargate.store.ledger_tables import ROLLUP_COUNTS, ROLLUP_DIMENSIONS, spend_daily, spend_logs
from stargate.store.tables import UtcDateTime

__all__ = [
    "RollupValues",
    "insert_logs",
    "log_values",
    "refused_values",
    "sqlite_times",
    "upsert_rollups",
]

# One rollup: the day, the dimensions, key_alias (None keeps the stored one), then the counts.
RollupValues = list[Any]
_ROLLUP_COLUMNS = ("day", *ROLLUP_DIMENSIONS, "key_alias", *ROLLUP_COUNTS)
if {column.name for column in spend_daily.columns} != set(_ROLLUP_COLUMNS):
    raise RuntimeError("spend_daily's columns changed: update the rollup statements")

_CHUNK = 256  # rows per INSERT at most (32 columns: 8192 parameters)
_STARTED, _ENDED = COLUMNS.index("started_at"), COLUMNS.index("ended_at")
_TAGS, _METADATA = COLUMNS.index("tags"), COLUMNS.index("metadata")


def _sqlite_time(value: datetime) -> str:
    """What ``UtcDateTime`` binds on SQLite: naive UTC as SQLAlchemy's ``DATETIME`` text."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC)")
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]  # without "+00:00"


def _postgres_time(value: datetime) -> datetime:
    """What ``UtcDateTime`` binds on PostgreSQL: the aware datetime, in UTC."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC)")
    return value.astimezone(UTC)


def log_values(row: SpendRow, started: Any, ended: Any) -> list[Any]:
    """The ``spend_logs`` columns of ``row`` as the driver takes them, in ``COLUMNS`` order:
    text clipped (:func:`~stargate.store.ledger_rows.clipped_values`), the times as given
    (:func:`sqlite_times`, :func:`_postgres_time`), tags and metadata as the JSON text
    SQLAlchemy's ``JSON`` type binds."""
    values = clipped_values(row)
    values[_STARTED] = started
    values[_ENDED] = ended
    tags, metadata = row.tags, row.metadata
    values[_TAGS] = json.dumps([str(tag) for tag in tags]) if tags else "[]"
    values[_METADATA] = json.dumps(json_safe(metadata)) if metadata else "{}"
    return values


def sqlite_times(rows: Sequence[SpendRow]) -> list[str]:
    """Each row's ``started_at`` then ``ended_at`` as :func:`_sqlite_time` binds it. Rows in
    UTC (all of the gateway's) are formatted by one ``orjson`` call for the batch, a fifth of
    the time of ``isoformat`` per datetime: RFC 3339 text (microseconds left out when zero)
    made into ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    times = [moment for row in rows for moment in (row.started_at, row.ended_at)]
    if not all(moment.tzinfo is UTC for moment in times):
        return [_sqlite_time(moment) for moment in times]
    texts: list[str] = orjson.loads(orjson.dumps(times).replace(b"T", b" ").replace(b"+00:00", b""))
    return [text if len(text) == 26 else text + ".000000" for text in texts]


async def insert_logs(conn: AsyncConnection, rows: Sequence[SpendRow]) -> list[str]:
    """Insert ``rows`` (unique request ids, in order) unless the ledger has them; returns the
    request ids really inserted."""
    postgres = conn.dialect.name == "postgresql"
    statement = _postgres_insert if postgres else _sqlite_insert
    if postgres:
        values = [log_values(row, _postgres_time(row.started_at), _postgres_time(row.ended_at))
                  for row in rows]  # fmt: skip
    else:
        times = sqlite_times(rows)
        values = [log_values(row, times[2 * n], times[2 * n + 1]) for n, row in enumerate(rows)]
    most = conn.dialect.insertmanyvalues_max_parameters // len(COLUMNS)
    inserted: list[str] = []
    for start, size in _chunks(len(values), min(_CHUNK, most)):
        parameters = tuple([value for row in values[start : start + size] for value in row])
        result = await conn.exec_driver_sql(statement(size), parameters)
        inserted += result.scalars().all()
    return inserted


async def upsert_rollups(conn: AsyncConnection, rollups: Sequence[RollupValues]) -> None:
    """Add ``rollups`` (unique keys, in key order; days as ``date``) to ``spend_daily``."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(_POSTGRES_UPSERT, tuple(zip(*rollups, strict=True)))
        return
    parameters = [(rollup[0].isoformat(), *rollup[1:]) for rollup in rollups]
    await conn.exec_driver_sql(_SQLITE_UPSERT, parameters)


@contextlib.contextmanager
def refused_values() -> Iterator[None]:
    """Raise a value PostgreSQL refuses (SQLSTATE class 22: a NUL in text, a string too long
    for its column, a number out of range) as SQLAlchemy's ``DataError``. The asyncpg dialect
    hands these over as a bare ``DBAPIError``, which the ledger writer would retry forever as
    if the database were down; a ``DataError`` makes it set the row aside instead."""
    try:
        yield
    except DBAPIError as exc:
        orig, sqlstate = exc.orig, getattr(exc.orig, "sqlstate", None)
        if type(exc) is DBAPIError and orig is not None and str(sqlstate).startswith("22"):
            raise DataError(
                exc.statement, exc.params, orig, hide_parameters=exc.hide_parameters
            ) from exc
        raise


def _chunks(count: int, most: int) -> list[tuple[int, int]]:
    """``(start, size)`` pieces of ``count`` rows, each a power of two of at most ``most``
    rows: full chunks, then the remainder's binary digits."""
    size = 1
    while size * 2 <= most:
        size *= 2
    chunks, start = [], 0
    while start < count:
        while size > count - start:
            size //= 2
        chunks.append((start, size))
        start += size
    return chunks


def _postgres_type(column: Column[Any]) -> str:
    """The type SQLAlchemy's asyncpg dialect casts a parameter of ``column`` to."""
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return "timestamptz"
    if isinstance(kind, JSON):  # ``Json``: JSON, with a JSONB variant on PostgreSQL
        return "jsonb"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, BigInteger):
        return "bigint"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, String):  # no length: a longer value fails, it is never truncated
        return "varchar"
    raise TypeError(f"no PostgreSQL parameter type for {column.name} ({kind!r})")


_LOG_TYPES = tuple(_postgres_type(spend_logs.c[name]) for name in COLUMNS)
# The statements are built from the tables' own column names only (no input: S608 does not apply).
_INSERT = f"INSERT INTO spend_logs ({', '.join(COLUMNS)}) VALUES "  # noqa: S608
_ON_REQUEST_ID = " ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
_SQLITE_ROW = f"({', '.join('?' * len(COLUMNS))})"


@functools.cache
def _sqlite_insert(size: int) -> str:
    return _INSERT + ", ".join([_SQLITE_ROW] * size) + _ON_REQUEST_ID


@functools.cache
def _postgres_insert(size: int) -> str:
    width = len(COLUMNS)
    rows = (
        "(" + ", ".join(f"${r * width + c + 1}::{kind}" for c, kind in enumerate(_LOG_TYPES)) + ")"
        for r in range(size)
    )
    return _INSERT + ", ".join(rows) + _ON_REQUEST_ID


_ADD = ", ".join(
    [f"{name} = spend_daily.{name} + excluded.{name}" for name in ROLLUP_COUNTS]
    + ["key_alias = coalesce(excluded.key_alias, spend_daily.key_alias)"]
)
_UPSERT = f"INSERT INTO spend_daily ({', '.join(_ROLLUP_COLUMNS)}) "
_ON_ROLLUP_KEY = f" ON CONFLICT ({', '.join(('day', *ROLLUP_DIMENSIONS))}) DO UPDATE SET {_ADD}"
_ROLLUP_ARRAYS = ", ".join(
    f"${n}::{_postgres_type(spend_daily.c[name])}[]" for n, name in enumerate(_ROLLUP_COLUMNS, 1)
)
_POSTGRES_UPSERT = f"{_UPSERT}SELECT * FROM unnest({_ROLLUP_ARRAYS}){_ON_ROLLUP_KEY}"  # noqa: S608
_SQLITE_UPSERT = f"{_UPSERT}VALUES ({', '.join('?' * len(_ROLLUP_COLUMNS))}){_ON_ROLLUP_KEY}"
