"""A tiny client of the admin API for end-to-end tests."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from tests.e2e.processes import Gateway


def admin(gateway: Gateway, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {gateway.master_key}"}
    if body is None:
        response = httpx.get(gateway.admin_url + path, headers=headers, timeout=30)
    else:
        response = httpx.post(gateway.admin_url + path, json=body, headers=headers, timeout=30)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    data = response.json()
    assert isinstance(data, dict)
    return data


def new_key(gateway: Gateway, **fields: Any) -> str:
    key = admin(gateway, "/key/generate", fields)["key"]
    assert isinstance(key, str)
    assert key.startswith("sk-")
    return key
