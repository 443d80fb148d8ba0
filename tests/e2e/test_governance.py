"""Virtual keys, allow-lists, budgets and blocking, through real gateway processes."""

from __future__ import annotations

import math
import time
import uuid
from decimal import Decimal

import httpx2 as httpx
import pytest

from tests.e2e.admin_client import admin, new_key
from tests.e2e.processes import Gateway

# claude-haiku-4-5 in the built-in config (the us. profile), USD per token
HAIKU_IN, HAIKU_OUT = Decimal("0.0000011"), Decimal("0.0000055")


def chat(
    gateway: Gateway, key: str, model: str, text: str = "hi", **extra: object
) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}], **extra}
    return httpx.post(
        gateway.url + "/v1/chat/completions", json=body, headers={"x-api-key": key}, timeout=30
    )


def messages(gateway: Gateway, key: str, model: str) -> httpx.Response:
    body = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(
        gateway.url + "/v1/messages", json=body, headers={"x-api-key": key}, timeout=30
    )


def cost_micro(usage: dict[str, int]) -> int:
    usd = usage["prompt_tokens"] * HAIKU_IN + usage["completion_tokens"] * HAIKU_OUT
    return math.ceil(usd * 1_000_000)


def test_seed_user_and_key_restricted_to_haiku(gateway: Gateway) -> None:
    email = f"dev-{uuid.uuid4().hex[:8]}@example.com"
    user = admin(
        gateway,
        "/user/new",
        {"user_email": email, "max_budget": 10.0, "budget_duration": "monthly"},
    )
    key = new_key(gateway, user_id=user["user_id"], key_alias=f"laptop-{email}",
                  models=["claude-haiku-4-5"])  # fmt: skip

    assert chat(gateway, key, "claude-haiku-4-5").status_code == 200
    assert messages(gateway, key, "claude-haiku-4-5").status_code == 200

    denied = chat(gateway, key, "claude-opus-4-5")
    assert denied.status_code == 403
    assert denied.json()["error"]["type"] == "key_model_access_denied"
    denied = messages(gateway, key, "claude-opus-4-5")
    assert denied.status_code == 403
    assert denied.json()["error"]["type"] == "permission_error"
    assert denied.headers["x-should-retry"] == "false"

    info = admin(gateway, f"/user/info?user_id={user['user_id']}")
    assert info["user_id"] == user["user_id"]


def test_budget_holds_and_then_refuses_with_budget_exceeded(gateway: Gateway) -> None:
    alias = f"budgeted-{uuid.uuid4().hex[:6]}"
    key = new_key(gateway, max_budget=0.002, budget_duration="1d", models=["claude-haiku-4-5"],
                  key_alias=alias)  # fmt: skip
    spent, refused = 0, None
    for _ in range(60):
        response = chat(gateway, key, "claude-haiku-4-5", "tell me a story", max_tokens=60)
        if response.status_code != 200:
            refused = response
            break
        assert "x-stargate-budget-remaining" in response.headers
        spent += cost_micro(response.json()["usage"])
    assert refused is not None, "the budget never ran out"
    assert spent <= 2000
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "budget_exceeded"
    assert refused.headers["x-stargate-budget-scope"] == "key"
    assert refused.headers["x-should-retry"] == "false"
    # The remaining/max budget gauges (LiteLLM's names) report this key.
    metrics = httpx.get(gateway.url + "/metrics", timeout=10).text
    gauges = [line for line in metrics.splitlines() if f'api_key_alias="{alias}"' in line]
    assert any(line.startswith("litellm_api_key_max_budget_metric{") for line in gauges)
    remaining = [g for g in gauges if g.startswith("litellm_remaining_api_key_budget_metric{")]
    assert remaining
    assert 0 <= float(remaining[0].rsplit(" ", 1)[1]) <= 0.002


def test_max_tokens_is_lowered_to_what_the_budget_pays_for(gateway: Gateway) -> None:
    key = new_key(gateway, max_budget=0.001)
    response = chat(gateway, key, "claude-haiku-4-5", "a long story please", max_tokens=4000)
    assert response.status_code == 200
    lowered = int(response.headers["x-stargate-max-tokens-lowered"])
    assert 0 < lowered < 4000
    assert response.json()["usage"]["completion_tokens"] <= lowered


def test_blocked_and_deleted_keys_stop_working(gateway: Gateway) -> None:
    key = new_key(gateway)
    assert chat(gateway, key, "model-cheap").status_code == 200
    admin(gateway, "/key/block", {"key": key})
    deadline = time.monotonic() + 10
    while chat(gateway, key, "model-cheap").status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    blocked = chat(gateway, key, "model-cheap")
    assert blocked.status_code == 401
    admin(gateway, "/key/unblock", {"key": key})
    deadline = time.monotonic() + 10
    while chat(gateway, key, "model-cheap").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert chat(gateway, key, "model-cheap").status_code == 200
    admin(gateway, "/key/delete", {"keys": [key]})
    deadline = time.monotonic() + 10
    while chat(gateway, key, "model-cheap").status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert chat(gateway, key, "model-cheap").status_code == 401


@pytest.mark.parametrize("body_model", ["bedrock/converse/us.amazon.nova-lite-v1:0"])
def test_model_added_at_runtime_is_served(gateway: Gateway, body_model: str) -> None:
    name = f"runtime-{uuid.uuid4().hex[:6]}"
    admin(gateway, "/model/new",
          {"model_name": name,
           "litellm_params": {"model": body_model, "aws_region_name": "us-east-1"}})  # fmt: skip
    key = gateway.master_key
    deadline = time.monotonic() + 10
    while chat(gateway, key, name).status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert chat(gateway, key, name).status_code == 200
    listed = {m["model_name"] for m in admin(gateway, "/model/info")["data"]}
    assert name in listed
