"""Bedrock CountTokens: request bodies and the answer (pure).

``POST /model/{base model id}/count-tokens`` takes the request the model would be sent, in one of
two forms: ``{"input": {"invokeModel": {"body": "<base64 of the InvokeModel body>"}}}`` or
``{"input": {"converse": {messages, system, toolConfig, additionalModelRequestFields}}}``, and
answers ``{"inputTokens": N}``. Only base model ids are accepted: an inference profile id or an
ARN is a 400 "The provided model doesn't support counting tokens.", as is a model that cannot
count; :func:`counting_unsupported` recognises that answer so the caller can estimate instead.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from stargate.errors import UpstreamBadResponse, UpstreamError, UpstreamInvalidRequest

__all__ = [
    "UNSUPPORTED_TEXT",
    "converse_count_body",
    "counting_unsupported",
    "invoke_count_body",
    "parse_count_response",
]

UNSUPPORTED_TEXT = "support counting tokens"  # "...doesn't support counting tokens."
_CONVERSE_MEMBERS = ("messages", "system", "toolConfig", "additionalModelRequestFields")


def invoke_count_body(invoke_body: bytes) -> bytes:
    encoded = base64.b64encode(invoke_body).decode("ascii")
    return orjson.dumps({"input": {"invokeModel": {"body": encoded}}})


def converse_count_body(converse_body: dict[str, Any]) -> bytes:
    """The converse form takes the request less its ``inferenceConfig``."""
    request = {name: converse_body[name] for name in _CONVERSE_MEMBERS if name in converse_body}
    return orjson.dumps({"input": {"converse": request}})


def parse_count_response(payload: object) -> int:
    count = payload.get("inputTokens") if isinstance(payload, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise UpstreamBadResponse("Bedrock CountTokens answered without a valid inputTokens")
    return count


def counting_unsupported(err: UpstreamError) -> bool:
    """Bedrock's "this model (id) cannot count tokens" 400."""
    return isinstance(err, UpstreamInvalidRequest) and UNSUPPORTED_TEXT in err.message
