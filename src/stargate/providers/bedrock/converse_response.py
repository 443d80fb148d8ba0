"""Converse response → canonical response (pure and total).

* Every documented ``stopReason`` maps to a :class:`~stargate.core.StopReason`; an unknown value
  maps to ``END_TURN`` and logs a warning (Bedrock adds values over time, and a finished answer is
  more use to the caller than an error). ``malformed_model_output`` and ``malformed_tool_use``
  also map to ``END_TURN``, with a warning: the model stopped, and the canonical core has no
  "malformed" reason.
* Usage keeps Bedrock's convention: ``inputTokens`` counts only uncached input; cache reads and
  writes are separate counts.
* Content blocks the core has no part for (``image``, ``document``, ``video``...) in a model's
  answer are dropped with a warning; ``citationsContent`` keeps its text and drops citations.
* A missing required member, or a member of the wrong type, is :class:`UpstreamBadResponse`.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from stargate.core import (
    ChatResponse,
    ContentPart,
    ReasoningPart,
    StopReason,
    TextPart,
    ToolUsePart,
    Usage,
)
from stargate.core.ids import random_hex
from stargate.errors import UpstreamBadResponse

__all__ = [
    "BedrockStopReason",
    "message_id",
    "parse_converse_response",
    "parse_stop_reason",
    "parse_stop_sequence",
    "parse_usage",
    "require_object",
]

_log = logging.getLogger(__name__)


class BedrockStopReason(enum.Enum):
    """Converse ``stopReason`` values, as documented in the service model."""

    END_TURN = "end_turn"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    GUARDRAIL_INTERVENED = "guardrail_intervened"
    CONTENT_FILTERED = "content_filtered"
    MALFORMED_MODEL_OUTPUT = "malformed_model_output"
    MALFORMED_TOOL_USE = "malformed_tool_use"
    MODEL_CONTEXT_WINDOW_EXCEEDED = "model_context_window_exceeded"


# The stopReason values that map without a word; the others (malformed_model_output,
# malformed_tool_use) are reported as end_turn with a warning.
_PLAIN_STOPS: dict[str, StopReason] = {
    BedrockStopReason.END_TURN.value: StopReason.END_TURN,
    BedrockStopReason.TOOL_USE.value: StopReason.TOOL_USE,
    BedrockStopReason.MAX_TOKENS.value: StopReason.MAX_TOKENS,
    BedrockStopReason.STOP_SEQUENCE.value: StopReason.STOP_SEQUENCE,
    BedrockStopReason.GUARDRAIL_INTERVENED.value: StopReason.CONTENT_FILTERED,
    BedrockStopReason.CONTENT_FILTERED.value: StopReason.CONTENT_FILTERED,
    BedrockStopReason.MODEL_CONTEXT_WINDOW_EXCEEDED.value: StopReason.CONTEXT_WINDOW_EXCEEDED,
}


def parse_stop_reason(value: object) -> StopReason:
    if type(value) is str:
        plain = _PLAIN_STOPS.get(value)
        if plain is not None:
            return plain
    try:
        known = BedrockStopReason(value)
    except ValueError:
        _log.warning("unknown Bedrock stopReason %r, treated as end_turn", value)
        return StopReason.END_TURN
    plain = _PLAIN_STOPS.get(known.value)  # a member given rather than its string
    if plain is not None:
        return plain
    _log.warning("Bedrock stopped with %s, reported as end_turn", known.value)
    return StopReason.END_TURN


def parse_stop_sequence(additional_fields: object) -> str | None:
    """The matched stop sequence, when the model reports it (Claude's ``stop_sequence``)."""
    if isinstance(additional_fields, dict):
        value = additional_fields.get("stop_sequence")
        if isinstance(value, str):
            return value
    return None


def parse_usage(value: object) -> Usage:
    usage = require_object(value, "usage")
    # The common answer in one step: plain non-negative ints (bool is not one), cache counts
    # absent or plain too; anything else takes the checking path below for its error.
    get = usage.get
    input_tokens, output_tokens = get("inputTokens"), get("outputTokens")
    cache_read, cache_write = get("cacheReadInputTokens", 0), get("cacheWriteInputTokens", 0)
    if (
        type(input_tokens) is int
        and type(output_tokens) is int
        and type(cache_read) is int
        and type(cache_write) is int
        and input_tokens | output_tokens | cache_read | cache_write >= 0  # none negative
    ):
        return Usage(input_tokens, output_tokens, cache_read, cache_write)  # the fields' order
    return Usage(
        input_tokens=_count(usage, "inputTokens", required=True),
        output_tokens=_count(usage, "outputTokens", required=True),
        cache_read_tokens=_count(usage, "cacheReadInputTokens", required=False),
        cache_write_tokens=_count(usage, "cacheWriteInputTokens", required=False),
    )


def message_id(upstream_request_id: str | None) -> str:
    """Converse gives no message id; the gateway derives one from Bedrock's request id."""
    suffix = upstream_request_id.replace("-", "") if upstream_request_id else random_hex()
    return f"msg_bdrk_{suffix}"


def parse_converse_response(
    payload: object, *, model: str, upstream_request_id: str | None
) -> ChatResponse:
    body = require_object(payload, "response")
    output = require_object(body.get("output"), "output")
    message = require_object(output.get("message"), "output.message")
    blocks = message.get("content")
    if not isinstance(blocks, list):
        raise UpstreamBadResponse("Bedrock response has no output.message.content list")
    content: list[ContentPart] = []
    for block in blocks:
        part = _parse_block(require_object(block, "content block"))
        if part is not None:
            content.append(part)
    if "stopReason" not in body:
        raise UpstreamBadResponse("Bedrock response has no stopReason")
    extra: dict[str, object] = {}
    metrics = body.get("metrics")
    if isinstance(metrics, dict) and isinstance(metrics.get("latencyMs"), int):
        extra["upstream_latency_ms"] = metrics["latencyMs"]
    # Positional (keywords cost twice as much to bind); the order is ChatResponse's fields:
    # id, model, content, stop_reason, usage, stop_sequence, upstream_request_id, extra.
    return ChatResponse(
        message_id(upstream_request_id),
        model,
        content,
        parse_stop_reason(body["stopReason"]),
        parse_usage(body.get("usage")),
        parse_stop_sequence(body.get("additionalModelResponseFields")),
        upstream_request_id,
        extra,
    )


def require_object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UpstreamBadResponse(f"Bedrock sent a malformed {what}: expected a JSON object")
    return value


def _count(usage: dict[str, Any], member: str, *, required: bool) -> int:
    value = usage.get(member)
    if value is None and not required:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UpstreamBadResponse(f"Bedrock sent a malformed usage.{member}: {value!r}")
    return value


def _parse_block(block: dict[str, Any]) -> ContentPart | None:
    text = block.get("text")
    if type(text) is str:
        return TextPart(text)
    if "text" in block:
        return TextPart(_string(text, "text"))
    if "toolUse" in block:
        tool = require_object(block["toolUse"], "toolUse")
        arguments = tool.get("input")
        if not isinstance(arguments, dict):
            raise UpstreamBadResponse("Bedrock sent a toolUse whose input is not a JSON object")
        return ToolUsePart(
            id=_string(tool.get("toolUseId"), "toolUse.toolUseId"),
            name=_string(tool.get("name"), "toolUse.name"),
            input=arguments,
        )
    if "reasoningContent" in block:
        return _parse_reasoning(require_object(block["reasoningContent"], "reasoningContent"))
    if "citationsContent" in block:
        cited = require_object(block["citationsContent"], "citationsContent")
        items = cited.get("content")
        texts = [
            item["text"]
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and isinstance(item.get("text"), str)
        ]
        return TextPart(text="".join(texts))
    _log.warning("dropping a Bedrock content block the gateway cannot carry: %s", sorted(block))
    return None


def _parse_reasoning(reasoning: dict[str, Any]) -> ReasoningPart:
    if "redactedContent" in reasoning:
        return ReasoningPart(redacted=_string(reasoning["redactedContent"], "redactedContent"))
    text = require_object(reasoning.get("reasoningText"), "reasoningContent.reasoningText")
    signature = text.get("signature")
    return ReasoningPart(
        text=_string(text.get("text", ""), "reasoningText.text"),
        signature=signature if isinstance(signature, str) else None,
    )


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise UpstreamBadResponse(f"Bedrock sent a malformed {what}: expected a string")
    return value
