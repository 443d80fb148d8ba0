"""The two listeners: health, metrics, model list, the admin API and its local docs."""

from __future__ import annotations

import httpx2 as httpx

from tests.e2e.processes import Gateway


def test_health_has_the_seed_shape_without_auth(gateway: Gateway) -> None:
    body = httpx.get(gateway.url + "/health", timeout=5).json()
    assert body["status"] == "healthy"
    assert body["service"] == "stargate"
    assert body["timestamp"].endswith("Z")
    assert body["version"]


def test_liveliness_and_readiness(gateway: Gateway) -> None:
    assert httpx.get(gateway.url + "/health/liveliness", timeout=5).json() == "I'm alive!"
    ready = httpx.get(gateway.url + "/health/readiness", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["db"] == "connected"


def test_seed_chat_path_with_x_api_key(gateway: Gateway) -> None:
    body = {
        "model": "claude-haiku-4-5",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain Kubernetes in one sentence."},
        ],
        "max_tokens": 1024,
        "temperature": 0.7,
    }
    response = httpx.post(
        gateway.url + "/v1/chat", json=body, headers={"x-api-key": gateway.master_key}, timeout=30
    )
    assert response.status_code == 200
    data = response.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"]["role"] == "assistant"
    assert response.headers["x-request-id"]


def test_request_id_is_echoed(gateway: Gateway) -> None:
    response = httpx.get(
        gateway.url + "/v1/models",
        headers={"x-api-key": gateway.master_key, "x-request-id": "my-trace-12345"},
        timeout=5,
    )
    assert response.headers["x-request-id"] == "my-trace-12345"


def test_metrics_count_requests(gateway: Gateway) -> None:
    httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": "model-cheap", "messages": [{"role": "user", "content": "count me"}]},
        headers={"x-api-key": gateway.master_key},
        timeout=30,
    ).raise_for_status()
    text = httpx.get(gateway.url + "/metrics", timeout=5).text
    assert "litellm_proxy_total_requests_metric_total{" in text
    assert 'requested_model="model-cheap"' in text
    assert "litellm_total_tokens_metric_total{" in text


def test_admin_needs_the_master_key(gateway: Gateway) -> None:
    assert httpx.get(gateway.admin_url + "/model/info", timeout=5).status_code == 401
    bad = httpx.get(gateway.admin_url + "/model/info", headers={"x-api-key": "sk-no"}, timeout=5)
    assert bad.status_code == 401


def test_admin_model_info_hides_secrets(gateway: Gateway) -> None:
    response = httpx.get(
        gateway.admin_url + "/model/info",
        headers={"Authorization": f"Bearer {gateway.master_key}"},
        timeout=5,
    )
    assert response.status_code == 200
    data = response.json()["data"]
    names = {entry["model_name"] for entry in data}
    assert "claude-haiku-4-5" in names
    for entry in data:
        assert entry["litellm_params"]["model"].startswith("bedrock/")
        assert "model_info" in entry
    assert "EXAMPLEKEY" not in response.text


def test_admin_health_checks_each_model(gateway: Gateway) -> None:
    response = httpx.get(
        gateway.admin_url + "/health",
        headers={"Authorization": f"Bearer {gateway.master_key}"},
        timeout=60,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["unhealthy_count"] == 0, body["unhealthy_endpoints"]
    assert body["healthy_count"] >= 6


def test_admin_docs_use_local_assets(gateway: Gateway) -> None:
    page = httpx.get(gateway.admin_url + "/docs", timeout=5)
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/static/swagger-ui-bundle.js" in page.text
    js = httpx.get(gateway.admin_url + "/static/swagger-ui-bundle.js", timeout=5)
    assert js.status_code == 200
    assert len(js.content) > 100_000
    spec = httpx.get(gateway.admin_url + "/openapi.json", timeout=5).json()
    assert "/model/info" in spec["paths"]


def test_admin_listener_also_serves_the_api_for_one_url_scripts(gateway: Gateway) -> None:
    headers = {"Authorization": f"Bearer {gateway.master_key}"}
    models = httpx.get(gateway.admin_url + "/models", headers=headers, timeout=5)
    assert models.status_code == 200
    assert "claude-haiku-4-5" in {m["id"] for m in models.json()["data"]}
    chat = httpx.post(
        gateway.admin_url + "/chat/completions",
        json={"model": "model-cheap", "messages": [{"role": "user", "content": "Hello!"}]},
        headers=headers,
        timeout=30,
    )
    assert chat.status_code == 200
    root = httpx.get(gateway.admin_url + "/", timeout=5, follow_redirects=False)
    assert root.status_code in (302, 307)
    assert root.headers["location"] == "/docs"
