"""Writing ledger rows: idempotent inserts and the daily rollups, in one transaction.

:func:`write_rows` inserts a batch with ``INSERT ... ON CONFLICT (request_id) DO NOTHING
RETURNING request_id``, then adds to ``spend_daily``
only what the rows that were really inserted count, with ``INSERT ... ON CONFLICT DO UPDATE``
adding to the existing totals. Both happen in one transaction, so a batch written twice (a retry
after a commit whose answer was lost, a journal replayed after a crash) changes nothing the second
time: every request is counted exactly once. Rows and rollups are written in a fixed order
(request id, then rollup key) so concurrent writers never deadlock on each other's locks. The
statements themselves, one per batch and table without per-row SQLAlchemy binds, are in
:mod:`stargate.store.ledger_insert`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.database import Database
from stargate.store.ledger_insert import RollupValues, insert_logs, refused_values, upsert_rollups
from stargate.store.ledger_rows import SpendRow
from stargate.store.ledger_tables import ROLLUP_COUNTS

__all__ = ["WriteResult", "insert_rows", "write_rows"]

RollupKey = tuple[date, str, str, str, str, str, str]
# Where each count sits in a rollup row: after the day, the dimensions and key_alias.
(_REQUESTS, _FAILED, _INPUT, _OUTPUT, _CACHE_READ, _CACHE_WRITE, _COST, _UNPRICED) = range(
    8, 8 + len(ROLLUP_COUNTS)
)
_KEY_ALIAS = 7


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
    them to the rollups. Returns how many were new. A value the database refuses raises
    ``sqlalchemy.exc.DataError`` (see :func:`~stargate.store.ledger_insert.refused_values`)."""
    unique: dict[str, SpendRow] = {}
    for row in rows:
        unique.setdefault(row.request_id, row)
    with refused_values():
        new_ids = await insert_logs(conn, [unique[request_id] for request_id in sorted(unique)])
        if new_ids:
            new_rows = [unique[request_id] for request_id in sorted(new_ids)]
            await upsert_rollups(conn, _rollups(new_rows))
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


def _rollups(rows: Sequence[SpendRow]) -> list[RollupValues]:
    """What ``rows`` add to each daily rollup, in key order: the key, the alias last seen
    (``None``: keep the stored one), then the counts in ``ROLLUP_COUNTS`` order."""
    totals: dict[RollupKey, list[Any]] = {}
    for row in rows:
        key = _rollup_key(row)
        entry = totals.get(key)
        if entry is None:
            entry = totals[key] = [*key, None, 0, 0, 0, 0, 0, 0, 0, 0]
        entry[_REQUESTS] += 1
        entry[_FAILED] += row.status != "success"
        entry[_INPUT] += row.input_tokens
        entry[_OUTPUT] += row.output_tokens
        entry[_CACHE_READ] += row.cache_read_tokens
        entry[_CACHE_WRITE] += row.cache_write_tokens
        if row.cost_micro is None:
            entry[_UNPRICED] += 1
        else:
            entry[_COST] += row.cost_micro
        if row.key_alias is not None:
            entry[_KEY_ALIAS] = row.key_alias[:255]
    return [totals[key] for key in sorted(totals)]
