"""The admin API over HTTP, on SQLite and on the real PostgreSQL: every seed curl as written
(bodies copied from the seeds, hosts replaced), with the response fields the seeds' scripts read;
keys stored only as hashes; regeneration; pagination; tiers applied twice; LiteLLM error shapes.

The app is the real admin app (``create_admin_app`` over a real ``Runtime``) with the admin
routes mounted the way the gateway mounts them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import Request
from sqlalchemy import select

from stargate.admin.routes import admin_router, mount_admin_routes
from stargate.admin.service import AdminService
from stargate.api.admin import create_admin_app
from stargate.api.auth import presented_key
from stargate.api.runtime import Runtime
from stargate.config import load_config
from stargate.errors import PermissionDenied
from stargate.pipeline import Principal
from stargate.store.tables import metadata

pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]

MASTER_KEY = "sk-master-admin-api-test-0123456789"
MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}
JSON = {**MASTER, "Content-Type": "application/json"}


@dataclass
class Admin:
    client: httpx2.AsyncClient
    runtime: Runtime

    async def call(
        self, method: str, path: str, body: Any = None, *, status: int = 200, **options: Any
    ) -> Any:
        headers = options.pop("headers", JSON)
        content = None if body is None else json.dumps(body)
        response = await self.client.request(
            method, path, content=content, headers=headers, **options
        )
        assert response.status_code == status, response.text
        return response.json()

    async def error(self, method: str, path: str, body: Any, status: int) -> dict[str, Any]:
        answer = await self.call(method, path, body, status=status)
        assert set(answer) == {"error"}
        assert set(answer["error"]) == {"message", "type", "param", "code"}
        assert answer["error"]["code"] in (str(status), "duplicate", "config_model")
        return dict(answer["error"])

    async def table_text(self) -> str:
        """Every row of every table, as text."""
        rows = []
        async with self.runtime.database.read() as conn:
            for table in metadata.sorted_tables:
                rows += [dict(r) for r in (await conn.execute(select(table))).mappings()]
        return repr(rows)


@pytest.fixture
async def admin(database_url: str, tmp_path: Path) -> AsyncIterator[Admin]:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        f"""
model_list:
  - model_name: claude-haiku-4-5
    litellm_params:
      model: bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: AKIDEXAMPLE
      aws_secret_access_key: config-secret
    model_info: {{id: haiku-config}}
general_settings:
  master_key: {MASTER_KEY}
  database_url: "{database_url}"
""",
        encoding="utf-8",
    )
    config = load_config(config_file, {})
    runtime = await Runtime.open(config)
    app = create_admin_app(runtime)

    async def require_master(request: Request) -> Principal:  # as the admin app's own
        principal = await runtime.pipeline.authenticate(presented_key(request.headers))
        if principal.kind != "master":
            raise PermissionDenied("This admin route needs the master key.")
        return principal

    service = AdminService.create(runtime.database, config_deployments=config.deployments, env={})
    mount_admin_routes(
        app, admin_router(service, require_master=require_master, presented_key=presented_key)
    )
    transport = httpx2.ASGITransport(app=app)
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://admin") as client:
            yield Admin(client, runtime)
    finally:
        await runtime.aclose()


# --- the seeds, as written ----------------------------------------------------------------------


async def test_seed_000_and_002_create_a_user_then_a_key_for_it(admin: Admin) -> None:
    user = await admin.call(
        "POST",
        "/user/new",
        {"user_email": "user@example.com", "max_budget": 10.0, "budget_duration": "monthly"},
    )
    assert "error" not in user
    user_id = user["user_id"]
    key = await admin.call(
        "POST", "/key/generate", {"user_id": user_id, "key_alias": "user-laptop"}
    )
    assert key["key"].startswith("sk-")
    assert (key["user_id"], key["key_alias"]) == (user_id, "user-laptop")
    info = await admin.call("GET", "/user/info", params={"user_id": user_id})
    assert info["user_info"]["max_budget"] == 10.0
    assert info["user_info"]["budget_duration"] == "monthly"
    assert {k["key_alias"] for k in info["keys"]} == {None, "user-laptop"}


async def test_seed_001_user_new_without_a_content_type(admin: Admin) -> None:
    # curl -X POST .../user/new -H "Authorization: Bearer $MASTER_KEY" -d '{...}'
    # sends application/x-www-form-urlencoded; the body is JSON all the same.
    user = await admin.call(
        "POST",
        "/user/new",
        {"user_email": "user@example.com", "max_budget": 10},
        headers={**MASTER, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert user["user_email"] == "user@example.com"
    assert user["max_budget"] == 10.0


async def test_seed_001_litellm_users_script(admin: Admin) -> None:
    """scripts/litellm-users.sh: each command's payload, and what it reads from the answer
    (``.error`` must be absent; ``.user_id``, ``.key``)."""
    # create-user --email user@example.com --budget 50 --duration monthly
    user = await admin.call(
        "POST",
        "/user/new",
        {"user_email": "user@example.com", "max_budget": 50, "budget_duration": "monthly"},
    )
    assert "error" not in user
    user_id = user["user_id"]
    # create-user --email dev@example.com --budget 10 --models '["claude-haiku-4-5"]'
    # (the script's default --duration is "monthly")
    dev = await admin.call(
        "POST",
        "/user/new",
        {
            "user_email": "dev@example.com",
            "max_budget": 10,
            "budget_duration": "monthly",
            "models": ["claude-haiku-4-5"],
        },
    )
    assert dev["models"] == ["claude-haiku-4-5"]
    # create-key --alias "haiku-only" --models '["claude-haiku-4-5"]' --budget 10
    key = await admin.call(
        "POST",
        "/key/generate",
        {"key_alias": "haiku-only", "max_budget": 10, "models": ["claude-haiku-4-5"]},
    )
    assert key["key"].startswith("sk-")
    # create-key --user-id user_xxx --alias "laptop-key"
    laptop = await admin.call(
        "POST", "/key/generate", {"user_id": user_id, "key_alias": "laptop-key"}
    )
    assert laptop["user_id"] == user_id
    # list-users, list-keys
    users = await admin.call("GET", "/user/list")
    assert {u["user_email"] for u in users["users"]} == {"user@example.com", "dev@example.com"}
    keys = await admin.call("GET", "/key/list")
    assert key["token"] in keys["keys"]
    assert keys["total_count"] == 4  # two made by /user/new, two by /key/generate
    # get-user <id>
    got = await admin.call("GET", f"/user/info?user_id={user_id}")
    assert got["user_id"] == user_id
    # update-budget --user-id <id> --budget 75
    updated = await admin.call("POST", "/user/update", {"user_id": user_id, "max_budget": 75})
    assert updated["max_budget"] == 75.0
    # delete-key <key>
    await admin.call("POST", "/key/delete", {"keys": [key["key"]]})
    assert key["token"] not in (await admin.call("GET", "/key/list"))["keys"]
    # delete-user <id>
    await admin.call("POST", "/user/delete", {"user_ids": [user_id]})
    await admin.error("GET", f"/user/info?user_id={user_id}", None, 404)


SEED_003_MODELS = [
    {
        "model_name": "model-cheap",
        "litellm_params": {
            "model": "bedrock/converse/us.amazon.nova-micro-v1:0",
            "aws_region_name": "us-east-1",
        },
    },
    {
        "model_name": "model-balanced",
        "litellm_params": {
            "model": "bedrock/converse/us.amazon.nova-lite-v1:0",
            "aws_region_name": "us-east-1",
        },
    },
    {
        "model_name": "model-reasoning",
        "litellm_params": {
            "model": "bedrock/converse/us.amazon.nova-pro-v1:0",
            "aws_region_name": "us-east-1",
        },
    },
]
SEED_003_TEAMS = [
    {
        "team_alias": "drafting",
        "models": ["model-cheap"],
        "max_budget": 0.017,
        "budget_duration": "1d",
    },
    {
        "team_alias": "coding",
        "models": ["model-balanced"],
        "max_budget": 0.033,
        "budget_duration": "1d",
    },
    {
        "team_alias": "architect",
        "models": ["model-reasoning"],
        "max_budget": 0.067,
        "budget_duration": "1d",
    },
]
SEED_003_TIERS = {
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


async def test_seed_003_models_teams_keys_and_admin_operations(admin: Admin) -> None:
    model_ids = []
    for body in SEED_003_MODELS:
        made = await admin.call("POST", "/model/new", body)
        assert made["model_name"] == body["model_name"]
        model_ids.append(made["model_info"]["id"])
    listed = await admin.call("GET", "/model/info")
    assert [m["model_name"] for m in listed["data"]] == [
        "claude-haiku-4-5",
        "model-cheap",
        "model-balanced",
        "model-reasoning",
    ]
    assert (await admin.call("GET", "/v1/model/info")) == listed
    assert "config-secret" not in json.dumps(listed)

    for body in SEED_003_TEAMS:
        team = await admin.call("POST", "/team/new", body)
        assert (team["team_alias"], team["max_budget"]) == (body["team_alias"], body["max_budget"])

    key = await admin.call(
        "POST",
        "/key/generate",
        {"user_id": "user@example.com", "team_id": "drafting", "key_alias": "User Name"},
    )
    assert key["key"].startswith("sk-")
    teams = await admin.call("GET", "/team/list")
    drafting = next(t for t in teams if t["team_alias"] == "drafting")
    assert key["team_id"] == drafting["team_id"]
    assert [k["key_alias"] for k in drafting["keys"]] == ["User Name"]

    keys = await admin.call("GET", "/key/list")
    assert keys["keys"] == [key["token"]]
    # "Check User Spend": a GET with a JSON body.
    user = await admin.call(
        "GET",
        "/user/info",
        {"user_ids": ["user@example.com"]},
    )
    assert user["user_id"] == "user@example.com"
    assert [k["token"] for k in user["keys"]] == [key["token"]]

    await admin.call("POST", "/model/delete", {"id": model_ids[0]})
    remaining = await admin.call("GET", "/model/info")
    assert "model-cheap" not in [m["model_name"] for m in remaining["data"]]
    await admin.call("POST", "/key/delete", {"keys": [key["key"]]})
    assert (await admin.call("GET", "/key/list"))["keys"] == []


async def test_seed_003_tiers_applied_twice_change_nothing_the_second_time(admin: Admin) -> None:
    first = await admin.call("POST", "/tier/apply", SEED_003_TIERS)
    assert [(t["tier"], t["budget"], t["team"]) for t in first["tiers"]] == [
        ("drafting", "created", "created"),
        ("coding", "created", "created"),
        ("architect", "created", "created"),
    ]
    tables = await admin.table_text()
    second = await admin.call("POST", "/tier/apply", SEED_003_TIERS)
    assert {(t["budget"], t["team"]) for t in second["tiers"]} == {("unchanged", "unchanged")}
    assert await admin.table_text() == tables

    team = await admin.call("GET", "/team/info", params={"team_id": "drafting"})
    assert team["team_info"]["tier"] == "drafting"
    assert team["team_info"]["budget_limits"] == [{"max_budget": 0.5, "budget_duration": "1mo"}]
    budgets = await admin.call("POST", "/budget/info", {"budgets": ["drafting"]})
    assert budgets[0]["max_budget"] == 0.017
    # seed 003's onboarding curl names the tier's team by its id
    key = await admin.call(
        "POST",
        "/key/generate",
        {"user_id": "user@example.com", "team_id": "drafting", "key_alias": "User Name"},
    )
    assert key["team_id"] == "drafting"


# --- behaviour ----------------------------------------------------------------------------------


async def test_secrets_are_stored_only_as_hashes(admin: Admin) -> None:
    made = await admin.call("POST", "/user/new", {"user_email": "a@example.com"})
    key = await admin.call("POST", "/key/generate", {"key_alias": "k"})
    again = await admin.call("POST", "/key/regenerate", {"key": key["key"]})
    text = await admin.table_text()
    for secret in (made["key"], key["key"], again["key"]):
        assert secret not in text
    assert again["token"] in text
    listed = await admin.call("GET", "/key/list", params={"return_full_object": "true"})
    assert all("key" not in k for k in listed["keys"])


async def test_regenerate_invalidates_the_old_key(admin: Admin) -> None:
    key = await admin.call("POST", "/key/generate", {"key_alias": "k", "max_budget": 3})
    again = await admin.call("POST", f"/key/{key['key']}/regenerate", {"tpm_limit": 100})
    assert (again["key_alias"], again["max_budget"], again["tpm_limit"]) == ("k", 3.0, 100)

    error = await admin.error("GET", f"/key/info?key={key['key']}", None, 404)
    assert key["key"] not in error["message"]  # a key appears by its hint only
    info = await admin.call("GET", "/key/info", params={"key": again["token"]})
    assert info["info"]["key_alias"] == "k"
    # the new key reads its own info; the old one is nobody
    own = await admin.call("GET", "/key/info", headers={"Authorization": f"Bearer {again['key']}"})
    assert own["key"] == again["token"]
    await admin.call(
        "GET", "/key/info", headers={"Authorization": f"Bearer {key['key']}"}, status=401
    )


async def test_a_virtual_key_reads_only_its_own_info_and_nothing_else(admin: Admin) -> None:
    mine = await admin.call("POST", "/key/generate", {})
    other = await admin.call("POST", "/key/generate", {})
    as_mine = {"Authorization": f"Bearer {mine['key']}"}
    same = await admin.call("GET", f"/key/info?key={mine['token']}", headers=as_mine)
    assert same["key"] == mine["token"]
    await admin.call("GET", f"/key/info?key={other['token']}", headers=as_mine, status=403)
    for method, path in (("POST", "/key/generate"), ("GET", "/key/list"), ("GET", "/user/list")):
        response = await admin.client.request(method, path, headers=as_mine)
        assert response.status_code == 403
        assert response.json()["error"]["type"] == "permission_denied"


async def test_without_the_master_key_nothing_is_done(admin: Admin) -> None:
    response = await admin.client.post("/key/generate", json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"
    assert (await admin.call("GET", "/key/list"))["total_count"] == 0


async def test_errors_name_the_field_and_use_litellms_shape(admin: Admin) -> None:
    bad = await admin.error("POST", "/key/generate", {"max_budget": "lots"}, 400)
    assert (bad["param"], bad["type"]) == ("max_budget", "invalid_request_error")
    nested = await admin.error(
        "POST",
        "/key/generate",
        {"budget_limits": [{"max_budget": 1, "budget_duration": "1y"}]},
        400,
    )
    assert nested["param"] == "budget_limits.0.budget_duration"
    response = await admin.client.post("/key/generate", content=b"{not json", headers=JSON)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]

    await admin.call("POST", "/key/generate", {"key_alias": "taken"})
    duplicate = await admin.error("POST", "/key/generate", {"key_alias": "taken"}, 400)
    assert (duplicate["code"], duplicate["param"]) == ("duplicate", "key_alias")

    for path, body, message in (
        ("/team/info?team_id=nope", None, "Team not found: nope"),
        ("/user/info?user_id=nobody", None, "User not found: nobody"),
    ):
        assert (await admin.error("GET", path, body, 404))["message"] == message
    missing = await admin.error(
        "POST", "/team/member_add", {"team_id": "nope", "member": {"user_id": "a"}}, 404
    )
    assert missing["param"] == "team_id"
    config_model = await admin.error("POST", "/model/delete", {"id": "haiku-config"}, 400)
    assert config_model["code"] == "config_model"


async def test_key_list_pages(admin: Admin) -> None:
    tokens = [
        (await admin.call("POST", "/key/generate", {"user_id": "u"}))["token"] for _ in range(5)
    ]
    await admin.call("POST", "/key/generate", {"user_id": "other"})
    seen = []
    for page in (1, 2, 3):
        answer = await admin.call(
            "GET", f"/key/list?user_id=u&page={page}&size=2&sort_by=created_at&sort_order=asc"
        )
        assert (answer["total_count"], answer["current_page"], answer["total_pages"]) == (
            5,
            page,
            3,
        )
        seen += answer["keys"]
    assert sorted(seen) == sorted(tokens)
    assert len(set(seen)) == 5
    assert (await admin.error("GET", "/key/list?size=0", None, 400))["param"] == "size"
    assert (await admin.error("GET", "/key/list?page=x", None, 400))["param"] == "page"


async def test_user_list_pages(admin: Admin) -> None:
    for n in range(3):
        await admin.call("POST", "/user/new", {"user_id": f"u{n}", "auto_create_key": False})
    page = await admin.call("GET", "/user/list?page=2&page_size=2")
    assert (page["total"], page["page"], page["page_size"], page["total_pages"]) == (3, 2, 2, 2)
    assert len(page["users"]) == 1


async def test_durations_set_expiry_and_budget_windows(admin: Admin) -> None:
    key = await admin.call(
        "POST",
        "/key/generate",
        {"duration": "30d", "budget_duration": "daily", "max_budget": 0.017,
         "budget_limits": [{"max_budget": 0.5, "budget_duration": "monthly"}]},
    )  # fmt: skip
    assert key["expires"] is not None
    assert key["budget_duration"] == "daily"
    assert key["budget_limits"] == [{"max_budget": 0.5, "budget_duration": "monthly"}]
    bad = await admin.error("POST", "/key/generate", {"duration": "soon"}, 400)
    assert bad["param"] == "duration"


async def test_teams_members_and_budgets_over_http(admin: Admin) -> None:
    team = await admin.call(
        "POST",
        "/team/new",
        {
            "team_alias": "t",
            "members_with_roles": [{"user_email": "a@example.com", "role": "admin"}],
        },
    )
    added = await admin.call(
        "POST",
        "/team/member_add",
        {"team_id": team["team_id"], "member": {"user_id": "bob"}, "max_budget_in_team": 1,
         "budget_duration": "1d"},
    )  # fmt: skip
    assert {m["role"] for m in added["members_with_roles"]} == {"admin", "user"}
    updated = await admin.call(
        "POST", "/team/member_update", {"team_id": "t", "user_id": "bob", "max_budget_in_team": 2}
    )
    assert (updated["max_budget_in_team"], updated["budget_duration"]) == (2.0, "1d")
    await admin.call("POST", "/team/member_delete", {"team_id": "t", "user_id": "bob"})
    await admin.call("POST", "/budget/new", {"budget_id": "b", "max_budget": 1})
    await admin.call("POST", "/team/update", {"team_id": team["team_id"], "tier": "b"})
    assert (await admin.call("GET", "/budget/list"))[0]["budget_id"] == "b"
    await admin.error("POST", "/budget/delete", {"id": "b"}, 400)
    deleted = await admin.call("POST", "/team/delete", {"team_ids": [team["team_id"]]})
    assert deleted["deleted_teams"] == [team["team_id"]]
    await admin.call("POST", "/budget/delete", {"id": "b"})
