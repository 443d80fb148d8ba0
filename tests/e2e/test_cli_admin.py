"""The other admin commands against a real gateway: keys block/unblock/regenerate/delete,
users update/delete, teams and members, runtime models, usage and the spend report."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.e2e.cli_support import admin_get, all_keys, cli, cli_json
from tests.e2e.processes import Gateway

pytestmark = pytest.mark.e2e


def chat(gateway: Gateway, key: str, model: str = "claude-haiku-4-5") -> int:
    body = {"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(
        gateway.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    return response.status_code


def settles(gateway: Gateway, key: str, status: int, model: str = "claude-haiku-4-5") -> int:
    """The status a key gets once an admin change has reached the gateway's key cache (each
    replica drops it within about a second of a change): asks until ``status`` comes, a few
    dozen times at most, and returns the last answer."""
    for _ in range(50):
        got = chat(gateway, key, model)
        if got == status:
            return got
        time.sleep(0.1)
    return got


def test_key_life(gateway: Gateway, tmp_path: Path) -> None:
    alias = f"life-{uuid.uuid4().hex[:8]}"
    made = cli_json(
        gateway,
        "keys",
        "create",
        "--alias",
        alias,
        "--models",
        "claude-haiku-4-5",
        "--budget",
        "1",
        "--duration",
        "daily",
        "--rpm",
        "100",
        cwd=tmp_path,
    )
    secret = made["key"]
    assert (made["budget_duration"], made["rpm_limit"]) == ("daily", 100)
    assert chat(gateway, secret) == 200

    assert cli(gateway, "keys", "block", alias, cwd=tmp_path).returncode == 0
    assert settles(gateway, secret, 401) == 401
    assert cli(gateway, "keys", "unblock", alias, cwd=tmp_path).returncode == 0
    assert settles(gateway, secret, 200) == 200

    shown = cli_json(gateway, "keys", "show", alias, cwd=tmp_path)
    assert shown["info"]["key_alias"] == alias

    result = cli(gateway, "keys", "regenerate", alias, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (new_secret,) = re.findall(r"sk-[A-Za-z0-9_-]{20,}", result.stdout)
    assert new_secret != secret
    assert settles(gateway, secret, 401) == 401
    assert settles(gateway, new_secret, 200) == 200

    refused = cli(gateway, "keys", "delete", alias, cwd=tmp_path)  # not a terminal, no --yes
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert cli(gateway, "keys", "delete", alias, "--yes", cwd=tmp_path).returncode == 0
    assert list(all_keys(gateway, key_alias=alias)) == []
    assert settles(gateway, new_secret, 401) == 401


def test_users_update_and_delete(gateway: Gateway, tmp_path: Path) -> None:
    email = f"update-{uuid.uuid4().hex[:8]}@example.com"
    user = cli_json(gateway, "users", "create", "--email", email, "--with-key", cwd=tmp_path)
    assert user["key"].startswith("sk-")
    updated = cli_json(
        gateway,
        "users",
        "update",
        email,
        "--budget",
        "5",
        "--duration",
        "weekly",
        "--alias",
        "Up Dated",
        "--models",
        '["claude-haiku-4-5"]',
        cwd=tmp_path,
    )
    assert (updated["max_budget"], updated["budget_duration"]) == (5.0, "weekly")
    assert (updated["user_alias"], updated["models"]) == ("Up Dated", ["claude-haiku-4-5"])
    assert settles(gateway, user["key"], 403, "claude-opus-4-5") == 403

    shown = cli_json(gateway, "users", "show", email, cwd=tmp_path)
    assert len(shown["keys"]) == 1
    assert cli(gateway, "users", "delete", email, "-y", cwd=tmp_path).returncode == 0
    assert cli(gateway, "users", "show", email, cwd=tmp_path).returncode == 1
    assert settles(gateway, user["key"], 401) == 401


def test_teams_and_members(gateway: Gateway, tmp_path: Path) -> None:
    name = f"team-{uuid.uuid4().hex[:8]}"
    team = cli_json(gateway, "teams", "create", "--alias", name, "--models", "claude-haiku-4-5",
                    "--budget", "20", "--duration", "monthly", cwd=tmp_path)  # fmt: skip
    member = f"member-{uuid.uuid4().hex[:8]}@example.com"
    added = cli(gateway, "teams", "add-member", name, member, "--budget", "2", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    info = cli_json(gateway, "teams", "show", name, cwd=tmp_path)
    assert info["team_id"] == team["team_id"]
    (membership,) = info["team_memberships"]
    assert (membership["user_email"], membership["max_budget_in_team"]) == (member, 2.0)
    assert name in {t["team_alias"] for t in cli_json(gateway, "teams", "list", cwd=tmp_path)}

    removed = cli(gateway, "teams", "remove-member", name, member, cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert cli_json(gateway, "teams", "show", name, cwd=tmp_path)["team_memberships"] == []
    again = cli(gateway, "teams", "remove-member", name, member, cwd=tmp_path)
    assert again.returncode == 1
    assert "not a member" in again.stderr


def test_runtime_models(gateway: Gateway, tmp_path: Path) -> None:
    name = f"cli-model-{uuid.uuid4().hex[:6]}"
    model_id = f"id-{name}"
    made = cli_json(gateway, "models", "add", name,
                    "--model", "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
                    "--region", "us-east-1", "--info", f"id={model_id}", cwd=tmp_path)  # fmt: skip
    assert made["model_id"] == model_id
    listed = cli_json(gateway, "models", "list", cwd=tmp_path)
    assert any(m["model_info"]["id"] == model_id for m in listed)

    tested = cli(gateway, "models", "test", "claude-haiku-4-5", cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr
    assert "Stargate Bedrock emulator" in tested.stdout

    assert cli(gateway, "models", "delete", name, cwd=tmp_path).returncode == 0
    ids = {m["model_info"]["id"] for m in admin_get(gateway, "/model/info")["data"]}
    assert model_id not in ids
    missing = cli(gateway, "models", "delete", name, cwd=tmp_path)
    assert missing.returncode == 1


def test_usage_and_spend_report(gateway: Gateway, tmp_path: Path) -> None:
    alias = f"usage-{uuid.uuid4().hex[:8]}"
    secret = cli_json(gateway, "keys", "create", "--alias", alias, cwd=tmp_path)["key"]
    for _ in range(3):
        assert chat(gateway, secret) == 200

    def keyed() -> list[dict[str, object]]:
        usage = cli_json(gateway, "usage", "--by", "key", "--key", alias, "--days", "2",
                         cwd=tmp_path)  # fmt: skip
        return list(usage["rows"])

    # The ledger is written in batches: wait for the three requests to be in it.
    rows = keyed()
    for _ in range(100):
        if rows and rows[0]["input_tokens"]:
            break
        cli_json(gateway, "keys", "show", alias, cwd=tmp_path)
        rows = keyed()
    (row,) = rows
    assert float(str(row["spend"])) > 0

    by_model = cli_json(gateway, "usage", "--by", "model", "--days", "1", cwd=tmp_path)
    assert "claude-haiku-4-5" in {r["name"] for r in by_model["rows"]}
    report = cli_json(gateway, "spend", "report", "--days", "1", "--key", alias, cwd=tmp_path)
    assert report["metadata"]["total_api_requests"] == 3
    table = cli(gateway, "spend", "report", "--days", "1", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "total" in table.stdout
