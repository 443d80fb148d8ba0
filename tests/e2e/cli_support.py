"""Run the `stargate` admin commands as a subprocess against a gateway, for the CLI tests."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.e2e.processes import Gateway, stargate_command


def cli_env(gateway: Gateway | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STARGATE_", "LITELLM_"))}
    if gateway is not None:
        env.update(STARGATE_ADMIN_URL=gateway.admin_url, STARGATE_MASTER_KEY=gateway.master_key)
    env.update(extra)
    return env


def cli(
    gateway: Gateway | None, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*stargate_command(), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env=env if env is not None else cli_env(gateway),
    )


def cli_json(gateway: Gateway, *args: str, cwd: Path) -> Any:
    result = cli(gateway, *args, "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def admin_get(gateway: Gateway, path: str, **params: object) -> Any:
    response = httpx.get(
        gateway.admin_url + path,
        params={k: v for k, v in params.items() if v is not None},
        headers={"Authorization": f"Bearer {gateway.master_key}"},
        timeout=60,
    )
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


def all_users(gateway: Gateway) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        answer = admin_get(gateway, "/user/list", page=page, page_size=100)
        yield from answer["users"]
        if page >= answer["total_pages"]:
            return
        page += 1


def all_keys(gateway: Gateway, **filters: str) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        answer = admin_get(
            gateway, "/key/list", page=page, size=100, return_full_object="true", **filters
        )
        yield from answer["keys"]
        if page >= answer["total_pages"]:
            return
        page += 1
