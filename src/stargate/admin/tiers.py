"""``/tier/apply``: seed 003's ``tiers.yaml`` (as JSON) → one budget and one team per tier.

A tier ``drafting: {name, budget_daily, budget_monthly, allowed_models}`` becomes the budget
``drafting`` (a ``1d`` window of ``budget_daily``, then a ``1mo`` window of ``budget_monthly``;
``allowed_models`` as its models) and the team with alias ``drafting`` (team id ``drafting``
when that id is free) that takes the budget as its tier. Applying the same tiers again changes
nothing: only what differs is written, so no version moves.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.admin.budgets import BudgetAdmin, tier_policy
from stargate.admin.context import AdminContext, new_id
from stargate.admin.fields import micro
from stargate.admin.requests import TierApplyRequest, TierIn
from stargate.store.budgets import BudgetRecord
from stargate.store.limits import BudgetLimit
from stargate.store.teams import TeamRecord

__all__ = ["TierAdmin", "tier_budget"]

Outcome = Literal["created", "updated", "unchanged"]


def tier_budget(name: str, tier: TierIn) -> dict[str, Any]:
    """The budget fields of one tier."""
    windows = [
        BudgetLimit(amount, duration)
        for amount, duration in (
            (micro(tier.budget_daily), "1d"),
            (micro(tier.budget_monthly), "1mo"),
        )
        if amount is not None
    ]
    primary = windows[0] if windows else None
    metadata = {"tier": name}
    if tier.name is not None:
        metadata["name"] = tier.name
    if tier.description is not None:
        metadata["description"] = tier.description
    return {
        "max_budget_micro": primary.max_budget_micro if primary else None,
        "budget_duration": primary.budget_duration if primary else None,
        "budget_limits": tuple(windows[1:]),
        "models": tuple(dict.fromkeys(tier.allowed_models or ())),
        "rpm_limit": tier.rpm_limit,
        "tpm_limit": tier.tpm_limit,
        "max_parallel_requests": tier.max_parallel_requests,
        "metadata": metadata,
    }


class TierAdmin:
    def __init__(self, context: AdminContext, budgets: BudgetAdmin) -> None:
        self._ctx = context
        self._budgets = budgets

    async def apply(self, request: TierApplyRequest) -> dict[str, Any]:
        """Create or update every tier's budget and team, in one transaction."""
        results = []
        async with self._ctx.database.write() as conn:
            for name, tier in request.tiers.items():
                before = await self._ctx.teams.get_by_alias(name, conn=conn)
                budget_outcome = await self._budget(name, tier_budget(name, tier), conn)
                team = await self._team(name, conn)
                team_outcome: Outcome = (
                    "created" if before is None else "unchanged" if team == before else "updated"
                )
                results.append(
                    {
                        "tier": name,
                        "budget_id": name,
                        "team_id": team.team_id,
                        "team_alias": team.team_alias,
                        "budget": budget_outcome,
                        "team": team_outcome,
                    }
                )
        return {"tiers": results}

    async def _budget(self, name: str, fields: dict[str, Any], conn: AsyncConnection) -> Outcome:
        existing = await self._ctx.budgets.get(name, conn=conn)
        if existing is None:
            now = self._ctx.now()
            record = BudgetRecord(budget_id=name, created_at=now, updated_at=now, **fields)
            await self._ctx.budgets.insert(record, conn=conn)
            return "created"
        updated = await self._budgets.put(name, fields, conn=conn)
        return "unchanged" if updated == existing else "updated"

    async def _team(self, name: str, conn: AsyncConnection) -> TeamRecord:
        """The tier's team (made if missing) with the tier's policy; a change of the budget
        has already reached a team that had the tier."""
        budget = await self._ctx.budgets.get(name, conn=conn)
        assert budget is not None  # written just before, in this transaction
        policy = {**tier_policy(budget), "tier": name}
        team = await self._ctx.teams.get_by_alias(name, conn=conn)
        if team is None:
            now = self._ctx.now()
            team_id = name if await self._ctx.teams.get(name, conn=conn) is None else new_id()
            team = TeamRecord(
                team_id=team_id, team_alias=name, created_at=now, updated_at=now, **policy
            )
            await self._ctx.teams.insert(team, conn=conn)
            return team
        differs = {k: v for k, v in policy.items() if getattr(team, k) != v}
        if not differs:
            return team
        updated = await self._ctx.teams.update(
            team.team_id, differs, now=self._ctx.now(), conn=conn
        )
        assert updated is not None  # found in this transaction
        return updated
