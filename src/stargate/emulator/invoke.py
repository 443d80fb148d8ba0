"""InvokeModel and InvokeModelWithResponseStream for Claude: Anthropic Messages over Bedrock.

The body is checked by :mod:`stargate.emulator.messages_request` (a model the emulator has no
Claude rules for is a 400: the emulator serves InvokeModel for Claude only). Then the scripted
faults act, the prompt cache is settled (:mod:`stargate.emulator.prompt_cache`) and the reply is
composed (:mod:`stargate.emulator.messages_reply`).

``invoke`` answers the Anthropic message JSON with the headers ``X-Amzn-Bedrock-Input-Token-Count``
(uncached input), ``-Output-Token-Count``, ``-Cache-Read-Input-Token-Count``,
``-Cache-Write-Input-Token-Count`` and ``X-Amzn-Bedrock-Invocation-Latency``.
``invoke-with-response-stream`` answers an event stream with ``X-Amzn-Bedrock-Content-Type:
application/json``: one ``chunk`` event per Anthropic stream event, payload ``{"bytes": <base64 of
the event JSON>, "p": <padding>}``; ``message_stop`` carries ``amazon-bedrock-invocationMetrics``
(``inputTokenCount``, ``outputTokenCount``, ``invocationLatency``, ``firstByteLatency``, and the
``cacheReadInputTokenCount``/``cacheWriteInputTokenCount`` when the request asked for caching).
Mid-stream faults are exception frames, never Anthropic ``error`` events. Both echo
``X-Amzn-Bedrock-PerformanceConfig-Latency`` and ``X-Amzn-Bedrock-Service-Tier`` when sent.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

import orjson
from aiohttp import web

from stargate.emulator.call import ModelCall
from stargate.emulator.claude_rules import ClaudeRules, claude_rules
from stargate.emulator.errors import validation_error
from stargate.emulator.faults import FaultPlan
from stargate.emulator.messages_reply import (
    ClaudeReply,
    compose_claude_reply,
    message_body,
    message_events,
    message_id,
)
from stargate.emulator.messages_request import MessagesRequest, parse_messages_request
from stargate.emulator.prompt_cache import CacheUsage, uncached_usage
from stargate.emulator.streaming import StreamEvent, StreamTiming, write_event_stream

__all__ = [
    "CONTENT_TYPE_HEADER",
    "ECHOED_HEADERS",
    "chunk_event",
    "handle_invoke",
    "handle_invoke_stream",
    "invocation_metrics",
    "require_claude",
]

CONTENT_TYPE_HEADER = "X-Amzn-Bedrock-Content-Type"
"""The stream response header naming the provider payload's content type."""

ECHOED_HEADERS = ("X-Amzn-Bedrock-PerformanceConfig-Latency", "X-Amzn-Bedrock-Service-Tier")
"""Request headers Bedrock echoes on the response."""


def require_claude(call: ModelCall) -> ClaudeRules:
    """The Claude rules of the called model, or the 400 for a model that is not Claude."""
    rules = claude_rules(call.model.spec.model_id)
    if rules is None:
        raise validation_error(
            "Malformed input request: the emulator serves InvokeModel for Anthropic Claude "
            f"models only, not {call.model.spec.model_id} (use Converse), please reformat your "
            "input and try again."
        )
    return rules


def _echoed(call: ModelCall) -> dict[str, str]:
    return {
        name: call.request.headers[name] for name in ECHOED_HEADERS if name in call.request.headers
    }


async def _prepare(
    call: ModelCall, *, streaming: bool
) -> tuple[MessagesRequest, ClaudeReply, CacheUsage, FaultPlan]:
    request = parse_messages_request(call.body, require_claude(call))
    faults = await call.apply_faults(request.prompt.last_user_text, streaming=streaming)
    usage = (
        call.state.prompt_cache.settle(call.model.spec.model_id, request.segments)
        if call.model.spec.prompt_caching
        else uncached_usage(request.segments)
    )
    reply = compose_claude_reply(request.prompt, thinking=request.thinking is not None)
    return request, reply, usage, faults


def invocation_metrics(
    usage: CacheUsage, output_tokens: int, timing: StreamTiming
) -> dict[str, int]:
    """The ``amazon-bedrock-invocationMetrics`` of a stream's ``message_stop``."""
    metrics = {
        "inputTokenCount": usage.input_tokens,
        "outputTokenCount": output_tokens,
        "invocationLatency": timing.latency_ms,
        "firstByteLatency": timing.first_byte_ms,
    }
    if usage.active:
        metrics["cacheReadInputTokenCount"] = usage.cache_read_input_tokens
        metrics["cacheWriteInputTokenCount"] = usage.cache_creation_input_tokens
    return metrics


def chunk_event(event: Mapping[str, object]) -> dict[str, object]:
    """The ``chunk`` payload carrying one Anthropic stream event."""
    return {"bytes": base64.b64encode(orjson.dumps(event)).decode("ascii")}


async def handle_invoke(call: ModelCall) -> web.StreamResponse:
    """``POST /model/{modelId}/invoke``."""
    request, reply, usage, _ = await _prepare(call, streaming=False)
    body = message_body(
        reply,
        model_name=request.rules.model_name,
        message_id=message_id(call.request_id),
        usage=usage,
    )
    return web.Response(
        body=orjson.dumps(body),
        content_type="application/json",
        headers={
            "x-amzn-RequestId": call.request_id,
            "X-Amzn-Bedrock-Invocation-Latency": str(call.elapsed_ms()),
            "X-Amzn-Bedrock-Output-Token-Count": str(reply.output_tokens),
            "X-Amzn-Bedrock-Input-Token-Count": str(usage.input_tokens),
            "X-Amzn-Bedrock-Cache-Read-Input-Token-Count": str(usage.cache_read_input_tokens),
            "X-Amzn-Bedrock-Cache-Write-Input-Token-Count": str(usage.cache_creation_input_tokens),
            **_echoed(call),
        },
    )


async def handle_invoke_stream(call: ModelCall) -> web.StreamResponse:
    """``POST /model/{modelId}/invoke-with-response-stream``."""
    request, reply, usage, faults = await _prepare(call, streaming=True)
    anthropic_events = message_events(
        reply,
        model_name=request.rules.model_name,
        message_id=message_id(call.request_id),
        usage=usage,
    )
    events = [StreamEvent("chunk", chunk_event(event)) for event in anthropic_events]

    def message_stop(timing: StreamTiming) -> dict[str, object]:
        metrics = invocation_metrics(usage, reply.output_tokens, timing)
        return chunk_event({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics})

    events.append(StreamEvent("chunk", message_stop))
    headers = {CONTENT_TYPE_HEADER: "application/json", **_echoed(call)}
    return await write_event_stream(call, events, faults, headers=headers)
