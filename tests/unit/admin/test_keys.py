"""Virtual keys through the admin service: made once, stored as hashes, found by key or hash,
updated, regenerated, blocked, listed and deleted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    DeleteKeysRequest,
    GenerateKeyRequest,
    KeyListQuery,
    NewTeamRequest,
    RegenerateKeyRequest,
    UpdateKeyRequest,
)
from stargate.admin.service import AdminService
from stargate.errors import InvalidRequest, NotFound
from stargate.governance.keys import hash_key
from stargate.store.limits import BudgetLimit
from stargate.store.tables import api_keys

from .conftest import Clock


async def generate(service: AdminService, **body: object) -> dict[str, object]:
    return await service.keys.generate(parse_body(GenerateKeyRequest, body))


async def test_a_new_key_is_shown_once_and_stored_as_its_hash(service: AdminService) -> None:
    made = await generate(service, key_alias="laptop", models=["claude-haiku-4-5"], max_budget=10)
    key = str(made["key"])

    assert key.startswith("sk-")
    assert len(key) == 46
    assert made["token"] == made["token_id"] == hash_key(key)
    assert made["key_name"] == f"sk-...{key[-4:]}"
    assert (made["key_alias"], made["models"], made["max_budget"]) == (
        "laptop",
        ["claude-haiku-4-5"],
        10.0,
    )
    info = await service.keys.info(key)
    assert info["key"] == hash_key(key)
    assert "key" not in info["info"]
    async with service.context.database.read() as conn:
        rows = (await conn.execute(select(api_keys))).mappings().all()
    assert [row["key_hash"] for row in rows] == [hash_key(key)]
    assert key not in repr([dict(row) for row in rows])


async def test_every_limit_field_round_trips(service: AdminService) -> None:
    made = await generate(
        service,
        max_budget=0.017,
        budget_duration="1d",
        budget_limits=[{"max_budget": 0.5, "budget_duration": "1mo"}],
        rpm_limit=60,
        tpm_limit=100_000,
        max_parallel_requests=4,
        model_rpm_limit={"claude-haiku-4-5": 10},
        model_tpm_limit={"claude-haiku-4-5": 1000},
        soft_budget=0.01,
        metadata={"team": "docs"},
        blocked=False,
    )
    stored = await service.keys.find(str(made["key"]))
    assert stored is not None
    assert stored.max_budget_micro == 17_000
    assert stored.budget_limits == (BudgetLimit(500_000, "1mo"),)
    assert (stored.rpm_limit, stored.tpm_limit, stored.max_parallel_requests) == (60, 100_000, 4)
    assert dict(stored.model_rpm_limit) == {"claude-haiku-4-5": 10}
    assert stored.soft_budget_micro == 10_000
    assert made["budget_limits"] == [{"max_budget": 0.5, "budget_duration": "1mo"}]


async def test_duration_sets_the_expiry_from_the_clock(service: AdminService) -> None:
    made = await generate(service, duration="1mo")
    assert made["expires"] == datetime(2026, 2, 28, 12, 0, tzinfo=UTC).isoformat()
    assert made["duration"] == "1mo"
    assert (await generate(service))["expires"] is None


async def test_a_taken_alias_is_a_duplicate(service: AdminService) -> None:
    await generate(service, key_alias="shared")
    with pytest.raises(InvalidRequest) as caught:
        await generate(service, key_alias="shared")
    assert (caught.value.code, caught.value.param) == ("duplicate", "key_alias")


async def test_an_unknown_user_is_created_and_a_team_may_be_named_by_alias(
    service: AdminService,
) -> None:
    team = await service.teams.new(parse_body(NewTeamRequest, {"team_alias": "drafting"}))
    made = await generate(service, user_id="user@example.com", team_id="drafting")
    assert made["user_id"] == "user@example.com"
    assert made["team_id"] == team["team_id"]
    user = await service.context.users.get("user@example.com")
    assert user is not None
    assert user.user_role == "internal_user"


async def test_an_unknown_team_is_a_404(service: AdminService) -> None:
    with pytest.raises(NotFound) as caught:
        await generate(service, team_id="nope")
    assert caught.value.param == "team_id"


async def test_update_changes_only_what_is_given(service: AdminService, clock: Clock) -> None:
    made = await generate(service, key_alias="a", max_budget=5, models=["m1"])
    clock.advance(minutes=1)
    body = {"key": made["key"], "max_budget": 7.5, "models": None, "rpm_limit": 3}
    updated = await service.keys.update(parse_body(UpdateKeyRequest, body))
    assert (updated["max_budget"], updated["models"], updated["rpm_limit"]) == (7.5, ["m1"], 3)
    assert updated["updated_at"] != made["updated_at"]
    by_alias = await service.keys.update(
        parse_body(UpdateKeyRequest, {"key_alias": "a", "tpm_limit": 9})
    )
    assert by_alias["tpm_limit"] == 9
    by_hash = await service.keys.update(
        parse_body(UpdateKeyRequest, {"key": made["token"], "key_alias": "b"})
    )
    assert by_hash["key_alias"] == "b"


async def test_regenerate_replaces_the_secret_and_keeps_the_settings(
    service: AdminService,
) -> None:
    made = await generate(service, key_alias="a", max_budget=5)
    old = str(made["key"])
    again = await service.keys.regenerate(
        parse_body(RegenerateKeyRequest, {"key": old, "max_budget": 6})
    )
    new = str(again["key"])
    assert new != old
    assert again["token"] == hash_key(new)
    assert (again["key_alias"], again["max_budget"], again["key_id"]) == ("a", 6.0, made["key_id"])
    assert await service.keys.find(old) is None
    with pytest.raises(NotFound):
        await service.keys.info(old)
    third = await service.keys.regenerate(parse_body(RegenerateKeyRequest, {}), path_key=new)
    assert await service.keys.find(new) is None
    assert await service.keys.find(str(third["key"])) is not None


async def test_block_and_unblock(service: AdminService) -> None:
    made = await generate(service)
    assert (await service.keys.block(str(made["key"]), True))["blocked"] is True
    assert (await service.keys.block(str(made["token"]), False))["blocked"] is False


async def test_delete_is_all_or_nothing(service: AdminService) -> None:
    first, second = await generate(service, key_alias="one"), await generate(service)
    with pytest.raises(NotFound, match="Key not found: sk-\\.\\.\\.") as caught:
        await service.keys.delete(
            parse_body(DeleteKeysRequest, {"keys": [first["key"], "sk-gone-0123456789abcdef"]})
        )
    assert "gone" not in caught.value.message  # a key is named by its hint only
    assert await service.keys.find(str(first["key"])) is not None

    deleted = await service.keys.delete(
        parse_body(DeleteKeysRequest, {"keys": [second["token"]], "key_aliases": ["one"]})
    )
    assert deleted == {"deleted_keys": [second["token"], "one"]}
    assert await service.keys.find(str(first["key"])) is None
    with pytest.raises(InvalidRequest):
        await service.keys.delete(parse_body(DeleteKeysRequest, {}))


async def test_list_pages_and_filters(service: AdminService, clock: Clock) -> None:
    made = []
    for n in range(5):
        clock.advance(seconds=1)
        made.append(await generate(service, user_id="u1" if n % 2 == 0 else "u2"))

    first = await service.keys.list(parse_body(KeyListQuery, {"page": 1, "size": 2}))
    assert first["keys"] == [made[4]["token"], made[3]["token"]]  # newest first
    assert (first["total_count"], first["current_page"], first["total_pages"]) == (5, 1, 3)
    last = await service.keys.list(parse_body(KeyListQuery, {"page": "3", "size": "2"}))
    assert last["keys"] == [made[0]["token"]]
    oldest_first = await service.keys.list(parse_body(KeyListQuery, {"sort_order": "asc"}))
    assert oldest_first["keys"] == [k["token"] for k in made]

    mine = await service.keys.list(
        parse_body(KeyListQuery, {"user_id": "u2", "return_full_object": "true"})
    )
    assert [k["token"] for k in mine["keys"]] == [made[3]["token"], made[1]["token"]]
    assert mine["total_count"] == 2
    assert mine["keys"][0]["user_id"] == "u2"
    beyond = await service.keys.list(parse_body(KeyListQuery, {"page": 9}))
    assert beyond["keys"] == []
    assert beyond["total_count"] == 5


async def test_list_limits_the_page_size(service: AdminService) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_body(KeyListQuery, {"size": 101})
    assert caught.value.param == "size"
