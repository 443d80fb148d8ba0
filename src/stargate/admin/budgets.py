"""Named policies: ``/budget/new|info|update|list|delete`` (LiteLLM's budget table), which
are also Stargate's tiers.

A team that takes a budget as its ``tier`` gets the budget's policy copied onto it (models,
budget windows, rate limits), so enforcement reads the team alone; updating the budget updates
every team of that tier in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.admin.context import AdminContext, new_id, policy_changes
from stargate.admin.render import render_budget
from stargate.admin.requests import (
    BudgetDeleteRequest,
    BudgetInfoRequest,
    NewBudgetRequest,
    UpdateBudgetRequest,
)
from stargate.errors import InvalidRequest, NotFound
from stargate.store.budgets import BudgetRecord

__all__ = ["BudgetAdmin", "tier_policy"]


def tier_policy(budget: BudgetRecord) -> dict[str, Any]:
    """The team fields a tier sets."""
    return {
        "models": budget.models,
        "max_budget_micro": budget.max_budget_micro,
        "budget_duration": budget.budget_duration,
        "budget_limits": budget.budget_limits,
        "rpm_limit": budget.rpm_limit,
        "tpm_limit": budget.tpm_limit,
        "max_parallel_requests": budget.max_parallel_requests,
    }


class BudgetAdmin:
    def __init__(self, context: AdminContext) -> None:
        self._ctx = context

    async def new(self, request: NewBudgetRequest) -> dict[str, Any]:
        now = self._ctx.now()
        budget = BudgetRecord(
            budget_id=request.budget_id or new_id(),
            created_at=now,
            updated_at=now,
            **policy_changes(request),
        )
        await self._ctx.budgets.insert(budget)
        return render_budget(budget)

    async def info(self, request: BudgetInfoRequest) -> list[dict[str, Any]]:
        return [render_budget(await self._find(budget_id)) for budget_id in request.budgets]

    async def list(self) -> list[dict[str, Any]]:
        return [render_budget(budget) for budget in await self._ctx.budgets.list()]

    async def update(self, request: UpdateBudgetRequest) -> dict[str, Any]:
        async with self._ctx.database.write() as conn:
            updated = await self.put(request.budget_id, policy_changes(request), conn=conn)
        return render_budget(updated)

    async def put(
        self, budget_id: str, changes: dict[str, Any], *, conn: AsyncConnection
    ) -> BudgetRecord:
        """Change a budget and re-copy its policy onto the teams of its tier (only what differs
        is written, so an update that changes nothing bumps no version)."""
        budget = await self._find(budget_id, conn=conn)
        changed = {k: v for k, v in changes.items() if getattr(budget, k) != v}
        if changed:
            now = self._ctx.now()
            updated = await self._ctx.budgets.update(budget_id, changed, now=now, conn=conn)
            assert updated is not None  # found in this transaction
            budget = updated
        policy = tier_policy(budget)
        for team in await self._ctx.teams.list(tier=budget_id, conn=conn):
            differs = {k: v for k, v in policy.items() if getattr(team, k) != v}
            if differs:
                await self._ctx.teams.update(team.team_id, differs, now=self._ctx.now(), conn=conn)
        return budget

    async def delete(self, request: BudgetDeleteRequest) -> dict[str, Any]:
        """Delete a budget no team has as its tier."""
        async with self._ctx.database.write() as conn:
            budget = await self._find(request.id, conn=conn)
            teams = await self._ctx.teams.list(tier=budget.budget_id, conn=conn)
            if teams:
                names = ", ".join(t.team_alias or t.team_id for t in teams)
                raise InvalidRequest(
                    f"budget {budget.budget_id!r} is the tier of teams {names}; give them "
                    "another tier or delete them first",
                    param="id",
                )
            await self._ctx.budgets.delete(budget.budget_id, conn=conn)
        return render_budget(budget)

    async def _find(self, budget_id: str, *, conn: AsyncConnection | None = None) -> BudgetRecord:
        budget = await self._ctx.budgets.get(budget_id, conn=conn)
        if budget is None:
            raise NotFound(f"Budget not found: {budget_id}", param="budget_id")
        return budget
