"""Users through the admin service: a key of their own by default, teams joined at creation,
found by id or email, listed a page at a time, deleted with their keys."""

from __future__ import annotations

from typing import Any

import pytest

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    DeleteUsersRequest,
    GenerateKeyRequest,
    NewTeamRequest,
    NewUserRequest,
    UpdateUserRequest,
    UserListQuery,
)
from stargate.admin.service import AdminService
from stargate.errors import InvalidRequest, NotFound
from stargate.governance.keys import hash_key

from .conftest import Clock


async def new_user(service: AdminService, **body: Any) -> dict[str, Any]:
    return await service.users.new(parse_body(NewUserRequest, body))


async def test_a_new_user_gets_an_id_and_a_key_by_default(service: AdminService) -> None:
    user = await new_user(
        service, user_email="user@example.com", max_budget=10.0, budget_duration="monthly"
    )
    assert len(user["user_id"]) == 36  # a UUID
    assert (user["user_email"], user["max_budget"], user["budget_duration"]) == (
        "user@example.com",
        10.0,
        "monthly",
    )
    assert user["user_role"] == "internal_user"
    assert user["key"].startswith("sk-")
    assert user["token"] == hash_key(user["key"])
    key = await service.keys.find(user["key"])
    assert key is not None
    assert key.user_id == user["user_id"]
    assert key.max_budget_micro is None  # the user's budget applies to it, not a copy


async def test_auto_create_key_false_makes_no_key(service: AdminService) -> None:
    user = await new_user(service, user_id="ana", auto_create_key=False)
    assert "key" not in user
    assert (await service.context.keys.list(user_id="ana")).total == 0


async def test_taken_ids_and_emails_are_duplicates(service: AdminService) -> None:
    await new_user(service, user_id="ana", user_email="ana@example.com")
    for body in ({"user_id": "ana"}, {"user_email": "ana@example.com"}):
        with pytest.raises(InvalidRequest) as caught:
            await new_user(service, **body)
        assert caught.value.code == "duplicate"
        assert caught.value.param == next(iter(body))
    assert (await service.context.users.list()).total == 1  # nothing half-made


async def test_joining_teams_at_creation(service: AdminService) -> None:
    team = await service.teams.new(parse_body(NewTeamRequest, {"team_alias": "coding"}))
    user = await new_user(
        service,
        user_id="ana",
        teams=[
            team["team_id"],
            {"team_id": "coding", "max_budget_in_team": 2, "user_role": "admin"},
        ],
    )
    assert user["teams"] == [team["team_id"]]
    member = await service.context.teams.member(team["team_id"], "ana")
    assert member is not None
    assert (member.role, member.max_budget_micro) == ("admin", 2_000_000)
    with pytest.raises(NotFound) as caught:
        await new_user(service, user_id="bob", teams=["nope"])
    assert caught.value.param == "teams.0"
    assert await service.context.users.get("bob") is None


async def test_info_by_id_or_email_with_keys_and_teams(service: AdminService) -> None:
    await service.teams.new(parse_body(NewTeamRequest, {"team_id": "t1", "team_alias": "one"}))
    made = await new_user(service, user_email="user@example.com", teams=["t1"])
    await service.keys.generate(parse_body(GenerateKeyRequest, {"user_id": made["user_id"]}))

    info = await service.users.info(["user@example.com"])
    assert info["user_id"] == made["user_id"]
    assert info["user_info"]["user_email"] == "user@example.com"
    assert len(info["keys"]) == 2
    assert all("key" not in k for k in info["keys"])
    assert [t["team_id"] for t in info["teams"]] == ["t1"]
    assert info["teams"][0]["membership"]["role"] == "user"

    with pytest.raises(NotFound):
        await service.users.info(["nobody"])
    with pytest.raises(InvalidRequest):
        await service.users.info([])


async def test_info_for_several_users_lists_them(service: AdminService) -> None:
    await new_user(service, user_id="ana", auto_create_key=False)
    await new_user(service, user_id="bob", auto_create_key=False)
    both = await service.users.info(["ana", "bob", "ana"])
    assert [u["user_id"] for u in both["users"]] == ["ana", "bob"]


async def test_update_by_id_or_email(service: AdminService) -> None:
    await new_user(service, user_id="ana", user_email="ana@example.com", auto_create_key=False)
    body = {"user_id": "ana", "max_budget": 20, "user_email": "ana@corp.example"}
    updated = await service.users.update(parse_body(UpdateUserRequest, body))
    assert (updated["max_budget"], updated["user_email"]) == (20.0, "ana@corp.example")
    by_email = await service.users.update(
        parse_body(
            UpdateUserRequest, {"user_email": "ana@corp.example", "user_role": "proxy_admin"}
        )
    )
    assert by_email["user_role"] == "proxy_admin"
    with pytest.raises(NotFound):
        await service.users.update(parse_body(UpdateUserRequest, {"user_id": "nobody"}))


async def test_delete_takes_keys_and_memberships_along(service: AdminService) -> None:
    await service.teams.new(parse_body(NewTeamRequest, {"team_id": "t1"}))
    made = await new_user(service, user_id="ana", teams=["t1"])
    deleted = await service.users.delete(parse_body(DeleteUsersRequest, {"user_ids": ["ana"]}))
    assert deleted == {"deleted_users": ["ana"], "deleted_keys": 1}
    assert await service.keys.find(made["key"]) is None
    assert await service.context.teams.members(team_ids=["t1"]) == []
    with pytest.raises(NotFound):
        await service.users.delete(parse_body(DeleteUsersRequest, {"user_ids": ["ana"]}))


async def test_list_pages(service: AdminService, clock: Clock) -> None:
    for name in ("a", "b", "c"):
        clock.advance(seconds=1)
        await new_user(
            service, user_id=name, user_role="internal_user_viewer" if name == "b" else None
        )

    page = await service.users.list(parse_body(UserListQuery, {"page": 2, "page_size": 2}))
    assert [u["user_id"] for u in page["users"]] == ["c"]
    assert (page["total"], page["page"], page["page_size"], page["total_pages"]) == (3, 2, 2, 2)
    assert page["users"][0]["key_count"] == 1
    viewers = await service.users.list(parse_body(UserListQuery, {"role": "internal_user_viewer"}))
    assert [u["user_id"] for u in viewers["users"]] == ["b"]
    picked = await service.users.list(parse_body(UserListQuery, {"user_ids": "a, c"}))
    assert [u["user_id"] for u in picked["users"]] == ["a", "c"]
