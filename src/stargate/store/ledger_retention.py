"""Retention: delete old ledger rows in small batches, never loading them into memory.

Each batch is one short transaction, ``DELETE FROM spend_logs WHERE request_id IN (SELECT
request_id FROM spend_logs WHERE started_at < :cutoff ORDER BY started_at LIMIT :n)``: the
database finds the oldest rows through the ``started_at`` index and deletes them by primary
key; nothing but a count comes back. Locks are held for one batch at a time, so the writer and
the readers are never blocked for long (LiteLLM's retention job loaded the rows and was
OOM-killed, BerriAI/litellm#21908). The daily rollups are kept: usage totals outlive raw rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from stargate.store.database import Database
from stargate.store.ledger_tables import spend_logs

__all__ = ["DEFAULT_BATCH", "delete_batch", "delete_older_than"]

DEFAULT_BATCH = 5000


async def delete_batch(database: Database, cutoff: datetime, *, batch: int = DEFAULT_BATCH) -> int:
    """Delete up to ``batch`` of the oldest rows started before ``cutoff``; return how many
    went (fewer than ``batch``: nothing older is left)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    oldest = (
        select(spend_logs.c.request_id)
        .where(spend_logs.c.started_at < cutoff)
        .order_by(spend_logs.c.started_at)
        .limit(batch)
    )
    statement = delete(spend_logs).where(spend_logs.c.request_id.in_(oldest.scalar_subquery()))
    async with database.write() as conn:
        result = await conn.execute(statement)
    return int(result.rowcount)


async def delete_older_than(
    database: Database, cutoff: datetime, *, batch: int = DEFAULT_BATCH
) -> int:
    """Delete every row started before ``cutoff``, one batch per transaction; return the
    total."""
    total = 0
    while True:
        deleted = await delete_batch(database, cutoff, batch=batch)
        total += deleted
        if deleted < batch:
            return total
