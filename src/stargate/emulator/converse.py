"""The Converse and ConverseStream operations: render a reply in Bedrock's Converse shapes.

Converse answers ``{"output": {"message": ...}, "stopReason", "usage", "metrics"}``.
ConverseStream answers the events ``messageStart``; for a text block only ``contentBlockDelta``
(text) events then ``contentBlockStop`` (no ``contentBlockStart`` for text); for a tool call
``contentBlockStart`` (``toolUse`` id and name), ``contentBlockDelta`` events whose
``toolUse.input`` are string fragments of the JSON input, ``contentBlockStop``; then
``messageStop`` and ``metadata`` (``usage`` and ``metrics``). Payloads are the shape members,
unwrapped. ``usage`` carries zero cache counts for models with prompt caching (Converse does
not simulate caching; InvokeModel does), and ``additionalModelResponseFields.stop_sequence`` is
returned for Claude when ``/stop_sequence`` is among ``additionalModelResponseFieldPaths``.
"""

from __future__ import annotations

from typing import assert_never

import orjson
from aiohttp import web

from stargate.emulator.call import ModelCall
from stargate.emulator.converse_request import ConverseRequest, parse_converse_request
from stargate.emulator.models import ResolvedModel
from stargate.emulator.reply import Reply, TextBlock, ToolUseBlock, fragments, text_deltas
from stargate.emulator.streaming import StreamEvent, StreamTiming, write_event_stream

__all__ = [
    "converse_response",
    "converse_stream_events",
    "handle_converse",
    "handle_converse_stream",
    "usage_members",
]

TOOL_INPUT_FRAGMENTS = 3


def usage_members(reply: Reply, model: ResolvedModel) -> dict[str, int]:
    """The ``usage`` structure: exact counts by the token rule."""
    usage = {
        "inputTokens": reply.input_tokens,
        "outputTokens": reply.output_tokens,
        "totalTokens": reply.input_tokens + reply.output_tokens,
    }
    if model.spec.prompt_caching:
        usage["cacheReadInputTokens"] = 0
        usage["cacheWriteInputTokens"] = 0
    return usage


def _content(block: TextBlock | ToolUseBlock) -> dict[str, object]:
    match block:
        case TextBlock():
            return {"text": block.text}
        case ToolUseBlock():
            return {
                "toolUse": {
                    "toolUseId": block.tool_use_id,
                    "name": block.name,
                    "input": block.input,
                }
            }
        case _:
            assert_never(block)


def _stop_members(
    reply: Reply, model: ResolvedModel, request: ConverseRequest
) -> dict[str, object]:
    members: dict[str, object] = {"stopReason": reply.stop_reason}
    if model.spec.provider == "anthropic" and "/stop_sequence" in request.response_field_paths:
        members["additionalModelResponseFields"] = {"stop_sequence": reply.stop_sequence}
    return members


def converse_response(
    reply: Reply, model: ResolvedModel, request: ConverseRequest, latency_ms: int
) -> dict[str, object]:
    """The Converse response body."""
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [_content(block) for block in reply.blocks],
            }
        },
        **_stop_members(reply, model, request),
        "usage": usage_members(reply, model),
        "metrics": {"latencyMs": latency_ms},
    }


def _block_events(index: int, block: TextBlock | ToolUseBlock) -> list[StreamEvent]:
    match block:
        case TextBlock():
            return [
                StreamEvent(
                    "contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": part}}
                )
                for part in text_deltas(block.text)
            ]
        case ToolUseBlock():
            start = {"toolUse": {"toolUseId": block.tool_use_id, "name": block.name}}
            return [
                StreamEvent("contentBlockStart", {"contentBlockIndex": index, "start": start}),
                *(
                    StreamEvent(
                        "contentBlockDelta",
                        {"contentBlockIndex": index, "delta": {"toolUse": {"input": part}}},
                    )
                    for part in fragments(block.input_json, TOOL_INPUT_FRAGMENTS)
                ),
            ]
        case _:
            assert_never(block)


def converse_stream_events(
    reply: Reply, model: ResolvedModel, request: ConverseRequest
) -> list[StreamEvent]:
    """The ConverseStream events for ``reply``, in Bedrock's order."""
    events = [StreamEvent("messageStart", {"role": "assistant"})]
    for index, block in enumerate(reply.blocks):
        events.extend(_block_events(index, block))
        events.append(StreamEvent("contentBlockStop", {"contentBlockIndex": index}))
    events.append(StreamEvent("messageStop", _stop_members(reply, model, request)))
    usage = usage_members(reply, model)

    def metadata(timing: StreamTiming) -> dict[str, object]:
        return {"usage": usage, "metrics": {"latencyMs": timing.latency_ms}}

    events.append(StreamEvent("metadata", metadata))
    return events


async def handle_converse(call: ModelCall) -> web.StreamResponse:
    """``POST /model/{modelId}/converse``."""
    request = parse_converse_request(call.body, call.model)
    reply, _ = await call.answer(request.prompt)
    body = converse_response(reply, call.model, request, call.elapsed_ms())
    return web.Response(
        body=orjson.dumps(body),
        content_type="application/json",
        headers={"x-amzn-RequestId": call.request_id},
    )


async def handle_converse_stream(call: ModelCall) -> web.StreamResponse:
    """``POST /model/{modelId}/converse-stream``."""
    request = parse_converse_request(call.body, call.model)
    reply, faults = await call.answer(request.prompt, streaming=True)
    events = converse_stream_events(reply, call.model, request)
    return await write_event_stream(call, events, faults)
