"""CountTokens: ``POST /model/{modelId}/count-tokens`` for Claude base model ids.

The body is ``{"input": {"invokeModel": {"body": "<base64 of an InvokeModel body>"}}}`` or
``{"input": {"converse": {"messages": ..., "system": ..., "toolConfig": ...}}}``; the answer is
``{"inputTokens": N}``, exactly the input the reply rules count for the same request: the whole
input of an InvokeModel body (``input_tokens + cache_creation_input_tokens +
cache_read_input_tokens`` of its reply, whatever the cache holds), or Converse's ``inputTokens``.
The body is checked as that operation checks it.

Only base model ids of Claude models count tokens (a profile-only model included); inference
profile ids, ARNs and other models are 400 "The provided model doesn't support counting tokens.",
an unknown base id 400 "The provided model identifier is invalid.". Scripted faults come from the
``x-emulator-fault`` header only: a marker in the message is meant for the inference call a
gateway may make after counting.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import orjson
from aiohttp import web

from stargate.emulator.call import ModelCall
from stargate.emulator.claude_rules import claude_rules
from stargate.emulator.converse_request import parse_converse_request
from stargate.emulator.errors import INVALID_MODEL_MESSAGE, BedrockError, validation_error
from stargate.emulator.invoke import require_claude
from stargate.emulator.messages_request import parse_messages_request
from stargate.emulator.models import ResolvedModel, find_model, is_base_model_id
from stargate.emulator.tokens import tokens_for_chars

__all__ = ["COUNT_TOKENS_UNSUPPORTED", "handle_count_tokens", "resolve_counting_model"]

COUNT_TOKENS_UNSUPPORTED = "The provided model doesn't support counting tokens."

_INPUT_MEMBERS = ("converse", "invokeModel")


def resolve_counting_model(model_id: str, region: str | None) -> ResolvedModel:
    """The model CountTokens counts for: a Claude base id, whatever its on-demand support."""
    if not is_base_model_id(model_id):
        raise validation_error(COUNT_TOKENS_UNSUPPORTED)
    spec = find_model(model_id)
    if spec is None:
        raise validation_error(INVALID_MODEL_MESSAGE)
    if claude_rules(spec.model_id) is None:
        raise validation_error(COUNT_TOKENS_UNSUPPORTED)
    return ResolvedModel(model_id, spec, None)


def _constraint(where: str, constraint: str) -> BedrockError:
    return validation_error(
        f"1 validation error detected: Value at '{where}' failed to satisfy constraint: "
        f"{constraint}"
    )


def _input(body: bytes) -> tuple[str, object]:
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise BedrockError(
            "SerializationException", 400, "The request body is not valid JSON."
        ) from None
    counted = data.get("input") if isinstance(data, Mapping) else None
    if not isinstance(counted, Mapping):
        raise _constraint("input", "Member must not be null")
    members = [key for key in counted if key in _INPUT_MEMBERS]
    if len(counted) != 1 or len(members) != 1:
        raise _constraint("input", "Member must have exactly one of converse, invokeModel set")
    return members[0], counted[members[0]]


def _invoke_body(value: object) -> bytes:
    encoded = value.get("body") if isinstance(value, Mapping) else None
    if not isinstance(encoded, str):
        raise _constraint("input.invokeModel.body", "Member must not be null")
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise validation_error(
            "Malformed input request: the invokeModel body is not valid base64, please reformat "
            "your input and try again."
        ) from None


async def handle_count_tokens(call: ModelCall) -> web.StreamResponse:
    """``POST /model/{modelId}/count-tokens``."""
    member, value = _input(call.body)
    if member == "invokeModel":
        request = parse_messages_request(_invoke_body(value), require_claude(call))
        tokens = tokens_for_chars(request.input_chars)
    else:
        if not isinstance(value, Mapping):
            raise _constraint("input.converse", "Member must be a structure")
        tokens = parse_converse_request(orjson.dumps(value), call.model).prompt.input_tokens
    await call.apply_faults(None)
    return web.Response(
        body=orjson.dumps({"inputTokens": tokens}),
        content_type="application/json",
        headers={"x-amzn-RequestId": call.request_id},
    )
