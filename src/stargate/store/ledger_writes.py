"""Writing ledger rows: idempotent inserts and the daily rollups, in one transaction.

:func:`write_rows` inserts a batch with ``INSERT ... ON CONFLICT (request_id) DO NOTHING
RETURNING request_id`` (the PostgreSQL and SQLite dialect inserts), then adds to ``spend_daily``
only what the rows that were really inserted count, with ``INSERT ... ON CONFLICT DO UPDATE``
adding to the existing totals. Both happen in one transaction, so a batch written twice (a retry
after a commit whose answer was lost, a journal replayed after a crash) changes nothing the second
time: every request is counted exactly once. Rows and rollups are written in a fixed order
(request id, then rollup key) so concurrent writers never deadlock on each other's locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.database import Database
from stargate.store.ledger_rows import SpendRow, column_values
from stargate.store.ledger_tables import ROLLUP_DIMENSIONS, spend_daily, spend_logs

__all__ = ["WriteResult", "insert_rows", "write_rows"]

_COUNTS = (
    "requests",
    "failed_requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_micro",
    "unpriced_requests",
)
RollupKey = tuple[date, str, str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: int  # rows new to the ledger
    duplicates: int  # rows it already had (written before; changed nothing)


async def write_rows(database: Database, rows: Sequence[SpendRow]) -> WriteResult:
    """Insert ``rows`` and their rollups in one transaction (``BEGIN IMMEDIATE`` on SQLite)."""
    if not rows:
        return WriteResult(0, 0)
    async with database.write() as conn:
        inserted = await insert_rows(conn, rows)
    return WriteResult(inserted, len(rows) - inserted)


async def insert_rows(conn: AsyncConnection, rows: Sequence[SpendRow]) -> int:
    """Within the caller's transaction: insert the rows the ledger does not have yet and add
    them to the rollups. Returns how many were new."""
    unique: dict[str, SpendRow] = {}
    for row in rows:
        unique.setdefault(row.request_id, row)
    ordered = [unique[request_id] for request_id in sorted(unique)]
    insert = _insert_for(conn)
    statement = (
        insert(spend_logs)
        .on_conflict_do_nothing(index_elements=[spend_logs.c.request_id])
        .returning(spend_logs.c.request_id)
    )
    result = await conn.execute(statement, [column_values(row) for row in ordered])
    new_ids = set(result.scalars().all())
    if new_ids:
        await _add_to_rollups(conn, [unique[request_id] for request_id in sorted(new_ids)])
    return len(new_ids)


def _rollup_key(row: SpendRow) -> RollupKey:
    return (
        row.day,
        row.key_hash or "",
        row.key_id or "",
        row.user_id or "",
        row.team_id or "",
        row.requested_model,
        row.provider or "",
    )


async def _add_to_rollups(conn: AsyncConnection, rows: Sequence[SpendRow]) -> None:
    totals: dict[RollupKey, dict[str, Any]] = {}
    for row in rows:
        key = _rollup_key(row)
        entry = totals.get(key)
        if entry is None:
            entry = dict.fromkeys(_COUNTS, 0)
            entry["key_alias"] = None
            totals[key] = entry
        entry["requests"] += 1
        entry["failed_requests"] += row.status != "success"
        entry["input_tokens"] += row.input_tokens
        entry["output_tokens"] += row.output_tokens
        entry["cache_read_tokens"] += row.cache_read_tokens
        entry["cache_write_tokens"] += row.cache_write_tokens
        if row.cost_micro is None:
            entry["unpriced_requests"] += 1
        else:
            entry["cost_micro"] += row.cost_micro
        if row.key_alias is not None:
            entry["key_alias"] = row.key_alias[:255]
    parameters = [
        {"day": key[0], **dict(zip(ROLLUP_DIMENSIONS, key[1:], strict=True)), **entry}
        for key, entry in sorted(totals.items())
    ]
    insert = _insert_for(conn)
    statement = insert(spend_daily)
    added = {name: spend_daily.c[name] + statement.excluded[name] for name in _COUNTS}
    added["key_alias"] = func.coalesce(statement.excluded.key_alias, spend_daily.c.key_alias)
    upsert = statement.on_conflict_do_update(
        index_elements=[spend_daily.c.day, *(spend_daily.c[name] for name in ROLLUP_DIMENSIONS)],
        set_=added,
    )
    await conn.execute(upsert, parameters)


def _insert_for(conn: AsyncConnection) -> Any:
    """The dialect's ``insert`` (both have ``on_conflict_do_nothing``/``_do_update``)."""
    match conn.dialect.name:
        case "postgresql":
            return postgresql.insert
        case "sqlite":
            return sqlite.insert
        case other:
            raise RuntimeError(f"the ledger supports SQLite and PostgreSQL, not {other}")
