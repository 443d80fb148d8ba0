"""Render any error in the caller's dialect. The one place errors become HTTP responses."""

from __future__ import annotations

import math

import orjson
from starlette.responses import Response

from stargate.errors import StargateError

__all__ = ["error_headers", "openai_error_body", "render_openai_error"]


def error_headers(err: StargateError, request_id: str) -> dict[str, str]:
    headers = {"x-request-id": request_id, **err.headers}
    if err.retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(err.retry_after)))
        headers["retry-after-ms"] = str(max(1, int(err.retry_after * 1000)))
    if not err.retryable:
        # Stainless SDKs (openai, anthropic) and Claude Code obey this: no retry storms on 4xx.
        headers["x-should-retry"] = "false"
    return headers


def openai_error_body(err: StargateError) -> dict[str, object]:
    """LiteLLM's shape: ``{"error": {"message", "type", "param", "code"}}``, ``code`` a string."""
    return {
        "error": {
            "message": err.message,
            "type": err.openai_type,
            "param": err.param,
            "code": err.code or str(err.status),
        }
    }


def render_openai_error(err: StargateError, request_id: str) -> Response:
    return Response(
        orjson.dumps(openai_error_body(err)),
        status_code=err.status,
        media_type="application/json",
        headers=error_headers(err, request_id),
    )
