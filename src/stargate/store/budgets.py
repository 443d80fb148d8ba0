"""Named policies (LiteLLM's ``/budget/*``; seed 003's tiers): the ``budgets`` table.

Writes bump the ``budgets`` version; ``conn`` joins the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.conflicts import raise_conflict
from stargate.store.database import Database
from stargate.store.limits import BudgetLimit, budget_limits_from_json
from stargate.store.rows import record_row
from stargate.store.tables import budgets
from stargate.store.updates import delete_by_key, update_by_key
from stargate.store.versions import bump_version, reading, writing

__all__ = ["BudgetRecord", "BudgetRepository"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class BudgetRecord:
    """One row of ``budgets``. Money is integer micro-USD; times are aware UTC."""

    budget_id: str
    max_budget_micro: int | None = None
    budget_duration: str | None = None
    budget_limits: tuple[BudgetLimit, ...] = ()
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None
    models: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


_FIELDS = frozenset(f.name for f in fields(BudgetRecord))
_PARAMS = {"pk_budgets": "budget_id"}


class BudgetRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def insert(self, record: BudgetRecord, *, conn: AsyncConnection | None = None) -> None:
        """Store a new budget; a taken ``budget_id`` is a duplicate."""
        async with writing(self._database, conn) as tx:
            try:
                await tx.execute(insert(budgets).values(**record_row(record)))
            except IntegrityError as exc:
                raise_conflict(exc, _conflicts(record.budget_id), _PARAMS)
            await bump_version(tx, "budgets")

    async def get(
        self, budget_id: str, *, conn: AsyncConnection | None = None
    ) -> BudgetRecord | None:
        async with reading(self._database, conn) as tx:
            row = (
                (await tx.execute(select(budgets).where(budgets.c.budget_id == budget_id)))
                .mappings()
                .first()
            )
        return None if row is None else _from_row(row)

    async def list(
        self, *, budget_ids: Sequence[str] | None = None, conn: AsyncConnection | None = None
    ) -> list[BudgetRecord]:
        """Budgets (all, or those listed), oldest first."""
        conditions = [] if budget_ids is None else [budgets.c.budget_id.in_(list(budget_ids))]
        query = (
            select(budgets).where(*conditions).order_by(budgets.c.created_at, budgets.c.budget_id)
        )
        async with reading(self._database, conn) as tx:
            rows = (await tx.execute(query)).mappings().all()
        return [_from_row(row) for row in rows]

    async def update(
        self,
        budget_id: str,
        changes: Mapping[str, Any],
        *,
        now: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> BudgetRecord | None:
        """Set the given :class:`BudgetRecord` fields; ``None`` if there is no such budget."""
        row = await update_by_key(
            self._database, budgets, budgets.c.budget_id, budget_id, changes, allowed=_FIELDS,
            now=now or _now(), version="budgets", conn=conn,
        )  # fmt: skip
        return None if row is None else _from_row(row)

    async def delete(self, budget_id: str, *, conn: AsyncConnection | None = None) -> bool:
        """Remove a budget; ``False`` if there was none."""
        return await delete_by_key(
            self._database, budgets, budgets.c.budget_id, budget_id, version="budgets", conn=conn
        )


def _conflicts(budget_id: str) -> dict[str, str]:
    what = f"a budget with budget_id {budget_id!r}"
    return {"budget_id": what, "pk_budgets": what}


def _from_row(row: RowMapping) -> BudgetRecord:
    return BudgetRecord(
        budget_id=row["budget_id"],
        max_budget_micro=row["max_budget_micro"],
        budget_duration=row["budget_duration"],
        budget_limits=budget_limits_from_json(row["budget_limits"]),
        rpm_limit=row["rpm_limit"],
        tpm_limit=row["tpm_limit"],
        max_parallel_requests=row["max_parallel_requests"],
        models=tuple(row["models"] or ()),
        metadata=dict(row["metadata"] or {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
