"""Seed 001's litellm-users.sh commands, as written, with `stargate` in place of the script,
against a real gateway; and the CLI's plain errors and exit codes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.e2e.cli_support import admin_get, all_keys, cli, cli_env, cli_json
from tests.e2e.processes import Emulator, Gateway, free_port, run_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gateway(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of its own: the seed's commands use fixed names (``haiku-only``)."""
    with run_gateway(emulator.url, tmp_path_factory.mktemp("gateway-cli-seed001")) as gw:
        yield gw


def chat(gateway: Gateway, key: str, model: str) -> httpx.Response:
    body = {"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_seed_001_commands_as_written(gateway: Gateway, tmp_path: Path) -> None:
    # Seed 003's way of pointing the scripts at the gateway: LITELLM_* in ./.env.
    (tmp_path / ".env").write_text(
        f"LITELLM_URL={gateway.admin_url}\nLITELLM_MASTER_KEY={gateway.master_key}\n"
    )
    env = cli_env(None)  # nothing in the environment: only ./.env

    made = cli(None, "create-user", "--email", "user@example.com", "--budget", "50",
               "--duration", "monthly", cwd=tmp_path, env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    (user,) = admin_get(gateway, "/user/list", user_email="user@example.com")["users"]
    assert (user["max_budget"], user["budget_duration"]) == (50.0, "monthly")

    made = cli(None, "create-key", "--alias", "haiku-only", "--models", '["claude-haiku-4-5"]',
               "--budget", "10", cwd=tmp_path, env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    (key,) = all_keys(gateway, key_alias="haiku-only")
    assert (key["models"], key["max_budget"]) == (["claude-haiku-4-5"], 10.0)
    secrets = re.findall(r"sk-[A-Za-z0-9_-]{20,}", made.stdout)
    assert len(secrets) == 1, "create-key shows the new key once"
    assert chat(gateway, secrets[0], "claude-haiku-4-5").status_code == 200
    denied = chat(gateway, secrets[0], "claude-opus-4-5")
    assert denied.status_code == 403
    assert denied.json()["error"]["type"] == "key_model_access_denied"

    users = cli(None, "list-users", cwd=tmp_path, env=env)
    assert users.returncode == 0, users.stderr
    assert "user@example.com" in users.stdout
    keys = cli(None, "list-keys", cwd=tmp_path, env=env)
    assert keys.returncode == 0, keys.stderr
    assert "haiku-only" in keys.stdout
    assert secrets[0] not in keys.stdout, "a listing never shows a key"


def test_listings_have_json(gateway: Gateway, tmp_path: Path) -> None:
    cli_json(gateway, "users", "create", "--email", "json@example.com", cwd=tmp_path)
    users = cli_json(gateway, "users", "list", cwd=tmp_path)
    assert "json@example.com" in {u["user_email"] for u in users}
    for listing in (["keys", "list"], ["teams", "list"], ["models", "list"]):
        assert isinstance(cli_json(gateway, *listing, cwd=tmp_path), list)


def test_a_wrong_master_key_exits_3_without_echoing_it(gateway: Gateway, tmp_path: Path) -> None:
    wrong = "sk-wrong-master-key-987654321"
    env = cli_env(gateway, STARGATE_MASTER_KEY=wrong)
    result = cli(gateway, "users", "list", cwd=tmp_path, env=env)
    assert result.returncode == 3
    assert "refused the master key" in result.stderr
    assert "STARGATE_MASTER_KEY" in result.stderr
    assert wrong not in result.stderr + result.stdout


def test_no_master_key_exits_3(tmp_path: Path) -> None:
    result = cli(None, "keys", "list", cwd=tmp_path, env=cli_env(None))
    assert result.returncode == 3
    assert "no master key" in result.stderr


def test_an_unreachable_url_exits_4(gateway: Gateway, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = cli(gateway, "--url", url, "users", "list", cwd=tmp_path)
    assert result.returncode == 4
    assert f"cannot reach the admin API at {url}" in result.stderr
    assert "connection refused" in result.stderr


def test_the_public_listener_is_not_the_admin_api(gateway: Gateway, tmp_path: Path) -> None:
    result = cli(gateway, "--url", gateway.url, "users", "list", cwd=tmp_path)
    assert result.returncode == 3
    assert "admin listener" in result.stderr


def test_an_unknown_user_exits_1(gateway: Gateway, tmp_path: Path) -> None:
    result = cli(gateway, "users", "show", "nobody@example.com", cwd=tmp_path)
    assert result.returncode == 1
    assert "User not found: nobody@example.com" in result.stderr


def test_a_bad_flag_value_exits_2(gateway: Gateway, tmp_path: Path) -> None:
    result = cli(gateway, "keys", "create", "--models", '["unterminated"', cwd=tmp_path)
    assert result.returncode == 2
    assert "--models" in result.stderr


def test_help_documents_the_exit_codes(tmp_path: Path) -> None:
    result = cli(None, "--help", cwd=tmp_path, env=cli_env(None, COLUMNS="200"))
    assert result.returncode == 0
    assert "Exit codes: 0 done" in result.stdout
    assert "4 gateway unreachable" in result.stdout


def test_the_json_of_a_new_key_is_for_scripts(gateway: Gateway, tmp_path: Path) -> None:
    result = cli(gateway, "keys", "create", "--alias", "scripted", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    assert made["key"].startswith("sk-")
    assert made["key_alias"] == "scripted"
