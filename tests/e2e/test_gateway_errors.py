"""Errors reach real clients in the right status, shape and SDK exception class."""

from __future__ import annotations

import time

import httpx2 as httpx
import openai
import pytest

from tests.e2e.processes import Emulator, Gateway


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.master_key, max_retries=0)


def ask(client: openai.OpenAI, text: str, **kw: object) -> object:
    return client.chat.completions.create(
        model="claude-haiku-4-5",
        messages=[{"role": "user", "content": text}],
        max_tokens=100,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("fault", "status", "exc_type"),
    [
        ("throttle", 429, openai.RateLimitError),
        ("server-error", 502, openai.InternalServerError),
        ("unavailable", 503, openai.InternalServerError),
        ("access-denied", 403, openai.PermissionDeniedError),
        ("validation", 400, openai.BadRequestError),
        ("model-timeout", 504, openai.InternalServerError),
    ],
)
def test_upstream_fault_reaches_sdk(
    client: openai.OpenAI, fault: str, status: int, exc_type: type[openai.APIStatusError]
) -> None:
    for stream in (False, True):
        with pytest.raises(exc_type) as caught:
            result = ask(client, f"hello [[fault:{fault}]]", stream=stream)
            if stream:
                list(result)  # type: ignore[call-overload]
        err = caught.value
        assert err.status_code == status
        assert isinstance(err.body, dict)
        assert set(err.body) >= {"message", "type", "param", "code"}
        assert err.body["message"]
        assert err.response.headers["x-request-id"]
        if status == 429:
            assert int(err.response.headers["retry-after"]) >= 1
        if status == 403:
            assert "access" in err.body["message"].lower()


@pytest.mark.parametrize("fault", ["midstream-throttle", "midstream-error", "truncate"])
def test_midstream_fault_ends_stream_with_error_event(client: openai.OpenAI, fault: str) -> None:
    stream = ask(client, f"a long story please [[fault:{fault}]]", stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:  # type: ignore[attr-defined]
            received.append(chunk)
    assert received, "some content arrived before the fault"
    assert caught.value.message


def test_raw_midstream_error_event_has_openai_error_shape(gateway: Gateway) -> None:
    body = {
        "model": "claude-haiku-4-5",
        "stream": True,
        "messages": [{"role": "user", "content": "go [[fault:midstream-throttle]]"}],
    }
    headers = {"Authorization": f"Bearer {gateway.master_key}"}
    with httpx.stream(
        "POST", gateway.url + "/v1/chat/completions", json=body, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert '"error"' in lines[-1]
    assert "rate_limit" in lines[-1]
    assert "data: [DONE]" not in lines


def emulator_stats(emulator: Emulator) -> dict[str, object]:
    stats = httpx.get(emulator.url + "/_emulator/stats", timeout=5).json()
    assert isinstance(stats, dict)
    return stats


def cancelled_streams(emulator: Emulator) -> int:
    streams = emulator_stats(emulator)["streams"]
    assert isinstance(streams, dict)
    return int(streams["cancelled"])


def test_client_disconnect_cancels_upstream(gateway: Gateway, emulator: Emulator) -> None:
    before = cancelled_streams(emulator)
    body = {
        "model": "claude-haiku-4-5",
        "stream": True,
        "max_tokens": 500,
        "messages": [{"role": "user", "content": "slowly [[fault:slow-chunks=300]]"}],
    }
    headers = {"Authorization": f"Bearer {gateway.master_key}"}
    with httpx.stream(
        "POST", gateway.url + "/v1/chat/completions", json=body, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                break  # one chunk, then hang up
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and cancelled_streams(emulator) == before:
        time.sleep(0.05)
    assert cancelled_streams(emulator) == before + 1


def test_wrong_or_missing_key_is_401(gateway: Gateway) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        ask(client, "hi")
    assert caught.value.status_code == 401
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["type"] == "auth_error"
    assert caught.value.body["code"] == "invalid_api_key"
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert "sk-wrong" not in caught.value.response.text
    for path in ("/v1/models", "/v1/chat/completions"):
        response = httpx.request(
            "GET" if path.endswith("models") else "POST", gateway.url + path, timeout=5
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "missing_api_key"


def test_x_api_key_header_authenticates(gateway: Gateway) -> None:
    response = httpx.get(
        gateway.url + "/v1/models", headers={"x-api-key": gateway.master_key}, timeout=5
    )
    assert response.status_code == 200
    ids = {m["id"] for m in response.json()["data"]}
    assert {"claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-5", "model-cheap"} <= ids


@pytest.mark.parametrize(
    "path", ["/key/generate", "/user/new", "/team/list", "/model/info", "/docs", "/spend/logs"]
)
def test_admin_paths_on_public_listener_are_403(gateway: Gateway, path: str) -> None:
    headers = {"Authorization": f"Bearer {gateway.master_key}"}
    response = httpx.post(gateway.url + path, headers=headers, json={}, timeout=5)
    assert response.status_code == 403
    error = response.json()["error"]
    assert "admin" in error["message"]
    assert error["type"] == "permission_denied"


def test_bad_body_is_400_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="claude-haiku-4-5",
            messages=[{"role": "user", "content": "hi"}],
            max_tokens=-5,
        )
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["param"] == "max_tokens"


def test_invalid_json_is_400(gateway: Gateway) -> None:
    response = httpx.post(
        gateway.url + "/v1/chat/completions",
        headers={
            "Authorization": f"Bearer {gateway.master_key}",
            "content-type": "application/json",
        },
        content=b"{not json",
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_model_is_404_with_a_hint(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="gpt-nonexistent", messages=[{"role": "user", "content": "hi"}]
        )
    assert isinstance(caught.value.body, dict)
    assert "/v1/models" in caught.value.body["message"]
    assert caught.value.body["code"] == "model_not_found"
