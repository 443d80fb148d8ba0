"""Every change to keys, users, teams, budgets or models moves its config version (one cheap
row a replica can poll); a refused change moves nothing."""

from __future__ import annotations

import pytest

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    GenerateKeyRequest,
    NewBudgetRequest,
    NewModelRequest,
    NewTeamRequest,
    NewUserRequest,
)
from stargate.admin.service import AdminService
from stargate.errors import InvalidRequest


async def test_each_kind_of_change_moves_its_own_version(service: AdminService) -> None:
    start = await service.versions.all()
    assert start == {"keys": 0, "users": 0, "teams": 0, "budgets": 0, "models": 0}

    await service.users.new(
        parse_body(NewUserRequest, {"user_id": "ana", "auto_create_key": False})
    )
    key = await service.keys.generate(parse_body(GenerateKeyRequest, {}))
    await service.keys.block(key["key"], True)
    await service.teams.new(parse_body(NewTeamRequest, {"team_id": "t"}))
    await service.budgets.new(parse_body(NewBudgetRequest, {"budget_id": "b"}))
    await service.models.new(
        parse_body(
            NewModelRequest,
            {
                "model_name": "model-cheap",
                "litellm_params": {"model": "bedrock/converse/us.amazon.nova-micro-v1:0"},
            },
        )
    )

    assert await service.versions.all() == {
        "keys": 2,
        "users": 1,
        "teams": 1,
        "budgets": 1,
        "models": 1,
    }
    assert await service.context.models.version() == 1


async def test_a_refused_change_moves_no_version(service: AdminService) -> None:
    await service.keys.generate(parse_body(GenerateKeyRequest, {"key_alias": "a"}))
    before = await service.versions.all()
    with pytest.raises(InvalidRequest):
        # The user would be made first, then the key refused: both roll back.
        await service.keys.generate(
            parse_body(GenerateKeyRequest, {"key_alias": "a", "user_id": "new-user"})
        )
    assert await service.versions.all() == before
    assert await service.context.users.get("new-user") is None
