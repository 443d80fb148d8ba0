"""Teams through the admin service: members with budgets of their own, tiers whose policy a
team takes, and deletion with the team's keys."""

from __future__ import annotations

from typing import Any

import pytest

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    DeleteTeamsRequest,
    GenerateKeyRequest,
    MemberAddRequest,
    MemberDeleteRequest,
    MemberUpdateRequest,
    NewBudgetRequest,
    NewTeamRequest,
    NewUserRequest,
    UpdateBudgetRequest,
    UpdateTeamRequest,
)
from stargate.admin.service import AdminService
from stargate.errors import InvalidRequest, NotFound
from stargate.store.limits import BudgetLimit


async def new_team(service: AdminService, **body: Any) -> dict[str, Any]:
    return await service.teams.new(parse_body(NewTeamRequest, body))


async def test_a_team_as_seed_003_creates_it(service: AdminService) -> None:
    team = await new_team(
        service,
        team_alias="drafting",
        models=["model-cheap"],
        max_budget=0.017,
        budget_duration="1d",
    )
    assert len(team["team_id"]) == 36
    assert (team["team_alias"], team["models"], team["max_budget"], team["budget_duration"]) == (
        "drafting",
        ["model-cheap"],
        0.017,
        "1d",
    )
    stored = await service.context.teams.get(team["team_id"])
    assert stored is not None
    assert stored.max_budget_micro == 17_000
    with pytest.raises(InvalidRequest) as caught:
        await new_team(service, team_alias="drafting")
    assert (caught.value.code, caught.value.param) == ("duplicate", "team_alias")


async def test_members_with_roles_become_users_when_unknown(service: AdminService) -> None:
    await service.users.new(
        parse_body(NewUserRequest, {"user_id": "ana", "auto_create_key": False})
    )
    team = await new_team(
        service,
        team_id="t1",
        members_with_roles=[
            {"user_id": "ana", "role": "admin"},
            {"user_email": "bob@example.com"},
        ],
    )
    roles = {
        (m["user_id"] == "ana", m["user_email"], m["role"]) for m in team["members_with_roles"]
    }
    assert roles == {(True, None, "admin"), (False, "bob@example.com", "user")}
    bob = await service.context.users.get_by_email("bob@example.com")
    assert bob is not None


async def test_member_budgets_have_a_window_and_can_change(service: AdminService) -> None:
    await new_team(service, team_id="t1")
    body = {
        "team_id": "t1",
        "member": [{"user_id": "ana"}, {"user_email": "bob@example.com", "role": "admin"}],
        "max_budget_in_team": 5,
        "budget_duration": "1mo",
    }
    added = await service.teams.member_add(parse_body(MemberAddRequest, body))
    assert [m["max_budget_in_team"] for m in added["updated_team_memberships"]] == [5.0, 5.0]
    assert {u["user_id"] for u in added["updated_users"]} >= {"ana"}
    member = await service.context.teams.member("t1", "ana")
    assert member is not None
    assert (member.max_budget_micro, member.budget_duration) == (5_000_000, "1mo")

    changed = await service.teams.member_update(
        parse_body(MemberUpdateRequest, {"team_id": "t1", "user_id": "ana", "role": "admin"})
    )
    assert (changed["role"], changed["max_budget_in_team"]) == ("admin", 5.0)

    after = await service.teams.member_delete(
        parse_body(MemberDeleteRequest, {"team_id": "t1", "user_email": "bob@example.com"})
    )
    assert [m["user_id"] for m in after["members_with_roles"]] == ["ana"]
    with pytest.raises(NotFound, match="not a member"):
        await service.teams.member_delete(
            parse_body(MemberDeleteRequest, {"team_id": "t1", "user_email": "bob@example.com"})
        )


async def test_info_and_list_show_members_and_keys(service: AdminService) -> None:
    await new_team(service, team_id="t1", team_alias="one", members_with_roles=[{"user_id": "ana"}])
    await new_team(service, team_id="t2")
    await service.keys.generate(parse_body(GenerateKeyRequest, {"team_id": "one"}))

    info = await service.teams.info("one")
    assert info["team_id"] == "t1"
    assert info["team_info"]["team_alias"] == "one"
    assert len(info["keys"]) == 1
    assert [m["user_id"] for m in info["team_memberships"]] == ["ana"]

    everything = await service.teams.list()
    assert [t["team_id"] for t in everything] == ["t1", "t2"]
    assert [len(t["keys"]) for t in everything] == [1, 0]
    assert [t["team_id"] for t in await service.teams.list("ana")] == ["t1"]
    with pytest.raises(NotFound):
        await service.teams.info("nope")


async def test_a_tier_gives_its_policy_and_later_changes_follow(service: AdminService) -> None:
    await service.budgets.new(
        parse_body(
            NewBudgetRequest,
            {
                "budget_id": "coding",
                "max_budget": 0.033,
                "budget_duration": "1d",
                "budget_limits": [{"max_budget": 1.0, "budget_duration": "1mo"}],
                "models": ["model-balanced"],
                "rpm_limit": 30,
            },
        )
    )
    team = await new_team(service, team_id="t1", tier="coding", tpm_limit=500)
    assert (
        team["tier"],
        team["models"],
        team["max_budget"],
        team["rpm_limit"],
        team["tpm_limit"],
    ) == (
        "coding",
        ["model-balanced"],
        0.033,
        30,
        500,
    )
    await service.budgets.update(
        parse_body(UpdateBudgetRequest, {"budget_id": "coding", "max_budget": 0.05})
    )
    stored = await service.context.teams.get("t1")
    assert stored is not None
    assert stored.max_budget_micro == 50_000
    assert stored.budget_limits == (BudgetLimit(1_000_000, "1mo"),)

    with pytest.raises(NotFound) as caught:
        await new_team(service, tier="nope")
    assert caught.value.param == "tier"
    moved = await service.teams.update(
        parse_body(UpdateTeamRequest, {"team_id": "t1", "blocked": True})
    )
    assert (moved["blocked"], moved["tier"]) == (True, "coding")


async def test_delete_takes_keys_and_memberships_along(service: AdminService) -> None:
    await new_team(service, team_id="t1", members_with_roles=[{"user_id": "ana"}])
    key = await service.keys.generate(parse_body(GenerateKeyRequest, {"team_id": "t1"}))
    deleted = await service.teams.delete(parse_body(DeleteTeamsRequest, {"team_ids": ["t1"]}))
    assert deleted == {"deleted_teams": ["t1"], "deleted_keys": 1}
    assert await service.keys.find(key["key"]) is None
    assert await service.context.teams.members(user_id="ana") == []
    assert await service.context.users.get("ana") is not None  # users stay
    with pytest.raises(NotFound):
        await service.teams.delete(parse_body(DeleteTeamsRequest, {"team_ids": ["t1"]}))
