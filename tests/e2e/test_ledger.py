"""The spend ledger through real gateway processes: one exact row per request, usage APIs."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import httpx2 as httpx

from tests.e2e.admin_client import admin, new_key
from tests.e2e.processes import Gateway


def chat(gateway: Gateway, key: str, path: str = "/v1/chat/completions") -> httpx.Response:
    body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "count me"}]}
    response = httpx.post(gateway.url + path, json=body, headers={"x-api-key": key}, timeout=30)
    assert response.status_code == 200, response.text
    return response


def wait_rows(gateway: Gateway, key: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 10
    while True:
        response = httpx.get(
            gateway.admin_url + "/spend/logs",
            params={"api_key": key, "summarize": "false"},
            headers={"Authorization": f"Bearer {gateway.master_key}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        rows = response.json()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows  # type: ignore[no-any-return]
        time.sleep(0.1)


def test_every_request_has_one_row_with_its_exact_cost(gateway: Gateway) -> None:
    team = admin(gateway, "/team/new", {"team_alias": f"ledger-{uuid.uuid4().hex[:6]}"})
    key = new_key(gateway, team_id=team["team_id"])
    responses = [chat(gateway, key) for _ in range(3)]
    seed = chat(gateway, key, "/v1/chat")
    metadata = seed.json()["gateway_metadata"]
    assert metadata["team_id"] == team["team_id"]
    assert metadata["provider"] == "aws-bedrock"
    assert metadata["cost_usd"] > 0
    responses.append(seed)

    rows = wait_rows(gateway, key, 4)
    by_id = {row["request_id"]: row for row in rows}
    assert len(rows) == len(by_id) == 4
    total_micro = 0
    for response in responses:
        row = by_id[response.headers["x-request-id"]]
        cost_micro = int(response.headers["x-stargate-cost-micro"])
        total_micro += cost_micro
        assert round(float(row["spend"]) * 1_000_000) == cost_micro  # type: ignore[arg-type]
        usage = response.json()["usage"]
        assert row["prompt_tokens"] == usage["prompt_tokens"]
        assert row["completion_tokens"] == usage["completion_tokens"]

    usage = httpx.get(
        gateway.url + "/v1/usage?days=7", headers={"x-api-key": key}, timeout=10
    ).json()
    assert usage["summary"]["total_requests"] == 4
    assert round(usage["summary"]["total_cost_usd"] * 1_000_000) == total_micro
    assert usage["by_model"] == [{"model": "claude-haiku-4-5", "requests": 4}]
    assert usage["period"]["days"] == 7
    assert usage["period"]["end"] == dt.datetime.now(dt.UTC).date().isoformat()

    info = admin(gateway, f"/team/info?team_id={team['team_id']}")
    assert round(float(info["team_info"]["spend"]) * 1_000_000) == total_micro


def test_models_list_shows_prices(gateway: Gateway) -> None:
    models = httpx.get(
        gateway.url + "/v1/models", headers={"x-api-key": gateway.master_key}, timeout=10
    ).json()["data"]
    haiku = next(m for m in models if m["id"] == "claude-haiku-4-5")
    assert haiku["pricing"]["input_per_1k"] == 0.0011
    assert haiku["pricing"]["output_per_1k"] == 0.0055
