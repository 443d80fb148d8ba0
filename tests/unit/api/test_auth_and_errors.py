from __future__ import annotations

import orjson
from starlette.datastructures import Headers

from stargate.api.auth import presented_key
from stargate.api.errors import render_openai_error
from stargate.api.request_id import request_id_from
from stargate.errors import AuthenticationFailed, UpstreamThrottled


def test_key_from_x_api_key_or_bearer() -> None:
    assert presented_key(Headers({"x-api-key": "sk-a"})) == "sk-a"
    assert presented_key(Headers({"authorization": "Bearer sk-b"})) == "sk-b"
    assert presented_key(Headers({"authorization": "bearer  sk-c "})) == "sk-c"
    assert presented_key(Headers({"authorization": "Basic abc"})) is None
    assert presented_key(Headers({})) is None
    both = Headers({"x-api-key": "sk-a", "authorization": "Bearer sk-b"})
    assert presented_key(both) == "sk-a"


def test_openai_error_shape_and_no_retry_header() -> None:
    response = render_openai_error(AuthenticationFailed("bad key", code="invalid_api_key"), "r1")
    assert response.status_code == 401
    assert orjson.loads(response.body) == {
        "error": {"message": "bad key", "type": "auth_error", "param": None,
                  "code": "invalid_api_key"}
    }  # fmt: skip
    assert response.headers["x-should-retry"] == "false"
    assert response.headers["x-request-id"] == "r1"


def test_retryable_error_carries_retry_after() -> None:
    response = render_openai_error(UpstreamThrottled("slow down", retry_after=2.5), "r2")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.headers["retry-after-ms"] == "2500"
    assert "x-should-retry" not in response.headers
    body = orjson.loads(response.body)
    assert body["error"]["type"] == "rate_limit_exceeded"
    assert body["error"]["code"] == "429"


def test_request_id_accepts_sane_ids_only() -> None:
    assert request_id_from("trace-1234567") == "trace-1234567"
    assert request_id_from("bad id with spaces").startswith("req_")
    assert request_id_from(None).startswith("req_")
    assert request_id_from("x" * 500).startswith("req_")
