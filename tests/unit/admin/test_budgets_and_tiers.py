"""Budgets (named policies) and seed 003's tiers: applied once they make a budget and a team
per tier; applied again they change nothing, not even a version."""

from __future__ import annotations

from typing import Any

import pytest

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    BudgetDeleteRequest,
    BudgetInfoRequest,
    GenerateKeyRequest,
    NewBudgetRequest,
    NewTeamRequest,
    TierApplyRequest,
    UpdateBudgetRequest,
)
from stargate.admin.service import AdminService
from stargate.errors import InvalidRequest, NotFound
from stargate.store.limits import BudgetLimit

# config/tiers.yaml of seed 003, as JSON.
SEED_TIERS: dict[str, Any] = {
    "tiers": {
        "drafting": {
            "name": "Drafting",
            "budget_daily": 0.017,
            "budget_monthly": 0.50,
            "allowed_models": ["model-cheap"],
        },
        "coding": {
            "name": "Coding",
            "budget_daily": 0.033,
            "budget_monthly": 1.00,
            "allowed_models": ["model-balanced"],
        },
        "architect": {
            "name": "Architect",
            "budget_daily": 0.067,
            "budget_monthly": 2.00,
            "allowed_models": ["model-reasoning"],
        },
    }
}


async def apply(service: AdminService, body: dict[str, Any]) -> dict[str, Any]:
    return await service.tiers.apply(parse_body(TierApplyRequest, body))


async def test_budget_crud(service: AdminService) -> None:
    made = await service.budgets.new(
        parse_body(NewBudgetRequest, {"budget_id": "b1", "max_budget": 3, "budget_duration": "7d"})
    )
    assert (made["budget_id"], made["max_budget"], made["budget_duration"]) == ("b1", 3.0, "7d")
    generated = await service.budgets.new(parse_body(NewBudgetRequest, {"rpm_limit": 5}))
    assert len(generated["budget_id"]) == 36

    info = await service.budgets.info(parse_body(BudgetInfoRequest, {"budgets": ["b1"]}))
    assert [b["budget_id"] for b in info] == ["b1"]
    updated = await service.budgets.update(
        parse_body(UpdateBudgetRequest, {"budget_id": "b1", "models": ["m"]})
    )
    assert (updated["models"], updated["max_budget"]) == (["m"], 3.0)
    assert {b["budget_id"] for b in await service.budgets.list()} == {"b1", generated["budget_id"]}

    with pytest.raises(InvalidRequest) as caught:
        await service.budgets.new(parse_body(NewBudgetRequest, {"budget_id": "b1"}))
    assert caught.value.code == "duplicate"
    deleted = await service.budgets.delete(parse_body(BudgetDeleteRequest, {"id": "b1"}))
    assert deleted["budget_id"] == "b1"
    with pytest.raises(NotFound):
        await service.budgets.info(parse_body(BudgetInfoRequest, {"budgets": ["b1"]}))


async def test_a_budget_in_use_as_a_tier_is_not_deleted(service: AdminService) -> None:
    await service.budgets.new(parse_body(NewBudgetRequest, {"budget_id": "b1"}))
    await service.teams.new(parse_body(NewTeamRequest, {"team_alias": "t", "tier": "b1"}))
    with pytest.raises(InvalidRequest, match="tier of teams t"):
        await service.budgets.delete(parse_body(BudgetDeleteRequest, {"id": "b1"}))


async def test_seed_tiers_make_one_budget_and_one_team_each(service: AdminService) -> None:
    result = await apply(service, SEED_TIERS)
    assert [(r["tier"], r["budget"], r["team"]) for r in result["tiers"]] == [
        ("drafting", "created", "created"),
        ("coding", "created", "created"),
        ("architect", "created", "created"),
    ]
    budget = await service.context.budgets.get("drafting")
    assert budget is not None
    assert (budget.max_budget_micro, budget.budget_duration) == (17_000, "1d")
    assert budget.budget_limits == (BudgetLimit(500_000, "1mo"),)
    assert budget.models == ("model-cheap",)
    assert budget.metadata["name"] == "Drafting"

    team = await service.context.teams.get_by_alias("drafting")
    assert team is not None
    assert team.team_id == "drafting"  # so seed 003's {"team_id": "drafting"} names it
    assert (team.tier, team.models, team.max_budget_micro) == ("drafting", ("model-cheap",), 17_000)
    assert team.budget_limits == (BudgetLimit(500_000, "1mo"),)
    key = await service.keys.generate(
        parse_body(GenerateKeyRequest, {"user_id": "user@example.com", "team_id": "drafting"})
    )
    assert key["team_id"] == "drafting"


async def test_applying_the_same_tiers_twice_changes_nothing(service: AdminService) -> None:
    await apply(service, SEED_TIERS)
    before_versions = await service.versions.all()
    before_teams = await service.context.teams.list()
    before_budgets = await service.context.budgets.list()

    again = await apply(service, SEED_TIERS)

    assert {(r["budget"], r["team"]) for r in again["tiers"]} == {("unchanged", "unchanged")}
    assert await service.versions.all() == before_versions
    assert await service.context.teams.list() == before_teams
    assert await service.context.budgets.list() == before_budgets


async def test_a_changed_tier_updates_its_budget_and_team(service: AdminService) -> None:
    await apply(service, SEED_TIERS)
    changed = {"tiers": {"drafting": {**SEED_TIERS["tiers"]["drafting"], "budget_daily": 0.02}}}
    result = await apply(service, changed)
    assert [(r["budget"], r["team"]) for r in result["tiers"]] == [("updated", "updated")]
    team = await service.context.teams.get("drafting")
    assert team is not None
    assert team.max_budget_micro == 20_000


async def test_a_tier_adopts_an_existing_team_of_its_name(service: AdminService) -> None:
    made = await service.teams.new(
        parse_body(
            NewTeamRequest, {"team_alias": "drafting", "max_budget": 9, "budget_duration": "1d"}
        )
    )
    result = await apply(service, {"tiers": {"drafting": SEED_TIERS["tiers"]["drafting"]}})
    assert result["tiers"][0]["team"] == "updated"
    assert result["tiers"][0]["team_id"] == made["team_id"]
    team = await service.context.teams.get(made["team_id"])
    assert team is not None
    assert (team.tier, team.max_budget_micro) == ("drafting", 17_000)


async def test_a_tier_with_only_a_monthly_cap(service: AdminService) -> None:
    await apply(service, {"tiers": {"m": {"budget_monthly": 2, "rpm_limit": 10}}})
    budget = await service.context.budgets.get("m")
    assert budget is not None
    assert (budget.max_budget_micro, budget.budget_duration, budget.budget_limits) == (
        2_000_000,
        "1mo",
        (),
    )
    assert budget.rpm_limit == 10
