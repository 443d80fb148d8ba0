"""Render any error in the caller's dialect. The one place errors become HTTP responses."""

from __future__ import annotations

import math

import orjson
from starlette.responses import Response

from stargate.api.json_response import JsonResponse
from stargate.errors import StargateError

__all__ = [
    "anthropic_error_body",
    "anthropic_status",
    "error_headers",
    "openai_error_body",
    "render_anthropic_error",
    "render_openai_error",
]


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
    return JsonResponse(
        orjson.dumps(openai_error_body(err)), err.status, error_headers(err, request_id)
    )


def anthropic_status(err: StargateError) -> int:
    """Anthropic callers get 529 for an overloaded or unavailable upstream (Claude Code and the
    SDKs treat it as "overloaded", retry it, and say so); other statuses are the error's own."""
    return 529 if err.anthropic_type == "overloaded_error" else err.status


def anthropic_error_body(err: StargateError, request_id: str) -> dict[str, object]:
    return {
        "type": "error",
        "error": {"type": err.anthropic_type, "message": err.message},
        "request_id": request_id,
    }


def render_anthropic_error(err: StargateError, request_id: str) -> Response:
    headers = error_headers(err, request_id)
    headers["request-id"] = request_id
    return JsonResponse(
        orjson.dumps(anthropic_error_body(err, request_id)), anthropic_status(err), headers
    )
